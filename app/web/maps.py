"""Convergence maps for the web: a MapRequest checked against the limits and priced, its plans, and JSON.

No maths here: app/ml/maps.py runs the lanes, labels the basins and counts them; this module only refuses
what is over the limits (a 422 naming the field), builds one plan per panel and writes the arrays out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.config import Settings
from app.ml.errors import ConfigError
from app.ml.maps import (
    BASIN_DIVERGED,
    BASIN_NOT_CONVERGED,
    BASIN_OTHER,
    REASONS,
    AxisSpec,
    MapPlan,
    MapRows,
    basin_map,
    summarize,
    trainability_map,
)
from app.ml.surfaces import Surface
from app.web import serialize
from app.web.cost import check_map_price, map_price
from app.web.errors import InputError, reroot
from app.web.schemas import MapAxis, MapRequest
from app.web.service import build_surface

BASIN_CODES = {"other": BASIN_OTHER, "not_converged": BASIN_NOT_CONVERGED, "diverged": BASIN_DIVERGED}
"""What a negative ``basin`` value means (0, 1, … are the surface's known minima, in its order)."""
RUN_FIELDS = ("hyperparameters", "optimizer")
"""Fields of a core error that belong to one panel (``runs.<i>.…``), not to the whole request."""


@dataclass(frozen=True)
class Panel:
    """One optimizer's map: its id, what it runs, and the plan that computes its rows."""

    id: str
    optimizer: str
    plan: MapPlan


def _axis(axis: MapAxis | None) -> AxisSpec:
    assert axis is not None  # the schema requires both axes for a trainability map
    return AxisSpec(axis.name, axis.min, axis.max, axis.scale)


def _plan(request: MapRequest, surface: Surface, optimizer: str, hp: dict[str, Any]) -> MapPlan:
    if request.kind == "basins":
        return basin_map(surface, optimizer, hp, request.n, request.steps, request.tolerance)
    return trainability_map(
        surface, optimizer, hp, _axis(request.x), _axis(request.y), request.n, request.steps,
        request.start, request.tolerance,
    )  # fmt: skip


def make_panels(request: MapRequest, settings: Settings) -> tuple[Surface, list[Panel]]:
    """Every limit, the price, the names and the hyperparameters checked, before any lane runs."""
    if request.n > settings.max_map_n:
        raise InputError(("body", "n"), f"at most {settings.max_map_n} points per axis", "less_than_equal")
    if len(request.runs) > settings.max_map_runs:
        raise InputError(("body", "runs"), f"at most {settings.max_map_runs} maps side by side", "too_long")
    if request.steps > settings.max_steps:
        raise InputError(("body", "steps"), f"at most {settings.max_steps} steps per run", "less_than_equal")
    surface = build_surface(request.surface, request.params, request.expression, request.view, settings)
    check_map_price(map_price(surface, request.n, request.steps, len(request.runs)), settings)
    ids = [run.id or f"r{i}" for i, run in enumerate(request.runs)]
    panels = []
    for i, run in enumerate(request.runs):
        if ids.index(ids[i]) != i:
            raise ConfigError(f"run id {ids[i]!r} is used twice; run ids must be unique", f"runs.{i}.id")
        try:
            plan = _plan(request, surface, run.optimizer, run.hyperparameters)
        except ConfigError as error:
            if error.field.split(".")[0] in RUN_FIELDS:
                raise reroot(error, ("runs", i)) from None
            raise
        panels.append(Panel(ids[i], run.optimizer, plan))
    return surface, panels


def header_json(request: MapRequest, surface: Surface, panels: list[Panel]) -> dict[str, Any]:
    """What a map is, without its cells: the REST answer's head and the stream's ``started``."""
    plan = panels[0].plan
    return {
        "kind": request.kind,
        "surface": serialize.surface_json(surface),
        "n": plan.n,
        "steps": plan.steps,
        "tolerance": plan.tolerance,
        "start": None if plan.start is None else list(plan.start),
        "x": {"name": plan.x.name, "scale": plan.x.scale, "values": plan.x.values.tolist()},
        "y": {"name": plan.y.name, "scale": plan.y.scale, "values": plan.y.values.tolist()},
        "reasons": list(REASONS),
        "basin_codes": BASIN_CODES,
        "runs": [
            {
                "id": p.id,
                "optimizer": p.optimizer,
                "hyperparameters": {k: serialize.jsonable(v) for k, v in p.plan.hyperparameters.items()},
            }
            for p in panels
        ],
    }


def rows_json(rows: MapRows) -> dict[str, Any]:
    """The cells of a band of rows; ``final_loss`` is null where the surface is undefined at the start."""
    loss = [[v if math.isfinite(v) else None for v in row] for row in rows.loss.tolist()]
    return {
        "basin": rows.basin.tolist(),
        "reason": rows.reason.tolist(),
        "steps_taken": rows.steps.tolist(),
        "final_loss": loss,
    }


def summary_json(surface: Surface, rows: MapRows) -> dict[str, Any]:
    return summarize(rows.basin, rows.reason, rows.steps, len(surface.minima))


def stack(bands: list[MapRows]) -> MapRows:
    """Bands of consecutive rows as one (no bands: an empty map)."""
    if not bands:
        empty = np.zeros((0, 0), dtype=np.int64)
        return MapRows(0, 0, empty, empty, empty.astype(np.float64), empty)
    return MapRows(
        bands[0].start,
        bands[-1].stop,
        *(np.vstack([getattr(b, name) for b in bands]) for name in ("reason", "steps", "loss", "basin")),
    )


def map_json(request: MapRequest, settings: Settings) -> dict[str, Any]:
    """The whole map of every panel (POST /api/v1/maps)."""
    surface, panels = make_panels(request, settings)
    maps = []
    for panel in panels:
        rows = panel.plan.rows()
        maps.append({"id": panel.id, **rows_json(rows), "summary": summary_json(surface, rows)})
    return {**header_json(request, surface, panels), "maps": maps}
