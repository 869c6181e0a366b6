"""step_lanes: descents stepped together as lanes of one array get exactly the events they get alone."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.expressions import custom_surface
from app.ml.optimizers import OPTIMIZERS
from app.ml.run import LANE_OPTIMIZERS, Descent, Event, RunEnd, RunSpec, StepRecord, step_lanes
from app.ml.schedules import Schedule
from app.ml.surfaces import SURFACES, get_surface

ROSENBROCK = get_surface("rosenbrock")


def _rows(events: list[Event]) -> list[tuple]:
    """Every value of ``events`` as plain Python data, to compare bit for bit."""
    rows: list[tuple] = []
    for e in events:
        if isinstance(e, RunEnd):
            rows.append(("end", e.run_id, e.step, e.reason, e.detail))
            continue
        assert isinstance(e, StepRecord)
        fields = (e.step, e.position, e.loss, e.grad, e.grad_norm, e.lr, e.update, e.lanes, e.evaluations)
        seen = None if e.evaluated is None else [None if p is None else p.tolist() for p in e.evaluated]
        rows.append(("record", e.run_ids, *(f.tolist() for f in fields), seen))
    return rows


def _together_equals_alone(together: list[Descent], alone: list[Descent], what: str) -> list[Event]:
    """Step ``together`` by step_lanes and each of ``alone`` by itself to the end: the same events."""
    got: list[list[Event]] = [[] for _ in together]
    while not all(d.finished for d in together):
        for i, events in enumerate(step_lanes(together)):
            got[i] += events
    for i, descent in enumerate(alone):
        want = []
        while not descent.finished:
            want += descent.advance(1)
        assert _rows(got[i]) == _rows(want), f"{what}: descent {i} differs from its run alone"
    return [event for events in got for event in events]


def _pair(optimizer: str, lrs: tuple[float, float], steps: int = 40) -> list[Descent]:
    hp = OPTIMIZERS[optimizer].hyperparameters
    lr_default = next(p.default for p in hp if p.name == "lr")
    return [
        Descent(ROSENBROCK, [RunSpec(f"r{i}", optimizer, {"lr": lr * lr_default})], steps, start=[-1.0, 1.5])
        for i, lr in enumerate(lrs)
    ]


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_two_descents_stepped_together_get_exactly_their_values_alone(optimizer: str) -> None:
    together, alone = _pair(optimizer, (0.5, 1.0)), _pair(optimizer, (0.5, 1.0))
    for d, n in zip(together + alone, (4, 1, 4, 1), strict=True):  # the lanes' step counts differ
        d.advance(n)
    if optimizer in LANE_OPTIMIZERS:
        assert together[0].lane_key == together[1].lane_key is not None
    else:  # e.g. its own loop of evaluations, or not checked yet: each descent steps alone
        assert together[0].lane_key is None and together[1].lane_key is None
    _together_equals_alone(together, alone, optimizer)


def test_the_lane_optimizers_are_registered_gradient_transforms() -> None:
    assert LANE_OPTIMIZERS.issubset(OPTIMIZERS)
    assert not any(OPTIMIZERS[name].evaluating for name in LANE_OPTIMIZERS)


def test_a_live_change_to_one_descent_leaves_the_other_as_alone() -> None:
    together, alone = _pair("adam", (1.0, 1.0)), _pair("adam", (1.0, 1.0))
    for d in (*together, *alone):
        d.advance(5)
    together[0].set_hyperparameters("r0", {"lr": 0.05})
    alone[0].set_hyperparameters("r0", {"lr": 0.05})
    for _ in range(10):
        merged = step_lanes(together)
        for i in range(2):
            assert _rows(merged[i]) == _rows(alone[i].advance(1))
    assert together[1].hyperparameters("r1")["lr"] == alone[1].hyperparameters("r1")["lr"]


def test_a_descent_left_out_of_a_tick_does_not_move() -> None:
    a, b = _pair("momentum", (1.0, 2.0))
    a.advance(2), b.advance(2)
    before = b.params.copy()
    for _ in range(5):
        step_lanes([a])
    assert np.array_equal(b.params, before) and int(b.steps[0]) == 1
    assert int(a.steps[0]) == 6


def test_descents_that_cannot_share_lanes_step_alone() -> None:
    stepped = Schedule("step", {"step_size": 3})
    makers = [
        lambda: Descent(ROSENBROCK, [RunSpec("s", "sgd", {"lr": 1e-3}, stepped)], 9),
        lambda: Descent(ROSENBROCK, [RunSpec("n", "sgd", {"lr": 1e-3})], 9, noise=0.1, seed=3),
        lambda: Descent(ROSENBROCK, [RunSpec("a", "sgd", {"lr": 1e-3}), RunSpec("b", "adam")], 9),
        lambda: Descent(get_surface("booth"), [RunSpec("o", "sgd", {"lr": 1e-3})], 9),
        lambda: Descent(ROSENBROCK, [RunSpec("p", "sgd", {"lr": 1e-3})], 9),
    ]
    descents, copies = [m() for m in makers], [m() for m in makers]
    for d in descents + copies:
        d.advance(1)
    assert [d.lane_key is None for d in descents] == [True, True, True, False, False]
    for _ in range(12):
        for events, copy in zip(step_lanes(descents), copies, strict=True):
            assert _rows(events) == _rows(copy.advance(1))


@pytest.mark.parametrize("surface", ["ackley", "rastrigin", "goldstein_price", "beale"])
def test_lanes_on_transcendental_surfaces_equal_their_runs_alone(surface: str) -> None:
    s = get_surface(surface)
    make = [lambda i=i: Descent(s, [RunSpec(f"r{i}", "nadam", {"lr": 1e-3 * (i + 1)})], 30) for i in range(3)]
    together, alone = [m() for m in make], [m() for m in make]
    for i, d in enumerate(together + alone):
        d.advance(1 + i % 3)
    _together_equals_alone(together, alone, surface)


def test_members_may_change_from_beat_to_beat() -> None:
    """Stacked state is kept between beats; leaving, rejoining, reordering or stepping alone keeps values."""
    make = [
        lambda i=i: Descent(ROSENBROCK, [RunSpec(f"r{i}", "nadam", {"lr": 1e-3 * (i + 1)})], 60)
        for i in range(4)
    ]
    together, alone = [m() for m in make], [m() for m in make]
    for d in together + alone:
        d.advance(1)
    beats = [[0, 1, 2, 3]] * 3 + [[0, 2], [3, 0, 2, 1], [1], [1, 3], [2, 0, 1, 3], [0, 1, 2, 3]] * 3
    for members in beats:
        stepped = step_lanes([together[i] for i in members])
        for i, events in zip(members, stepped, strict=True):
            assert _rows(events) == _rows(alone[i].advance(1)), f"descent {i} at beat {members}"
    together[2].set_hyperparameters("r2", {"lr": 0.01})
    alone[2].set_hyperparameters("r2", {"lr": 0.01})
    for _ in range(3):
        for i, events in enumerate(step_lanes(together)):
            assert _rows(events) == _rows(alone[i].advance(1))


def _surfaces() -> list[tuple[str, object]]:
    named = [(name, get_surface(name)) for name in SURFACES]
    return [*named, ("insurance_bce one batch", get_surface("insurance_bce", {"batch": 5}))]


@pytest.mark.parametrize(("name", "surface"), _surfaces(), ids=[n for n, _ in _surfaces()])
def test_on_every_surface_descents_stepped_together_get_their_values_alone(name: str, surface) -> None:
    """A surface that is not rowwise (a matrix product, an ulp apart by the number of rows) is not
    stacked; every other one gives each lane exactly its value alone."""
    make = [
        lambda i=i: Descent(surface, [RunSpec(f"r{i}", "adam", {"lr": 1e-3 * (i + 1)})], 30) for i in range(4)
    ]
    together, alone = [m() for m in make], [m() for m in make]
    for i in range(4):
        together[i].advance(1 + i % 3), alone[i].advance(1 + i % 3)
    assert (together[0].lane_key is None) == (not surface.rowwise or surface.batch_value_and_grad is not None)
    _together_equals_alone(together, alone, name)


def test_a_custom_expression_is_stacked_and_exact() -> None:
    surface = custom_surface("sin(3*x)*cos(2*y) + 0.1*(x**2 + y**2) + exp(-x*y)")
    make = [
        lambda i=i: Descent(surface, [RunSpec(f"r{i}", "rmsprop", {"lr": 3e-3 * (i + 1)})], 40)
        for i in range(3)
    ]
    together, alone = [m() for m in make], [m() for m in make]
    for i in range(3):
        together[i].advance(1 + i), alone[i].advance(1 + i)
    assert together[0].lane_key == together[2].lane_key is not None
    _together_equals_alone(together, alone, "custom")


def test_runs_end_as_alone_left_view_converged_and_max_steps() -> None:
    """The step where a run ends goes through Descent's own end rules: left_view on the saddle, converged
    on the bowl, max_steps, in the same step as alone, with every other descent of the stack unharmed."""
    saddle, bowl = get_surface("saddle"), get_surface("bowl")
    make = [
        lambda: Descent(saddle, [RunSpec("escape", "adam", {"lr": 0.05})], 3000),
        lambda: Descent(saddle, [RunSpec("slow", "adam", {"lr": 0.01})], 3000),
        lambda: Descent(saddle, [RunSpec("short", "adam", {"lr": 0.02})], 25),
        lambda: Descent(bowl, [RunSpec("settle", "sgd", {"lr": 0.2})], 3000, tolerance=1e-3),
        lambda: Descent(bowl, [RunSpec("settle2", "sgd", {"lr": 0.3})], 3000, tolerance=1e-3),
    ]
    together, alone = [m() for m in make], [m() for m in make]
    for d in together + alone:
        d.advance(1)
    assert together[0].lane_key == together[1].lane_key == together[2].lane_key is not None
    events = _together_equals_alone(together, alone, "ends")
    reasons = {e.run_id: e.reason for e in events if isinstance(e, RunEnd)}
    assert reasons["escape"] == "left_view" and reasons["short"] == "max_steps"
    assert reasons["settle"] == reasons["settle2"] == "converged" and len(reasons) == 5


def test_budget_in_evaluations_and_mini_batches_step_alone() -> None:
    """A budget in evaluations (max_evaluations) and a data set in mini-batches are not stacked."""
    insurance = get_surface("insurance_bce")
    make = [
        lambda: Descent(ROSENBROCK, [RunSpec("e", "adam", {"lr": 0.01})], 12, budget="evaluations"),
        lambda: Descent(ROSENBROCK, [RunSpec("f", "adam", {"lr": 0.02})], 12, budget="evaluations"),
        lambda: Descent(insurance, [RunSpec("b", "sgd", {"lr": 0.5})], 12),
        lambda: Descent(insurance, [RunSpec("c", "sgd", {"lr": 0.7})], 12),
    ]
    together, alone = [m() for m in make], [m() for m in make]
    for d in together + alone:
        d.advance(1)
    assert all(d.lane_key is None for d in together)
    _together_equals_alone(together, alone, "alone")


def test_explain_sees_a_descents_own_state_after_stepping_in_a_stack() -> None:
    """The ledger and the state snapshot read a group's own rows of the stacked state (step counts
    back as its own number), equal to those of the same descent stepped alone; the next step too."""
    make = [
        lambda i=i: Descent(
            ROSENBROCK, [RunSpec(f"r{i}", "adam", {"lr": 0.01 * (i + 1)})], 50, start=[-1.0, 1.5]
        )
        for i in range(3)
    ]
    together, alone = [m() for m in make], [m() for m in make]
    for i in range(3):
        together[i].advance(1 + 2 * i), alone[i].advance(1 + 2 * i)
    for _ in range(6):
        step_lanes(together)
        for d in alone:
            d.advance(1)
    assert together[1].groups[0]._stacked is not None  # the state lives in the stack
    for i in (1, 0, 2):
        run = f"r{i}"
        assert together[i].state_of(run) == alone[i].state_of(run)
        ledger, want = together[i].explain(run), alone[i].explain(run)
        assert ledger == want
        adam = next(s for s in ledger.stages if s.name == "scale_by_adam")
        assert adam.state["count"] == 7 + 2 * i
    for _ in range(3):  # stepping on after explaining: still as alone
        for i, events in enumerate(step_lanes(together)):
            assert _rows(events) == _rows(alone[i].advance(1))
