"""Where request computations run: a bounded pool beside the event loop, which then only moves bytes.

Why processes by default: the work is NumPy on tiny arrays and pydantic validation, both of which hold the
GIL. In a thread, such work makes the event loop wait up to the GIL switch interval (5 ms) at every
socket call it makes, so one heavy request slows every live stream of the worker. A process has its own
GIL and uses the second core. Jobs take and return plain picklable values (bytes, settings, strings),
so crossing costs a copy of the body and of the rendered response (both bounded by the budgets).
``GDP_COMPUTE_MODE=thread`` keeps the jobs in threads instead (one process, less memory; see
docs/deploy.md for the measured difference).

Admission: at most ``compute_workers`` jobs run and ``compute_queue`` wait; the next one is refused at
once with 503 and Retry-After rather than queued without bound.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from app.web.orphans import die_with_parent

T = TypeVar("T")


class Busy(Exception):
    """Every worker is busy and the waiting line is full: try again in a moment."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("the server is busy computing other requests; try again in a moment")
        self.retry_after_s = retry_after_s


_EXECUTORS: dict[tuple[str, int], Executor] = {}
_LOCK = threading.Lock()


def _executor(mode: str, workers: int) -> Executor:
    """One executor per (mode, size) for the whole process, shared by every app built in it (tests build
    many); started on first use, with the job module preloaded so a fresh worker answers quickly."""
    key = (mode, workers)
    with _LOCK:
        executor = _EXECUTORS.get(key)
        if executor is not None and getattr(executor, "_broken", False):  # a worker died: start afresh
            executor.shutdown(wait=False, cancel_futures=True)
            executor = None
        if executor is None:
            if mode == "process":
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["app.web.forkserver"])
                executor = ProcessPoolExecutor(
                    max_workers=workers, mp_context=context, initializer=die_with_parent
                )
            else:
                executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="compute")
            _EXECUTORS[key] = executor
        return executor


@atexit.register
def _shutdown_all() -> None:
    with _LOCK:
        executors = list(_EXECUTORS.values())
        _EXECUTORS.clear()
    for executor in executors:
        executor.shutdown(wait=False, cancel_futures=True)


def run_blocking(mode: str, workers: int, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the pool's workers, waited for by the calling thread (not the event loop): for a
    stream's heavy step, already in a thread, whose work should not share the server's GIL either."""
    return _executor(mode, workers).submit(fn, *args).result()


def _ready() -> bool:
    return True


class ComputePool:
    """Runs jobs off the event loop with bounded concurrency and a bounded waiting line."""

    def __init__(self, mode: str, workers: int, queue: int) -> None:
        self.mode = mode
        self.workers = workers
        self.queue = queue
        self._admitted = 0
        self._slots: asyncio.Semaphore | None = None

    def warm_up(self) -> None:
        """Start the workers now (at app start-up, without waiting), not on the first learner's request."""
        executor = _executor(self.mode, self.workers)
        for _ in range(self.workers):
            executor.submit(_ready)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the pool; raises Busy when ``workers + queue`` jobs are already admitted."""
        if self._admitted >= self.workers + self.queue:
            raise Busy(retry_after_s=1)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        self._admitted += 1
        try:
            async with self._slots:
                executor = _executor(self.mode, self.workers)
                loop = asyncio.get_running_loop()
                try:
                    return await loop.run_in_executor(executor, fn, *args)
                except BrokenProcessPool:  # a worker died (killed, out of memory): the next job
                    raise Busy(retry_after_s=1) from None  # gets a fresh pool (see _executor)
        finally:
            self._admitted -= 1
