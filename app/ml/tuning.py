"""A fair race: every optimizer gets the same learning-rate search and the same budget.

Pictures of optimizers racing usually pick each learning rate by a hidden search, so a "win" may only
say whose default was luckier.  Here the search is explicit and identical for every run: the same
log-spaced candidates, the same step budget, the same start, advanced together as lanes of one
vectorised :class:`~app.ml.run.Descent`.  Each run then races with the candidate that reached the
lowest final loss; a candidate that diverged or left the view box does not count (it reached no
loss worth comparing).  Ties go to the smaller learning rate (the safer one).  The other
hyperparameters, the schedule, the clipping and the start of each run are kept as given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from app.ml.errors import ConfigError
from app.ml.run import Descent, RunEnd, RunSpec
from app.ml.surfaces import Surface

COUNTED_ENDS = ("max_steps", "max_evaluations", "converged")
"""Ends whose final loss is a fair score (a stopped, diverged or escaped run has none)."""
MAX_CANDIDATES = 24


@dataclass(frozen=True)
class Tuning:
    """The learning rate chosen for one run and the evidence: every candidate and its final loss."""

    run_id: str
    lr: float | None  # None: every candidate diverged (the run keeps its own learning rate)
    candidates: tuple[float, ...]
    final_losses: tuple[float | None, ...]  # None where the candidate diverged or left the view
    budget: int  # steps (or evaluations) per candidate
    budget_kind: str = "steps"  # what the budget counts: steps or function-and-gradient evaluations


def candidate_learning_rates(count: int = 12, low: float = 1e-4, high: float = 1.0) -> np.ndarray:
    """``count`` log-spaced learning rates from ``low`` to ``high`` (both included)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 2 <= count <= MAX_CANDIDATES:
        raise ConfigError(
            f"the search tries 2 to {MAX_CANDIDATES} learning rates, got {count!r}", "tune.count"
        )
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise ConfigError(
            f"the search needs 0 < low < high (finite), got low={low!r}, high={high!r}", "tune.low"
        )
    return np.geomspace(low, high, count)


def tune_learning_rates(
    surface: Surface,
    runs: Sequence[RunSpec],
    steps: int,
    *,
    count: int = 12,
    low: float = 1e-4,
    high: float = 1.0,
    **options: Any,
) -> list[Tuning]:
    """Search the same candidates for every run, all as lanes of one Descent (``options`` as for it)."""
    rates = candidate_learning_rates(count, low, high)
    lanes = [
        replace(run, id=f"{i}:{k}", hyperparameters={**run.hyperparameters, "lr": float(lr)})
        for i, run in enumerate(runs)
        for k, lr in enumerate(rates)
    ]
    descent = Descent(surface, lanes, steps, **options)
    lane_of = {run.id: k for k, run in enumerate(lanes)}
    order = np.array([lane_of[rid] for rid in descent.ids])  # the Descent groups lanes by optimizer
    final = np.full(len(lanes), np.nan)
    counted = np.zeros(len(lanes), dtype=bool)
    for event in descent:
        if isinstance(event, RunEnd):
            counted[lane_of[event.run_id]] = event.reason in COUNTED_ENDS
        else:
            final[order[event.lanes]] = event.loss
    out = []
    for i, run in enumerate(runs):
        rows = slice(i * len(rates), (i + 1) * len(rates))
        scores = np.where(counted[rows], final[rows], np.inf)
        best = int(np.argmin(scores))  # first minimum: the smaller learning rate on ties
        losses = tuple(float(v) if ok else None for v, ok in zip(final[rows], counted[rows], strict=True))
        chosen = float(rates[best]) if np.isfinite(scores[best]) else None
        kind = options.get("budget", "steps")
        out.append(Tuning(run.id, chosen, tuple(float(r) for r in rates), losses, steps, kind))
    return out


def apply_tuning(runs: Sequence[RunSpec], tunings: Sequence[Tuning]) -> list[RunSpec]:
    """The runs with their tuned learning rates (a run whose candidates all diverged keeps its own)."""
    chosen = {t.run_id: t.lr for t in tunings}
    return [
        run
        if chosen.get(run.id) is None
        else replace(run, hyperparameters={**run.hyperparameters, "lr": chosen[run.id]})
        for run in runs
    ]
