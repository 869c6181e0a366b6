"""Runs on a surface: descend() and the Descent that drives it, step records, end reasons, traces.

A Descent advances several runs at once. Runs that share an optimizer, a schedule and clipping and
start together form a group whose parameters are one (K, d) array, so a race or a learning-rate sweep
moves in one vectorised step. Records use arrival semantics: record t holds the point x_t, the loss and
gradient there, the learning rate in effect at step t, and the update that brought the run from
x_{t-1} to x_t (None at step 0). No NaN or infinity ever leaves this module: a run whose next point is
non-finite or far outside the view box ends as ``diverged`` and keeps its last finite record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.ml.errors import ConfigError
from app.ml.optimizers import make_optimizer, resolve_hyperparameters
from app.ml.schedules import make_schedule
from app.ml.surfaces import Surface, nearest_minimum
from app.ml.transforms import GradientTransformation, add_gradient_noise, chain, clip_by_norm, clip_by_value

END_REASONS = ("max_steps", "converged", "diverged", "stopped")
DIVERGENCE_WIDTHS = 10.0
"""A run is diverged once it is this many view-box widths outside the box (or non-finite)."""


@dataclass(frozen=True)
class RunSpec:
    """One run: an optimizer with its hyperparameters, schedule and clipping, from a start point."""

    id: str
    optimizer: str
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    schedule: str = "constant"
    schedule_params: Mapping[str, float] = field(default_factory=dict)
    clip_norm: float | None = None
    clip_value: float | None = None
    start: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """Step ``step`` of the runs in ``run_ids`` (one row each); arrays are never written to afterwards."""

    step: int
    run_ids: tuple[str, ...]
    position: np.ndarray  # (M, d)
    loss: np.ndarray  # (M,)
    grad: np.ndarray  # (M, d)
    grad_norm: np.ndarray  # (M,)
    lr: np.ndarray  # (M,) learning rate the optimizer applies at this step
    update: np.ndarray | None  # (M, d) move from the previous point; None at step 0


@dataclass(frozen=True, slots=True)
class RunEnd:
    """A run finished at ``step`` (its last record) for ``reason``; ``detail`` says why in words."""

    run_id: str
    step: int
    reason: str
    detail: str


Event = StepRecord | RunEnd


def _stack_hyperparameters(resolved: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-run values become (K, 1) arrays so K runs broadcast; values shared by all runs stay scalars."""
    stacked: dict[str, Any] = {}
    for name in resolved[0]:
        values = [hp[name] for hp in resolved]
        if all(v == values[0] for v in values):
            stacked[name] = values[0]
        elif isinstance(values[0], tuple):
            stacked[name] = tuple(np.array([v[i] for v in values], dtype=np.float64)[:, None] for i in range(2))
        elif isinstance(values[0], bool):
            stacked[name] = np.array(values, dtype=bool)[:, None]
        else:
            stacked[name] = np.array(values, dtype=np.float64)[:, None]
    return stacked


def _column(values: list[Any]) -> Any:
    """A per-run scalar setting as a scalar when shared, else a (K, 1) array."""
    if all(v == values[0] for v in values):
        return values[0]
    return np.array(values, dtype=np.float64)[:, None]


