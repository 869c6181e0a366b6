"""Compute processes end with the server that started them, even one killed without warning.

Each pool worker calls ``die_with_parent`` from its initializer: its parent is the forkserver's main
thread, so Linux's parent-death signal fits. The forkserver itself was started by whichever server thread
first used the pool (a test client's short-lived thread, say), and that signal follows the *thread*, so the
forkserver instead watches its parent *process* (``watch_parent``).
Without it a server killed by SIGKILL or the out-of-memory killer would leave its forkserver and
workers waiting on their pipes forever, holding their memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM when the parent ends (elsewhere: nothing, the pool's shutdown remains)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    # No "parent already gone?" check through getppid() == 1: in a container the server itself is PID 1.


def watch_parent(interval_s: float = 1.0) -> None:
    """End this process (at once, without cleanup) when the process that started it is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
