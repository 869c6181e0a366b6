"""Core objects to JSON-ready dicts, CSV and NDJSON; the only place that knows the wire field names.

Every float that reaches here is finite by construction (the run layer ends a run before a non-finite
value appears); grids are the exception, and their non-finite points become null explicitly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from app.ml.datasets import DATASETS
from app.ml.optimizers import OPTIMIZERS, OptimizerSpec
from app.ml.params import Param
from app.ml.run import RunSpec, RunTrace, StepRecord, summarize
from app.ml.schedules import SCHEDULES, Schedule, ScheduleSpec
from app.ml.surfaces import SURFACES, Grid, Surface, SurfaceSpec
from app.web.schemas import TraceRequest
from app.web.service import TraceResult

COORDS = ("x", "y")


def dumps(content: Any) -> bytes:
    """orjson with NumPy support; callers guarantee finiteness (orjson would turn NaN into null)."""
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def jsonable(value: Any) -> Any:
    """Tuples (betas) as lists, NumPy scalars as Python numbers."""
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


PARAM_FIELDS = {
    "surface": ("name", "default", "minimum", "maximum", "description"),
    "optimizer": ("name", "default", "kind", "minimum", "maximum", "description", "log_scale"),
    "schedule": ("name", "default", "minimum", "maximum", "description", "kind"),
}
"""The fields of a parameter each registry's API lists (one Param type in the core, the wire as before)."""


def param_json(param: Param, registry: str) -> dict[str, Any]:
    return {name: jsonable(getattr(param, name)) for name in PARAM_FIELDS[registry]}


def surface_spec_json(spec: SurfaceSpec) -> dict[str, Any]:
    surface = spec.build()
    return {**surface_json(surface), "parameters": [param_json(p, "surface") for p in spec.params]}


def surface_json(surface: Surface) -> dict[str, Any]:
    return {
        "name": surface.name,
        "title": surface.title,
        "dim": surface.dim,
        "formula": surface.formula,
        "latex": surface.latex,
        "view": list(surface.view),
        "start": list(surface.start),
        "minima": [list(m) for m in surface.minima],
        "params": dict(surface.params),
        "note": surface.note,
    }


def surfaces_json() -> list[dict[str, Any]]:
    return [surface_spec_json(spec) for spec in SURFACES.values()]


def grid_json(grid: Grid) -> dict[str, Any]:
    """The grid with non-finite heights (outside a custom surface's domain) as null, never NaN."""
    z = grid.z
    finite = np.isfinite(z)
    values = z.tolist()
    if not finite.all():
        if z.ndim == 1:
            for i in np.flatnonzero(~finite):
                values[i] = None
        else:
            for i, j in np.argwhere(~finite):
                values[i][j] = None
    zf = z[finite]
    return {
        "n": len(grid.x),
        "x": grid.x.tolist(),
        "y": None if grid.y is None else grid.y.tolist(),
        "z": values,
        "z_min": float(zf.min()) if zf.size else None,
        "z_max": float(zf.max()) if zf.size else None,
    }


def optimizer_json(spec: OptimizerSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "torch": spec.torch,
        "update_rule": spec.update_rule,
        "note": spec.note,
        "hyperparameters": [param_json(hp, "optimizer") for hp in spec.hyperparameters],
    }


def optimizers_json() -> list[dict[str, Any]]:
    return [optimizer_json(spec) for spec in OPTIMIZERS.values()]


def schedule_json(spec: ScheduleSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "params": [param_json(p, "schedule") for p in spec.params],
        "formula": spec.formula,
        "latex": spec.latex,
        "torch": spec.torch,
        "note": spec.note,
    }


def run_schedule_json(schedule: Schedule) -> dict[str, Any]:
    """A run's schedule as the request gave it: ``{"name", "params"}``."""
    return {"name": schedule.name, "params": dict(schedule.params)}


def schedules_json() -> list[dict[str, Any]]:
    return [schedule_json(spec) for spec in SCHEDULES.values()]


def datasets_json() -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "title": s.title,
            "task": s.task,
            "features": list(s.features),
            "note": s.note,
            "default_n": s.default_n,
        }
        for s in DATASETS.values()
    ]


def columns(dim: int) -> list[str]:
    """Wire names of one step record's fields, in order (shared by JSON, CSV, NDJSON and the stream)."""
    coords = list(COORDS[:dim])
    return [
        "step",
        *coords,
        "loss",
        *(f"grad_{c}" for c in coords),
        "grad_norm",
        "lr",
        *(f"update_{c}" for c in coords),
    ]