class _Group:
    """Runs advanced together: same optimizer, schedule, clipping, start step; per-run hyperparameters."""

    def __init__(
        self,
        surface: Surface,
        specs: list[RunSpec],
        resolved: list[dict[str, Any]],
        starts: np.ndarray,
        noise: float,
        seed: int,
        tolerance: float,
        max_steps: int,
    ) -> None:
        self.surface = surface
        self.specs = specs
        self.ids = tuple(s.id for s in specs)
        self.noise = noise
        self.seed = seed
        self.tolerance = tolerance
        self.max_steps = max_steps
        self.resolved = resolved
        self.transform = self._build()
        self.params = starts
        self.state = self.transform.init(starts)
        self.step = 0
        self.active = np.ones(len(specs), dtype=bool)
        self.ends: list[RunEnd] = []
        self.lo, self.hi = _divergence_bounds(surface)

    def _build(self) -> GradientTransformation:
        """The chain noise → clipping → optimizer; rebuilt with the same state structure on live changes."""
        first = self.specs[0]
        hp = _stack_hyperparameters(self.resolved)
        schedule = make_schedule(first.schedule, hp["lr"], first.schedule_params)
        self.schedule = schedule
        parts: list[GradientTransformation] = []
        if self.noise > 0:
            parts.append(add_gradient_noise(self.noise, self.seed))
        if first.clip_norm is not None:
            parts.append(clip_by_norm(_column([s.clip_norm for s in self.specs])))
        if first.clip_value is not None:
            parts.append(clip_by_value(_column([s.clip_value for s in self.specs])))
        parts.append(make_optimizer(first.optimizer, hp, schedule))
        return chain(*parts)

    def set_hyperparameters(self, run_id: str, changes: Mapping[str, Any]) -> None:
        """Change one run's hyperparameters; the next step uses them, the optimizer state is kept."""
        lane = self.ids.index(run_id)
        spec = self.specs[lane]
        merged = {**self.resolved[lane], **changes}
        resolved = resolve_hyperparameters(spec.optimizer, merged)
        self.resolved[lane] = resolved
        self.transform = self._build()

    def lr_now(self) -> np.ndarray:
        """The learning rate in effect at the current step, one value per run."""
        return np.broadcast_to(np.asarray(self.schedule(self.step), dtype=np.float64).reshape(-1), (len(self.ids),))

    def evaluate(self) -> tuple[list[Event], np.ndarray]:
        """Loss and gradient at the current params; returns the events of this step and the gradient."""
        loss, grad = self.surface.value_and_grad(self.params)
        return self._record(loss, grad, None), grad

    def advance(self, grad: np.ndarray) -> tuple[list[Event], np.ndarray]:
        """One optimizer step for every run in the group, then the records of the runs still going."""
        updates, self.state = self.transform.update(grad, self.state, self.params)
        self.params = self.params + updates
        self.step += 1
        loss, grad = self.surface.value_and_grad(self.params)
        return self._record(loss, grad, updates), grad

    def _record(self, loss: np.ndarray, grad: np.ndarray, update: np.ndarray | None) -> list[Event]:
        grad_norm = np.sqrt(np.einsum("kd,kd->k", grad, grad))
        params = self.params
        finite = np.isfinite(loss + grad_norm) & np.all((params >= self.lo) & (params <= self.hi), axis=1)
        converged = grad_norm < self.tolerance
        lr = self.lr_now()
        if finite.all() and self.active.all() and not converged.any() and self.step < self.max_steps:
            return [StepRecord(self.step, self.ids, params, loss, grad, grad_norm, lr, update)]
        return self._record_with_ends(loss, grad, grad_norm, lr, update, finite, converged)

    def _record_with_ends(
        self,
        loss: np.ndarray,
        grad: np.ndarray,
        grad_norm: np.ndarray,
        lr: np.ndarray,
        update: np.ndarray | None,
        finite: np.ndarray,
        converged: np.ndarray,
    ) -> list[Event]:
        """The slow path, taken only on the step where some run ends."""
        events: list[Event] = []
        diverged = self.active & ~finite
        for lane in np.flatnonzero(diverged):
            value_ok = bool(np.isfinite(loss[lane] + grad_norm[lane]))
            detail = (
                "the run left the view box far behind (more than "
                f"{DIVERGENCE_WIDTHS:g} box widths away): the learning rate is too high for this surface"
                if value_ok
                else "the loss or its gradient became infinite or NaN: the learning rate is too high"
            )
            self._end(events, lane, self.step - 1, "diverged", detail)
        keep = self.active & finite
        if keep.any():
            rows = np.flatnonzero(keep)
            all_rows = len(rows) == len(self.ids)
            pick = (lambda a: a) if all_rows else (lambda a: a[rows])
            events.insert(
                0,
                StepRecord(
                    self.step,
                    self.ids if all_rows else tuple(self.ids[i] for i in rows),
                    pick(self.params),
                    pick(loss),
                    pick(grad),
                    pick(grad_norm),
                    pick(lr),
                    None if update is None else pick(update),
                ),
            )
        for lane in np.flatnonzero(keep & converged):
            detail = f"gradient norm {grad_norm[lane]:.3g} fell below the tolerance {self.tolerance:g}"
            self._end(events, lane, self.step, "converged", detail)
        if self.step >= self.max_steps:
            for lane in np.flatnonzero(self.active):
                self._end(events, lane, self.step, "max_steps", f"reached the step budget of {self.max_steps}")
        return events

    def _end(self, events: list[Event], lane: int, step: int, reason: str, detail: str) -> None:
        self.active[lane] = False
        end = RunEnd(self.ids[lane], max(step, 0), reason, detail)
        self.ends.append(end)
        events.append(end)

    def stop(self, run_id: str | None = None) -> list[Event]:
        """End one run (or all) as ``stopped`` at its current step."""
        events: list[Event] = []
        for lane, rid in enumerate(self.ids):
            if self.active[lane] and (run_id is None or rid == run_id):
                self._end(events, lane, self.step, "stopped", "stopped by the user")
        return events


