"""The process's ticker: one clock for every paced stream, and their due steps made together.

A class of 200 sockets, each racing one run at 60 steps/s, asks for 12,000 steps a second. Made one
socket at a time that is 12,000 tiny (1, d) NumPy updates and 12,000 timers a second, most of a core.
The ticker beats on a grid of ``stream_frame_s``: a paced session sleeps until a beat (one timer for all
of them, not one each), and the steps due at a beat are made by one ``step_lanes`` call, in which
sessions on the same surface and optimizer chain are lanes of one array (each gets exactly the values it
would get alone). A session that was paused, stopped or restarted before its turn is left out; so is
any live change made before it, which the step then uses.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.ml.run import Descent, Event, step_lanes

BEAT_SLACK = 1e-6
"""A timer that fires this close to a beat (in beats) counts as on it: rounding never makes a lost beat."""
MAX_TICK_STEPS = 4
"""At most this many steps of one session per beat (speed × frame ≤ this): more is not a light stream."""


@dataclass(eq=False)
class _Request:
    descent: Descent
    left: int
    still: Callable[[], bool]
    future: asyncio.Future[tuple[list[Event], int]]
    events: list[Event] = field(default_factory=list)
    made: int = 0


class Ticker:
    """The beat and the shared steps of one process's paced streams (one per app, on ``app.state``)."""

    def __init__(self, frame_s: float) -> None:
        self.frame_s = frame_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sleepers: dict[int, list[asyncio.Future[None]]] = {}
        self._beats: list[int] = []  # heap of the beats someone sleeps until
        self._timer: asyncio.TimerHandle | None = None
        self._timer_beat: int | None = None
        self._queue: list[_Request] = []
        self.beats = 0  # beats that woke someone
        self.batches = 0  # step_lanes calls
        self.steps = 0  # session-steps made in them

    def _bind(self) -> asyncio.AbstractEventLoop:
        """The running loop; a new one (a test's next client) starts the ticker afresh."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._sleepers, self._beats, self._queue = loop, {}, [], []
            self._timer = self._timer_beat = None
        return loop

    # ------------------------------------------------------------------ the beat
    def last_beat(self, now: float) -> float:
        """The latest beat at or before ``now`` (``time.monotonic()`` seconds)."""
        return math.floor(now / self.frame_s + BEAT_SLACK) * self.frame_s

    def alarm(self, when: float, wake: asyncio.Future[None]) -> None:
        """Resolve ``wake`` at the first beat at or after ``when`` (unless it is resolved before)."""
        self._bind()
        beat = math.ceil(when / self.frame_s)
        sleepers = self._sleepers.get(beat)
        if sleepers is None:
            sleepers = self._sleepers[beat] = []
            heapq.heappush(self._beats, beat)
        sleepers.append(wake)
        self._arm()

    def _arm(self) -> None:
        """One timer, for the earliest beat anyone sleeps until."""
        if not self._beats or self._timer_beat == self._beats[0]:
            return
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        beat = self._beats[0]
        delay = beat * self.frame_s - time.monotonic()
        self._timer_beat = beat
        self._timer = self._loop.call_later(max(delay, 0.0), self._on_beat)

    def _on_beat(self) -> None:
        self._timer = self._timer_beat = None
        now = time.monotonic() / self.frame_s
        woke = False
        while self._beats and self._beats[0] <= now + BEAT_SLACK:
            for wake in self._sleepers.pop(heapq.heappop(self._beats)):
                if not wake.done():
                    wake.set_result(None)
                    woke = True
        self.beats += woke
        self._arm()

    # ------------------------------------------------------------------ the steps
    async def advance(self, descent: Descent, n: int, still: Callable[[], bool]) -> tuple[list[Event], int]:
        """Up to ``n`` steps of ``descent``, made with every other step asked for in this turn of the loop.

        ``still()`` is asked before each step: once it is False (the session paused, stopped, started
        afresh) the descent is not stepped further. Returns the events and the number of steps made.
        """
        loop = self._bind()
        future: asyncio.Future[tuple[list[Event], int]] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._step)
        self._queue.append(_Request(descent, min(n, MAX_TICK_STEPS), still, future))
        return await future

    def _step(self) -> None:
        """One step of every request still wanted; the next one in the next turn (others run between)."""
        queue, self._queue = self._queue, []
        live: list[_Request] = []
        for request in queue:
            if request.future.done():
                continue
            if request.left > 0 and request.still():
                live.append(request)
            else:
                request.future.set_result((request.events, request.made))
        if not live:
            return
        try:
            stepped = step_lanes([r.descent for r in live])
        except Exception as error:  # an engine bug: each session reports it and drops its run
            for request in live:
                request.future.set_exception(error)
            return
        for request, events in zip(live, stepped, strict=True):
            request.events.extend(events)
            request.left -= 1
            request.made += 1
            if request.left > 0:
                self._queue.append(request)
            else:
                request.future.set_result((request.events, request.made))
        self.batches += 1
        self.steps += len(live)
        if self._queue:
            assert self._loop is not None
            self._loop.call_soon(self._step)
