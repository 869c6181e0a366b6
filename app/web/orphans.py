"""Compute processes end with the server that started them, even one killed without warning.

The forkserver preloads ``app.web.forkserver``, which calls ``die_with_parent`` there (its parent is the
server); each pool worker calls it again from its initializer, since a fork clears the setting.
Without it a server killed by SIGKILL or the out-of-memory killer would leave its forkserver and
workers waiting on their pipes forever, holding their memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM when the parent ends (elsewhere: nothing, the pool's shutdown remains)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    # No "parent already gone?" check through getppid() == 1: in a container the server itself is PID 1.

