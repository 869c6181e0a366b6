"""One live stream: a Descent driven by a client's commands and paced into `steps` messages (protocol v1).

The session knows nothing of Starlette: it is given an async ``send`` for text frames, so the same
logic is testable and the route stays thin. Computation happens in the event loop in short slices
(``stream_chunk_s``) with a yield between them, so a fast stream never stalls the other sockets; only one
message is ever being built or sent at a time, so memory per connection stays bounded. Paced streams
sleep until the process's beat (app.web.ticker), which also makes the light ones' steps together.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from app.config import Settings
from app.ml.nets import ACTIVATIONS, MAX_UNITS
from app.web import serialize
from app.web.commands import (
    COMMANDS,
    PROTOCOL_VERSION,
    AddRun,
    CommandError,
    Explain,
    Pause,
    RemoveRun,
    Resume,
    Set,
    SetSpeed,
    Start,
    Step,
    Stop,
    parse_command,
)
from app.web.schemas import NetworkRequest
from app.web.streams import STREAMS, LiveStream
from app.web.ticker import MAX_TICK_STEPS, Ticker

# Hidden layers a network config may have: the `hidden` field's own bound, sent to the client in `hello`.
MAX_LAYERS = next(
    m.max_length for m in NetworkRequest.model_fields["hidden"].metadata if hasattr(m, "max_length")
)

logger = logging.getLogger(__name__)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


Send = Callable[[str], Awaitable[None]]


@lru_cache
def _heavy_steps(workers: int) -> ThreadPoolExecutor:
    """The threads heavy stream steps share: as many as the compute pool has workers, so a class of heavy
    streams queues for them (each waits its turn) instead of multiplying threads that fight for the GIL."""
    return ThreadPoolExecutor(workers, thread_name_prefix="stream-step")


class SlowClient(Exception):
    """The client stopped reading: a send did not complete within ``send_timeout_s``."""


class ClientGone(Exception):
    """A send failed because the socket is closed: the client left; nothing more can reach it."""


class CommandFlood(Exception):
    """The client sends commands far beyond the rate limit."""


class MessageTooBig(Exception):
    """A frame over ``max_message_bytes``: the socket is closed with 1009, as the protocol says."""


FLOOD_DRAIN = 2.0
"""Refused commands are forgiven at this many times the rate: a client at 3× the rate is only refused."""
FLOOD_LIMIT = 20.0
"""Close once the unforgiven refusals pass this many seconds' worth of the rate (about 2 s at 10× it)."""


