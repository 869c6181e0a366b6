"""Convergence maps: one run from every cell of an n × n grid, advanced as lanes of one vectorised loop.

Two maps share the loop:

- a *basin* map: the starts span the surface's view box, the optimizer and its hyperparameters are fixed;
  each cell says which known minimum its run ends at (the basins of attraction of that optimizer), how many
  steps it took, or that it diverged;
- a *trainability* map: one start, and two hyperparameters (learning rate × momentum, β₁ × lr, …) span
  the grid on log or linear axes; each cell gives the final loss and the steps to converge.

Why a loop of its own instead of :class:`app.ml.run.Descent`: a map keeps no records, only how each run
ends, and at 40,000 lanes the per-step records, events and lane bookkeeping of a Descent would cost more
than the arithmetic. The arithmetic itself is the same: the optimizer chain from
:func:`app.ml.optimizers.make_optimizer`, the surface's ``value_and_grad``, and Descent's rules for the end
of a run (gradient norm below the tolerance: ``converged`` at that step; a non-finite value or a point more
than ``VIEW_MARGIN`` view-box widths beyond the view: ``left_view`` if its loss there is below its loss at
the start, else ``diverged``, keeping the last step inside;
the step budget: ``max_steps``), so a lane ends exactly where a Descent run from the same start ends
(tests/ml/test_maps.py checks it). Lanes that have ended leave the arrays, so a map whose runs converge
early costs less than its step budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.ml.errors import ConfigError
from app.ml.optimizers import get_optimizer, make_optimizer, resolve_hyperparameters
from app.ml.run import divergence_bounds
from app.ml.surfaces import Surface
from app.ml.transforms import vector_norm

KINDS = ("basins", "trainability")
REASONS = ("converged", "max_steps", "diverged", "left_view")
"""How a lane ended, by code: the index in this tuple (the ``reason`` arrays of a map)."""
CONVERGED, MAX_STEPS, DIVERGED, LEFT_VIEW = range(4)
BASIN_OTHER = -1
"""Converged, but not at any known minimum of the surface (a saddle point, an unlisted minimum)."""
BASIN_NOT_CONVERGED = -2
"""Still moving when the step budget ran out, and not near any known minimum."""
BASIN_DIVERGED = -3
"""Left the view far behind, or reached a non-finite loss (or started where the surface is undefined)."""
BASIN_RADIUS = 0.02
"""A run ends in a minimum's basin when it stops within this share of the view box's larger side of it.

