"""An in-process LRU of rendered traces with single flight: a class loading one trace computes it once."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable


def _retrieve(future: asyncio.Future[bytes]) -> None:
    """Mark a failure as seen: its waiters got it; no 'exception was never retrieved' warning."""
    if not future.cancelled():
        future.exception()


class TraceCache:
    """Bytes by key, least recently used dropped first, bounded in entries and in total bytes.

    Concurrent requests for a key being computed wait for that computation instead of repeating it. It
    lives in the event loop (no locks): the computation itself runs in the compute pool.
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._inflight: dict[Hashable, asyncio.Future[bytes]] = {}
        self.computed = 0
        self.hits = 0

    async def get_or_compute(self, key: Hashable, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached bytes, or the result of ``compute()`` awaited once however many ask at once."""
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]
        pending = self._inflight.get(key)
        if pending is not None:  # one computation per key; the others wait for it
            self.hits += 1
            return await asyncio.shield(pending)
        pending = asyncio.get_running_loop().create_future()
        pending.add_done_callback(_retrieve)
        self._inflight[key] = pending
        try:
            value = await compute()
        except BaseException as error:
            pending.set_exception(error)
            raise
        else:
            pending.set_result(value)
            self.computed += 1
            self._store(key, value)
            return value
        finally:
            self._inflight.pop(key, None)

    def _store(self, key: Hashable, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        self._items[key] = value
        self._size += len(value)
        while len(self._items) > self.max_entries or self._size > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)
