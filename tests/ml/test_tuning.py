"""The fair race's learning-rate search: same candidates and budget for all, the lowest final loss wins."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.errors import ConfigError
from app.ml.run import Descent, RunSpec, collect
from app.ml.surfaces import get_surface
from app.ml.tuning import COUNTED_ENDS, apply_tuning, candidate_learning_rates, tune_learning_rates


def _alone(surface, run: RunSpec, lr: float, steps: int):
    single = RunSpec(run.id, run.optimizer, {**run.hyperparameters, "lr": lr})
    trace = collect(Descent(surface, [single], steps))[run.id]
    return trace.end.reason, float(trace.loss[-1])


def test_each_run_gets_the_candidate_with_the_lowest_final_loss():
    surface = get_surface("rosenbrock")
    runs = [RunSpec("sgd", "sgd"), RunSpec("adam", "adam"), RunSpec("heavy", "sgd", {"momentum": 0.9})]
    tunings = tune_learning_rates(surface, runs, 150, count=8, low=1e-4, high=1.0)
    assert [t.run_id for t in tunings] == ["sgd", "adam", "heavy"]
    for run, tuning in zip(runs, tunings, strict=True):
        assert tuning.budget == 150
        assert tuning.candidates == pytest.approx(tuple(np.geomspace(1e-4, 1.0, 8)))
        scores = []
        for lr, loss in zip(tuning.candidates, tuning.final_losses, strict=True):
            reason, alone = _alone(surface, run, lr, 150)
            counted = reason in ("max_steps", "converged")
            assert (loss is not None) == counted
            if counted:
                assert loss == pytest.approx(alone, rel=1e-12)  # a lane of the search = the run alone
            scores.append(alone if counted else np.inf)
        assert tuning.lr == tuning.candidates[int(np.argmin(scores))]
    # SGD without momentum on Rosenbrock diverges at the large candidates: they do not count
    assert tunings[0].final_losses[-1] is None


def test_tuned_runs_keep_everything_but_the_learning_rate():
    surface = get_surface("himmelblau")
    runs = [RunSpec("m", "sgd", {"momentum": 0.5, "lr": 0.3}, clip_norm=2.0, start=(0.5, 0.5))]
    tunings = tune_learning_rates(surface, runs, 50, count=4, low=1e-3, high=1e-1)
    (tuned,) = apply_tuning(runs, tunings)
    assert tuned.hyperparameters == {"momentum": 0.5, "lr": tunings[0].lr}
    assert (tuned.clip_norm, tuned.start, tuned.id) == (2.0, (0.5, 0.5), "m")


def test_a_run_whose_candidates_all_diverge_keeps_its_own_learning_rate():
    surface = get_surface("rosenbrock")
    runs = [RunSpec("wild", "sgd", {"lr": 0.001})]
    tunings = tune_learning_rates(surface, runs, 100, count=3, low=10.0, high=100.0)
    assert tunings[0].lr is None and tunings[0].final_losses == (None, None, None)
    assert apply_tuning(runs, tunings) == runs


@pytest.mark.parametrize(
    ("count", "low", "high", "field"),
    [
        (1, 1e-3, 1.0, "tune.count"),
        (25, 1e-3, 1.0, "tune.count"),
        (True, 1e-3, 1.0, "tune.count"),
        (4, 0.0, 1.0, "tune.low"),
        (4, 1.0, 0.1, "tune.low"),
        (4, 1e-3, float("inf"), "tune.low"),
    ],
)
def test_bad_searches_are_refused_naming_the_field(count, low, high, field):
    with pytest.raises(ConfigError) as caught:
        candidate_learning_rates(count, low, high)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "optimizer", ["rprop", "asgd", "adafactor", "lion", "schedule_free_sgd", "schedule_free_adamw", "prodigy"]
)
def test_the_gradient_only_optimizers_are_searched_lane_for_lane(optimizer):
    """Their lr lives inside the rule (Rprop: the first step size; Prodigy: a multiplier of d): a lane of
    the search with a per-lane lr still steps exactly as the run alone with that lr."""
    surface = get_surface("himmelblau")
    run = RunSpec(optimizer, optimizer)
    (tuning,) = tune_learning_rates(surface, [run], 60, count=4, low=1e-3, high=1.0)
    for lr, loss in zip(tuning.candidates, tuning.final_losses, strict=True):
        reason, alone = _alone(surface, run, lr, 60)
        assert (loss is not None) == (reason in COUNTED_ENDS)
        if loss is not None:
            assert loss == pytest.approx(alone, rel=1e-12)
    assert tuning.lr is not None


def test_an_evaluation_budget_counts_what_each_step_evaluated():
    """A fair race: L-BFGS may evaluate the function many times a step; the budget counts evaluations."""
    surface = get_surface("rosenbrock")
    runs = [RunSpec("lbfgs", "lbfgs", {"lr": 1.0}), RunSpec("adam", "adam", {"lr": 0.05})]
    traces = collect(Descent(surface, runs, 60, budget="evaluations", tolerance=0.0))
    adam, lbfgs = traces["adam"], traces["lbfgs"]
    assert adam.end.reason == "max_evaluations" and int(adam.steps[-1]) == 60  # one evaluation a step
    spent = int(lbfgs.evaluations.sum())
    assert lbfgs.end.reason in ("max_evaluations", "converged")
    if lbfgs.end.reason == "max_evaluations":
        assert spent >= 60 and spent - int(lbfgs.evaluations[-1]) < 60  # ends on the step that reached it
    assert int(lbfgs.steps[-1]) < 60  # fewer steps than evaluations
    steps_only = collect(Descent(surface, runs, 60, tolerance=0.0))
    assert steps_only["lbfgs"].end.reason in ("max_steps", "converged")


def test_a_bad_budget_is_refused():
    with pytest.raises(ConfigError) as caught:
        Descent(get_surface("bowl"), [RunSpec("a", "sgd")], 5, budget="hours")
    assert caught.value.field == "budget"