A share of the view, not the tolerance: an Adam run that still circles a minimum when the budget ends has
found that minimum, and a teacher wants it coloured so."""
SCALES = ("linear", "log")


@dataclass(frozen=True)
class Axis:
    """One axis of a map: ``name`` is ``x``/``y`` (a coordinate) or the hyperparameter it sets."""

    name: str
    values: np.ndarray  # (n,)
    scale: str = "linear"


def make_axis(name: str, low: float, high: float, n: int, scale: str, field: str) -> Axis:
    """n values from ``low`` to ``high``, evenly spaced or (``log``) evenly spaced in powers of ten."""
    if scale not in SCALES:
        raise ConfigError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}", f"{field}.scale")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigError("an axis needs finite min < max", f"{field}.max")
    if scale == "log" and low <= 0:
        raise ConfigError("a log axis needs min > 0", f"{field}.min")
    values = np.geomspace(low, high, n) if scale == "log" else np.linspace(low, high, n)
    return Axis(name, values, scale)


@dataclass(frozen=True)
class LaneEnds:
    """How each of K lanes ended: reason code, step, last finite loss (NaN: undefined start) and point."""

    reason: np.ndarray  # (K,) int8, an index of REASONS
    steps: np.ndarray  # (K,) int64
    loss: np.ndarray  # (K,) float64
    position: np.ndarray  # (K, d)


def _take(value: Any, rows: np.ndarray, k: int) -> Any:
    """The rows of ``value`` that belong to lanes still running: per-lane arrays (leading axis K) are
    indexed, scalars and counts stay; mappings, NamedTuples and tuples (hyperparameters, optimizer
    states, pairs) recursively."""
    if isinstance(value, np.ndarray):
        return value[rows] if value.ndim >= 1 and value.shape[0] == k else value
    if isinstance(value, Mapping):
        return {key: _take(v, rows, k) for key, v in value.items()}
    if isinstance(value, tuple):
        parts = [_take(v, rows, k) for v in value]
        return type(value)._make(parts) if hasattr(value, "_fields") else tuple(parts)
    return value


def _per_lane(hyperparameters: Mapping[str, Any]) -> bool:
    """True when some hyperparameter differs by lane (an axis of a trainability map sets it)."""
    parts = [c for v in hyperparameters.values() for c in (v if isinstance(v, tuple) else (v,))]
    return any(isinstance(c, np.ndarray) for c in parts)


def _squared_norm(grad: np.ndarray) -> np.ndarray:
    if grad.shape[1] == 2:
        return grad[:, 0] * grad[:, 0] + grad[:, 1] * grad[:, 1]
    return np.einsum("ij,ij->i", grad, grad)


def run_lanes(
    surface: Surface,
    optimizer: str,
    hyperparameters: Mapping[str, Any],
    starts: np.ndarray,
    steps: int,
    tolerance: float,
) -> LaneEnds:
    """Advance one run per row of ``starts`` until each ends; ``hyperparameters`` are resolved, with
    scalars or (K, 1) arrays (one value per lane) as :func:`make_optimizer` takes them.

    Cheap whole-array tests decide most steps: the squared gradient norms against the squared tolerance
    (with a margin for rounding; the exact ``hypot`` norm of Descent is ten times dearer, so it is taken
    only for the few lanes below the margin) and the extreme coordinates against the tightest bounds.
    A lane that converges stays in the arrays, masked, until a quarter of them have ended (copying the
    arrays and the optimizer state at every end would cost more than the steps); a diverged lane leaves
    at once, so its non-finite values never reach the whole-array tests again.
    """
    starts = np.asarray(starts, dtype=np.float64)
    k = len(starts)
    reason = np.full(k, MAX_STEPS, dtype=np.int8)
    end_step = np.zeros(k, dtype=np.int64)
    final_loss = np.full(k, np.nan)
    final_pos = starts.copy()
    lo, hi = divergence_bounds(surface)
    lo_max, hi_min = float(lo.max()), float(hi.min())
    tol_sq = tolerance * tolerance * (1 + 1e-9) if tolerance * tolerance > 1e-300 else None
    hp: Mapping[str, Any] = hyperparameters
    rebuild = _per_lane(hp)

    def inside(points: np.ndarray) -> np.ndarray:
        return ((points >= lo) & (points <= hi)).all(axis=1)

    def finish(rows: np.ndarray, code: int, step: int, loss: np.ndarray, at: np.ndarray) -> None:
        reason[rows] = code
        end_step[rows] = step
        final_loss[rows] = loss
        final_pos[rows] = at

    with np.errstate(all="ignore"):
        loss, grad = surface.value_and_grad(starts)
        first_loss = loss.copy()  # a lane that leaves the view below it went downhill: left_view
        norm = vector_norm(grad)
        bad = ~(np.isfinite(loss) & np.isfinite(norm)) | ~inside(starts)
        lanes = np.arange(k)
        finish(lanes[bad], DIVERGED, 0, np.full(int(bad.sum()), np.nan), starts[bad])
        done = ~bad & (norm < tolerance)
        finish(lanes[done], CONVERGED, 0, loss[done], starts[done])
        if steps == 0:
            rest = ~bad & ~done
            finish(lanes[rest], MAX_STEPS, 0, loss[rest], starts[rest])
            return LaneEnds(reason, end_step, final_loss, final_pos)
        keep = ~(bad | done)
        params, loss, grad, lanes = starts[keep], loss[keep], grad[keep], lanes[keep]
        if rebuild:
            hp = _take(hp, keep, k)
        transform = make_optimizer(optimizer, hp)
        state = transform.init(params)
        alive = np.ones(len(lanes), dtype=bool)
        dead = 0
        for t in range(1, steps + 1):
            if dead == len(lanes):
                break
            update, state = transform.update(grad, state, params)
            new = params + update
            new_loss, grad = surface.value_and_grad(new)
            # no lane is non-finite or out of bounds (NaN fails every comparison; a sum that overflows
            # only sends the step to the exact test)
            calm = math.isfinite(float(new_loss.sum()) + float(grad.sum())) and (
                lo_max <= float(new.min()) and float(new.max()) <= hi_min
            )
            sq = _squared_norm(grad) if tolerance > 0 else None
            if calm and t < steps and (sq is None or (tol_sq is not None and float(sq.min()) >= tol_sq)):
                params, loss = new, new_loss  # the common step: no lane ends
                continue
            gone = np.zeros(len(lanes), dtype=bool)
            if not calm:
                gone = alive & (~(np.isfinite(new_loss) & np.isfinite(vector_norm(grad))) | ~inside(new))
            finite = np.isfinite(new_loss) & np.isfinite(vector_norm(grad))
            escaped = gone & finite & (new_loss < first_loss[lanes])
            finish(lanes[gone & ~escaped], DIVERGED, t - 1, loss[gone & ~escaped], params[gone & ~escaped])
            finish(lanes[escaped], LEFT_VIEW, t - 1, loss[escaped], params[escaped])
            if sq is not None:
                near = np.arange(len(lanes)) if tol_sq is None else np.flatnonzero(sq < tol_sq)
                near = near[alive[near] & ~gone[near]]
                near = near[vector_norm(grad[near]) < tolerance]
                finish(lanes[near], CONVERGED, t, new_loss[near], new[near])
                alive[near] = False
            if t == steps:
                last = alive & ~gone
                finish(lanes[last], MAX_STEPS, t, new_loss[last], new[last])
                break
            params, loss = new, new_loss
            alive &= ~gone
            dead = len(lanes) - int(alive.sum())
            if gone.any() or 4 * dead >= len(lanes):
                rows = len(lanes)
                params, loss, grad, lanes = params[alive], loss[alive], grad[alive], lanes[alive]
                state = _take(state, alive, rows)
                if rebuild:
                    hp = _take(hp, alive, rows)
                    transform = make_optimizer(optimizer, hp)
                alive = np.ones(len(lanes), dtype=bool)
                dead = 0
    return LaneEnds(reason, end_step, final_loss, final_pos)


def basin_labels(surface: Surface, ends: LaneEnds) -> np.ndarray:
    """Each lane's basin: the index of the known minimum it ended near, or BASIN_OTHER / _NOT_CONVERGED /
    _DIVERGED (see BASIN_RADIUS for "near")."""
    k = len(ends.reason)
    converged = ends.reason == CONVERGED
    labels = np.where(converged, BASIN_OTHER, BASIN_NOT_CONVERGED).astype(np.int64)
    if surface.minima and surface.dim == ends.position.shape[1]:
        view = np.asarray(surface.view, dtype=np.float64).reshape(-1, 2)
        radius = BASIN_RADIUS * float((view[:, 1] - view[:, 0]).max())
        minima = np.asarray(surface.minima, dtype=np.float64)
        distance = np.linalg.norm(ends.position[:, None, :] - minima[None, :, :], axis=-1)
        nearest = np.argmin(distance, axis=1)
        near = distance[np.arange(k), nearest] <= radius
        labels = np.where(near, nearest, labels)
    labels[ends.reason == DIVERGED] = BASIN_DIVERGED
    return labels


@dataclass(frozen=True)
class MapRows:
    """Rows ``start``..``stop`` of a map, each array (rows, n): how the run from each cell ended."""

    start: int
    stop: int
    reason: np.ndarray
    steps: np.ndarray
    loss: np.ndarray  # NaN where the start itself is undefined
    basin: np.ndarray


@dataclass(frozen=True)
class MapPlan:
    """A validated map: the grid's axes and what runs from each cell; ``rows`` computes any band of it.

    Row i, column j is the cell (x.values[j], y.values[i]), as a heatmap draws z[i][j]."""

    kind: str
    surface: Surface
    optimizer: str
    hyperparameters: Mapping[str, Any]
    x: Axis
    y: Axis
    steps: int
    tolerance: float
    start: tuple[float, ...] | None = None  # trainability: the one start

    @property
    def n(self) -> int:
        return len(self.x.values)

    def lanes(self, start: int, stop: int) -> tuple[np.ndarray, Mapping[str, Any]]:
        """Starts (K, d) and hyperparameters (per lane where an axis sets them) of rows start..stop."""
        xs, ys = self.x.values, self.y.values[start:stop]
        if self.kind == "basins":
            starts = np.empty((len(ys), len(xs), 2))
            starts[..., 0] = xs[None, :]
            starts[..., 1] = ys[:, None]
            return starts.reshape(-1, 2), self.hyperparameters
        assert self.start is not None
        k = len(ys) * len(xs)
        hp = dict(self.hyperparameters)
        for axis, column in ((self.x, np.tile(xs, len(ys))), (self.y, np.repeat(ys, len(xs)))):
            name, _, part = axis.name.partition(".")
            values = column.reshape(k, 1)
            if part:
                pair = list(hp[name])
                pair[int(part)] = values
                hp[name] = tuple(pair)
            else:
                hp[name] = values
        return np.tile(np.asarray(self.start, dtype=np.float64), (k, 1)), hp

    def rows(self, start: int = 0, stop: int | None = None) -> MapRows:
        """Run every cell of rows start..stop (default: the whole map) to its end."""
        stop = self.n if stop is None else stop
        starts, hp = self.lanes(start, stop)
        ends = run_lanes(self.surface, self.optimizer, hp, starts, self.steps, self.tolerance)
        shape = (stop - start, self.n)
        return MapRows(
            start,
            stop,
            ends.reason.reshape(shape),
            ends.steps.reshape(shape),
            ends.loss.reshape(shape),
            basin_labels(self.surface, ends).reshape(shape),
        )


def _first_order(optimizer: str) -> None:
    """Maps take the optimizers that need a gradient only: those that evaluate the function themselves
    (L-BFGS's line search, SAM's second point, Newton's Hessian) step lanes a Descent of its own."""
    if get_optimizer(optimizer).evaluating:
        raise ConfigError(
            f"{optimizer} evaluates the function itself (more than one evaluation a step); a convergence map"
            " takes the optimizers that use one gradient a step",
            "optimizer",
        )


def _check_common(n: int, steps: int, tolerance: float) -> None:
    if n < 2:
        raise ConfigError("a map needs at least 2 points per axis", "n")
    if steps < 0:
        raise ConfigError("steps must be ≥ 0", "steps")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ConfigError("tolerance must be a finite number ≥ 0", "tolerance")


def basin_map(
    surface: Surface,
    optimizer: str,
    hyperparameters: Mapping[str, Any],
    n: int,
    steps: int,
    tolerance: float = 1e-3,
) -> MapPlan:
    """A run from every cell of an n × n grid over the surface's view box."""
    _check_common(n, steps, tolerance)
    if surface.dim != 2:
        raise ConfigError("a basin map needs a surface of two variables (x, y)", "surface")
    _first_order(optimizer)
    resolved = resolve_hyperparameters(optimizer, hyperparameters)
    box = surface.view
    x = Axis("x", np.linspace(box[0], box[1], n))
    y = Axis("y", np.linspace(box[2], box[3], n))
    return MapPlan("basins", surface, optimizer, resolved, x, y, steps, tolerance)


def axis_names(optimizer: str) -> list[str]:
    """Hyperparameters a trainability axis may set: the numeric ones, a pair's parts as ``betas.0``."""
    names = []
    for param in get_optimizer(optimizer).hyperparameters:
        if param.kind == "float":
            names.append(param.name)
        elif param.kind == "pair":
            names.extend((f"{param.name}.0", f"{param.name}.1"))
    return names


@dataclass(frozen=True)
class AxisSpec:
    """A trainability axis as asked for: which hyperparameter, its range and scale."""

    name: str
    min: float
    max: float
    scale: str = "log"


def _with_value(base: Mapping[str, Any], name: str, value: float, resolved: Mapping[str, Any]) -> dict:
    key, _, part = name.partition(".")
    given = dict(base)
    if part:
        pair = list(given.get(key, resolved[key]))
        pair[int(part)] = value
        given[key] = pair
    else:
        given[key] = value
    return given


def trainability_map(
    surface: Surface,
    optimizer: str,
    hyperparameters: Mapping[str, Any],
    x: AxisSpec,
    y: AxisSpec,
    n: int,
    steps: int,
    start: Sequence[float] | None = None,
    tolerance: float = 1e-3,
) -> MapPlan:
    """One start; two hyperparameters of the optimizer span the grid (every corner is checked as the
    optimizer's own hyperparameters are, so an axis past a bound is refused naming it)."""
    _check_common(n, steps, tolerance)
    point = tuple(float(v) for v in (surface.start if start is None else start))
    if len(point) != surface.dim:
        raise ConfigError(f"a start point on this surface has {surface.dim} coordinate(s)", "start")
    _first_order(optimizer)
    resolved = resolve_hyperparameters(optimizer, hyperparameters)
    allowed = axis_names(optimizer)
    axes = []
    for field, spec in (("x", x), ("y", y)):
        if spec.name not in allowed:
            raise ConfigError(
                f"{optimizer} has no numeric hyperparameter {spec.name!r}; an axis may be one of"
                f" {', '.join(allowed)}",
                f"{field}.name",
            )
        axes.append(make_axis(spec.name, spec.min, spec.max, n, spec.scale, field))
    if axes[0].name == axes[1].name:
        raise ConfigError("the two axes must set different hyperparameters", "y.name")
    for field, axis in (("x", axes[0]), ("y", axes[1])):
        other = axes[1] if field == "x" else axes[0]
        for bound, value in (("min", axis.values[0]), ("max", axis.values[-1])):
            given = _with_value(hyperparameters, axis.name, float(value), resolved)
            given = _with_value(given, other.name, float(other.values[0]), resolved)
            try:
                resolve_hyperparameters(optimizer, given)
            except ConfigError as error:
                raise ConfigError(error.message, f"{field}.{bound}") from None
    with np.errstate(all="ignore"):
        loss, grad = surface.value_and_grad(np.asarray([point]))
    if not (np.isfinite(loss).all() and np.isfinite(grad).all()):
        raise ConfigError("the surface is not defined at this start point", "start")
    return MapPlan("trainability", surface, optimizer, resolved, axes[0], axes[1], steps, tolerance, point)


def summarize(basin: np.ndarray, reason: np.ndarray, steps: np.ndarray, minima: int) -> dict[str, Any]:
    """How many cells ended where: per known minimum, other, not converged, diverged; and the median
    number of steps of the runs that converged (None when none did)."""
    labels = basin.ravel()
    converged = reason.ravel() == CONVERGED
    counts = np.bincount(labels[labels >= 0], minlength=minima) if minima else np.zeros(0, dtype=np.int64)
    return {
        "minima": [int(c) for c in counts[:minima]],
        "other": int((labels == BASIN_OTHER).sum()),
        "not_converged": int((labels == BASIN_NOT_CONVERGED).sum()),
        "diverged": int((labels == BASIN_DIVERGED).sum()),
        "converged": int(converged.sum()),
        "median_steps_to_converge": float(np.median(steps.ravel()[converged])) if converged.any() else None,
    }