def _divergence_bounds(surface: Surface) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners of the region a run may roam before it counts as diverged."""
    view = np.asarray(surface.view, dtype=np.float64).reshape(-1, 2)
    width = view[:, 1] - view[:, 0]
    return view[:, 0] - DIVERGENCE_WIDTHS * width, view[:, 1] + DIVERGENCE_WIDTHS * width


def _group_key(spec: RunSpec) -> tuple[Any, ...]:
    """Runs with equal keys can share one vectorised optimizer."""
    schedule_params = tuple(sorted(spec.schedule_params.items()))
    return (spec.optimizer, spec.schedule, schedule_params, spec.clip_norm is None, spec.clip_value is None)


def _validate(index: int, spec: RunSpec) -> dict[str, Any]:
    """Resolve one run's hyperparameters and schedule; errors name the run by its index in the request."""
    for name in ("clip_norm", "clip_value"):
        value = getattr(spec, name)
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ConfigError(f"{name} must be a finite number > 0", f"runs.{index}.{name}")
    try:
        resolved = resolve_hyperparameters(spec.optimizer, spec.hyperparameters)
    except ConfigError as error:
        error.field = f"runs.{index}.{error.field}" if error.field else f"runs.{index}"
        raise
    try:
        make_schedule(spec.schedule, resolved["lr"], spec.schedule_params)
    except ConfigError as error:
        error.field = f"runs.{index}.schedule.{error.field if error.field.startswith('params') else 'name'}"
        raise
    return resolved


def _start_points(
    surface: Surface, specs: list[RunSpec], start: Sequence[float] | None, indices: list[int]
) -> np.ndarray:
    """Each run's start (its own, else the shared one, else the surface's default) as a (K, d) array."""
    rows = []
    for i, spec in zip(indices, specs, strict=True):
        point = spec.start if spec.start is not None else start if start is not None else surface.start
        if len(point) != surface.dim:
            where = f"runs.{i}.start" if spec.start is not None else "start"
            raise ConfigError(f"a start point on this surface has {surface.dim} coordinate(s), got {len(point)}", where)
        rows.append([float(v) for v in point])
    points = np.array(rows, dtype=np.float64)
    if not np.isfinite(points).all():
        raise ConfigError("start coordinates must be finite numbers", "start")
    return points


