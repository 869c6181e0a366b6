"""What a live stream carries: a descent on a surface or a network in training, as protocol v1 messages.

A StreamSession (pacing, commands, sockets) drives one of these; each turns a validated config into a core
run, advances it, and turns its events into messages (without ``type``-independent fields like ``seq``,
which the session adds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import ValidationError

from app.config import Settings
from app.ml.errors import ConfigError
from app.ml.run import Event, RunEnd, RunSpec, StepRecord, collect, extra_evaluations, summary
from app.ml.training import EpochRecord, TrainEvent
from app.web import jobs, maps, networks, serialize
from app.web.commands import AddRun, CommandError, Explain, RemoveRun, Set
from app.web.compute import run_blocking
from app.web.cost import step_price
from app.web.errors import InputError, error_details
from app.web.schemas import MapRequest, NetworkRequest, TraceRequest
from app.web.service import make_descent

Message = dict[str, Any]
MACS_PER_SECOND = 2e9
"""Roughly what NumPy does on this kind of machine for small dense layers: a first guess only."""
HELD_RUNS_PER_LIVE_RUN = 16
"""A stream may have held (added, counting removed ones) this many times ``max_runs`` runs in all: a removed
run keeps its lane in the Descent, so endless add/remove cycles must not grow the socket's memory forever."""
SECONDS_PER_EXTRA_EVALUATION = 5e-4
"""One more evaluation of an L-BFGS lane in a step (its own Python loop: the two-loop recursion and the
line search): Rosenbrock with torch's defaults takes 10-15 ms for a step of 20 on the dev machine."""
SMALL_BATCH = 16
"""Batches up to this many records are converted row by row (cheaper than collect's NumPy work)."""


class LiveStream(Protocol):
    """What a StreamSession drives: a run that advances in steps and speaks protocol v1 messages."""

    kind: str
    step_seconds: float
    """A first guess of one step's compute time (0: measure it), so a heavy first step leaves the loop."""
    step_bytes: float
    """A first guess of one step's share of a message, so the first message is bounded."""

    @property
    def finished(self) -> bool: ...

    def started(self) -> Message:
        """The ``started`` message's fields."""
        ...

    def opening(self) -> list[Message]:
        """The messages to send right after ``started`` (a race's step 0 of every run)."""
        ...

    def advance(self, n: int) -> list[Any]: ...

    def stop(self) -> list[Any]: ...

    def set(self, command: Set) -> Message: ...

    def add_run(self, command: AddRun) -> list[Message]: ...

    def remove_run(self, command: RemoveRun) -> list[Message]: ...

    def explain(self, command: Explain) -> Message:
        """The ``ledger`` message of a run's next update (surfaces; a network refuses)."""
        ...

    def messages(self, events: list[Any]) -> list[Message]:
        """The messages of ``events`` (as ``advance`` and ``stop`` return them), in order."""
        ...


def _invalid_config(
    error: ConfigError | InputError | ValidationError, root: str, strip: tuple[str | int, ...] = ()
) -> CommandError:
    """The first bad field of ``error`` as an ``invalid_config`` error whose field is under ``root``."""
    first = error_details(error, (root,), strip=strip)[0]
    return CommandError(
        "invalid_config",
        first["msg"],
        ".".join(str(p) for p in first["loc"]),
        key=first.get("key"),
        params=first.get("params"),
    )


def _refused_hyperparameters(error: ConfigError) -> CommandError:
    """A live ``set`` the core refused: an ``invalid_config`` error on its field (or ``hyperparameters``)."""
    return CommandError(
        "invalid_config",
        error.message,
        error.field or "hyperparameters",
        key=error.key,
        params=error.params,
    )


def _validated(model: type[TraceRequest] | type[NetworkRequest] | type[MapRequest], config: Any) -> Any:
    try:
        return model.model_validate(config)
    except ValidationError as error:
        raise _invalid_config(error, "config") from None