class StreamSession:
    """The state of one socket: the descent in progress, its pace, and the last record of each run."""

    def __init__(self, send: Send, settings: Settings, ticker: Ticker | None = None) -> None:
        self._send_raw = send
        self.settings = settings
        self.ticker = ticker if ticker is not None else Ticker(settings.stream_frame_s)
        self._send_lock = asyncio.Lock()
        self._wake: asyncio.Future[None] | None = None
        self.stream: LiveStream | None = None
        self.seq = 0
        self.paused = True
        self.speed: float | str = 30.0
        self._anchor = (0.0, 0)  # (time, steps made) when the current pace began
        self._made = 0  # steps made by the pump since the descent started
        self._tokens = 2 * settings.max_commands_per_second
        self._refilled = time.monotonic()
        self._refused = 0.0  # refusals not yet forgiven (they drain at FLOOD_DRAIN × rate)
        self._chunk = 16
        self._heavy = False  # each step of this stream runs in a thread (a priced-heavy network)
        self._bytes_per_step = 0.0  # running estimate of one step's share of a message
        self._frame_target = min(settings.max_frame_bytes, 256_000)
        self._lag_window = (time.monotonic(), 0)
        self._lock = asyncio.Lock()  # held while a step runs in a thread
        self._sending_since: float | None = None

    # ------------------------------------------------------------------ sending
    async def send(self, message: dict[str, Any]) -> int:
        """One frame, serialised by orjson (every value is finite by construction), under a send lock;
        returns its size.

        No timer per send (a paced socket sends 60 times a second, and 200 of them would spend the
        worker on arming and cancelling timers): the time a send began is kept, and the socket's reader
        checks it (``stalled``) a few times per send timeout, closing a client that stopped reading.
        """
        text = serialize.dumps(message).decode()
        async with self._send_lock:
            self._sending_since = time.monotonic()
            try:
                await self._send_raw(text)
            except Exception as error:  # the socket is closed or closing: the client has gone
                raise ClientGone from error
            finally:
                self._sending_since = None
        return len(text)

    def stalled(self) -> bool:
        """A send has waited longer than ``send_timeout_s`` for the client to read."""
        since = self._sending_since
        return since is not None and time.monotonic() - since > self.settings.send_timeout_s

    async def hello(self) -> None:
        s = self.settings
        await self.send(
            {
                "type": "hello",
                "version": PROTOCOL_VERSION,
                "limits": {
                    "max_steps": s.max_steps,
                    "max_runs": s.max_runs,
                    "max_message_bytes": s.max_message_bytes,
                    "max_commands_per_second": s.max_commands_per_second,
                    "max_speed": s.max_speed,
                    "idle_timeout_s": s.idle_timeout_s,
                    "activations": list(ACTIVATIONS),
                    "max_layers": MAX_LAYERS,
                    "max_units": MAX_UNITS,
                    "max_upload_bytes": s.max_upload_bytes,
                },
                "commands": list(COMMANDS),
            }
        )

    async def error(self, error: CommandError) -> None:
        await self.send(
            {
                "type": "error",
                "code": error.code,
                "message": error.message,
                "field": error.field,
                "ref": error.ref,
                **({"key": error.key, "params": error.params} if error.key else {}),
            }
        )

    @property
    def running(self) -> bool:
        return self.stream is not None and not self.paused and not self.stream.finished

    # ------------------------------------------------------------------ commands
    async def handle(self, text: str) -> None:
        """Act on one text frame; a bad frame or command is answered with an ``error`` and changes nothing.

        A frame over the size limit raises MessageTooBig: the route closes the socket with 1009.
        """
        limit = self.settings.max_message_bytes
        if len(text) > limit or len(text.encode()) > limit:
            raise MessageTooBig
        try:
            self._charge()
            command = parse_command(text)
            try:
                await self._dispatch(command)
            except CommandError as error:
                error.ref = command.ref
                raise
            except (SlowClient, ClientGone, CommandFlood):
                raise
            except Exception as error:  # a bug in the engine: report it, drop the run, keep serving
                raise self._engine_failure(error) from None
        except CommandError as error:
            await self.error(error)

    def _engine_failure(self, error: Exception) -> CommandError:
        logger.exception("engine failure in a stream; the run was dropped")
        self.stream = None
        return CommandError(
            "internal_error", f"the engine failed ({type(error).__name__}); the run was stopped — start again"
        )

    def _charge(self) -> None:
        """Token bucket: refuse (and after sustained abuse, drop) a client sending too many commands.

        Refusals pile up and drain at ``FLOOD_DRAIN`` × the rate, whether or not a token came back in
        between, so a client flooding at ten times the rate is closed within seconds, and a burst or a
        client merely over the rate only gets ``rate_limited`` answers.
        """
        now = time.monotonic()
        rate = self.settings.max_commands_per_second
        elapsed = now - self._refilled
        self._tokens = min(2 * rate, self._tokens + elapsed * rate)
        self._refused = max(0.0, self._refused - elapsed * FLOOD_DRAIN * rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return
        self._refused += 1
        if self._refused > FLOOD_LIMIT * rate:
            raise CommandFlood
        raise CommandError("rate_limited", f"at most {rate:g} commands per second")

    async def _dispatch(self, command: Any) -> None:
        if isinstance(command, Start):
            await self._start(command)
            return
        stream = self.stream
        if stream is None:
            raise CommandError("not_started", f"'{command.type}' needs a run: send 'start' first")
        if isinstance(command, Pause):
            self.paused = True
            await self._state()
        elif isinstance(command, Resume):
            self.paused = False
            self._reset_pace()
            await self._state()
        elif isinstance(command, SetSpeed):
            self._check_speed(command.value, "value")
            self.speed = command.value
            self._reset_pace()
            await self._state()
        elif isinstance(command, Step):
            self.paused = True
            await self._step_command(stream, command.n)
            await self._state()
        elif isinstance(command, Stop):
            async with self._lock:
                events = stream.stop()
            await self._emit(events)
        elif isinstance(command, Set):
            async with self._lock:
                messages = [stream.set(command)]
            await self._send_all(messages)
        elif isinstance(command, AddRun):
            async with self._lock:
                messages = stream.add_run(command)
                self._heavy = stream.step_seconds > self.settings.stream_thread_s  # an L-BFGS run joined
            await self._send_all(messages)
        elif isinstance(command, RemoveRun):
            async with self._lock:
                messages = stream.remove_run(command)
            await self._send_all(messages)
        elif isinstance(command, Explain):
            async with self._lock:
                messages = [stream.explain(command)]
            await self._send_all(messages)
        self._poke()

    def _check_speed(self, speed: float | str, field: str) -> None:
        if speed != "max" and not (0.1 <= float(speed) <= self.settings.max_speed):
            raise CommandError(
                "invalid_command",
                f"speed must be between 0.1 and {self.settings.max_speed:g} steps/s, or 'max'",
                field,
            )

    async def _start(self, command: Start) -> None:
        self._check_speed(command.speed, "speed")
        # Validating a config (up to max_message_bytes, with a CSV) and setting up the run is work too.
        stream = await asyncio.to_thread(STREAMS[command.kind], command.config, self.settings)
        self.seq += 1
        self.stream = stream
        # From the price, not from timing: a busy machine makes any step look slow now and then, and
        # sending light steps to a thread only adds GIL hand-offs. Surface steps are heavy only with
        # optimizers that evaluate many times a step (L-BFGS).
        self._heavy = stream.step_seconds > self.settings.stream_thread_s
        self._bytes_per_step = stream.step_bytes  # a first guess too, so the first message is bounded
        self.speed, self.paused = command.speed, command.paused
        self._made = 0
        self._reset_pace()
        started = {"type": "started", "seq": self.seq, "kind": stream.kind, **stream.started()}
        await self.send({**started, "speed": self.speed, "paused": self.paused})
        await self._send_all(stream.opening())
        self._poke()

    def _poke(self) -> None:
        """Wake the pump now (a command changed what is due)."""
        if self._wake is not None:
            _resolve(self._wake)

    async def _state(self) -> None:
        await self.send({"type": "state", "seq": self.seq, "paused": self.paused, "speed": self.speed})

    async def _emit(self, events: list[Any], steps: int = 0) -> None:
        """The messages of ``events`` (steps or iterations, epochs, ends, done), in order; ``steps`` is
        how many steps made them, to learn how many fit one message."""
        assert self.stream is not None
        if not events:
            return
        size = await self._send_all(self.stream.messages(events))
        if steps > 0:  # remember the larger messages at once, forget them slowly
            self._bytes_per_step = max(size / steps, 0.8 * self._bytes_per_step)

    async def _send_all(self, messages: list[dict[str, Any]]) -> int:
        """Send in order; returns the bytes sent."""
        size = 0
        for message in messages:
            size += await self.send({"type": message["type"], "seq": self.seq, **message})
        return size

    # ------------------------------------------------------------------ pacing
    def _reset_pace(self) -> None:
        self._anchor = (time.monotonic(), self._made)

    async def _wait(self, until: float | None) -> None:
        """Sleep until the ticker's first beat at or after ``until`` (None: forever), or until a command
        pokes the pump, whichever is first.

        A bare future woken by the ticker, not ``wait_for`` (a task and a timer per call): a paced socket
        sleeps 60 times a second, and 200 of them share one timer and wake on the same beat.
        """
        wake = self._wake = asyncio.get_running_loop().create_future()
        if until is not None:
            self.ticker.alarm(until, wake)
        await wake

    async def pump(self) -> None:
        """Forever: make the steps that are due at the current speed and send them (cancelled on close)."""
        while True:
            if not self.running:
                await self._wait(None)
                continue
            try:
                if self.speed == "max":
                    await self._pump_max()
                else:
                    await self._pump_paced(float(self.speed))
            except (SlowClient, ClientGone, asyncio.CancelledError):
                raise
            except Exception as error:  # everything already sent stays with the client
                await self.error(self._engine_failure(error))

    async def _pump_paced(self, speed: float) -> None:
        """Send the steps due at ``speed``; what cannot be computed within one frame is dropped from the
        schedule (the stream falls behind and says so in a ``lag`` message), never caught up in a block.

        A light stream (a few steps per beat, one optimizer chain) has its steps made by the ticker
        together with the other sockets', at most a beat's share of its speed: when the worker is
        behind, catching up would only make each beat longer, so the debt is dropped at once. The rest
        compute their own slices.
        """
        start_time, start_made = self._anchor
        now = time.monotonic()
        # Steps fall due on the beat (however late the loop wakes after it), so a steady speed gives
        # the same number of steps each beat. The nudge absorbs rounding at a step due on the beat.
        beat = self.ticker.last_beat(now)
        due = math.floor((beat - start_time) * speed + 1e-6) - (self._made - start_made)
        if due <= 0:  # sleep until the next step is due (a command may wake the pump sooner)
            await self._wait(start_time + (self._made - start_made + 1) / speed)
            return
        seq, stream = self.seq, self.stream
        assert stream is not None
        lanes = None if self._heavy or speed * self.ticker.frame_s > MAX_TICK_STEPS else stream.lanes
        if lanes is not None:  # a beat's share of the speed, no more: a debt is dropped, not caught up
            share = max(1, math.ceil(speed * self.ticker.frame_s - 1e-9))
            events, made = await self.ticker.advance(lanes, min(due, share), self._still(seq))
            self._made += made
        else:
            events, made = await self._advance(stream, due, now + self.settings.stream_frame_s)
        if seq == self.seq:
            await self._emit(events, made)
            if made < due:
                await self._fell_behind(speed)
        # The next step's beat, and never this one again: a fast stream sends once per beat.
        next_due = start_time + (self._made - start_made + 1) / speed
        await self._wait(max(next_due, beat + self.ticker.frame_s / 2))

    def _still(self, seq: int) -> Callable[[], bool]:
        """Whether the ticker may go on stepping this run: the session plays, and the run is the same."""
        return lambda: self.running and seq == self.seq

    async def _fell_behind(self, speed: float) -> None:
        """Forget the debt (no catching up in one block) and tell the client, at most once a second."""
        now = time.monotonic()
        self._reset_pace()
        window_start, window_made = self._lag_window
        if now - window_start >= 1.0:
            achieved = (self._made - window_made) / (now - window_start)
            self._lag_window = (now, self._made)
            await self.send({"type": "lag", "seq": self.seq, "speed": speed, "achieved": round(achieved, 1)})

    async def _pump_max(self) -> None:
        """Compute for about one frame, in slices with yields between them; then send once."""
        seq, stream = self.seq, self.stream
        assert stream is not None
        events, made = await self._advance(stream, None, time.monotonic() + self.settings.stream_frame_s)
        if seq == self.seq:
            await self._emit(events, made)
        await asyncio.sleep(0)

    async def _advance(
        self, stream: LiveStream, wanted: int | None, deadline: float, playing: bool = True
    ) -> tuple[list[Any], int]:
        """Up to ``wanted`` steps (None: as many as fit) until ``deadline``, in slices of about
        ``stream_chunk_s`` with a yield after each, so other sockets take their turn between slices.

        A step estimated to cost more than ``stream_thread_s`` (a large network batch) runs in a thread,
        where NumPy's large matrix products release the GIL; such a stream holds its lock meanwhile so
        commands wait for the step instead of changing the run under it. A message never grows past
        ``frame_target`` bytes (estimated from the previous messages).
        """
        seq = self.seq
        events: list[Any] = []
        made = 0
        cap = max(1, int(self._frame_target / max(self._bytes_per_step, 1.0)))
        limit = cap if wanted is None else min(wanted, cap)
        while made < limit:
            n = min(self._chunk, limit - made)
            heavy = self._heavy
            if heavy:
                n = 1
            began = time.perf_counter()
            if heavy:  # commands take the lock too, so they wait for this step instead of racing it
                async with self._lock:
                    threads = _heavy_steps(self.settings.compute_workers)
                    batch = await asyncio.get_running_loop().run_in_executor(threads, stream.advance, n)
            else:  # no await while it runs: nothing else can touch the run meanwhile
                batch = stream.advance(n)
            took = time.perf_counter() - began
            self._adapt_chunk(took)
            self._made += n
            made += n
            events.extend(batch)
            if time.monotonic() >= deadline or stream.finished or seq != self.seq:
                break
            if playing and not self.running:
                break
            await asyncio.sleep(0)
        return events, made

    def _adapt_chunk(self, took: float) -> None:
        """Adapt the slice size so one slice takes about ``stream_chunk_s``."""
        target = self.settings.stream_chunk_s
        if took > 0:
            self._chunk = max(1, min(4096, int(self._chunk * min(2.0, target / took))))

    async def _step_command(self, stream: LiveStream, n: int) -> None:
        """``step n``: the same slices and frame bound as playing, sent as they are made."""
        seq = self.seq
        left = n
        while left > 0 and not stream.finished and seq == self.seq:
            deadline = time.monotonic() + self.settings.stream_frame_s
            events, made = await self._advance(stream, left, deadline, playing=False)
            left -= max(made, 1)
            if seq == self.seq:
                await self._emit(events, made)
            await asyncio.sleep(0)

    def close(self) -> None:
        """Drop the run and everything it holds."""
        self.stream = None
