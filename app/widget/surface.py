"""The surface playground in a notebook cell: runs of app.ml's Descent, drawn live by the app's
own figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from app.ml.errors import ConfigError
from app.ml.run import Descent, RunEnd, RunSpec, StepRecord, collect
from app.ml.schedules import Schedule
from app.ml.surfaces import get_surface, grid
from app.web.serialize import (
    columns,
    dumps,
    grid_json,
    records_columns,
    run_schedule_json,
    surface_json,
    trace_columns,
)
from app.widget.live import LiveWidget

GRID = 120
"""Points per axis of the contour: the web playground's figure at the size of a notebook cell."""


def run_specs(optimizers: Sequence[str | Mapping[str, Any]]) -> list[RunSpec]:
    """Runs from optimizer names (id = name, the registry's defaults) or REST-style run dicts."""
    if isinstance(optimizers, str) or not isinstance(optimizers, Sequence) or not optimizers:
        raise ConfigError("optimizers must be a non-empty list of optimizer names or run dicts", "optimizers")
    specs = []
    for i, item in enumerate(optimizers):
        if isinstance(item, str):
            specs.append(RunSpec(item, item))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("optimizer"), str):
            raise ConfigError(
                "each run is an optimizer name or a dict with an 'optimizer' name", f"optimizers.{i}"
            )
        unknown = set(item) - {"id", "optimizer", "hyperparameters", "schedule", "start"}
        if unknown:
            raise ConfigError(f"unknown run field(s): {', '.join(sorted(unknown))}", f"optimizers.{i}")
        schedule = item.get("schedule") or {}
        specs.append(
            RunSpec(
                str(item.get("id", item["optimizer"])),
                item["optimizer"],
                dict(item.get("hyperparameters") or {}),
                Schedule(schedule.get("name", "constant"), dict(schedule.get("params") or {})),
                start=item.get("start"),
            )
        )
    return specs


class Playground(LiveWidget):
    """``Playground(surface="himmelblau", optimizers=["sgd", "adam"])``: a contour with the paths drawn
    live, a loss plot, play/pause/step and a learning rate per run; ``.traces`` holds every step as NumPy."""

    kind = "surface"

    def __init__(
        self,
        surface: str = "himmelblau",
        optimizers: Sequence[str | Mapping[str, Any]] = ("sgd", "adam"),
        *,
        steps: int = 1000,
        start: Sequence[float] | None = None,
        speed: float = 60.0,
        lang: str = "en",
    ) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int):
            raise ConfigError(f"steps must be an integer, got {steps!r}", "steps")
        chosen = get_surface(surface)
        if chosen.dim != 2:
            raise ConfigError(
                f"the widget draws 2-D surfaces; {surface!r} has {chosen.dim} dimension(s)", "surface"
            )
        specs = run_specs(optimizers)
        try:
            self._descent = Descent(chosen, specs, steps, start=start)
        except ConfigError as error:  # the core names runs as a request does; here they are `optimizers`
            if error.field.startswith("runs."):
                error.field = "optimizers." + error.field.removeprefix("runs.")
            raise
        self._events: list[Any] = []
        description = {**surface_json(chosen), "grid": grid_json(grid(chosen, GRID))}
        runs = [
            {
                "id": spec.id,
                "optimizer": spec.optimizer,
                "hyperparameters": self._descent.hyperparameters(spec.id),
                "schedule": run_schedule_json(spec.schedule),
            }
            for spec in specs
        ]
        setup = {"surface": description, "runs": runs, "steps": steps, "columns": columns(chosen.dim)}
        super().__init__(speed=speed, lang=lang, setup=orjson.loads(dumps(setup)))

    # ------------------------------------------------------------------ LiveWidget
    @property
    def finished(self) -> bool:
        return self._descent.finished

    def _advance(self, n: int) -> dict[str, Any] | None:
        events = self._descent.advance(n)
        if not events:
            return None
        self._events.extend(events)
        return _steps_message(events, self._descent.surface.dim)

    def _history(self) -> dict[str, Any]:
        return {**_steps_message(self._events, self._descent.surface.dim), "replay": True}

    def _set_lr(self, run: str, value: float) -> None:
        self._descent.set_hyperparameters(run, {"lr": value})

    # ------------------------------------------------------------------ data
    @property
    def traces(self) -> dict[str, dict[str, Any]]:
        """Every step so far, per run id, as the REST trace's columns in NumPy: step, x, y, loss, grad_x,
        grad_y, grad_norm, lr, update_x, update_y (NaN at step 0, where REST writes null: no move yet),
        evaluations; ``evaluated`` (points per step) for L-BFGS and SAM; ``end`` (its reason) once ended."""
        with self._lock:
            collected = collect(self._events)
        empty = {name: np.empty(0) for name in columns(2)}  # a run that has not stepped yet
        out: dict[str, dict[str, Any]] = {}
        for run_id in self._descent.run_ids:
            trace = collected.get(run_id)
            if trace is None:
                out[run_id] = dict(empty)
                continue
            cols: dict[str, Any] = {}
            for name, values in trace_columns(trace).items():
                if name == "evaluated":
                    cols[name] = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in values]
                elif name in ("step", "evaluations"):
                    cols[name] = np.asarray(values, dtype=np.int64)
                else:
                    cols[name] = np.asarray(values, dtype=np.float64)  # None (step-0 update) -> NaN
            if trace.end is not None:
                cols["end"] = trace.end.reason
            out[run_id] = cols
        return out


def _steps_message(events: list[Any], dim: int) -> dict[str, Any]:
    """Steps and ends as the web stream words them: per run the wire columns, and each ended run's reason."""
    records = [e for e in events if isinstance(e, StepRecord)]
    ends = {
        e.run_id: {"reason": e.reason, "detail": e.detail, "step": e.step}
        for e in events
        if isinstance(e, RunEnd)
    }
    return {"type": "steps", "runs": records_columns(records, dim), "ends": ends}
