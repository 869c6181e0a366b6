"""Runs on a surface: the Descent that advances them, step records, end reasons, traces, sweeps.

All runs of a Descent live in one (K, d) array of "lanes", so the surface is evaluated once per step for
every run. Runs that share an optimizer, a schedule and clipping and start together form a group over a
contiguous slice of lanes, whose optimizer advances them in one vectorised update (a race or a
learning-rate sweep). Records use arrival semantics: record t of a run holds the point x_t, the loss and
gradient there, the learning rate in effect at step t, and the update that brought the run from x_{t-1}
(zero at step 0, where the wire formats say null), and how many function-and-gradient evaluations that
step used (1 for a first-order optimizer, 0 at step 0; optimizers that evaluate the function, such as
L-BFGS and SAM, also hand over the other points they evaluated). On a data-set surface trained in
mini-batches (``Surface.batch_value_and_grad``) record t's loss and gradient are those of the batch step t
uses, as Keras reports a batch loss. No NaN or infinity ever leaves this
module: a run whose next point is non-finite, or more than a view-box width beyond the view box, ends there
and keeps its last finite record. One rule says how it ended: ``left_view`` when its loss out there is
below its loss at the start (it went downhill and the surface keeps falling beyond the view, as on a
saddle), ``diverged`` when the loss or gradient is non-finite or the run left with its loss grown (the
learning rate is too high). The one exception is ``aux``: an optimizer's auxiliary values (schedule-free's
eval point, ASGD's average, Prodigy's d), NaN where undefined (ASGD's average at step 0) or where a run's
optimizer has no such value; the wire formats turn NaN into null.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from app.ml.errors import ConfigError
from app.ml.evaluating import EvaluatingTransformation, Problem
from app.ml.ledger import (
    Ledger,
    effective_rates,
    explain_evaluating,
    explain_update,
    state_snapshot,
    step_sizes,
)
from app.ml.optimizers import (
    check_schedule,
    get_optimizer,
    make_optimizer,
    max_evaluations,
    resolve_hyperparameters,
)
from app.ml.schedules import Schedule
from app.ml.surfaces import Surface, nearest_minimum
from app.ml.transforms import (
    GradientTransformation,
    add_gradient_noise,
    chain,
    clip_by_norm,
    clip_by_value,
    vector_norm,
)

END_REASONS = ("max_steps", "max_evaluations", "converged", "diverged", "left_view", "stopped")
NO_AUX: Mapping[str, np.ndarray] = MappingProxyType({})
BUDGETS = ("steps", "evaluations")
"""What ``steps`` counts: a run's steps, or its function-and-gradient evaluations (a fair race: L-BFGS
may use 20 evaluations in one step, SAM 2, a first-order optimizer 1)."""
VIEW_MARGIN = 1.0
"""A run ends once it is more than this many view-box widths beyond the edge of the view box: far enough
that a small overshoot which comes back is not cut, near enough that a learner still sees where it went."""


def divergence_bounds(surface: Surface) -> tuple[np.ndarray, np.ndarray]:
    """Per coordinate, the lowest and highest value a run may reach before it ends (left_view or diverged)."""
    view = np.asarray(surface.view, dtype=np.float64).reshape(-1, 2)
    width = view[:, 1] - view[:, 0]
    return view[:, 0] - VIEW_MARGIN * width, view[:, 1] + VIEW_MARGIN * width


@dataclass(frozen=True)
class RunSpec:
    """One run: an optimizer with its hyperparameters, schedule and clipping, from a start point.

    The fields are those of a run in a trace request, so an error's field path (``schedule.params.T_max``)
    is the request's own.
    """

    id: str
    optimizer: str
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    schedule: Schedule = field(default_factory=Schedule)
    clip_norm: float | None = None
    clip_value: float | None = None
    start: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of the runs in ``run_ids`` (one row each); its arrays are never written to afterwards."""

    run_ids: tuple[str, ...]
    lanes: np.ndarray  # (M,) lane index of each row inside its Descent
    step: np.ndarray  # (M,) step index of each run (runs added later count from their own 0)
    position: np.ndarray  # (M, d)
    loss: np.ndarray  # (M,)
    grad: np.ndarray  # (M, d)
    grad_norm: np.ndarray  # (M,)
    lr: np.ndarray  # (M,) learning rate the optimizer applies at this step
    update: np.ndarray  # (M, d) move from the previous point; zeros on step-0 rows
    evaluations: np.ndarray  # (M,) function-and-gradient evaluations of the step; 0 on step-0 rows
    evaluated: tuple[np.ndarray, ...] | None = None  # per row, (n, d) other points the step evaluated
    aux: Mapping[str, np.ndarray] = field(
        default_factory=lambda: NO_AUX
    )  # name -> (M, d) or (M,); NaN: undefined


