"""descend()/Descent: records, end reasons, vectorised groups, live changes, determinism."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from app.ml.errors import ConfigError, UnknownNameError
from app.ml.expressions import custom_surface
from app.ml.run import END_REASONS, Descent, RunEnd, RunSpec, StepRecord, collect, descend, sweep
from app.ml.surfaces import get_surface

ROSENBROCK = get_surface("rosenbrock")
PARABOLA = get_surface("parabola")


def _traces(surface, specs, steps, **kw):
    return collect(descend(surface, specs, steps, **kw))


def _manual_sgd(x0: float, lr: float, steps: int) -> list[float]:
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] - lr * 2 * xs[-1])
    return xs


def test_sgd_on_the_parabola_is_step_size_equals_slope_times_learning_rate() -> None:
    trace = _traces(PARABOLA, [RunSpec("a", "sgd", {"lr": 0.1})], 10, start=[2.5])["a"]
    assert trace.position[:, 0].tolist() == pytest.approx(_manual_sgd(2.5, 0.1, 10), abs=1e-15)
    assert trace.update[1:, 0] == pytest.approx(-0.1 * trace.grad[:-1, 0], abs=1e-15)
    assert trace.lr.tolist() == [0.1] * 11
    assert trace.end is not None and trace.end.reason == "max_steps" and trace.end.step == 10


def test_record_zero_is_the_start_and_has_no_update() -> None:
    events = list(descend(ROSENBROCK, [RunSpec("a", "adam")], 2, start=[-1.5, 2.0]))
    first = events[0]
    assert isinstance(first, StepRecord) and first.step.tolist() == [0] and not first.update.any()
    assert first.position.tolist() == [[-1.5, 2.0]]
    loss, grad = ROSENBROCK.value_and_grad(np.array([[-1.5, 2.0]]))
    assert first.loss == pytest.approx(loss) and first.grad == pytest.approx(grad)
    assert first.grad_norm[0] == pytest.approx(np.linalg.norm(grad))


def test_vectorised_group_equals_single_runs() -> None:
    lrs = [1e-4, 5e-4, 1e-3, 2e-3]
    specs = [
        RunSpec(f"r{i}", "adam", {"lr": lr, "betas": (0.9, 0.99 + i / 1000)}) for i, lr in enumerate(lrs)
    ]
    together = _traces(ROSENBROCK, specs, 200, start=[-1.0, 1.5])
    for spec in specs:
        alone = _traces(ROSENBROCK, [spec], 200, start=[-1.0, 1.5])[spec.id]
        np.testing.assert_allclose(together[spec.id].position, alone.position, rtol=1e-14, atol=1e-15)


def test_one_descent_groups_runs_by_optimizer() -> None:
    specs = [RunSpec("a", "sgd", {"lr": 1e-3}), RunSpec("b", "adam"), RunSpec("c", "sgd", {"lr": 2e-3})]
    descent = Descent(ROSENBROCK, specs, 5)
    assert [len(g.specs) for g in descent.groups] == [2, 1]
    assert descent.run_ids == ["a", "c", "b"]
    traces = collect(descent)
    assert list(traces) == ["a", "c", "b"] and all(len(t.steps) == 6 for t in traces.values())


def test_converged_when_gradient_norm_falls_below_tolerance() -> None:
    trace = _traces(PARABOLA, [RunSpec("a", "sgd", {"lr": 0.3})], 1000, tolerance=1e-8)["a"]
    assert trace.end.reason == "converged"
    assert trace.grad_norm[-1] < 1e-8 <= trace.grad_norm[-2]
    assert trace.end.step == trace.steps[-1] < 1000


def test_diverged_keeps_the_last_finite_record_and_never_emits_nonfinite() -> None:
    events = list(descend(PARABOLA, [RunSpec("a", "sgd", {"lr": 1.5})], 10_000, start=[2.5]))
    records = [e for e in events if isinstance(e, StepRecord)]
    end = next(e for e in events if isinstance(e, RunEnd))
    assert end.reason == "diverged" and end.step == records[-1].step[0]
    assert "box" in end.detail
    for record in records:
        assert np.isfinite(record.position).all() and np.isfinite(record.loss).all()


RACE = [
    RunSpec("sgd", "sgd", {"lr": 0.001}),
    RunSpec("momentum", "momentum", {"lr": 0.0005}),
    RunSpec("nesterov", "nesterov", {"lr": 0.001}),
    RunSpec("rmsprop", "rmsprop", {"lr": 0.01}),
    RunSpec("adam", "adam", {"lr": 0.05}),
]


def test_an_escape_from_the_saddle_ends_as_left_view_downhill_not_diverged_nor_max_steps() -> None:
    saddle = get_surface("saddle")
    traces = _traces(saddle, RACE, 3000)
    escaped = {rid: t for rid, t in traces.items() if rid != "sgd"}
    for rid, trace in escaped.items():
        assert trace.end.reason == "left_view", f"{rid}: {trace.end}"
        assert "downhill" in trace.end.detail
        assert trace.loss[-1] < trace.loss[0]
    # RMSprop walked to loss -1195 in 3,000 steps on main without ending: now it ends a box width out
    x1, y1 = saddle.view[2], saddle.view[3]
    rms = traces["rmsprop"]
    assert rms.end.step < 3000 and np.abs(rms.position[:, 1]).max() <= y1 + (y1 - x1)


def test_a_run_that_leaves_the_view_with_its_loss_grown_ends_as_diverged() -> None:
    trace = _traces(get_surface("bowl"), [RunSpec("a", "sgd", {"lr": 1.5})], 300)["a"]
    assert trace.end.reason == "diverged" and "learning rate is too high" in trace.end.detail
    assert "left_view" in END_REASONS


def test_nan_loss_ends_the_run_as_diverged() -> None:
    surface = custom_surface("sqrt(x) + y**2", view=[0, 4, -2, 2])
    events = list(descend(surface, [RunSpec("a", "sgd", {"lr": 10.0})], 50, start=[1.0, 1.0]))
    end = next(e for e in events if isinstance(e, RunEnd))
    assert end.reason == "diverged" and "NaN" in end.detail
    assert all(np.isfinite(e.loss).all() for e in events if isinstance(e, StepRecord))


def test_runs_end_independently_inside_a_group() -> None:
    specs = [RunSpec("fast", "sgd", {"lr": 0.4}), RunSpec("slow", "sgd", {"lr": 0.01})]
    events = list(descend(PARABOLA, specs, 60))
    ends = {e.run_id: e for e in events if isinstance(e, RunEnd)}
    assert ends["fast"].reason == "converged" and ends["slow"].reason == "max_steps"
    late = [e for e in events if isinstance(e, StepRecord) and e.step.max() > ends["fast"].step]
    assert late and all(e.run_ids == ("slow",) for e in late)


def test_live_learning_rate_change_takes_effect_at_the_next_step() -> None:
    descent = Descent(PARABOLA, [RunSpec("a", "sgd", {"lr": 0.1})], 100, start=[2.0])
    descent.advance()  # step 0
    descent.advance()  # step 1 with lr 0.1
    descent.set_hyperparameters("a", {"lr": 0.25})
    record = descent.advance()[0]
    x1 = 2.0 - 0.1 * 4.0
    assert record.position[0, 0] == pytest.approx(x1 - 0.25 * 2 * x1)
    assert record.lr[0] == 0.25


def test_live_change_is_validated() -> None:
    descent = Descent(PARABOLA, [RunSpec("a", "sgd")], 10)
    with pytest.raises(ConfigError):
        descent.set_hyperparameters("a", {"lr": -1.0})
    with pytest.raises(UnknownNameError):
        descent.set_hyperparameters("a", {"beta": 1.0})
    with pytest.raises(ConfigError, match="no run"):
        descent.set_hyperparameters("zz", {"lr": 1.0})


def test_added_run_starts_at_its_own_step_zero() -> None:
    descent = Descent(PARABOLA, [RunSpec("a", "sgd", {"lr": 0.01})], 100)
    for _ in range(5):
        descent.advance()
    descent.add_runs([RunSpec("b", "adam")])
    events = descent.advance()
    assert [(e.run_ids, e.step.tolist()) for e in events if isinstance(e, StepRecord)] == [(("b",), [0])]
    (record,) = descent.advance()
    assert record.run_ids == ("a", "b") and record.step.tolist() == [5, 1]
    with pytest.raises(ConfigError, match="used twice"):
        descent.add_runs([RunSpec("a", "sgd")])


def test_stop_ends_runs_as_stopped() -> None:
    descent = Descent(PARABOLA, [RunSpec("a", "sgd"), RunSpec("b", "sgd", {"lr": 0.002})], 100)
    descent.advance()
    descent.advance()
    ends = descent.stop("a")
    assert [(e.run_id, e.reason, e.step) for e in ends] == [("a", "stopped", 1)]
    assert all(e.run_ids == ("b",) for e in descent.advance() if isinstance(e, StepRecord))
    assert [(e.run_id, e.reason) for e in descent.stop()] == [("b", "stopped")]
    assert descent.finished


def test_noise_is_seeded_and_deterministic() -> None:
    spec = [RunSpec("a", "sgd", {"lr": 0.01})]
    one = _traces(ROSENBROCK, spec, 50, noise=1.0, seed=3)["a"].position
    two = _traces(ROSENBROCK, spec, 50, noise=1.0, seed=3)["a"].position
    other = _traces(ROSENBROCK, spec, 50, noise=1.0, seed=4)["a"].position
    clean = _traces(ROSENBROCK, spec, 50)["a"].position
    assert np.array_equal(one, two) and not np.array_equal(one, other) and not np.array_equal(one, clean)


def test_sweep_runs_one_optimizer_at_many_learning_rates() -> None:
    lrs = [0.01, 0.1, 0.3, 0.9, 1.1]
    traces = collect(sweep(PARABOLA, "sgd", lrs, 300))
    reasons = [traces[f"lr{i}"].end.reason for i in range(5)]
    assert reasons == ["max_steps", "converged", "converged", "converged", "diverged"]


def test_bad_start_is_refused_before_any_step() -> None:
    with pytest.raises(ConfigError) as error:
        Descent(ROSENBROCK, [RunSpec("a", "sgd", start=[1.0])], 5)
    assert error.value.field == "runs.0.start"
    with pytest.raises(ConfigError) as error:
        Descent(ROSENBROCK, [RunSpec("a", "sgd")], 5, start=[1e9, 0.0])
    assert error.value.field == "start"
    with pytest.raises(ConfigError) as error:
        Descent(ROSENBROCK, [RunSpec("a", "sgd"), RunSpec("b", "sgd", start=[math.nan, 0.0])], 5)
    assert error.value.field == "runs.1.start"


def test_unknown_optimizer_error_names_the_run() -> None:
    with pytest.raises(UnknownNameError) as error:
        Descent(ROSENBROCK, [RunSpec("a", "sgd"), RunSpec("b", "adamm")], 5)
    assert error.value.field == "runs.1.optimizer" and "adam" in error.value.valid


# ----- gradient norms of huge but finite gradients -----


def test_a_finite_gradient_whose_square_overflows_has_a_finite_norm_and_does_not_diverge() -> None:
    # exp(360) ~ 2.2e156 is finite, its square is not: a norm computed as sqrt(g.g) would be inf.
    surface = custom_surface("exp(x) + y", view=[355, 365, -1, 1])
    events = list(descend(surface, [RunSpec("a", "sgd", {"lr": 1e-300})], 2, start=[360.0, 0.0]))
    trace = collect(events)["a"]
    assert trace.end is not None and trace.end.reason == "max_steps", trace.end
    assert len(trace.steps) == 3 and np.isfinite(trace.grad_norm).all()
    np.testing.assert_allclose(trace.grad_norm, math.hypot(math.exp(360.0), 1.0), rtol=1e-15)


def test_gradient_norm_of_a_three_dimensional_surface_is_scaled_not_squared() -> None:
    def steep_plane(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # 1e200 (x + y + z): finite near 0
        return 1e200 * p.sum(axis=-1), np.full(p.shape, 1e200)

    surface = dataclasses.replace(
        get_surface("bowl"), dim=3, view=(-1.0, 1.0) * 3, start=(0.0, 0.0, 0.0), value_and_grad=steep_plane
    )
    run = Descent(surface, [RunSpec("a", "sgd", {"lr": 1e-300})], 1, tolerance=0.0)
    events = run.advance(2)
    records = [e for e in events if isinstance(e, StepRecord)]
    assert [r.grad_norm[0] for r in records] == pytest.approx([1e200 * math.sqrt(3.0)] * 2, rel=1e-15)
    assert [e.reason for e in events if isinstance(e, RunEnd)] == ["max_steps"]