class SurfaceStream:
    """Several optimizer runs on one surface (a race); runs may join, leave or change mid-run."""

    kind = "surface"

    def __init__(self, config: Any, settings: Settings) -> None:
        self.request = _validated(TraceRequest, config)
        self.settings = settings
        try:
            self.surface, specs, self.descent, self.tunings = make_descent(
                self.request, settings, stream=True
            )
        except (ConfigError, InputError) as error:
            raise _invalid_config(error, "config") from None
        self.specs = {s.id: s for s in specs}
        self._aux_of = {s.id: serialize.run_aux(s.optimizer) for s in specs}  # each run's aux columns
        # Small vectorised steps, unless L-BFGS or SAM evaluate more: priced (a long step runs in a thread).
        self.step_seconds = extra_evaluations(specs) * SECONDS_PER_EXTRA_EVALUATION
        self.step_bytes = float(len(specs) * len(serialize.columns(self.surface.dim)) * 21)
        self._removed: set[str] = set()  # still lanes of the Descent (stopped), no longer in the race
        self._last: dict[str, tuple[list[float], float, int]] = {}
        self._evaluations: dict[str, int] = {}
        self._ended: dict[str, RunEnd] = {}
        self._done_sent = False

    @property
    def finished(self) -> bool:
        return self.descent.finished

    def advance(self, n: int) -> list[Event]:
        return self.descent.advance(n)

    def stop(self) -> list[Event]:
        return self.descent.stop()

    def started(self) -> Message:
        return {
            "surface": serialize.surface_json(self.surface),
            "runs": [self._run_json(spec) for spec in self.specs.values()],
            "columns": serialize.union_columns([s.optimizer for s in self.specs.values()], self.surface.dim),
            "steps": self.request.steps,
        }

    def opening(self) -> list[Message]:
        """Step 0 of every run, at once: the race is drawn before it starts."""
        return self.messages(self.descent.advance(1))

    def _run_json(self, spec: RunSpec) -> Message:
        hp = self.descent.hyperparameters(spec.id)
        return {
            "id": spec.id,
            "optimizer": spec.optimizer,
            "hyperparameters": {k: serialize.jsonable(v) for k, v in hp.items()},
            "schedule": serialize.run_schedule_json(spec.schedule),
            "clip_norm": spec.clip_norm,
            "clip_value": spec.clip_value,
            "start": None if spec.start is None else [float(v) for v in spec.start],
            "aux_columns": serialize.aux_names(serialize.run_aux(spec.optimizer), self.surface.dim),
            "tuning": serialize.tuning_json(self.tunings.get(spec.id)),
        }

    @property
    def live_ids(self) -> list[str]:
        """The runs in the race: every run added and not removed (ended ones included until removed)."""
        return [rid for rid in self.descent.ids if rid not in self._removed]

    def _known(self, run: str | None) -> str:
        if run is None or run not in self.descent.ids or run in self._removed:
            live = ", ".join(self.live_ids) or "none"
            gone = " (it was removed)" if run in self._removed else ""
            raise CommandError("unknown_run", f"no run {run!r}{gone}; runs: {live}", "run")
        return run

    def set(self, command: Set) -> Message:
        run = self._known(command.run)
        try:
            self.descent.set_hyperparameters(run, command.hyperparameters)
        except ConfigError as error:
            raise _refused_hyperparameters(error) from None
        hp = self.descent.hyperparameters(run)
        return {
            "type": "updated",
            "run": run,
            "hyperparameters": {k: serialize.jsonable(v) for k, v in hp.items()},
            "from_step": int(self.descent.steps[self.descent.ids.index(run)]) + 1,
        }

    def add_run(self, command: AddRun) -> list[Message]:
        max_runs = self.settings.max_runs
        if len(self.live_ids) >= max_runs:
            raise CommandError(
                "limit_exceeded", f"at most {max_runs} runs per stream; remove one first", "run"
            )
        if len(self.descent.ids) >= HELD_RUNS_PER_LIVE_RUN * max_runs:
            raise CommandError(
                "limit_exceeded",
                f"this stream has held {len(self.descent.ids)} runs; send 'start' to begin afresh",
                "run",
            )
        if command.run.id in self._removed:
            raise CommandError(
                "invalid_config", f"run id {command.run.id!r} was a removed run's; pick a new id", "run.id"
            )
        taken = set(self.descent.ids)
        run_id = command.run.id or next(f"r{i}" for i in range(len(taken) + 1) if f"r{i}" not in taken)
        spec = TraceRequest.model_validate(
            {"runs": [{**command.run.model_dump(), "id": run_id}]}
        ).run_specs()[0]
        try:
            self.descent.add_runs([spec])
        except ConfigError as error:
            raise _invalid_config(error, "run", strip=("runs", 0)) from None
        self.specs[spec.id] = spec
        self._aux_of[spec.id] = serialize.run_aux(spec.optimizer)
        self.step_seconds += extra_evaluations([spec]) * SECONDS_PER_EXTRA_EVALUATION
        self._done_sent = False
        return [{"type": "run_added", "run": self._run_json(spec)}, *self.messages(self.descent.advance(1))]

    def explain(self, command: Explain) -> Message:
        run = self._known(command.run)
        return {"type": "ledger", **serialize.ledger_json(self.descent.explain(run))}

    def remove_run(self, command: RemoveRun) -> list[Message]:
        run = self._known(command.run)
        self._removed.add(run)
        return [*self.messages(self.descent.stop(run)), {"type": "run_removed", "run": run}]

    def messages(self, events: list[Event]) -> list[Message]:
        """One ``steps`` message for the records, an ``event`` per run end, then ``done`` once all ended."""
        out: list[Message] = []
        records = [e for e in events if isinstance(e, StepRecord)]
        if records:
            aux_of = self._aux_of
            if len(records) > SMALL_BATCH:
                runs = {rid: serialize.trace_columns(t, aux_of[rid]) for rid, t in collect(records).items()}
            else:
                runs = serialize.records_columns(records, self.surface.dim, aux_of)
            coords = serialize.COORDS[: self.surface.dim]
            for rid, cols in runs.items():
                self._last[rid] = ([cols[c][-1] for c in coords], cols["loss"][-1], cols["step"][-1])
                self._evaluations[rid] = self._evaluations.get(rid, 0) + sum(cols["evaluations"])
            out.append({"type": "steps", "runs": runs})
        for end in (e for e in events if isinstance(e, RunEnd)):
            self._ended[end.run_id] = end
            out.append(
                {
                    "type": "event",
                    "run": end.run_id,
                    "reason": end.reason,
                    "step": end.step,
                    "detail": end.detail,
                    "summary": self._summary(end.run_id),
                }
            )
        if self.descent.finished and not self._done_sent:
            self._done_sent = True
            out.append({"type": "done", "summaries": {rid: self._summary(rid) for rid in self.descent.ids}})
        return out

    def _summary(self, run_id: str) -> Message:
        position, loss, step = self._last.get(run_id, (None, None, 0))
        evaluations = self._evaluations.get(run_id, 0)
        return summary(self.surface, position, loss, step, self._ended.get(run_id), evaluations)