@dataclass(frozen=True, slots=True)
class RunEnd:
    """A run finished at ``step`` (its last record) for ``reason``; ``detail`` says why in words."""

    run_id: str
    step: int
    reason: str
    detail: str


Event = StepRecord | RunEnd


def _per_run(values: list[Any]) -> Any:
    """A value shared by every run stays a scalar (fast path); else one row per run, shape (K, 1)."""
    if all(v == values[0] for v in values):
        return values[0]
    if isinstance(values[0], tuple):
        return tuple(_per_run([v[i] for v in values]) for i in range(len(values[0])))
    if any(v is None or isinstance(v, str) for v in values):  # choices and optional values (L-BFGS)
        return np.array(values, dtype=object)[:, None]
    dtype = bool if isinstance(values[0], bool) else np.float64
    return np.array(values, dtype=dtype)[:, None]


def _validate(index: int, spec: RunSpec, surface: Surface, noise: float) -> dict[str, Any]:
    """Resolve one run's hyperparameters and schedule; errors name the run by its index in the request."""
    for name in ("clip_norm", "clip_value"):
        value = getattr(spec, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name} must be a finite number > 0", f"runs.{index}.{name}")
    try:
        resolved = resolve_hyperparameters(spec.optimizer, spec.hyperparameters)
        spec.schedule.build(resolved["lr"])
        check_schedule(spec.optimizer, spec.schedule.name)
        optimizer = get_optimizer(spec.optimizer)
        if optimizer.not_on_surfaces:
            raise ConfigError(
                f"{spec.optimizer} is not offered on surfaces: {optimizer.not_on_surfaces}", "optimizer"
            )
        if optimizer.evaluating:
            _check_evaluating(spec, resolved, surface, noise)
    except ConfigError as error:
        error.field = f"runs.{index}.{error.field}" if error.field else f"runs.{index}"
        raise
    return resolved


def _check_evaluating(spec: RunSpec, resolved: dict[str, Any], surface: Surface, noise: float) -> None:
    """What an optimizer that evaluates the function needs from the run and the surface.

    Gradient noise and clipping are first-order gradient transforms; these optimizers take their own
    gradients (a line search, a perturbed point), so the two are refused rather than half applied.
    Polyak's f* falls back to the surface's known minimum value (written into ``resolved``).
    """
    for name in ("clip_norm", "clip_value"):
        if getattr(spec, name) is not None:
            raise ConfigError(
                f"{spec.optimizer} takes its own gradients, so {name} does not apply to it", name
            )
    if noise > 0:
        raise ConfigError(
            f"{spec.optimizer} takes its own gradients; gradient noise needs noise = 0", "noise"
        )
    if spec.optimizer == "newton" and surface.hessian is None:
        raise ConfigError("newton needs the exact Hessian, which this surface does not have", "optimizer")
    if "f_star" in resolved and resolved["f_star"] is None:
        if surface.f_star is None:
            raise ConfigError(
                f"the minimum value of this surface is not known: give {spec.optimizer} its f_star",
                "hyperparameters.f_star",
            )
        resolved["f_star"] = surface.f_star