class Descent:
    """Several runs on one surface, advanced one step at a time, with live control.

    The web layer's REST trace iterates it to the end; the WebSocket stream calls ``advance()`` at the
    pace the learner chooses and may change hyperparameters, add or remove runs, or stop in between.
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
    ) -> None:
        if steps < 0:
            raise ConfigError("steps must be ≥ 0", "steps")
        if noise < 0 or not np.isfinite(noise):
            raise ConfigError("noise must be a finite standard deviation ≥ 0", "noise")
        ids = [r.id for r in runs]
        if len(set(ids)) != len(ids):
            raise ConfigError("run ids must be unique", "runs")
        self.surface = surface
        self.steps = steps
        self.start = start
        self.tolerance = tolerance
        self.noise = noise
        self.seed = seed
        self.groups: list[_Group] = []
        self._pending: list[Event] = []
        self._grads: dict[int, np.ndarray] = {}
        self.add_runs(runs)

    @property
    def run_ids(self) -> list[str]:
        return [rid for g in self.groups for rid in g.ids]

    @property
    def finished(self) -> bool:
        """True when every run has ended and every event has been handed out."""
        return not self._pending and all(not g.active.any() for g in self.groups)

    def add_runs(self, runs: Sequence[RunSpec]) -> None:
        """Add runs (a race entrant joining late starts at its own step 0); validates everything first."""
        existing = set(self.run_ids)
        for i, r in enumerate(runs):
            if r.id in existing:
                raise ConfigError(f"a run with id {r.id!r} already exists", f"runs.{i}.id")
        resolved = [_validate(i, r) for i, r in enumerate(runs)]
        by_key: dict[tuple[Any, ...], list[int]] = {}
        for i, r in enumerate(runs):
            by_key.setdefault(_group_key(r), []).append(i)
        new_groups = []
        all_specs = list(runs)
        for lanes in by_key.values():
            specs = [all_specs[i] for i in lanes]
            starts = _start_points(self.surface, specs, self.start, lanes)
            seed = self.seed + 7919 * (len(self.groups) + len(new_groups))
            group = _Group(
                self.surface, specs, [resolved[i] for i in lanes], starts, self.noise, seed, self.tolerance, self.steps
            )
            new_groups.append(group)
        pending: list[Event] = []
        with np.errstate(all="ignore"):
            for group in new_groups:
                events, grad = group.evaluate()
                bad = [e for e in events if isinstance(e, RunEnd) and e.reason == "diverged"]
                if bad:
                    index = all_specs.index(next(s for s in group.specs if s.id == bad[0].run_id))
                    where = f"runs.{index}.start" if all_specs[index].start is not None else "start"
                    raise ConfigError(
                        "the surface is not defined at this start point (the loss or its gradient is not finite"
                        f" there), or the point lies more than {DIVERGENCE_WIDTHS:g} view-box widths outside the view",
                        where,
                    )
                self._grads[id(group)] = grad
                pending.extend(events)
        self._pending.extend(pending)
        self.groups.extend(new_groups)

    def _group_of(self, run_id: str) -> _Group:
        for group in self.groups:
            if run_id in group.ids:
                return group
        raise ConfigError(f"no run with id {run_id!r}; runs: {', '.join(self.run_ids)}", "run")

    def set_hyperparameters(self, run_id: str, changes: Mapping[str, Any]) -> None:
        """Live change of a run's hyperparameters (validated; takes effect at the next step)."""
        self._group_of(run_id).set_hyperparameters(run_id, changes)

    def hyperparameters(self, run_id: str) -> dict[str, Any]:
        group = self._group_of(run_id)
        return dict(group.resolved[group.ids.index(run_id)])

    def stop(self, run_id: str | None = None) -> list[Event]:
        """End one run, or every run, as ``stopped``; returns the events (pending ones first)."""
        events = self._take_pending()
        if run_id is not None:
            events.extend(self._group_of(run_id).stop(run_id))
        else:
            for group in self.groups:
                events.extend(group.stop())
        return events

    def _take_pending(self) -> list[Event]:
        events, self._pending = self._pending, []
        return events

    def advance(self) -> list[Event]:
        """Hand out pending events (the step-0 records), else move every active group one step."""
        if self._pending:
            return self._take_pending()
        events: list[Event] = []
        with np.errstate(all="ignore"):
            for group in self.groups:
                if group.active.any():
                    step_events, grad = group.advance(self._grads[id(group)])
                    self._grads[id(group)] = grad
                    events.extend(step_events)
        return events

    def __iter__(self) -> Iterator[Event]:
        while not self.finished:
            yield from self.advance()


