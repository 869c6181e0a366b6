"""Core objects to JSON-ready dicts, CSV and NDJSON; the only place that knows the wire field names.

Every float that reaches here is finite by construction (the run layer ends a run before a non-finite
value appears); grids are the exception, and their non-finite points become null explicitly.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import orjson

from app.ml.datasets import DATASETS
from app.ml.insurance_bce import SLIDE_Y_HAT, InsuranceRows, SlideTable, slide_case_loss
from app.ml.ledger import Ledger
from app.ml.optimizers import OPTIMIZERS, AuxColumn, OptimizerSpec
from app.ml.params import Param
from app.ml.run import RunSpec, RunTrace, StepRecord, summarize
from app.ml.schedules import SCHEDULES, Schedule, ScheduleSpec
from app.ml.surfaces import SURFACES, Curvature, Grid, Surface, SurfaceSpec
from app.ml.training import iterations_per_epoch
from app.ml.tuning import Tuning
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
    "optimizer": ("name", "default", "kind", "minimum", "maximum", "description", "log_scale", "nullable"),
    "schedule": ("name", "default", "minimum", "maximum", "description", "kind"),
}
"""The fields of a parameter each registry's API lists (one Param type in the core, the wire as before)."""


def param_json(param: Param, registry: str) -> dict[str, Any]:
    out = {name: jsonable(getattr(param, name)) for name in PARAM_FIELDS[registry]}
    if param.kind == "choice":
        out["choices"] = list(param.choices)
    return out


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


def cross_entropy_json(surface: Surface, rows: InsuranceRows, table: SlideTable) -> dict[str, Any]:
    """The slide's table at (w, b) with ŷ and the loss per row, and the surface's height there."""
    batch_size = min(int(surface.params["batch_size"]), rows.n_train)
    columns = ("age", "affordability", "have_insurance", "age_scaled", "z", "y_hat", "loss")
    values = [getattr(table, name).tolist() for name in columns]
    return {
        "surface": surface.name,
        "params": dict(surface.params),
        "w": table.w,
        "b": table.b,
        "n_train": rows.n_train,
        "batch_size": batch_size,
        "iterations_per_epoch": iterations_per_epoch(rows.n_train, batch_size),
        "age_mean": rows.age_mean,
        "age_std": rows.age_std,
        "columns": list(columns),
        "rows": [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)],
        "mean_loss": table.mean_loss,
        "worst": table.worst,
        "bce": float(surface.value(np.array([table.w, table.b]))),
        "slide_case": {"y": 1.0, "y_hat": SLIDE_Y_HAT, "loss": slide_case_loss()},
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


def curvature_json(surface: Surface, c: Curvature) -> dict[str, Any]:
    return {
        "surface": surface.name,
        "formula": surface.formula,
        "point": list(c.point),
        "loss": c.loss,
        "gradient": list(c.gradient),
        "hessian": c.hessian.tolist(),
        "eigenvalues": c.eigenvalues.tolist(),
        "eigenvectors": c.eigenvectors.tolist(),
        "lambda_max": c.lambda_max,
        "two_over_lambda_max": c.two_over_lambda_max,
    }


def optimizer_json(spec: OptimizerSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "torch": spec.torch,
        "reference": {
            "class": f"{spec.module}.{spec.torch_class}" if spec.torch_class else None,  # newton, polyak
            "package": spec.package,
            "version": spec.version,
        },
        "update_rule": spec.update_rule,
        "note": spec.note,
        "evaluating": spec.evaluating,
        "hyperparameters": [param_json(hp, "optimizer") for hp in spec.hyperparameters],
        "aux_columns": [
            {"name": a.name, "kind": a.kind, "description": a.description, "null": a.null or None}
            for a in spec.aux
        ],
        "surfaces": {"offered": not spec.not_on_surfaces, "reason": spec.not_on_surfaces or None},
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
        "evaluations",
    ]


def aux_names(aux: tuple[AuxColumn, ...], dim: int) -> list[str]:
    """Wire names of an optimizer's aux columns: ``name_x``, ``name_y`` for a point, ``name`` for a scalar."""
    return [
        n for a in aux for n in ([f"{a.name}_{c}" for c in COORDS[:dim]] if a.kind == "point" else [a.name])
    ]


def run_aux(optimizer: str) -> tuple[AuxColumn, ...]:
    spec = OPTIMIZERS.get(optimizer)
    return spec.aux if spec is not None else ()


def union_columns(optimizers: list[str], dim: int) -> list[str]:
    """The base columns, then every aux column of ``optimizers`` once, in the order they first appear."""
    names = columns(dim)
    for optimizer in optimizers:
        names += [n for n in aux_names(run_aux(optimizer), dim) if n not in names]
    return names


def _finite_or_none(values: list[Any]) -> list[Any]:
    """NaN (undefined aux value) as null: aux columns are the only step columns that may hold it."""
    return [v if v == v else None for v in values]


def _aux_columns(values: np.ndarray, column: AuxColumn, dim: int) -> dict[str, list[Any]]:
    if column.kind == "point":
        return {
            f"{column.name}_{c}": _finite_or_none(values[:, i].tolist()) for i, c in enumerate(COORDS[:dim])
        }
    return {column.name: _finite_or_none(values.tolist())}