class _Group:
    """Runs on a contiguous slice of lanes sharing optimizer, schedule, clipping and step count."""

    def __init__(
        self, specs: list[RunSpec], resolved: list[dict[str, Any]], lanes: slice, noise: float, seed: int
    ) -> None:
        self.specs = specs
        self.resolved = resolved
        self.lanes = lanes
        self.noise = noise
        self.seed = seed
        self.t = 0
        self.running = True
        self.transform = self._build()
        self.state: Any = None

    def _build(self) -> GradientTransformation:
        """The chain noise → clipping → optimizer; rebuilt with the same state structure on live changes."""
        first = self.specs[0]
        hp = {name: _per_run([r[name] for r in self.resolved]) for name in self.resolved[0]}
        constant = first.schedule.name == "constant"
        self.schedule = None if constant else first.schedule.build(hp["lr"])
        self.lr_constant = np.broadcast_to(
            np.asarray(hp["lr"], dtype=np.float64).reshape(-1), (len(self.specs),)
        )
        parts: list[GradientTransformation] = []
        if self.noise > 0:
            parts.append(add_gradient_noise(self.noise, self.seed))
        if first.clip_norm is not None:
            parts.append(clip_by_norm(_per_run([s.clip_norm for s in self.specs])))
        if first.clip_value is not None:
            parts.append(clip_by_value(_per_run([s.clip_value for s in self.specs])))
        optimizer = make_optimizer(first.optimizer, hp, self.schedule)
        if isinstance(optimizer, EvaluatingTransformation):
            return optimizer  # _check_evaluating refused noise and clipping for it
        return chain(*parts, optimizer) if parts else optimizer

    def lr(self) -> np.ndarray:
        """Learning rate in effect at the group's current step, one value per run."""
        if self.schedule is None:
            return self.lr_constant
        now = np.asarray(self.schedule(self.t), dtype=np.float64).reshape(-1)
        return np.broadcast_to(now, (len(self.specs),))

    def set_hyperparameters(self, lane: int, changes: Mapping[str, Any], surface: Surface) -> None:
        """Change one run's hyperparameters; the next step uses them and the optimizer state is kept."""
        row = lane - self.lanes.start
        spec = self.specs[row]
        merged = {**self.resolved[row], **changes}
        resolved = resolve_hyperparameters(spec.optimizer, merged)
        if get_optimizer(spec.optimizer).evaluating:
            _check_evaluating(spec, resolved, surface, self.noise)
        self.resolved[row] = resolved
        self.transform = self._build()


def _group_key(spec: RunSpec) -> tuple[Any, ...]:
    """Runs with equal keys can share one vectorised optimizer."""
    schedule_params = tuple(sorted(spec.schedule.params.items()))
    return (
        spec.optimizer,
        spec.schedule.name,
        schedule_params,
        spec.clip_norm is None,
        spec.clip_value is None,
    )


