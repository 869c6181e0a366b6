"""Explain one update: the numbers of every transform of a run's optimizer, adding up to the step taken.

The ledger of run ``r`` at step t is computed from exactly the arrays the next step will use — the
gradient at x_t, the optimizer state, the hyperparameters — by running the run's own chain of
transforms one by one (they are pure, so nothing is committed).  So its ``update`` *is* the move
x_{t+1} − x_t the next step makes (tested to 1e-12 for every optimizer), and every stage's output is
the next stage's input: gradient → noise / clipping → weight decay → moments and scaling → × (−lr).

Each stage shows the state it leaves (torch's state names: ``exp_avg`` = m, ``exp_avg_sq`` = v,
``momentum_buffer``, ``sum``…) and the intermediate numbers it noted (bias corrections, m̂, the
denominator √v̂ + ε).  ``scale`` — the per-coordinate factor an adaptive optimizer applies to its
direction (1 / (√v̂ + ε) for Adam) — gives ``step_size = lr · scale``: the √v-scaled learning rate of
each coordinate (drawn as a box around the point); ``effective_lr = −Δθ / g`` is the learning rate
plain gradient descent would need to make the same move (None where g = 0).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.ml.evaluating import EvaluatingTransformation, Problem
from app.ml.transforms import GradientTransformation, noting

Value = float | bool | list[float] | list[bool]


@dataclass(frozen=True)
class Stage:
    """One transform of the chain: what came in, what went out, the state it leaves and its notes."""

    name: str  # the transform, e.g. scale_by_adam, add_decayed_weights, scale_by_learning_rate
    input: list[float]
    output: list[float]
    state: dict[str, Value]
    notes: dict[str, Value]


@dataclass(frozen=True)
class Ledger:
    run_id: str
    optimizer: str
    step: int  # the update explained moves the run from x_step to x_{step + 1}
    point: list[float]
    loss: float
    gradient: list[float]
    lr: float
    stages: list[Stage]
    update: list[float]  # Δθ = the last stage's output
    effective_lr: list[float | None]
    step_size: list[float] | None  # lr · scale for optimizers with a per-coordinate scale


def stage_name(transform: GradientTransformation) -> str:
    """The transform's factory name (``scale_by_adam``), from its update function's qualified name."""
    return transform.update.__qualname__.split(".")[0]


def _row(value: Any, row: int, lanes: int) -> Value | None:
    """One run's part of a state or note value: (K, d) -> its d numbers, (K, 1) or (K,) -> one."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if not isinstance(value, np.ndarray) or value.dtype == object:
        return None  # e.g. a random generator
    if value.ndim == 0:
        return value.item()
    if value.shape[0] != lanes:
        return None
    part = value[row]
    if part.size == 1:
        return part.reshape(-1)[0].item()
    return part.reshape(-1).tolist()


def _fields(state: Any, row: int, lanes: int) -> dict[str, Value]:
    if not hasattr(state, "_asdict"):
        return {}
    out = {}
    for name, value in state._asdict().items():
        picked = _row(value, row, lanes)
        if picked is not None:
            out[name] = picked
    return out


def _run(
    transform: GradientTransformation, grads: np.ndarray, state: Any, params: np.ndarray
) -> Iterator[tuple[GradientTransformation, np.ndarray, np.ndarray, Any, dict[str, Any]]]:
    """Every leaf transform of a (nested) chain with its input, output, new state and notes."""
    if transform.stages:
        for part, sub in zip(transform.stages, state, strict=True):
            for item in _run(part, grads, sub, params):
                yield item
                grads = item[2]
        return
    with noting() as notes:
        out, new_state = transform.update(grads, state, params)
    yield transform, grads, out, new_state, notes


def explain_update(
    transform: GradientTransformation, grads: np.ndarray, state: Any, params: np.ndarray, row: int
) -> tuple[list[Stage], np.ndarray]:
    """The stages of one update of lane ``row`` of a group of runs stepped together, and its Δθ."""
    lanes = grads.shape[0]
    stages, update = [], None
    for part, given, out, new_state, notes in _run(transform, grads, state, params):
        update = out[row]
        if stage_name(part) == "_identity":  # a transform switched off (e.g. weight decay 0) does nothing
            continue
        stages.append(
            Stage(
                stage_name(part),
                given[row].tolist(),
                out[row].tolist(),
                _fields(new_state, row, lanes),
                {k: v for k, v in ((k, _row(v, row, lanes)) for k, v in notes.items()) if v is not None},
            )
        )
    assert update is not None
    return stages, update


def explain_evaluating(
    transform: EvaluatingTransformation,
    loss: np.ndarray,
    grads: np.ndarray,
    state: Any,
    params: np.ndarray,
    problem: Problem,
    row: int,
) -> tuple[list[Stage], np.ndarray]:
    """An optimizer that evaluates the function (L-BFGS, SAM, Newton, Polyak) is one stage: its state,
    notes, the number of evaluations and the points it evaluated besides x_t."""
    lanes = grads.shape[0]
    with noting() as notes:
        out = transform.update(loss, grads, state, params, problem)
    noted = {k: v for k, v in ((k, _row(v, row, lanes)) for k, v in notes.items()) if v is not None}
    noted["evaluations"] = float(out.evaluations[row])
    if out.points is not None and out.points[row] is not None and len(out.points[row]):
        noted["evaluated_points"] = float(len(out.points[row]))
    update = out.updates[row]
    stage = Stage(
        stage_name(transform), grads[row].tolist(), update.tolist(), _fields(out.state, row, lanes), noted
    )
    return [stage], update


def effective_rates(gradient: np.ndarray, update: np.ndarray) -> list[float | None]:
    """``−Δθ_i / g_i``: the plain-gradient-descent learning rate that makes the same move."""
    return [
        None if g == 0 else float(-u / g) for g, u in zip(gradient.tolist(), update.tolist(), strict=True)
    ]


def step_sizes(stages: list[Stage], lr: float, dim: int) -> list[float] | None:
    """``lr · scale`` per coordinate, from the stage that noted an adaptive ``scale`` (None if none did)."""
    for stage in stages:
        scale = stage.notes.get("scale")
        if scale is not None:
            values = scale if isinstance(scale, list) else [float(scale)] * dim
            return [lr * float(v) for v in values]
    return None


def state_snapshot(transform: GradientTransformation, state: Any, lanes: int, row: int) -> dict[str, Value]:
    """Every state field of one lane of a group, named ``stage.field`` (e.g. ``scale_by_adam.exp_avg``)."""
    out: dict[str, Value] = {}

    def walk(part: GradientTransformation, sub: Any) -> None:
        if getattr(part, "stages", ()):
            for inner, inner_state in zip(part.stages, sub, strict=True):
                walk(inner, inner_state)
            return
        name = stage_name(part)
        if name == "_identity":
            return
        for field, value in _fields(sub, row, lanes).items():
            out[f"{name}.{field}"] = value

    walk(transform, state)
    return out
