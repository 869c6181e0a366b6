"""Optimizers that evaluate the function: L-BFGS against torch (fixture and live), SAM, Newton and Polyak
against their formulas by hand and closed forms on quadratics, and the evaluations column of a trace."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from app.ml.errors import ConfigError
from app.ml.evaluating import fused_multiply_add
from app.ml.expressions import custom_surface
from app.ml.optimizers import OPTIMIZERS
from app.ml.run import Descent, RunSpec, RunTrace, collect
from app.ml.surfaces import Surface, get_surface

LBFGS = json.loads((Path(__file__).parent / "data" / "lbfgs_reference.json").read_text())
EVALUATING = ["lbfgs", "sam", "newton", "polyak"]


def trace(surface: Surface, optimizer: str, steps: int, tolerance: float = 0.0, **run) -> RunTrace:
    return collect(Descent(surface, [RunSpec("a", optimizer, **run)], steps, tolerance=tolerance))["a"]


def rel_error(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)))


# --------------------------------------------------------------------------------------------- L-BFGS


@pytest.mark.parametrize(
    "case",
    LBFGS["cases"],
    ids=[f"{c['surface']}-{json.dumps(c['hyperparameters'])}-{c['start']}" for c in LBFGS["cases"]],
)
def test_lbfgs_matches_torch_fixture_positions_and_evaluations(case):
    """100 torch.optim.LBFGS steps (closure) agree to 1e-9 relative (observed: bit for bit), and every
    step used as many function evaluations as torch counted."""
    h, start = case["hyperparameters"], case["start"]
    run = trace(get_surface(case["surface"]), "lbfgs", LBFGS["steps"], hyperparameters=h, start=start)
    assert run.end.reason == "max_steps", run.end
    assert run.evaluations[0] == 0
    assert run.evaluations[1:].tolist() == case["evaluations"]
    assert rel_error(run.position[1:], np.array(case["positions"])) <= 1e-9


def test_lbfgs_fixture_covers_three_surfaces_both_line_searches_and_several_settings():
    cases = LBFGS["cases"]
    assert {c["surface"] for c in cases} == {"rosenbrock", "beale", "himmelblau"}
    for surface in ("rosenbrock", "beale", "himmelblau"):
        mine = [c["hyperparameters"] for c in cases if c["surface"] == surface]
        assert {h.get("line_search_fn") for h in mine} == {None, "strong_wolfe"}
        assert len({json.dumps(h) for h in mine}) >= 5
    assert max(max(c["evaluations"]) for c in cases) > 20, "some steps evaluate many times"


def test_lbfgs_against_live_torch_when_installed():
    """Fresh torch runs (skipped without torch) equal ours, with the evaluated points of the first step."""
    torch = pytest.importorskip("torch")
    from tests.ml import make_torch_reference as reference  # imports torch

    for h in ({}, {"line_search_fn": "strong_wolfe", "history_size": 4}):
        expected = reference.run_lbfgs("beale", h, (1.0, 1.5))
        run = trace(get_surface("beale"), "lbfgs", reference.LBFGS_STEPS, hyperparameters=h, start=(1.0, 1.5))
        assert run.evaluations[1:].tolist() == expected["evaluations"]
        assert rel_error(run.position[1:], np.array(expected["positions"])) <= 1e-9
        seen: list[list[float]] = []
        p = torch.tensor((1.0, 1.5), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([p], **h)
        surface = get_surface("beale")

        def closure(p=p, seen=seen, surface=surface):
            seen.append(p.detach().tolist())
            f, g = surface.value_and_grad(p.detach().numpy()[None, :].copy())
            p.grad = torch.tensor(g[0])
            return torch.tensor(float(f[0]))

        opt.step(closure)
        assert run.evaluated[1].tolist() == seen[1:], "the dots are the points torch's closure saw"


def test_fused_multiply_add_rounds_once():
    """0.1 * 10 + (-1) is 5.55e-17 exactly once rounded; two roundings give 0."""
    assert fused_multiply_add(0.1, np.array([10.0]), np.array([-1.0]))[0] == 5.551115123125783e-17
    assert 0.1 * 10.0 - 1.0 == 0.0


def test_lbfgs_lanes_with_different_settings_equal_single_runs():
    surface = get_surface("rosenbrock")
    settings = [{}, {"line_search_fn": "strong_wolfe"}, {"lr": 0.1, "max_iter": 2, "max_eval": None}]
    runs = [RunSpec(f"r{i}", "lbfgs", h) for i, h in enumerate(settings)]
    together = collect(Descent(surface, runs, 30, tolerance=0.0))
    for i, h in enumerate(settings):
        alone = trace(surface, "lbfgs", 30, hyperparameters=h)
        np.testing.assert_array_equal(together[f"r{i}"].position, alone.position)
        np.testing.assert_array_equal(together[f"r{i}"].evaluations, alone.evaluations)


def test_lbfgs_line_search_fn_must_be_null_or_strong_wolfe():
    with pytest.raises(ConfigError) as info:
        Descent(get_surface("bowl"), [RunSpec("a", "lbfgs", {"line_search_fn": "armijo"})], 5)
    assert info.value.field == "runs.0.hyperparameters.line_search_fn"
    assert "strong_wolfe" in info.value.message


# ----------------------------------------------------------------------------------------------- SAM


def test_sam_first_steps_by_hand_on_a_quadratic():
    """f = ½ xᵀAx: e = ρ g/‖g‖, g̃ = A(x + e), SGD with momentum μ: b₁ = g̃₁, b₂ = μ b₁ + g̃₂, x −= lr b."""
    surface = get_surface("elongated", {"condition_number": 4.0, "angle": 30.0})
    a = surface.hessian(np.zeros(2))
    lr, rho, mu = 0.05, 0.3, 0.5
    x = np.array(surface.start)
    buf = None
    expected = []
    for _ in range(2):
        g = a @ x
        e = rho * g / (math.hypot(*g) + 1e-12)
        sharp = a @ (x + e)
        buf = sharp if buf is None else mu * buf + sharp
        expected.append((x + e, x - lr * buf))
        x = x - lr * buf
    run = trace(surface, "sam", 2, hyperparameters={"lr": lr, "rho": rho, "momentum": mu})
    assert run.evaluations.tolist() == [0, 2, 2]
    for t, (perturbed, point) in enumerate(expected, start=1):
        np.testing.assert_allclose(run.evaluated[t], [perturbed], rtol=1e-14)
        np.testing.assert_allclose(run.position[t], point, rtol=1e-14)


def test_sam_with_rho_zero_is_plain_sgd():
    surface = get_surface("rosenbrock")
    sam = trace(surface, "sam", 50, hyperparameters={"lr": 1e-3, "rho": 0.0, "momentum": 0.9})
    sgd = trace(surface, "sgd", 50, hyperparameters={"lr": 1e-3, "momentum": 0.9})
    np.testing.assert_array_equal(sam.position, sgd.position)


def test_adaptive_sam_scales_the_neighbourhood_by_the_weights():
    surface = get_surface("bowl")
    x = np.array(surface.start)
    g = 2 * x
    e = 0.1 * x * x * g / (np.linalg.norm(np.abs(x) * g) + 1e-12)
    run = trace(surface, "sam", 1, hyperparameters={"lr": 0.1, "rho": 0.1, "adaptive": True})
    np.testing.assert_allclose(run.evaluated[1][0], x + e, rtol=1e-14)
    np.testing.assert_allclose(run.position[1], x - 0.1 * 2 * (x + e), rtol=1e-14)


# -------------------------------------------------------------------------------------------- Newton


@pytest.mark.parametrize(
    ("name", "params"),
    [("elongated", {"condition_number": 50.0, "angle": 25.0}), ("booth", {}), ("matyas", {})],
)
def test_newton_reaches_the_minimum_of_a_quadratic_in_one_step(name, params):
    surface = get_surface(name, params)
    run = trace(surface, "newton", 5, tolerance=1e-9)
    np.testing.assert_allclose(run.position[1], surface.minima[0], atol=1e-12)
    assert run.end.reason == "converged" and run.end.step == 1


def test_damped_newton_on_a_quadratic_is_the_closed_form():
    """x₁ = x₀ − lr (H + λI)⁻¹ H x₀ for f = ½ xᵀHx (minimum at 0)."""
    surface = get_surface("elongated", {"condition_number": 10.0, "angle": 40.0})
    h = surface.hessian(np.zeros(2))
    x0 = np.array(surface.start)
    run = trace(surface, "newton", 3, hyperparameters={"lr": 0.7, "damping": 2.0})
    step = np.eye(2) - 0.7 * np.linalg.solve(h + 2.0 * np.eye(2), h)
    np.testing.assert_allclose(run.position[1], step @ x0, rtol=1e-13)
    np.testing.assert_allclose(run.position[3], np.linalg.matrix_power(step, 3) @ x0, rtol=1e-12)


def test_newton_is_attracted_to_the_saddle():
    """On x² − y² Newton jumps onto the saddle point (0, 0) in one step, where gradient descent from the
    same start slides away from it along −y²."""
    surface = get_surface("saddle")
    start = (-2.5, 0.5)
    newton = trace(surface, "newton", 10, tolerance=1e-9, start=start)
    np.testing.assert_allclose(newton.position[1], [0.0, 0.0], atol=1e-15)
    assert newton.end.reason == "converged"
    damped = trace(surface, "newton", 30, tolerance=1e-9, start=start, hyperparameters={"lr": 0.5})
    assert np.linalg.norm(damped.position[-1]) < 1e-6, "a shorter step still converges onto the saddle"
    sgd = trace(surface, "sgd", 30, start=start, hyperparameters={"lr": 0.1})
    assert abs(sgd.position[-1][1]) > 10 * abs(start[1]), "gradient descent escapes"


def test_newton_with_a_singular_system_takes_no_step_along_the_flat_direction():
    """damping = 2 makes H + λI = diag(4, 0) on the saddle: the pseudo-inverse moves x only."""
    run = trace(get_surface("saddle"), "newton", 1, start=(1.0, 0.5), hyperparameters={"damping": 2.0})
    np.testing.assert_allclose(run.position[1], [1.0 - 2.0 / 4.0, 0.5], rtol=1e-14)


def test_newton_needs_a_hessian():
    bare = get_surface("bowl")
    without = Surface(**{**bare.__dict__, "hessian": None})
    with pytest.raises(ConfigError) as info:
        Descent(without, [RunSpec("a", "newton")], 3)
    assert info.value.field == "runs.0.optimizer" and "Hessian" in info.value.message


def test_newton_on_a_custom_expression_uses_its_exact_hessian():
    surface = custom_surface("(x - 1)^2 + 3*(y + 2)^2 + x*y")
    run = trace(surface, "newton", 1)
    # gradient 0: 2(x-1) + y = 0, 6(y+2) + x = 0  ->  x = 24/11, y = -26/11
    np.testing.assert_allclose(run.position[1], [24 / 11, -26 / 11], rtol=1e-12)


# -------------------------------------------------------------------------------------------- Polyak


def test_polyak_halves_the_distance_on_the_bowl():
    """f = ‖x‖², ‖g‖² = 4‖x‖², f* = 0: η = 1/4 and x₁ = x₀ − ¼·2x₀ = x₀/2, so x_t = x₀ / 2^t."""
    surface = get_surface("bowl")
    run = trace(surface, "polyak", 10)
    expected = np.array(surface.start) / 2.0 ** np.arange(11)[:, None]
    np.testing.assert_allclose(run.position, expected, rtol=1e-14)


def test_polyak_first_step_on_rosenbrock_by_hand_with_the_cap_and_c():
    surface = get_surface("rosenbrock")
    x = np.array(surface.start)
    f, g = surface.value_and_grad(x[None])
    eta = min((f[0] - 0.0) / (0.5 * (g[0] @ g[0])), 1e-3)
    run = trace(surface, "polyak", 1, hyperparameters={"lr": 1e-3, "c": 0.5})
    np.testing.assert_allclose(run.position[1], x - eta * g[0], rtol=1e-14)
    uncapped = trace(surface, "polyak", 1, hyperparameters={"c": 0.5})
    eta = (f[0] - 0.0) / (0.5 * (g[0] @ g[0]))
    np.testing.assert_allclose(uncapped.position[1], x - eta * g[0], rtol=1e-14)


def test_polyak_uses_the_surface_minimum_value_and_an_explicit_f_star():
    surface = get_surface("goldstein_price")
    assert surface.f_star == pytest.approx(3.0, abs=1e-12)
    default = trace(surface, "polyak", 3)
    explicit = trace(surface, "polyak", 3, hyperparameters={"f_star": surface.f_star})
    np.testing.assert_array_equal(default.position, explicit.position)


@pytest.mark.parametrize("surface", [get_surface("saddle"), custom_surface("x^2 + y^4")])
def test_polyak_without_a_known_minimum_needs_f_star(surface):
    with pytest.raises(ConfigError) as info:
        Descent(surface, [RunSpec("a", "polyak")], 3)
    assert info.value.field == "runs.0.hyperparameters.f_star" and "f_star" in info.value.message
    run = trace(surface, "polyak", 3, hyperparameters={"f_star": 0.0, "lr": 0.3})
    assert run.end.reason == "max_steps"


def test_polyak_below_f_star_stands_still_instead_of_climbing():
    run = trace(get_surface("bowl"), "polyak", 2, hyperparameters={"f_star": 100.0})
    np.testing.assert_array_equal(run.position[2], run.position[0])


# -------------------------------------------------------------------------------- the evaluations column


def test_first_order_steps_count_one_evaluation_and_step_zero_none():
    run = trace(get_surface("rosenbrock"), "adam", 5)
    assert run.evaluations.tolist() == [0, 1, 1, 1, 1, 1] and run.evaluated is None


def test_mixed_race_keeps_each_runs_evaluations():
    surface = get_surface("himmelblau")
    runs = [RunSpec("gd", "sgd", {"lr": 0.01}), RunSpec("lb", "lbfgs"), RunSpec("sam", "sam", {"lr": 0.01})]
    traces = collect(Descent(surface, runs, 4, tolerance=0.0))
    assert traces["gd"].evaluations.tolist() == [0, 1, 1, 1, 1] and traces["gd"].evaluated is None
    assert traces["sam"].evaluations.tolist() == [0, 2, 2, 2, 2]
    lb = traces["lb"]
    assert lb.evaluations[1] > 1
    assert all(len(p) == e - 1 for p, e in zip(lb.evaluated[1:], lb.evaluations[1:], strict=True))


@pytest.mark.parametrize("name", EVALUATING)
def test_evaluating_optimizers_refuse_noise_and_clipping(name):
    surface = get_surface("bowl")
    with pytest.raises(ConfigError) as info:
        Descent(surface, [RunSpec("a", name, clip_norm=1.0)], 3)
    assert info.value.field == "runs.0.clip_norm"
    with pytest.raises(ConfigError) as info:
        Descent(surface, [RunSpec("a", name)], 3, noise=0.1)
    assert info.value.field == "runs.0.noise"


@pytest.mark.parametrize("name", EVALUATING)
def test_evaluating_spec_is_complete(name):
    spec = OPTIMIZERS[name]
    assert spec.evaluating and spec.title and spec.update_rule and spec.note and spec.torch
    assert spec.hyperparameters[0].name == "lr" and spec.hyperparameters[0].log_scale
    assert all(p.description for p in spec.hyperparameters)


@pytest.mark.parametrize("name", EVALUATING)
def test_live_change_keeps_the_state(name):
    """A mid-run hyperparameter change rebuilds the optimizer and keeps its state (torch param_groups)."""
    surface = get_surface("rosenbrock")
    h = {"lr": 0.01} if name != "lbfgs" else {"lr": 0.1, "max_iter": 2}
    d = Descent(surface, [RunSpec("a", name, h)], 20, tolerance=0.0)
    d.advance(6)
    d.set_hyperparameters("a", {"lr": h["lr"] / 2})
    list(d)
    assert d.hyperparameters("a")["lr"] == h["lr"] / 2