def descend(
    surface: Surface,
    runs: Sequence[RunSpec],
    steps: int,
    *,
    start: Sequence[float] | None = None,
    tolerance: float = 1e-6,
    noise: float = 0.0,
    seed: int = 0,
) -> Iterator[Event]:
    """Step records and run ends for ``runs`` on ``surface`` until every run has ended."""
    yield from Descent(surface, runs, steps, start=start, tolerance=tolerance, noise=noise, seed=seed)


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


@dataclass
class RunTrace:
    """Everything one run produced, column by column, plus how it ended and summary figures."""

    run_id: str
    steps: np.ndarray  # (T,)
    position: np.ndarray  # (T, d)
    loss: np.ndarray  # (T,)
    grad: np.ndarray  # (T, d)
    grad_norm: np.ndarray  # (T,)
    lr: np.ndarray  # (T,)
    update: np.ndarray  # (T, d); row 0 is unused (no move before the start)
    end: RunEnd | None

    @property
    def final_loss(self) -> float | None:
        return float(self.loss[-1]) if len(self.loss) else None

    @property
    def steps_to_converge(self) -> int | None:
        return self.end.step if self.end is not None and self.end.reason == "converged" else None


def collect(events: Iterator[Event] | Sequence[Event], run_ids: Sequence[str]) -> dict[str, RunTrace]:
    """Gather records into per-run columns; records of a run are consecutive steps from 0."""
    parts: dict[str, dict[str, list[Any]]] = {
        rid: {"step": [], "position": [], "loss": [], "grad": [], "grad_norm": [], "lr": [], "update": []}
        for rid in run_ids
    }
    ends: dict[str, RunEnd] = {}
    for event in events:
        if isinstance(event, RunEnd):
            ends[event.run_id] = event
            continue
        for row, rid in enumerate(event.run_ids):
            cols = parts[rid]
            cols["step"].append(event.step)
            cols["position"].append(event.position[row])
            cols["loss"].append(event.loss[row])
            cols["grad"].append(event.grad[row])
            cols["grad_norm"].append(event.grad_norm[row])
            cols["lr"].append(event.lr[row])
            cols["update"].append(None if event.update is None else event.update[row])
    traces = {}
    for rid, cols in parts.items():
        dim = len(cols["position"][0]) if cols["position"] else 0
        updates = [np.zeros(dim) if u is None else u for u in cols["update"]]
        traces[rid] = RunTrace(
            run_id=rid,
            steps=np.asarray(cols["step"], dtype=np.int64),
            position=np.asarray(cols["position"], dtype=np.float64).reshape(-1, dim),
            loss=np.asarray(cols["loss"], dtype=np.float64),
            grad=np.asarray(cols["grad"], dtype=np.float64).reshape(-1, dim),
            grad_norm=np.asarray(cols["grad_norm"], dtype=np.float64),
            lr=np.asarray(cols["lr"], dtype=np.float64),
            update=np.asarray(updates, dtype=np.float64).reshape(-1, dim),
            end=ends.get(rid),
        )
    return traces


def summarize(surface: Surface, trace: RunTrace) -> dict[str, Any]:
    """Final loss, steps to converge and distance to the nearest known minimum of one run."""
    final = trace.position[-1] if len(trace.position) else None
    nearest = nearest_minimum(surface, final) if final is not None else None
    return {
        "final_loss": trace.final_loss,
        "final_position": None if final is None else final.tolist(),
        "steps_taken": int(trace.steps[-1]) if len(trace.steps) else 0,
        "steps_to_converge": trace.steps_to_converge,
        "nearest_minimum": None if nearest is None else list(nearest[0]),
        "distance_to_nearest_minimum": None if nearest is None else float(nearest[1]),
    }