def trace_columns(trace: RunTrace, aux: tuple[AuxColumn, ...] = ()) -> dict[str, list[Any]]:
    """One run's records as columns; the update at step 0 (no move yet) is null; then its aux columns.

    ``evaluated`` (not one of ``columns``: a list of points per step) is there only for a run whose
    optimizer evaluates the function besides the start of each step (L-BFGS, SAM).
    """
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
    cols["evaluations"] = trace.evaluations.tolist()
    for a in aux:
        values = trace.aux.get(a.name)
        if values is None:  # no record carried it (cannot happen for the run's own optimizer)
            values = np.full((len(trace.steps), dim) if a.kind == "point" else len(trace.steps), np.nan)
        cols.update(_aux_columns(values, a, dim))
    if trace.evaluated is not None:
        cols["evaluated"] = [[] if p is None else p.tolist() for p in trace.evaluated]
    return cols


def records_columns(
    records: list[StepRecord], dim: int, aux_of: Mapping[str, tuple[AuxColumn, ...]] | None = None
) -> dict[str, dict[str, list[Any]]]:
    """A few records as per-run columns, equal to ``trace_columns(collect(records)[run], aux_of[run])``.

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
        evaluations = record.evaluations.tolist()
        for i, run_id in enumerate(record.run_ids):
            moved = None if steps[i] == 0 else update[i]
            row = [steps[i], *position[i], loss[i], *grad[i], grad_norm[i], lr[i], *(moved or [None] * dim)]
            row.append(evaluations[i])
            cols = out.get(run_id)
            if cols is None:
                cols = out[run_id] = {name: [] for name in names}
            for name, value in zip(names, row, strict=True):
                cols[name].append(value)
            for a in (aux_of or {}).get(run_id, ()):
                values = record.aux.get(a.name)
                if a.kind == "point":
                    point = [None] * dim if values is None else _finite_or_none(values[i].tolist())
                    for c, v in zip(COORDS[:dim], point, strict=True):
                        cols.setdefault(f"{a.name}_{c}", []).append(v)
                else:
                    v = None if values is None else float(values[i])
                    cols.setdefault(a.name, []).append(v if v == v else None)
            if record.evaluated is not None and record.evaluated[i] is not None:
                seen = cols.setdefault("evaluated", [[] for _ in range(len(cols["step"]) - 1)])
                seen.append(record.evaluated[i].tolist())
            elif "evaluated" in cols:
                cols["evaluated"].append([])
    return out


def tuning_json(tuning: Tuning | None) -> dict[str, Any] | None:
    """A run's learning-rate search (null when the request asked for none)."""
    if tuning is None:
        return None
    return {
        "lr": tuning.lr,
        "candidates": list(tuning.candidates),
        "final_losses": list(tuning.final_losses),
        "budget": {tuning.budget_kind: tuning.budget},
    }


def _finite(value: Any) -> Any:
    """A ledger value with every non-finite number as null (a state can hold inf, e.g. a max buffer)."""
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def ledger_json(ledger: Ledger) -> dict[str, Any]:
    """The ``ledger`` message body: every stage of the next update, its numbers, and Δθ."""
    body = {k: _finite(v) for k, v in dataclasses.asdict(ledger).items() if k != "stages"}
    body["update_rule"] = OPTIMIZERS[ledger.optimizer].update_rule
    body["stages"] = [
        {
            "name": stage.name,
            "input": _finite(stage.input),
            "output": _finite(stage.output),
            "state": {k: _finite(v) for k, v in stage.state.items()},
            "notes": {k: _finite(v) for k, v in stage.notes.items()},
        }
        for stage in ledger.stages
    ]
    body["run"] = body.pop("run_id")
    return body


def state_columns(snapshots: list[dict[str, Any]], dim: int) -> dict[str, list[Any]]:
    """Per-step optimizer state as columns: a per-coordinate field ``f`` becomes ``f_x``, ``f_y``."""
    cols: dict[str, list[Any]] = {}
    for row, snapshot in enumerate(snapshots):
        for name, value in snapshot.items():
            parts = (
                [(f"{name}_{c}", v) for c, v in zip(COORDS[:dim], value, strict=True)]
                if isinstance(value, list) and len(value) == dim
                else [(name, value)]
            )
            for column, v in parts:
                cols.setdefault(column, [None] * row).append(_finite(v))
    return cols


def run_json(spec: RunSpec, result: TraceResult) -> dict[str, Any]:
    trace = result.traces[spec.id]
    end = trace.end
    extra = {}
    if spec.id in result.states:
        extra["state"] = state_columns(result.states[spec.id], result.surface.dim)
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
        "tuning": tuning_json(result.tunings.get(spec.id)),
        "aux_columns": aux_names(run_aux(spec.optimizer), result.surface.dim),
        "trace": trace_columns(trace, run_aux(spec.optimizer)),
        **extra,
    }


def trace_json(result: TraceResult, steps: int, seed: int, noise: float, tolerance: float) -> dict[str, Any]:
    return {
        "surface": surface_json(result.surface),
        "steps": steps,
        "seed": seed,
        "noise": noise,
        "tolerance": tolerance,
        "columns": union_columns([spec.optimizer for spec in result.specs], result.surface.dim),
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
    """(run, row values in column order) for every record of every run; null in another optimizer's
    aux columns."""
    names = payload["columns"]
    for run in payload["runs"]:
        trace = run["trace"]
        blank = [None] * len(trace["step"])
        cols = [trace.get(name, blank) for name in names]
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
        own = [name for name in names if name in run["trace"]]  # base columns and the run's aux columns
        cols = [run["trace"][name] for name in own]
        seen = run["trace"].get("evaluated")
        for row, values in enumerate(zip(*cols, strict=True)):
            line = {"type": "step", "run": run["id"], **dict(zip(own, values, strict=True))}
            if seen is not None:
                line["evaluated"] = seen[row]
            lines.append(dumps(line))
        end = run["end"] or {}
        lines.append(dumps({"type": "end", "run": run["id"], **end, "summary": run["summary"]}))
    return b"\n".join(lines) + b"\n"