class NetworkStream:
    """One small network in training; iterations and epochs stream as they happen."""

    kind = "network"

    def __init__(self, config: Any, settings: Settings) -> None:
        self.request = _validated(NetworkRequest, config)
        try:
            self.data, self.training = networks.make_training(self.request, settings, stream=True)
        except ConfigError as error:
            raise _invalid_config(error, "config") from None
        shape = networks.network_shape(self.request, self.data)
        price = step_price(shape)
        self.step_seconds = price.work / MACS_PER_SECOND
        self.step_bytes = price.bytes
        self._last_epoch: EpochRecord | None = None
        self._done_sent = False

    @property
    def finished(self) -> bool:
        return self.training.finished

    def advance(self, n: int) -> list[TrainEvent]:
        return self.training.advance(n)

    def stop(self) -> list[TrainEvent]:
        return self.training.stop()

    def started(self) -> Message:
        return networks.started_json(self.data, self.training)

    def opening(self) -> list[Message]:
        """Nothing before the first iteration: ``started`` already carries the dataset and the network."""
        return []

    def set(self, command: Set) -> Message:
        try:
            self.training.set_hyperparameters(command.hyperparameters)
        except ConfigError as error:
            raise _refused_hyperparameters(error) from None
        return {
            "type": "updated",
            "run": None,
            "hyperparameters": {k: serialize.jsonable(v) for k, v in self.training.hyperparameters.items()},
            "from_step": self.training.global_step + 1,
        }

    def add_run(self, command: AddRun) -> list[Message]:
        raise CommandError(
            "invalid_command", "a network stream trains one network; start another socket", "type"
        )

    def remove_run(self, command: RemoveRun) -> list[Message]:
        raise CommandError("invalid_command", "a network stream trains one network; use stop", "type")

    def explain(self, command: Explain) -> Message:
        raise CommandError(
            "invalid_command",
            "the ledger explains a surface run's update; a network has thousands of weights",
            "type",
        )

    def messages(self, events: list[TrainEvent]) -> list[Message]:
        """``iterations``, then ``epoch``, then ``event`` and ``done`` when the run ends."""
        iterations, epochs, ends = networks.split_events(events)
        out: list[Message] = []
        if iterations:
            out.append({"type": "iterations", "columns": networks.iterations_json(iterations)})
        if epochs:
            self._last_epoch = epochs[-1]
            out.append({"type": "epoch", "records": [networks.epoch_json(r) for r in epochs]})
        for end in ends:
            out.append({"type": "event", **networks.end_json(end)})
        if self.training.finished and not self._done_sent:
            self._done_sent = True
            out.append({"type": "done", "summary": networks.summary_json(self.training, self._last_epoch)})
        return out


