"""Convergence maps: basin labels where the basins are known, and lanes that end exactly as Descent runs."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.errors import ConfigError
from app.ml.maps import (
    BASIN_DIVERGED,
    BASIN_NOT_CONVERGED,
    CONVERGED,
    DIVERGED,
    MAX_STEPS,
    REASONS,
    AxisSpec,
    basin_labels,
    basin_map,
    run_lanes,
    trainability_map,
)
from app.ml.optimizers import resolve_hyperparameters
from app.ml.run import Descent, RunEnd, RunSpec, collect
from app.ml.surfaces import get_surface

HIMMELBLAU = get_surface("himmelblau")


def test_himmelblau_starts_next_to_each_minimum_end_in_its_basin():
    minima = np.asarray(HIMMELBLAU.minima)
    offsets = np.array([[0.3, 0.2], [-0.25, 0.3], [0.2, -0.3], [-0.3, -0.2]])
    starts = np.concatenate([m + offsets for m in minima])
    for optimizer, hp in (
        ("sgd", {"lr": 0.01}),
        ("sgd", {"lr": 0.005, "momentum": 0.9}),
        ("adam", {"lr": 0.05}),
    ):
        resolved = resolve_hyperparameters(optimizer, hp)
        ends = run_lanes(HIMMELBLAU, optimizer, resolved, starts, 2000, 1e-3)
        plan = basin_map(HIMMELBLAU, optimizer, hp, 2, 2000)
        labels = basin_labels(plan.surface, ends)
        assert labels.tolist() == [i for i in range(4) for _ in range(4)], (optimizer, hp, labels)
        assert (ends.reason == CONVERGED).all(), (optimizer, ends.reason)


def test_basin_map_covers_all_four_basins_and_rows_compose():
    plan = basin_map(HIMMELBLAU, "sgd", {"lr": 0.01}, 24, 400)
    whole = plan.rows()
    assert set(np.unique(whole.basin)) == {0, 1, 2, 3}
    top, bottom = plan.rows(0, 10), plan.rows(10, 24)
    assert np.array_equal(np.vstack([top.basin, bottom.basin]), whole.basin)
    assert np.array_equal(np.vstack([top.steps, bottom.steps]), whole.steps)
    # row i, column j starts at (x[j], y[i]): the top-right corner (5, 5) lies in the basin of (3, 2)
    assert whole.basin[-1, -1] == 0


def _descent_end(surface, optimizer, hp, start, steps, tolerance):
    descent = Descent(surface, [RunSpec("r", optimizer, hp, start=start)], steps, tolerance=tolerance)
    events = list(descent)
    trace = collect(events)["r"]
    end = next(e for e in events if isinstance(e, RunEnd))
    return end, trace


@pytest.mark.parametrize(
    ("optimizer", "hp"),
    [
        ("sgd", {"lr": 0.02}),
        ("sgd", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
        ("adam", {"lr": 0.3}),
        ("rmsprop", {"lr": 0.05}),
        ("rprop", {"lr": 0.01}),
        ("asgd", {"lr": 0.005, "t0": 20}),
        ("adafactor", {"lr": 0.1}),
        ("lion", {"lr": 0.01}),
        ("schedule_free_sgd", {"lr": 0.005}),
        ("schedule_free_adamw", {"lr": 0.05}),
        ("prodigy", {}),
    ],
)
def test_lanes_end_exactly_where_individual_descent_runs_end(optimizer, hp):
    plan = basin_map(HIMMELBLAU, optimizer, hp, 9, 300, tolerance=1e-3)
    rows = plan.rows()
    for i, j in [(0, 0), (4, 4), (2, 7), (8, 1), (6, 6), (8, 8)]:
        start = [float(plan.x.values[j]), float(plan.y.values[i])]
        end, trace = _descent_end(HIMMELBLAU, optimizer, hp, start, 300, 1e-3)
        assert REASONS[rows.reason[i, j]] == end.reason, (i, j)
        assert rows.steps[i, j] == end.step
        assert rows.loss[i, j] == trace.loss[-1]  # exactly: the same float operations in the same order


def test_trainability_lanes_equal_descent_runs_with_those_hyperparameters():
    plan = trainability_map(
        HIMMELBLAU,
        "sgd",
        {},
        AxisSpec("lr", 1e-3, 0.1, "log"),
        AxisSpec("momentum", 0.0, 0.95, "linear"),
        7,
        200,
        start=[0.0, 0.0],
    )
    rows = plan.rows()
    assert set(rows.reason.ravel()) >= {CONVERGED, DIVERGED}
    for i, j in [(0, 0), (3, 3), (6, 6), (0, 6), (6, 0), (5, 2)]:
        hp = {"lr": float(plan.x.values[j]), "momentum": float(plan.y.values[i])}
        end, trace = _descent_end(HIMMELBLAU, "sgd", hp, [0.0, 0.0], 200, 1e-3)
        assert REASONS[rows.reason[i, j]] == end.reason, (i, j, hp)
        assert rows.steps[i, j] == end.step
        if len(trace.loss):
            assert rows.loss[i, j] == trace.loss[-1]


def test_betas_axis_sets_one_part_of_the_pair():
    plan = trainability_map(
        HIMMELBLAU,
        "adam",
        {"betas": [0.8, 0.99]},
        AxisSpec("betas.0", 0.1, 0.95, "linear"),
        AxisSpec("lr", 1e-3, 1.0, "log"),
        5,
        100,
    )
    _, hp = plan.lanes(0, 5)
    b1, b2 = hp["betas"]
    assert b2 == 0.99 and b1.shape == (25, 1) and b1[0, 0] == 0.1 and b1[-1, 0] == 0.95
    rows = plan.rows()
    assert rows.reason.shape == (5, 5)


def test_diverged_and_not_converged_cells_are_labelled_so():
    rows = basin_map(HIMMELBLAU, "sgd", {"lr": 0.05}, 12, 50).rows()
    assert (rows.basin[rows.reason == DIVERGED] == BASIN_DIVERGED).all()
    assert (rows.reason == DIVERGED).any()
    assert np.isfinite(rows.loss).all()  # the last finite loss of every run that started where f is defined
    slow = basin_map(HIMMELBLAU, "sgd", {"lr": 1e-5}, 6, 3).rows()
    assert (slow.reason == MAX_STEPS).all() and (slow.basin == BASIN_NOT_CONVERGED).all()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: basin_map(get_surface("parabola"), "sgd", {}, 10, 10), "surface"),
        (lambda: basin_map(HIMMELBLAU, "sgd", {"lr": -1}, 10, 10), "hyperparameters.lr"),
        (
            lambda: trainability_map(
                HIMMELBLAU, "sgd", {}, AxisSpec("lr", 0, 1), AxisSpec("momentum", 0, 0.9, "linear"), 5, 5
            ),
            "x.min",
        ),
        (
            lambda: trainability_map(
                HIMMELBLAU, "sgd", {}, AxisSpec("lr", 1e-3, 1), AxisSpec("betas.0", 0, 0.9), 5, 5
            ),
            "y.name",
        ),
        (
            lambda: trainability_map(
                HIMMELBLAU, "sgd", {}, AxisSpec("lr", 1e-3, 1), AxisSpec("momentum", 0.1, 2, "linear"), 5, 5
            ),
            "y.max",
        ),
        (
            lambda: trainability_map(
                HIMMELBLAU, "sgd", {}, AxisSpec("lr", 1e-3, 1), AxisSpec("lr", 1e-3, 1), 5, 5
            ),
            "y.name",
        ),
    ],
)
def test_bad_maps_are_refused_naming_the_field(call, field):
    with pytest.raises(ConfigError) as caught:
        call()
    assert caught.value.field == field


def test_a_saddle_map_says_left_view_where_descent_does():
    """The one end rule of Descent: a run leaving the view downhill has escaped, not diverged."""
    saddle = get_surface("saddle")
    plan = basin_map(saddle, "rmsprop", {"lr": 0.05}, 7, 400, tolerance=1e-6)
    rows = plan.rows()
    seen = set()
    for i in range(7):
        for j in range(7):
            start = [float(plan.x.values[j]), float(plan.y.values[i])]
            end, _ = _descent_end(saddle, "rmsprop", {"lr": 0.05}, start, 400, 1e-6)
            assert REASONS[rows.reason[i, j]] == end.reason, (i, j)
            assert rows.steps[i, j] == end.step
            seen.add(end.reason)
    assert "left_view" in seen


@pytest.mark.parametrize(
    ("optimizer", "x", "y", "cell"),
    [
        (
            "prodigy",
            ("d_coef", 0.1, 10.0, "log"),
            ("lr", 1e-3, 1.0, "log"),
            lambda a, b: {"d_coef": a, "lr": b},
        ),
        (
            "rprop",
            ("lr", 1e-3, 0.5, "log"),
            ("etas.0", 0.2, 0.8, "linear"),
            lambda a, b: {"lr": a, "etas": (b, 1.2)},
        ),
    ],
)
def test_gradient_only_trainability_lanes_equal_descent_runs(optimizer, x, y, cell):
    """Per-lane values of hyperparameters the rule applies itself (Prodigy's d_coef and lr, Rprop's first
    step size and etaminus) step each lane as a Descent run with those values."""
    plan = trainability_map(HIMMELBLAU, optimizer, {}, AxisSpec(*x), AxisSpec(*y), 4, 120, start=[0.0, 0.0])
    rows = plan.rows()
    for i, j in [(0, 0), (1, 2), (3, 3), (2, 0)]:
        hp = cell(float(plan.x.values[j]), float(plan.y.values[i]))
        end, trace = _descent_end(HIMMELBLAU, optimizer, hp, [0.0, 0.0], 120, 1e-3)
        assert REASONS[rows.reason[i, j]] == end.reason, (i, j, hp)
        assert rows.steps[i, j] == end.step
        if len(trace.loss):
            assert rows.loss[i, j] == trace.loss[-1]