class Descent:
    """Several runs on one surface, advanced step by step, with live control between steps.

    The REST trace iterates it to the end; the WebSocket stream calls ``advance(n)`` at the pace the
    learner chooses and may change hyperparameters, add runs, or stop runs in between.
    """

    def __init__(
        self,
        surface: Surface,
        runs: Sequence[RunSpec],
        steps: int,
        *,
        start: Sequence[float] | None = None,
        tolerance: float = 1e-6,
        noise: float = 0.0,
        seed: int = 0,
        budget: str = "steps",
    ) -> None:
        if steps < 0:
            raise ConfigError("steps must be ≥ 0", "steps")
        if budget not in BUDGETS:
            raise ConfigError(f"budget must be one of {', '.join(BUDGETS)}", "budget")
        self.budget = budget
        if not (math.isfinite(noise) and noise >= 0):
            raise ConfigError("noise must be a finite standard deviation ≥ 0", "noise")
        if not (math.isfinite(tolerance) and tolerance >= 0):
            raise ConfigError("tolerance must be a finite number ≥ 0", "tolerance")
        self.surface = surface
        self.max_steps = steps
        self.start = start
        self.tolerance = tolerance
        self.noise = noise
        self.seed = seed
        self._lo, self._hi = divergence_bounds(surface)
        self._bounds = list(zip(self._lo.tolist(), self._hi.tolist(), strict=True))
        dim = surface.dim
        self.ids: list[str] = []
        self.groups: list[_Group] = []
        self.params = np.empty((0, dim))
        self.loss = np.empty(0)
        self.start_loss = np.empty(0)  # each lane's loss at its start: leaving below it is going downhill
        self.grad = np.empty((0, dim))
        self.steps = np.empty(0, dtype=np.int64)
        self.spent = np.empty(0, dtype=np.int64)  # function-and-gradient evaluations used, per lane
        self.active = np.empty(0, dtype=bool)
        self._pending: list[Event] = []
        self._all_active = True
        self._ids_tuple: tuple[str, ...] = ()
        self._lanes = np.empty(0, dtype=np.int64)
        self._lr_cache: np.ndarray | None = None
        self._ones_cache: np.ndarray | None = None
        self._evaluating = False  # some group's optimizer evaluates the function itself
        self._problem = Problem(surface.value_and_grad, surface.hessian)
        self.aux: dict[str, np.ndarray] = {}  # every lane's auxiliary values, NaN rows where undefined
        self.add_runs(runs)

    # ------------------------------------------------------------------ runs
    @property
    def run_ids(self) -> list[str]:
        return list(self.ids)

    @property
    def finished(self) -> bool:
        """True when every run has ended and every event has been handed out."""
        return not self._pending and not self.active.any()

    def _start_points(self, specs: Sequence[RunSpec]) -> np.ndarray:
        """Each run's start (its own, else the shared one, else the surface's default) as a (K, d) array."""
        rows = []
        for i, spec in enumerate(specs):
            shared = self.start if self.start is not None else self.surface.start
            point = spec.start if spec.start is not None else shared
            where = f"runs.{i}.start" if spec.start is not None else "start"
            if len(point) != self.surface.dim:
                raise ConfigError(
                    f"a start point on this surface has {self.surface.dim} coordinate(s), got {len(point)}",
                    where,
                )
            rows.append([float(v) for v in point])
        return np.array(rows, dtype=np.float64).reshape(len(specs), self.surface.dim)

    def add_runs(self, runs: Sequence[RunSpec]) -> None:
        """Add runs (late entrants count steps from their own 0); all is validated before anything changes."""
        for i, r in enumerate(runs):
            if r.id in self.ids or [x.id for x in runs].count(r.id) > 1:
                raise ConfigError(f"run id {r.id!r} is used twice; run ids must be unique", f"runs.{i}.id")
        resolved = [_validate(i, r, self.surface, self.noise) for i, r in enumerate(runs)]
        starts = self._start_points(runs)
        with np.errstate(all="ignore"):
            loss, grad = self._evaluate(starts, np.zeros(len(starts), dtype=np.int64))
            bad = ~(np.isfinite(loss) & np.isfinite(grad).all(axis=1)) | ~self._inside(starts)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ConfigError(
                "the surface is not defined at this start point (its loss or gradient is not finite there),"
                f" or the point lies more than {VIEW_MARGIN:g}× the view box's width beyond its edge",
                f"runs.{i}.start" if runs[i].start is not None else "start",
            )
        by_key: dict[tuple[Any, ...], list[int]] = {}
        for i, r in enumerate(runs):
            by_key.setdefault(_group_key(r), []).append(i)
        order = [i for rows in by_key.values() for i in rows]
        first_lane = len(self.ids)
        for rows in by_key.values():
            lanes = slice(len(self.ids), len(self.ids) + len(rows))
            seed = self.seed + 7919 * len(self.groups)
            group = _Group([runs[i] for i in rows], [resolved[i] for i in rows], lanes, self.noise, seed)
            group.state = group.transform.init(starts[rows])
            self._evaluating |= isinstance(group.transform, EvaluatingTransformation)
            self.groups.append(group)
            self.ids.extend(runs[i].id for i in rows)
        self.params = np.concatenate([self.params, starts[order]])
        self.loss = np.concatenate([self.loss, loss[order]])
        self.start_loss = np.concatenate([self.start_loss, loss[order]])
        self.grad = np.concatenate([self.grad, grad[order]])
        self.steps = np.concatenate([self.steps, np.zeros(len(runs), dtype=np.int64)])
        self.spent = np.concatenate([self.spent, np.zeros(len(runs), dtype=np.int64)])
        self.active = np.concatenate([self.active, np.ones(len(runs), dtype=bool)])
        for name, values in self.aux.items():
            self.aux[name] = np.concatenate([values, np.full((len(runs), *values.shape[1:]), np.nan)])
        self._read_aux(self.groups[len(self.groups) - len(by_key) :])
        self._refresh_lanes()
        self._lr_cache = None
        new = np.arange(first_lane, len(self.ids))
        none = np.zeros(len(new), dtype=np.int64)
        self._pending.extend(self._check(new, np.zeros((len(new), self.surface.dim)), none, None))

    def _read_aux(self, groups: Sequence[_Group]) -> None:
        """Refresh ``self.aux`` from the optimizer states of ``groups`` (those whose optimizer has aux)."""
        for group in groups:
            if getattr(group.transform, "aux", None) is None:
                continue
            for name, values in group.transform.aux(group.state, self.params[group.lanes]).items():
                values = values.reshape(len(values), -1)
                if values.shape[1] == 1:
                    values = values[:, 0]
                if name not in self.aux:
                    self.aux[name] = np.full((len(self.ids), *values.shape[1:]), np.nan)
                self.aux[name][group.lanes] = values

    def _inside(self, points: np.ndarray) -> np.ndarray:
        return ((points >= self._lo) & (points <= self._hi)).all(axis=1)

    def _quiet(self, params: np.ndarray, loss: np.ndarray, grad_norm: np.ndarray) -> bool:
        """True when no run ends at this step: the common case, so it is the fast path.

        A few runs are checked on Python floats (cheaper than NumPy calls on tiny arrays), many with
        NumPy reductions. Comparisons with NaN are False, so a NaN anywhere fails the check.
        """
        top = max((g.t for g in self.groups if g.running), default=0)
        if top >= self.max_steps:
            return False
        spent = self.spent
        if self.budget == "evaluations" and np.max(spent, where=self.active, initial=0) >= self.max_steps:
            return False
        if params.size > 16:
            inside = bool(self._inside(params).all())
            return inside and float(grad_norm.min()) >= self.tolerance and math.isfinite(float(loss.sum()))
        bounds = self._bounds
        for row in params.tolist():
            for v, (lo, hi) in zip(row, bounds, strict=True):
                if not lo <= v <= hi:
                    return False
        tolerance = self.tolerance
        return all(g >= tolerance for g in grad_norm.tolist()) and math.isfinite(sum(loss.tolist()))

    def _refresh_lanes(self) -> None:
        """Cache the ids and lane indices of the active runs (they change only when a run ends or joins)."""
        lanes = np.flatnonzero(self.active)
        self._all_active = len(lanes) == len(self.ids)
        self._lanes = lanes
        self._ids_tuple = tuple(self.ids[i] for i in lanes)

    def _group_of(self, run_id: str) -> tuple[_Group, int]:
        if run_id not in self.ids:
            raise ConfigError(f"no run with id {run_id!r}; runs: {', '.join(self.ids)}", "run")
        lane = self.ids.index(run_id)
        return next(g for g in self.groups if g.lanes.start <= lane < g.lanes.stop), lane

    def set_hyperparameters(self, run_id: str, changes: Mapping[str, Any]) -> None:
        """Live change of a run's hyperparameters (validated; takes effect at the next step)."""
        group, lane = self._group_of(run_id)
        group.set_hyperparameters(lane, changes, self.surface)
        self._lr_cache = None

    def hyperparameters(self, run_id: str) -> dict[str, Any]:
        group, lane = self._group_of(run_id)
        return dict(group.resolved[lane - group.lanes.start])

    def explain(self, run_id: str) -> Ledger:
        """The ledger of the run's next update (see :mod:`app.ml.ledger`); nothing is stepped."""
        group, lane = self._group_of(run_id)
        sl, row = group.lanes, lane - group.lanes.start
        grad = self.grad[sl]
        if isinstance(group.transform, EvaluatingTransformation):
            stages, update = explain_evaluating(
                group.transform, self.loss[sl], grad, group.state, self.params[sl], self._problem, row
            )
        else:
            stages, update = explain_update(group.transform, grad, group.state, self.params[sl], row)
        lr = float(group.lr()[row])
        return Ledger(
            run_id,
            group.specs[row].optimizer,
            int(self.steps[lane]),
            self.params[lane].tolist(),
            float(self.loss[lane]),
            grad[row].tolist(),
            lr,
            stages,
            update.tolist(),
            effective_rates(grad[row], update),
            step_sizes(stages, lr, self.surface.dim),
        )

    def state_of(self, run_id: str) -> dict[str, Any]:
        """The optimizer state the run's last update left, field by field (``stage.field`` names)."""
        group, lane = self._group_of(run_id)
        return state_snapshot(
            group.transform, group.state, group.lanes.stop - group.lanes.start, lane - group.lanes.start
        )

    def stop(self, run_id: str | None = None) -> list[Event]:
        """End one run, or every run, as ``stopped``; returns the events (pending ones first)."""
        events, self._pending = self._pending, []
        lanes = range(len(self.ids)) if run_id is None else [self._group_of(run_id)[1]]
        for lane in lanes:
            if self.active[lane]:
                events.append(self._end(lane, "stopped", "stopped by the user"))
        self._after_ends()
        return events

    # ------------------------------------------------------------------ stepping
    def advance(self, n: int = 1) -> list[Event]:
        """Up to ``n`` steps of every active run (pending step-0 records count as the first)."""
        events, self._pending = self._pending, []
        budget = n - 1 if events else n
        with np.errstate(all="ignore"):
            for _ in range(budget):
                if not self._all_active and not self.active.any():
                    break
                events.extend(self._step())
        return events

    def __iter__(self) -> Iterator[Event]:
        while not self.finished:
            yield from self.advance(256)

    def _step(self) -> list[Event]:
        params, grad = self.params, self.grad
        evaluations, evaluated = self._ones, None
        if len(self.groups) == 1 and not self._evaluating:
            group = self.groups[0]
            update, group.state = group.transform.update(grad, group.state, params)
            group.t += 1
            self.params = params + update
        else:
            update = np.zeros_like(params)
            moved = params.copy()
            if self._evaluating:
                evaluations, evaluated = np.ones(len(params), dtype=np.int64), [None] * len(params)
            for group in self.groups:
                if group.running:
                    sl = group.lanes
                    if isinstance(group.transform, EvaluatingTransformation):
                        out = group.transform.update(
                            self.loss[sl], grad[sl], group.state, params[sl], self._problem
                        )
                        moved[sl], update[sl], group.state = out.params, out.updates, out.state
                        evaluations[sl] = out.evaluations
                        if out.points is not None:
                            evaluated[sl] = out.points
                    else:
                        update[sl], group.state = group.transform.update(grad[sl], group.state, params[sl])
                        moved[sl] = params[sl] + update[sl]
                    group.t += 1
            self.params = moved
        self.steps = self.steps + self.active
        if self.aux:
            self.aux = {name: values.copy() for name, values in self.aux.items()}  # records keep the old
            self._read_aux([g for g in self.groups if g.running])
        if self.budget == "evaluations":
            self.spent = self.spent + evaluations * self.active
        self.loss, self.grad = self._evaluate(self.params, self.steps)
        if self._all_active:
            return self._check(None, update, evaluations, evaluated)
        lanes = self._lanes
        picked = None if evaluated is None else [evaluated[i] for i in lanes]
        return self._check(lanes, update[lanes], evaluations[lanes], picked)

    def _evaluate(self, params: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and gradient at each lane's point: exact, or on the mini-batch its step uses (data sets)."""
        batched = self.surface.batch_value_and_grad
        return self.surface.value_and_grad(params) if batched is None else batched(params, steps)

    def _lr(self) -> np.ndarray:
        """Every lane's learning rate now; cached while no group follows a schedule."""
        if self._lr_cache is not None:
            return self._lr_cache
        lr = self.groups[0].lr() if len(self.groups) == 1 else np.concatenate([g.lr() for g in self.groups])
        if all(g.schedule is None for g in self.groups):
            self._lr_cache = lr
        return lr

    @property
    def _ones(self) -> np.ndarray:
        """One evaluation per lane (a first-order step), cached while the lane count stays the same."""
        if self._ones_cache is None or len(self._ones_cache) != len(self.ids):
            self._ones_cache = np.ones(len(self.ids), dtype=np.int64)
        return self._ones_cache

    def _check(
        self,
        lanes: np.ndarray | None,
        update: np.ndarray,
        evaluations: np.ndarray,
        evaluated: list[Any] | None,
    ) -> list[Event]:
        """The record of this step for ``lanes`` (None: all), and the ends of runs that stop here."""
        if lanes is None:
            params, loss, grad, steps, lr = self.params, self.loss, self.grad, self.steps, self._lr()
        else:
            params, loss, grad = self.params[lanes], self.loss[lanes], self.grad[lanes]
            steps, lr = self.steps[lanes], self._lr()[lanes]
        grad_norm = vector_norm(grad)  # finite for every finite gradient (no overflow in squaring)
        aux = self.aux if lanes is None or not self.aux else {n: v[lanes] for n, v in self.aux.items()}
        points = None if evaluated is None else tuple(evaluated)
        if self._quiet(params, loss, grad_norm):
            ids, index = (self._ids_tuple, self._lanes) if lanes is None else self._row_ids(lanes)
            record = StepRecord(
                ids,
                index,
                steps,
                params,
                loss,
                grad,
                grad_norm,
                lr,
                update,
                evaluations,
                points,
                aux or NO_AUX,
            )
            return [record]
        return self._check_ends(
            lanes, params, loss, grad, grad_norm, steps, lr, update, evaluations, points, aux
        )

    def _row_ids(self, lanes: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
        if lanes is self._lanes:
            return self._ids_tuple, self._lanes
        return tuple(self.ids[i] for i in lanes), lanes

    def _check_ends(
        self,
        lanes: np.ndarray | None,
        params: np.ndarray,
        loss: np.ndarray,
        grad: np.ndarray,
        grad_norm: np.ndarray,
        steps: np.ndarray,
        lr: np.ndarray,
        update: np.ndarray,
        evaluations: np.ndarray,
        evaluated: tuple[Any, ...] | None,
        aux: Mapping[str, np.ndarray],
    ) -> list[Event]:
        """The slow path, taken only on a step where some run ends."""
        index = np.arange(len(self.ids)) if lanes is None else lanes
        finite = np.isfinite(loss) & np.isfinite(grad_norm)
        inside = self._inside(params)
        keep = finite & inside
        events: list[Event] = []
        if keep.any():
            rows = np.flatnonzero(keep)
            ids, kept = self._row_ids(index[rows]) if len(rows) < len(index) else self._row_ids(index)
            take = (lambda a: a) if len(rows) == len(index) else (lambda a: a[rows])
            events.append(
                StepRecord(
                    ids,
                    kept,
                    take(steps),
                    take(params),
                    take(loss),
                    take(grad),
                    take(grad_norm),
                    take(lr),
                    take(update),
                    take(evaluations),
                    None if evaluated is None else tuple(evaluated[i] for i in rows),
                    {name: take(values) for name, values in aux.items()} if aux else NO_AUX,
                )
            )
        start_loss = self.start_loss[index]
        for row in np.flatnonzero(~keep):
            reason, detail = self._left(bool(finite[row]), float(loss[row]), float(start_loss[row]))
            events.append(self._end(int(index[row]), reason, detail, last_step=int(steps[row]) - 1))
        for row in np.flatnonzero(keep & (grad_norm < self.tolerance)):
            detail = f"gradient norm {grad_norm[row]:.3g} fell below the tolerance {self.tolerance:g}"
            events.append(self._end(int(index[row]), "converged", detail))
        if self.budget == "evaluations":
            spent = self.spent[index]
            for row in np.flatnonzero(keep & (spent >= self.max_steps)):
                if self.active[index[row]]:
                    detail = f"used its budget of {self.max_steps} function-and-gradient evaluations"
                    events.append(self._end(int(index[row]), "max_evaluations", detail))
        for row in np.flatnonzero(keep & (steps >= self.max_steps)):
            if self.active[index[row]]:
                events.append(
                    self._end(int(index[row]), "max_steps", f"reached the step budget of {self.max_steps}")
                )
        self._after_ends()
        return events

    @staticmethod
    def _left(finite: bool, loss: float, start_loss: float) -> tuple[str, str]:
        """Why a run that is no longer kept ended: the one rule of the module docstring, with its words."""
        if not finite:
            detail = "the loss or its gradient became infinite or NaN: the learning rate is too high"
            return "diverged", detail
        where = f"more than {VIEW_MARGIN:g}× the view box's width beyond its edge"
        if loss < start_loss:
            return (
                "left_view",
                f"left the view box downhill: {where}, its loss {loss:.4g} is below its start"
                f" ({start_loss:.4g}) and the surface keeps falling out there",
            )
        return (
            "diverged",
            f"went {where} with its loss grown from {start_loss:.4g} to {loss:.4g}:"
            " the learning rate is too high for this surface",
        )

    def _end(self, lane: int, reason: str, detail: str, last_step: int | None = None) -> RunEnd:
        self.active[lane] = False
        step = int(self.steps[lane]) if last_step is None else last_step
        return RunEnd(self.ids[lane], max(step, 0), reason, detail)

    def _after_ends(self) -> None:
        for group in self.groups:
            group.running = bool(self.active[group.lanes].any())
        self._refresh_lanes()


def extra_evaluations(runs: Sequence[RunSpec]) -> int:
    """The most evaluations per step beyond the first, summed over the runs (the price of a request)."""
    return sum(max_evaluations(run.optimizer, run.hyperparameters) - 1 for run in runs)


def descend(surface: Surface, runs: Sequence[RunSpec], steps: int, **options: Any) -> Iterator[Event]:
    """Step records and run ends until every run has ended; ``options`` as for :class:`Descent`."""
    yield from Descent(surface, runs, steps, **options)


def sweep(
    surface: Surface,
    optimizer: str,
    learning_rates: Sequence[float],
    steps: int,
    hyperparameters: Mapping[str, Any] | None = None,
    **options: Any,
) -> Iterator[Event]:
    """One optimizer at several learning rates, advanced as one vectorised group (run ids lr0, lr1, …)."""
    base = dict(hyperparameters or {})
    specs = [
        RunSpec(id=f"lr{i}", optimizer=optimizer, hyperparameters={**base, "lr": float(lr)})
        for i, lr in enumerate(learning_rates)
    ]
    yield from descend(surface, specs, steps, **options)


@dataclass(frozen=True)
class RunTrace:
    """Everything one run produced, column by column, and how it ended."""

    run_id: str
    steps: np.ndarray  # (T,)
    position: np.ndarray  # (T, d)
    loss: np.ndarray  # (T,)
    grad: np.ndarray  # (T, d)
    grad_norm: np.ndarray  # (T,)
    lr: np.ndarray  # (T,)
    update: np.ndarray  # (T, d); zero on the step-0 row
    evaluations: np.ndarray  # (T,) int; 0 on the step-0 row
    evaluated: list[np.ndarray] | None  # per record, (n, d) other points evaluated; None: first-order only
    end: RunEnd | None
    aux: Mapping[str, np.ndarray] = field(default_factory=lambda: NO_AUX)  # name -> (T, d) or (T,)


def collect(events: Iterable[Event]) -> dict[str, RunTrace]:
    """Gather records into per-run columns, in the order runs first appear; works on any slice of events."""
    records: list[StepRecord] = []
    ends: dict[str, RunEnd] = {}
    names: dict[int, str] = {}
    for event in events:
        if isinstance(event, RunEnd):
            ends[event.run_id] = event
            continue
        records.append(event)
        for lane, rid in zip(event.lanes.tolist(), event.run_ids, strict=True):
            names.setdefault(lane, rid)
    traces: dict[str, RunTrace] = {}
    if records:
        lanes = np.concatenate([r.lanes for r in records])
        columns = {
            name: np.concatenate([getattr(r, name) for r in records])
            for name in ("step", "position", "loss", "grad", "grad_norm", "lr", "update", "evaluations")
        }
        aux = _collect_aux(records)
        points = _evaluated_points(records)
        for lane, rid in names.items():
            rows = lanes == lane
            c = {name: values[rows] for name, values in columns.items()}
            seen = None if points is None else [points[i] for i in np.flatnonzero(rows)]
            if seen is not None and all(p is None for p in seen):
                seen = None
            traces[rid] = RunTrace(
                rid,
                c["step"],
                c["position"],
                c["loss"],
                c["grad"],
                c["grad_norm"],
                c["lr"],
                c["update"],
                c["evaluations"],
                seen,
                ends.get(rid),
                {name: values[rows] for name, values in aux.items()} if aux else NO_AUX,
            )
    for rid, end in ends.items():
        if rid not in traces:
            empty = np.empty(0)
            count = empty.astype(np.int64)
            traces[rid] = RunTrace(rid, count, empty, empty, empty, empty, empty, empty, count, None, end)
    return traces


def _collect_aux(records: list[StepRecord]) -> dict[str, np.ndarray]:
    """The aux columns of ``records`` concatenated; a record without a column (it came before the run that
    brought it joined) contributes NaN rows."""
    shapes: dict[str, tuple[int, ...]] = {}
    for record in records:
        for name, values in record.aux.items():
            shapes.setdefault(name, values.shape[1:])
    return {
        name: np.concatenate(
            [r.aux[name] if name in r.aux else np.full((len(r.lanes), *shape), np.nan) for r in records]
        )
        for name, shape in shapes.items()
    }


def _evaluated_points(records: list[StepRecord]) -> list[np.ndarray | None] | None:
    """Every row's evaluated points in record order (None for rows without), or None if no row has any."""
    if all(r.evaluated is None for r in records):
        return None
    out: list[np.ndarray | None] = []
    for r in records:
        out.extend([None] * len(r.run_ids) if r.evaluated is None else r.evaluated)
    return out


def summary(
    surface: Surface,
    position: Sequence[float] | None,
    loss: float | None,
    step: int,
    end: RunEnd | None,
    evaluations: int = 0,
) -> dict[str, Any]:
    """Final loss, steps to converge and distance to the nearest known minimum, from a run's last record;
    ``evaluations`` is the run's total of function-and-gradient evaluations (its steps for first order)."""
    nearest = nearest_minimum(surface, position) if position is not None else None
    return {
        "final_loss": loss,
        "final_position": None if position is None else [float(v) for v in position],
        "steps_taken": step,
        "evaluations": int(evaluations),
        "steps_to_converge": end.step if end is not None and end.reason == "converged" else None,
        "nearest_minimum": None if nearest is None else list(nearest[0]),
        "distance_to_nearest_minimum": None if nearest is None else float(nearest[1]),
    }


def summarize(surface: Surface, trace: RunTrace) -> dict[str, Any]:
    """The summary of a whole trace."""
    if not len(trace.steps):
        return summary(surface, None, None, 0, trace.end)
    position, loss, step = trace.position[-1], float(trace.loss[-1]), int(trace.steps[-1])
    return summary(surface, position, loss, step, trace.end, int(trace.evaluations.sum()))