def trace_columns(trace: RunTrace) -> dict[str, list[Any]]:
    """One run's records as columns; the update at step 0 (no move yet) is null."""
    dim = trace.position.shape[1]
    cols: dict[str, list[Any]] = {"step": trace.steps.tolist()}
    for i, c in enumerate(COORDS[:dim]):
        cols[c] = trace.position[:, i].tolist()
    cols["loss"] = trace.loss.tolist()
    for i, c in enumerate(COORDS[:dim]):
        cols[f"grad_{c}"] = trace.grad[:, i].tolist()
    cols["grad_norm"] = trace.grad_norm.tolist()
    cols["lr"] = trace.lr.tolist()
    starts = np.flatnonzero(trace.steps == 0).tolist()
    for i, c in enumerate(COORDS[:dim]):
        column = trace.update[:, i].tolist()
        for row in starts:
            column[row] = None
        cols[f"update_{c}"] = column
    return cols


def records_columns(records: list[StepRecord], dim: int) -> dict[str, dict[str, list[Any]]]:
    """A few records as per-run columns, equal to ``trace_columns(collect(records)[run])`` for each run.

    The stream at a paced speed sends one record per message, hundreds of times a second per socket;
    building the columns row by row in Python costs a few microseconds there, where ``collect``'s
    NumPy concatenation and masking costs tens. Large batches (max speed) go through ``collect``.
    """
    names = columns(dim)
    out: dict[str, dict[str, list[Any]]] = {}
    for record in records:
        steps = record.step.tolist()
        position, grad, update = record.position.tolist(), record.grad.tolist(), record.update.tolist()
        loss, grad_norm, lr = record.loss.tolist(), record.grad_norm.tolist(), record.lr.tolist()
        for i, run_id in enumerate(record.run_ids):
            moved = update[i] if steps[i] else [None] * dim
            row = (steps[i], *position[i], loss[i], *grad[i], grad_norm[i], lr[i], *moved)
            cols = out.get(run_id)
            if cols is None:  # the columns in the order of ``names``, so later rows append by position
                out[run_id] = {name: [value] for name, value in zip(names, row, strict=True)}
            else:
                for column, value in zip(cols.values(), row, strict=True):
                    column.append(value)
    return out


def run_json(spec: RunSpec, result: TraceResult) -> dict[str, Any]:
    trace = result.traces[spec.id]
    end = trace.end
    return {
        "id": spec.id,
        "optimizer": spec.optimizer,
        "hyperparameters": {k: jsonable(v) for k, v in result.descent.hyperparameters(spec.id).items()},
        "schedule": run_schedule_json(spec.schedule),
        "clip_norm": spec.clip_norm,
        "clip_value": spec.clip_value,
        "start": trace.position[0].tolist() if len(trace.position) else None,
        "end": None if end is None else {"reason": end.reason, "step": end.step, "detail": end.detail},
        "summary": summarize(result.surface, trace),
        "trace": trace_columns(trace),
    }


def trace_json(result: TraceResult, steps: int, seed: int, noise: float, tolerance: float) -> dict[str, Any]:
    return {
        "surface": surface_json(result.surface),
        "steps": steps,
        "seed": seed,
        "noise": noise,
        "tolerance": tolerance,
        "columns": columns(result.surface.dim),
        "runs": [run_json(spec, result) for spec in result.specs],
    }


MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}


def render_trace(result: TraceResult, request: TraceRequest, fmt: str) -> bytes:
    """A finished trace as the bytes of one format (json, csv or ndjson)."""
    payload = trace_json(result, request.steps, request.seed, request.noise, request.tolerance)
    if fmt == "csv":
        return trace_csv(payload).encode()
    if fmt == "ndjson":
        return trace_ndjson(payload)
    return dumps(payload)


def _rows(payload: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    """(run, row values in column order) for every record of every run."""
    names = payload["columns"]
    for run in payload["runs"]:
        cols = [run["trace"][name] for name in names]
        for values in zip(*cols, strict=True):
            yield run, list(values)


def trace_csv(payload: dict[str, Any]) -> str:
    """Long format, one row per run and step: easy to load with pandas.read_csv and group by run."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run", "optimizer", *payload["columns"], "end_reason"])
    for run, values in _rows(payload):
        reason = run["end"]["reason"] if run["end"] and values[0] == run["end"]["step"] else ""
        writer.writerow([run["id"], run["optimizer"], *("" if v is None else v for v in values), reason])
    return out.getvalue()


def trace_ndjson(payload: dict[str, Any]) -> bytes:
    """A meta line, one line per step record, one end line per run (with its summary)."""
    names = payload["columns"]
    meta = {k: v for k, v in payload.items() if k != "runs"}
    lines = [dumps({"type": "meta", **meta})]
    for run in payload["runs"]:
        cols = [run["trace"][name] for name in names]
        for values in zip(*cols, strict=True):
            lines.append(dumps({"type": "step", "run": run["id"], **dict(zip(names, values, strict=True))}))
        end = run["end"] or {}
        lines.append(dumps({"type": "end", "run": run["id"], **end, "summary": run["summary"]}))
    return b"\n".join(lines) + b"\n"