MAP_BLOCK_CELLS = 2_000
"""Cells of one band of a streamed map (whole rows, at least one): 10 rows of a 200 × 200 map, 20 bands."""
MAP_LANE_STEPS_PER_SECOND = 1e7
"""Roughly what a band's lanes advance per second: a first guess of a band's time, so it leaves the loop."""


class MapStream:
    """A convergence map that fills band by band: one "step" of the stream computes the next band of rows
    of every panel to its end (a ``map_rows`` message); the last band is followed by ``done``."""

    kind = "map"

    def __init__(self, config: Any, settings: Settings) -> None:
        self.request = _validated(MapRequest, config)
        try:
            self.surface, self.panels = maps.make_panels(self.request, settings)
        except (ConfigError, InputError) as error:
            raise _invalid_config(error, "config") from None
        n = self.request.n
        self.band = max(1, MAP_BLOCK_CELLS // n)
        cells = self.band * n * len(self.panels)
        self.step_seconds = cells * (self.request.steps + 1) * self.surface.cost / MAP_LANE_STEPS_PER_SECOND
        self.step_bytes = float(cells * 40)
        self.settings = settings
        self._canonical = self.request.model_dump_json().encode()
        self.next_row = 0
        self.stopped = False
        self._done_sent = False
        self._bands: dict[str, list[Any]] = {p.id: [] for p in self.panels}

    @property
    def finished(self) -> bool:
        return self.stopped or self.next_row >= self.request.n

    def advance(self, n: int) -> list[Any]:
        """The next ``n`` bands (fewer at the end): each a (start, stop, {panel id: MapRows}).

        A band is computed in the compute pool (a worker process by default) while this thread waits: a
        band of a large map takes a tenth of a second of NumPy calls on small arrays, which in a thread of
        the server would hold its GIL and slow every other socket."""
        events: list[Any] = []
        s = self.settings
        for _ in range(n):
            if self.finished:
                break
            start, stop = self.next_row, min(self.request.n, self.next_row + self.band)
            if self.step_seconds > s.stream_thread_s:
                rows = run_blocking(
                    s.compute_mode, s.compute_workers, jobs.map_band, self._canonical, s, start, stop
                )
            else:
                rows = {p.id: p.plan.rows(start, stop) for p in self.panels}
            events.append((start, stop, rows))
            self.next_row = stop
        return events

    def stop(self) -> list[Any]:
        self.stopped = True
        return ["stopped"]

    def started(self) -> Message:
        return {"map": maps.header_json(self.request, self.surface, self.panels), "band": self.band}

    def opening(self) -> list[Message]:
        return []

    def set(self, command: Set) -> Message:
        raise CommandError("invalid_command", "a map's hyperparameters are fixed; start a new map", "type")

    def add_run(self, command: AddRun) -> list[Message]:
        raise CommandError("invalid_command", "a map's panels are fixed; start a new map", "type")

    def remove_run(self, command: RemoveRun) -> list[Message]:
        raise CommandError("invalid_command", "a map's panels are fixed; start a new map", "type")

    def explain(self, command: Explain) -> Message:
        raise CommandError(
            "invalid_command", "the ledger explains one run's update; a map's runs keep no records", "type"
        )

    def messages(self, events: list[Any]) -> list[Message]:
        """A ``map_rows`` per band; once the map is complete (or stopped), ``done`` with each panel's counts
        over the rows computed."""
        out: list[Message] = []
        for event in events:
            if event == "stopped":
                continue
            start, stop, rows = event
            for panel_id, band in rows.items():
                self._bands[panel_id].append(band)
            out.append(
                {
                    "type": "map_rows",
                    "start": start,
                    "stop": stop,
                    "maps": {panel_id: maps.rows_json(band) for panel_id, band in rows.items()},
                }
            )
        if self.finished and not self._done_sent:
            self._done_sent = True
            summaries = {
                panel_id: maps.summary_json(self.surface, maps.stack(bands))
                for panel_id, bands in self._bands.items()
            }
            out.append(
                {"type": "done", "rows": self.next_row, "stopped": self.stopped, "summaries": summaries}
            )
        return out


STREAMS: dict[str, Callable[[Any, Settings], LiveStream]] = {
    "surface": SurfaceStream,
    "network": NetworkStream,
    "map": MapStream,
}
