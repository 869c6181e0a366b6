"""One live stream: a Descent driven by a client's commands and paced into `steps` messages (protocol v1).

The session knows nothing of Starlette: it is given an async ``send`` for text frames, so the same
logic is testable and the route stays thin. Computation happens in the event loop in short slices
(``stream_chunk_s``) with a yield between them, so a fast stream never stalls the other sockets; only one
message is ever being built or sent at a time, so memory per connection stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from app.config import Settings
from app.ml.errors import ConfigError
from app.ml.run import Descent, Event, RunEnd, RunSpec, StepRecord, collect, summary
from app.ml.surfaces import Surface
from app.web import serialize
from app.web.commands import (
    COMMANDS,
    PROTOCOL_VERSION,
    AddRun,
    CommandError,
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
from app.web.errors import InputError
from app.web.schemas import TraceRequest
from app.web.service import make_descent

Send = Callable[[str], Awaitable[None]]
MAX_PACED_BATCH = 5_000
"""At a paced speed a batch never holds more steps than this: a slow client sees slower playback instead."""


class SlowClient(Exception):
    """The client stopped reading: a send did not complete within ``send_timeout_s``."""


class CommandFlood(Exception):
    """The client sends commands far beyond the rate limit."""


def _config_field(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if field else prefix


class StreamSession:
    """The state of one socket: the descent in progress, its pace, and the last record of each run."""

    def __init__(self, send: Send, settings: Settings) -> None:
        self._send_raw = send
        self.settings = settings
        self._send_lock = asyncio.Lock()
        self._poke = asyncio.Event()
        self.descent: Descent | None = None
        self.surface: Surface | None = None
        self.request: TraceRequest | None = None
        self.seq = 0
        self.paused = True
        self.speed: float | str = 30.0
        self._anchor = (0.0, 0)  # (time, steps made) when the current pace began
        self._made = 0  # steps made by the pump since the descent started
        self._last: dict[str, tuple[list[float], float, int]] = {}
        self._ended: dict[str, RunEnd] = {}
        self._done_sent = False
        self._tokens = 2 * settings.max_commands_per_second
        self._refilled = time.monotonic()
        self._refused = 0
        self._chunk = 16

    # ------------------------------------------------------------------ sending
    async def send(self, message: dict[str, Any]) -> None:
        """One frame, serialised by orjson (every value is finite by construction), under a send lock."""
        text = serialize.dumps(message).decode()
        async with self._send_lock:
            try:
                await asyncio.wait_for(self._send_raw(text), self.settings.send_timeout_s)
            except TimeoutError:
                raise SlowClient from None

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
            }
        )

    @property
    def running(self) -> bool:
        return self.descent is not None and not self.paused and not self.descent.finished

    # ------------------------------------------------------------------ commands
    async def handle(self, text: str) -> None:
        """Act on one text frame; a bad frame or command is answered with an ``error`` and changes nothing."""
        try:
            self._charge()
            if len(text.encode()) > self.settings.max_message_bytes:
                raise CommandError(
                    "too_large", f"a command may be at most {self.settings.max_message_bytes} bytes", None
                )
            command = parse_command(text)
            try:
                await self._dispatch(command)
            except CommandError as error:
                error.ref = command.ref
                raise
        except CommandError as error:
            await self.error(error)

    def _charge(self) -> None:
        """Token bucket: refuse (and after long abuse, drop) a client sending too many commands."""
        now = time.monotonic()
        rate = self.settings.max_commands_per_second
        self._tokens = min(2 * rate, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            self._refused = 0
            return
        self._refused += 1
        if self._refused > 10 * rate:
            raise CommandFlood
        raise CommandError("rate_limited", f"at most {rate:g} commands per second")

    async def _dispatch(self, command: Any) -> None:
        if isinstance(command, Start):
            await self._start(command)
            return
        if self.descent is None:
            raise CommandError("not_started", f"'{command.type}' needs a descent: send 'start' first")
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
            await self._emit(self.descent.advance(command.n))
            await self._state()
        elif isinstance(command, Stop):
            await self._emit(self.descent.stop())
        elif isinstance(command, Set):
            await self._set(command)
        elif isinstance(command, AddRun):
            await self._add_run(command)
        elif isinstance(command, RemoveRun):
            await self._remove_run(command)
        self._poke.set()

    def _check_speed(self, speed: float | str, field: str) -> None:
        if speed != "max" and not (0.1 <= float(speed) <= self.settings.max_speed):
            raise CommandError(
                "invalid_command",
                f"speed must be between 0.1 and {self.settings.max_speed:g} steps/s, or 'max'",
                field,
            )

    async def _start(self, command: Start) -> None:
        self._check_speed(command.speed, "speed")
        try:
            surface, specs, descent = make_descent(command.config, self.settings, stream=True)
        except ConfigError as error:
            raise CommandError(
                "invalid_config", error.message, _config_field("config", error.field)
            ) from None
        except InputError as error:
            field = ".".join(str(p) for p in error.loc[1:])
            raise CommandError("invalid_config", error.message, _config_field("config", field)) from None
        self.seq += 1
        self.descent, self.surface, self.request = descent, surface, command.config
        self.speed, self.paused = command.speed, command.paused
        self._made, self._last, self._ended, self._done_sent = 0, {}, {}, False
        self._reset_pace()
        await self.send(
            {
                "type": "started",
                "seq": self.seq,
                "surface": serialize.surface_json(surface),
                "runs": [self._run_json(spec) for spec in specs],
                "columns": serialize.columns(surface.dim),
                "steps": command.config.steps,
                "speed": self.speed,
                "paused": self.paused,
            }
        )
        await self._emit(descent.advance(1))  # step 0 of every run, at once
        self._poke.set()

    def _run_json(self, spec: RunSpec) -> dict[str, Any]:
        assert self.descent is not None
        hp = self.descent.hyperparameters(spec.id)
        return {
            "id": spec.id,
            "optimizer": spec.optimizer,
            "hyperparameters": {k: serialize.jsonable(v) for k, v in hp.items()},
            "schedule": {"name": spec.schedule, "params": dict(spec.schedule_params)},
            "clip_norm": spec.clip_norm,
            "clip_value": spec.clip_value,
            "start": None if spec.start is None else [float(v) for v in spec.start],
        }

    async def _set(self, command: Set) -> None:
        assert self.descent is not None
        if command.run not in self.descent.ids:
            raise CommandError(
                "unknown_run", f"no run {command.run!r}; runs: {', '.join(self.descent.ids)}", "run"
            )
        try:
            self.descent.set_hyperparameters(command.run, command.hyperparameters)
        except ConfigError as error:
            raise CommandError("invalid_config", error.message, error.field or "hyperparameters") from None
        lane = self.descent.ids.index(command.run)
        hp = self.descent.hyperparameters(command.run)
        await self.send(
            {
                "type": "updated",
                "seq": self.seq,
                "run": command.run,
                "hyperparameters": {k: serialize.jsonable(v) for k, v in hp.items()},
                "from_step": int(self.descent.steps[lane]) + 1,
            }
        )

    async def _add_run(self, command: AddRun) -> None:
        assert self.descent is not None and self.request is not None
        if len(self.descent.ids) >= self.settings.max_runs:
            raise CommandError("limit_exceeded", f"at most {self.settings.max_runs} runs per stream", "run")
        taken = set(self.descent.ids)
        run_id = command.run.id or next(f"r{i}" for i in range(len(taken) + 1) if f"r{i}" not in taken)
        spec = TraceRequest.model_validate(
            {"runs": [{**command.run.model_dump(), "id": run_id}]}
        ).run_specs()[0]
        try:
            self.descent.add_runs([spec])
        except ConfigError as error:
            field = error.field.removeprefix("runs.0").lstrip(".")
            raise CommandError("invalid_config", error.message, _config_field("run", field)) from None
        self._done_sent = False
        await self.send({"type": "run_added", "seq": self.seq, "run": self._run_json(spec)})
        await self._emit(self.descent.advance(1))

    async def _remove_run(self, command: RemoveRun) -> None:
        assert self.descent is not None
        if command.run not in self.descent.ids:
            raise CommandError(
                "unknown_run", f"no run {command.run!r}; runs: {', '.join(self.descent.ids)}", "run"
            )
        await self._emit(self.descent.stop(command.run))
        await self.send({"type": "run_removed", "seq": self.seq, "run": command.run})

    async def _state(self) -> None:
        await self.send({"type": "state", "seq": self.seq, "paused": self.paused, "speed": self.speed})

    # ------------------------------------------------------------------ output
    async def _emit(self, events: list[Event]) -> None:
        """Send the records of ``events`` as one ``steps`` message, an ``event`` per run end, and ``done``."""
        assert self.surface is not None and self.descent is not None
        records = [e for e in events if isinstance(e, StepRecord)]
        ends = [e for e in events if isinstance(e, RunEnd)]
        if records:
            traces = collect(records)
            for rid, trace in traces.items():
                self._last[rid] = (trace.position[-1].tolist(), float(trace.loss[-1]), int(trace.steps[-1]))
            runs = {rid: serialize.trace_columns(trace) for rid, trace in traces.items()}
            await self.send({"type": "steps", "seq": self.seq, "runs": runs})
        for end in ends:
            self._ended[end.run_id] = end
            await self.send(
                {
                    "type": "event",
                    "seq": self.seq,
                    "run": end.run_id,
                    "event": end.reason,
                    "step": end.step,
                    "detail": end.detail,
                    "summary": self._summary(end.run_id),
                }
            )
        if self.descent.finished and not self._done_sent:
            self._done_sent = True
            summaries = {rid: self._summary(rid) for rid in self.descent.ids}
            await self.send({"type": "done", "seq": self.seq, "summaries": summaries})

    def _summary(self, run_id: str) -> dict[str, Any]:
        assert self.surface is not None
        position, loss, step = self._last.get(run_id, (None, None, 0))
        return summary(self.surface, position, loss, step, self._ended.get(run_id))

    # ------------------------------------------------------------------ pacing
    def _reset_pace(self) -> None:
        self._anchor = (time.monotonic(), self._made)

    async def _wait(self, timeout: float | None) -> None:
        """Sleep until ``timeout`` passes or a command pokes the pump, whichever is first."""
        self._poke.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poke.wait(), timeout)

    async def pump(self) -> None:
        """Forever: make the steps that are due at the current speed and send them (cancelled on close)."""
        while True:
            if not self.running:
                await self._wait(None)
                continue
            if self.speed == "max":
                await self._pump_max()
            else:
                await self._pump_paced(float(self.speed))

    async def _pump_paced(self, speed: float) -> None:
        interval = max(1.0 / speed, self.settings.stream_frame_s)
        start_time, start_made = self._anchor
        due = math.floor((time.monotonic() - start_time) * speed) - (self._made - start_made)
        if due <= 0:  # sleep until the next step is due (a command may wake the pump sooner)
            await self._wait(start_time + (self._made - start_made + 1) / speed - time.monotonic())
            return
        if due > MAX_PACED_BATCH:
            due = MAX_PACED_BATCH
            self._reset_pace()
        seq, descent = self.seq, self.descent
        assert descent is not None
        events = self._compute(descent, due)
        if seq == self.seq:
            await self._emit(events)
        await self._wait(interval)

    async def _pump_max(self) -> None:
        """Compute in slices of about ``stream_chunk_s`` for one frame, yielding in between; send once."""
        seq, descent = self.seq, self.descent
        assert descent is not None
        frame_end = time.monotonic() + self.settings.stream_frame_s
        events: list[Event] = []
        while True:
            events.extend(self._compute(descent, self._chunk))
            if time.monotonic() >= frame_end or not self.running or seq != self.seq:
                break
            await asyncio.sleep(0)
        if seq == self.seq:
            await self._emit(events)
        await asyncio.sleep(0)

    def _compute(self, descent: Descent, n: int) -> list[Event]:
        """``n`` steps, and adapt the slice size so one slice takes about ``stream_chunk_s``."""
        began = time.perf_counter()
        events = descent.advance(n)
        self._made += n
        took = time.perf_counter() - began
        target = self.settings.stream_chunk_s
        if took > 0:
            self._chunk = max(1, min(4096, int(self._chunk * min(2.0, target / took))))
        return events

    def close(self) -> None:
        """Drop the descent and everything it holds."""
        self.descent = None
        self.surface = None
        self.request = None
        self._last.clear()
        self._ended.clear()
