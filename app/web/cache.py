"""An in-process LRU of rendered traces with single flight: a class loading one trace computes it once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class TraceCache:
    """Bytes by key, least recently used dropped first, bounded in entries and in total bytes.

    Concurrent requests for a key being computed wait for that computation instead of repeating it.
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Lock] = {}
        self.computed = 0
        self.hits = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:  # one computation per key; the others wait here and then find it cached
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key]
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    self._inflight.pop(key, None)
                raise
            with self._lock:
                self.computed += 1
                self._store(key, value)
                self._inflight.pop(key, None)
            return value

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
