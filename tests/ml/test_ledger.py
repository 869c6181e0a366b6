"""The ledger of an update: its stages chain into the step the run really takes, for every optimizer."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.optimizers import OPTIMIZERS
from app.ml.run import Descent, RunSpec, StepRecord
from app.ml.schedules import Schedule
from app.ml.surfaces import get_surface


def _next_update(descent: Descent, run_id: str) -> np.ndarray:
    for event in descent.advance(1):
        if isinstance(event, StepRecord) and run_id in event.run_ids:
            return event.update[event.run_ids.index(run_id)]
    raise AssertionError("the run did not step")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_stages_add_up_to_the_step_taken(name):
    surface = get_surface("himmelblau")
    spec = OPTIMIZERS[name]
    evaluating = spec.evaluating  # takes its own gradients: no noise or clipping around it
    clip = None if evaluating else 50.0
    runs = [
        RunSpec("other", name, {"lr": 0.002}, start=(1.0, 1.0)),  # the same group: the row must be picked
        RunSpec("r", name, {"lr": 0.003}, start=(-1.0, 2.0), clip_norm=clip),
        RunSpec("decayed", "sgd", {"lr": 0.001}, schedule=Schedule("step", {"step_size": 2})),
    ]
    descent = Descent(surface, runs, 50, noise=0.0 if evaluating else 0.5, seed=3)
    descent.advance(4)
    for _ in range(3):
        ledger = descent.explain("r")
        taken = _next_update(descent, "r")
        np.testing.assert_allclose(ledger.update, taken, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ledger.stages[-1].output, ledger.update, rtol=0, atol=0)
        for before, after in zip(ledger.stages, ledger.stages[1:], strict=False):
            assert after.input == before.output  # each stage's output is the next one's input
        assert ledger.stages[0].input == ledger.gradient  # the true gradient goes in first
        if evaluating:
            assert len(ledger.stages) == 1 and ledger.stages[0].notes["evaluations"] >= 1
            continue
        # an optimizer that applies lr itself (own_lr: Rprop, Lion, Prodigy…) is one stage, its whole move
        last = name.removesuffix("_sgd").removesuffix("_adamw") if spec.own_lr else "scale_by_learning_rate"
        assert ledger.stages[-1].name == last
        assert [s.name for s in ledger.stages][:2] == ["add_gradient_noise", "clip_by_norm"]
        for g, u, rate in zip(ledger.gradient, ledger.update, ledger.effective_lr, strict=True):
            assert rate is None if g == 0 else rate == pytest.approx(-u / g)


def test_adam_shows_its_moments_and_bias_corrections():
    surface = get_surface("rosenbrock")
    descent = Descent(surface, [RunSpec("a", "adam", {"lr": 0.05})], 20)
    descent.advance(3)  # step-0 record, then two updates
    ledger = descent.explain("a")
    adam = next(s for s in ledger.stages if s.name == "scale_by_adam")
    t = adam.state["count"]
    assert t == 3.0 and ledger.step == 2
    m, v = np.array(adam.state["exp_avg"]), np.array(adam.state["exp_avg_sq"])
    assert adam.notes["bias_correction1"] == pytest.approx(1 - 0.9**t)
    assert adam.notes["bias_correction2"] == pytest.approx(1 - 0.999**t)
    m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
    np.testing.assert_allclose(adam.notes["m_hat"], m_hat, rtol=1e-12)
    np.testing.assert_allclose(adam.output, m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(ledger.step_size, 0.05 / (np.sqrt(v_hat) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(ledger.update, -0.05 * np.array(adam.output), rtol=1e-12)


def test_plain_sgd_has_no_per_coordinate_step_size():
    descent = Descent(get_surface("bowl"), [RunSpec("s", "sgd", {"lr": 0.1})], 5)
    ledger = descent.explain("s")
    assert ledger.step_size is None
    assert ledger.effective_lr == [pytest.approx(0.1), pytest.approx(0.1)]
    assert [s.name for s in ledger.stages] == [
        "trace",
        "scale_by_learning_rate",
    ]  # no weight decay stage at 0


def test_the_gradient_only_optimizers_show_their_own_step_sizes():
    """Rprop's box is its per-coordinate step sizes, Lion's is lr itself, Prodigy's d lr / (sqrt(v) + d eps)
    per unit of its first moment; Schedule-Free SGD, like SGD, has none."""
    surface = get_surface("rosenbrock")
    runs = [
        RunSpec("rprop", "rprop", {"lr": 0.01}),
        RunSpec("lion", "lion", {"lr": 0.002}),
        RunSpec("prodigy", "prodigy", {}),
        RunSpec("sf", "schedule_free_sgd", {"lr": 0.001}),
    ]
    descent = Descent(surface, runs, 20)
    descent.advance(4)
    rprop = descent.explain("rprop")
    sizes = descent.state_of("rprop")["rprop.step_size"]
    _next_update(descent, "rprop")
    np.testing.assert_allclose(rprop.step_size, descent.state_of("rprop")["rprop.step_size"], rtol=1e-12)
    assert sizes != rprop.step_size  # the step sizes grew (no sign flip yet)
    np.testing.assert_allclose(
        np.abs(rprop.update), np.abs(rprop.step_size) * (np.array(rprop.gradient) != 0), rtol=1e-12
    )
    assert descent.explain("lion").step_size == [pytest.approx(0.002)] * 2
    prodigy = descent.explain("prodigy")
    state = descent.state_of("prodigy")
    assert prodigy.step_size is not None and all(s > 0 for s in prodigy.step_size)
    m, d = np.array(state["prodigy.exp_avg"]), state["prodigy.d"]
    np.testing.assert_allclose(
        prodigy.update,
        -np.array(prodigy.step_size) * (0.9 * m / d + 0.1 * np.array(prodigy.gradient)),
        rtol=1e-9,
    )
    assert descent.explain("sf").step_size is None
