"""step_lanes: descents stepped together as lanes of one array get exactly the events they get alone."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.optimizers import OPTIMIZERS
from app.ml.run import Descent, Event, RunEnd, RunSpec, StepRecord, step_lanes
from app.ml.schedules import Schedule
from app.ml.surfaces import get_surface

ROSENBROCK = get_surface("rosenbrock")


def _rows(events: list[Event]) -> list[tuple]:
    """Every value of ``events`` as plain Python data, to compare bit for bit."""
    rows: list[tuple] = []
    for e in events:
        if isinstance(e, RunEnd):
            rows.append(("end", e.run_id, e.step, e.reason))
            continue
        assert isinstance(e, StepRecord)
        fields = (e.step, e.position, e.loss, e.grad, e.grad_norm, e.lr, e.update, e.lanes)
        rows.append(("record", e.run_ids, *(f.tolist() for f in fields)))
    return rows


def _together_equals_alone(together: list[Descent], alone: list[Descent], what: str) -> None:
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
    assert together[0].lane_key == together[1].lane_key is not None
    _together_equals_alone(together, alone, optimizer)


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
