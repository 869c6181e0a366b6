"""The gradient-only optimizers (rprop, asgd, adafactor, lion, schedule-free SGD/AdamW, prodigy) reproduce
their references: hand-computed first steps, the committed fixtures on three surfaces (positions and aux
columns), live hyperparameter changes, the live references when installed, K-run vectorisation, state
structure, convergence, validation, and Adafactor's factored matrices on a network."""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.ml.errors import ConfigError
from app.ml.optimizers import (
    GRADIENT_ONLY,
    OPTIMIZERS,
    check_schedule,
    make_optimizer,
    resolve_hyperparameters,
)
from app.ml.surfaces import SURFACES
from app.ml.transforms_extra import fma, torch_lerp

FIXTURE = json.loads((Path(__file__).parent / "data" / "torch_reference.json").read_text())
NAMES = [spec.name for spec in GRADIENT_ONLY]
TOLERANCE = (
    1e-9  # the bar; observed worst is below 3e-13 (see test_fixture_agreement_is_far_below_the_bar)
)


def _h(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def replay(name: str, given: dict[str, Any], surface: str, start: Any, steps: int, changes=None):
    """Positions and aux values at every step 0..steps (aux None where undefined), as the fixture records."""
    s = SURFACES[surface].build()
    current = dict(given)
    opt = make_optimizer(name, resolve_hyperparameters(name, current))
    params = np.array([start], dtype=np.float64)
    state = opt.init(params)
    out: dict[str, list[Any]] = {"position": []}

    def record() -> None:
        out["position"].append(params[0].tolist())
        for key, value in (opt.aux(state, params) if opt.aux else {}).items():
            row = value[0]
            out.setdefault(key, []).append(
                None if np.isnan(row).any() else (row.tolist() if row.size > 1 else float(row[0]))
            )

    record()
    for t in range(steps):
        if changes and t in changes:
            current.update(changes[t])
            opt = make_optimizer(name, resolve_hyperparameters(name, current))
        _, grad = s.value_and_grad(params)
        updates, state = opt.update(grad, state, params)
        params = params + updates
        record()
    return out


def _worst(got: list[Any], expected: list[Any]) -> float:
    """Largest relative difference; a None (undefined) must meet a None."""
    worst = 0.0
    for g, e in zip(got, expected, strict=True):
        assert (g is None) == (e is None), f"defined-ness differs: {g} vs {e}"
        if e is None:
            continue
        g, e = np.atleast_1d(g), np.atleast_1d(e)
        worst = max(worst, float(np.max(np.abs(g - e) / np.maximum(np.abs(e), 1e-300))))
    return worst


def _compare(case: dict[str, Any], steps: int, recorded: list[int], changes=None) -> float:
    got = replay(
        case["optimizer"], _h(case["hyperparameters"]), case["surface"], case["start"], steps, changes
    )
    worst = 0.0
    for key in [k for k in case if k in ("position", "ax", "eval", "d")]:
        worst = max(worst, _worst([got[key][t] for t in recorded], case[key]))
    return worst


# --------------------------------------------------------------------------- fixtures

CASES = FIXTURE["surface_trajectories"]
RECORDED = FIXTURE["surface_recorded_steps"]


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=[f"{c['optimizer']}-{c['surface']}-{c['start']}-{json.dumps(c['hyperparameters'])}" for c in CASES],
)
def test_trajectory_and_aux_columns_match_the_reference_fixture(case):
    """100 steps on Rosenbrock, Beale and Himmelblau; positions and aux columns to 1e-9 relative."""
    assert _compare(case, FIXTURE["surface_steps"], RECORDED) <= TOLERANCE


def test_fixture_agreement_is_far_below_the_bar():
    """The worst error per optimizer, for the closing note; all are rounding-level."""
    worst: dict[str, float] = {}
    for case in CASES:
        name = case["optimizer"]
        worst[name] = max(worst.get(name, 0.0), _compare(case, FIXTURE["surface_steps"], RECORDED))
    print("worst relative error per optimizer:", {k: f"{v:.1e}" for k, v in worst.items()})
    assert max(worst.values()) < 1e-11, worst


def test_fixture_covers_every_optimizer_on_three_surfaces_with_several_settings():
    for name in NAMES:
        cases = [c for c in CASES if c["optimizer"] == name]
        assert {c["surface"] for c in cases} == {"rosenbrock", "beale", "himmelblau"}
        assert len({json.dumps(c["hyperparameters"]) for c in cases}) >= 3, name
        for key in [a.name for a in OPTIMIZERS[name].aux]:
            assert all(key in c for c in cases), f"{name}: fixture lacks aux column {key}"


@pytest.mark.parametrize(
    "case", FIXTURE["gradient_live_changes"], ids=[c["optimizer"] for c in FIXTURE["gradient_live_changes"]]
)
def test_live_hyperparameter_change_equals_editing_the_reference_param_group(case):
    changes = {int(t): _h(v) for t, v in case["changes"].items()}
    assert _compare(case, FIXTURE["surface_steps"], RECORDED, changes) <= TOLERANCE


def test_against_the_live_references_when_installed():
    """Names and defaults equal the references' signatures, and fresh trajectories agree (skipped without)."""
    pytest.importorskip("torch")
    for module in ("lion_pytorch", "schedulefree", "prodigyopt"):
        pytest.importorskip(module)
    from tests.ml import make_torch_reference as reference  # imports torch and the packages

    for name in NAMES:
        signature = inspect.signature(reference._reference_class(name).__init__).parameters
        resolved = resolve_hyperparameters(name, {})
        kwargs = reference._reference_kwargs(name, {})
        for key in resolved:
            assert key in signature, f"{name}: the reference has no {key}"
            assert signature[key].default == kwargs[key], f"{name}.{key}"
    for spec in GRADIENT_ONLY:
        case = reference.GRADIENT_CASES[spec.name][-1]
        fresh = reference.run_reference(spec.name, case, "beale", (1.0, 1.5), {})
        got = replay(spec.name, case, "beale", (1.0, 1.5), reference.SURFACE_STEPS)
        for key, expected in fresh.items():
            assert _worst([got[key][t] for t in reference.SURFACE_RECORDED], expected) <= TOLERANCE, key


# --------------------------------------------------------------------------- formulas by hand
# f(x) = 1.5 x^2 in one dimension (g = 3x) from x = 2, written from each reference's code in Python floats
# (plain a + b * c: the hand versions round differently from torch's fused adds, hence rtol 1e-12).

X0, CURV = 2.0, 3.0


def _steps(name: str, given: dict[str, Any], n: int = 3) -> list[float]:
    opt = make_optimizer(name, resolve_hyperparameters(name, given))
    x = np.array([X0])
    state = opt.init(x)
    out = []
    for _ in range(n):
        updates, state = opt.update(CURV * x, state, x)
        x = x + updates
        out.append(float(x[0]))
    return out


def test_rprop_grows_the_step_while_the_sign_holds_and_skips_a_flip():
    # lr 0.5: g = 6 > 0 -> x = 1.5 (step 0.5), again > 0 -> step 0.6, x = 0.9; then step 0.72 -> x = 0.18
    assert _steps("rprop", {"lr": 0.5}) == pytest.approx([1.5, 0.9, 0.18], rel=1e-15)
    # lr 3: x = -1 (flip next) -> step 3 * 1.2 = 3.6 stays, x = -1 + 0 (skipped) ... by hand:
    x, prev, step, out = X0, 0.0, 3.0, []
    for _ in range(4):
        g = CURV * x
        factor = 1.2 if g * prev > 0 else 0.5 if g * prev < 0 else 1.0
        step = min(max(step * factor, 1e-6), 50.0)
        g = 0.0 if factor == 0.5 else g
        x -= math.copysign(step, g) if g else 0.0
        prev = g
        out.append(x)
    assert _steps("rprop", {"lr": 3.0}, 4) == pytest.approx(out, rel=1e-15)


def test_asgd_decays_eta_and_averages_from_t0():
    lr, lambd, alpha, t0 = 0.1, 0.5, 0.75, 1.0
    x, eta, mu, ax, out, avg = X0, lr, 1.0, 0.0, [], []
    for t in range(1, 4):
        g = CURV * x
        x = x * (1 - lambd * eta) - eta * g
        ax = x if mu == 1 else ax + (x - ax) * mu
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)
        out.append(x)
        avg.append(ax)
    given = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0}
    assert _steps("asgd", given) == pytest.approx(out, rel=1e-12)
    opt = make_optimizer("asgd", resolve_hyperparameters("asgd", given))
    p = np.array([X0])
    state = opt.init(p)
    assert np.isnan(opt.aux(state, p)["ax"]).all()  # nothing averaged at step 0
    for want in avg:
        u, state = opt.update(CURV * p, state, p)
        p = p + u
        assert opt.aux(state, p)["ax"][0] == pytest.approx(want, rel=1e-12)


def test_adafactor_vector_case_by_hand():
    lr, eps1, eps2 = 0.3, float(np.finfo(float).eps), 1e-3
    x, v, out = X0, 0.0, []
    for t in range(1, 4):
        g = CURV * x
        w = t**-0.8
        rho = min(lr, 1 / math.sqrt(t))
        alpha = max(eps2, abs(x)) * rho
        v = v + w * (g * g - v)
        u = g / math.sqrt(max(v, eps1 * eps1))
        x = x - alpha * u / max(1.0, abs(u))
        out.append(x)
    assert _steps("adafactor", {"lr": lr}) == pytest.approx(out, rel=1e-12)


def test_lion_moves_every_coordinate_by_exactly_lr():
    lr, b1, b2, wd = 0.1, 0.9, 0.99, 0.5
    x, m, out = X0, 0.0, []
    for _ in range(3):
        g = CURV * x
        c = b1 * m + (1 - b1) * g
        x = x * (1 - lr * wd) - lr * math.copysign(1.0, c)
        m = b2 * m + (1 - b2) * g
        out.append(x)
    assert _steps("lion", {"lr": lr, "weight_decay": wd}) == pytest.approx(out, rel=1e-12)


def test_schedule_free_sgd_by_hand_and_its_eval_point():
    lr, beta, warmup = 0.1, 0.9, 2
    y, z, wsum, lr_max, out, evals = X0, X0, 0.0, -1.0, [], []
    for k in range(3):
        lr_k = lr * ((k + 1) / warmup if k < warmup else 1.0)
        lr_max = max(lr_k, lr_max)
        weight = lr_max**2
        wsum += weight
        c = weight / wsum
        g = CURV * y
        y = (1 - c) * y + c * z + lr_k * (beta * (1 - c) - 1) * g
        z = z - lr_k * g
        out.append(y)
        evals.append(y + (1 - 1 / beta) * (z - y))
    given = {"lr": lr, "warmup_steps": warmup}
    assert _steps("schedule_free_sgd", given) == pytest.approx(out, rel=1e-12)
    opt = make_optimizer("schedule_free_sgd", resolve_hyperparameters("schedule_free_sgd", given))
    p = np.array([X0])
    state = opt.init(p)
    assert opt.aux(state, p)["eval"][0] == X0  # before any step x = y = z
    for want in evals:
        u, state = opt.update(CURV * p, state, p)
        p = p + u
        assert opt.aux(state, p)["eval"][0] == pytest.approx(want, rel=1e-12)


def test_prodigy_first_steps_by_hand_and_d_grows_from_d0():
    b1, b2, d0, lr = 0.9, 0.999, 1e-6, 1.0
    b3 = math.sqrt(b2)
    x, p0, m, v, s, num, d, dmax, out, ds = X0, X0, 0.0, 0.0, 0.0, 0.0, d0, d0, [], []
    for _ in range(3):
        g = CURV * x
        dlr = d * lr
        num = num * b3 + (d / d0) * dlr * g * (p0 - x)
        m = m * b1 + d * (1 - b1) * g
        v = v * b2 + d * d * (1 - b2) * g * g
        s = s * b3 + (d / d0) * dlr * g
        d_hat = num / abs(s)
        if d == d0:
            d = max(d, d_hat)
        dmax = max(dmax, d_hat)
        d = min(dmax, d * math.inf)
        x = x - dlr * m / (math.sqrt(v) + d * 1e-8)
        out.append(x)
        ds.append(d)
    assert _steps("prodigy", {}) == pytest.approx(out, rel=1e-12)
    assert ds[-1] > d0


# --------------------------------------------------------------------------- vectorised runs, state

PER_RUN: dict[str, list[dict[str, Any]]] = {
    "rprop": [{"lr": 0.01}, {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-4, 0.5)}],
    "asgd": [{"lr": 5e-4}, {"lr": 1e-3, "lambd": 0.01, "alpha": 0.6, "t0": 10.0, "weight_decay": 0.1}],
    "adafactor": [{"lr": 0.01}, {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-10, 1e-2), "d": 2.0}],
    "lion": [{"lr": 1e-3}, {"lr": 3e-3, "betas": (0.8, 0.95), "weight_decay": 0.1}],
    "schedule_free_sgd": [{"lr": 1e-3}, {"lr": 5e-4, "momentum": 0.8, "warmup_steps": 10, "r": 0.5}],
    "schedule_free_adamw": [{"lr": 0.01}, {"lr": 0.02, "betas": (0.85, 0.99), "warmup_steps": 5, "r": 1.0}],
    "prodigy": [
        {},
        {"lr": 0.5, "beta3": 0.9, "growth_rate": 1.1, "use_bias_correction": True, "decouple": False},
        {"safeguard_warmup": True, "weight_decay": 0.1, "d0": 1e-4},
    ],
}


def _stack(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-run values stacked as the Descent does (app.ml.run._per_run): (K, 1) arrays, NaN for null."""
    from app.ml.run import _per_run

    resolved = [resolve_hyperparameters(name, r) for r in runs]
    return {key: _per_run([r[key] for r in resolved]) for key in resolved[0]}


@pytest.mark.parametrize("name", NAMES)
def test_k_runs_with_per_run_hyperparameters_equal_k_single_runs(name):
    runs = PER_RUN[name]
    starts = np.array([[-1.5, 2.0], [0.0, 0.5], [1.5, 1.5]])[: len(runs)]
    s = SURFACES["rosenbrock"].build()
    opt = make_optimizer(name, _stack(name, runs))
    params = starts.copy()
    state = opt.init(params)
    for _ in range(60):
        updates, state = opt.update(s.value_and_grad(params)[1], state, params)
        params = params + updates
    for k, (run, start) in enumerate(zip(runs, starts, strict=True)):
        single = replay(name, run, "rosenbrock", start, 60)["position"][-1]
        np.testing.assert_allclose(params[k], single, rtol=1e-15, atol=0, err_msg=f"run {k}: {run}")
        if opt.aux:
            aux = replay(name, run, "rosenbrock", start, 60)
            for key, value in opt.aux(state, params).items():
                np.testing.assert_allclose(np.ravel(value[k]), np.ravel(aux[key][-1]), rtol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_state_structure_depends_only_on_the_name(name):
    def structure(tree):
        if isinstance(tree, tuple):
            return (type(tree).__name__, tuple(structure(t) for t in tree))
        return ("array", tree.shape) if isinstance(tree, np.ndarray) else type(tree).__name__

    params = np.array([[0.5, -0.5]])
    default = make_optimizer(name, resolve_hyperparameters(name, {})).init(params)
    for variant in PER_RUN[name]:
        other = make_optimizer(name, resolve_hyperparameters(name, variant))
        _, new_state = other.update(params, default, params)
        assert structure(new_state) == structure(other.init(params))
        assert structure(_) == structure(params)


CONVERGENCE: dict[str, tuple[dict[str, Any], int, float]] = {
    # (hyperparameters, steps, tolerance) on x^2 + 10 y^2 from (1, 1)
    "rprop": ({"lr": 0.01}, 300, 1e-4),
    "asgd": ({"lr": 0.02}, 2000, 1e-4),
    "adafactor": ({"lr": 0.1}, 2000, 1e-2),  # steps scale with RMS(x), floored at eps2 = 1e-3
    "lion": ({"lr": 1e-3}, 3000, 2e-3),  # sign steps of lr: it ends oscillating within lr of 0
    # schedule-free's eval point is an average of all z so far: its error falls like 1/t
    "schedule_free_sgd": ({"lr": 0.02}, 2000, 1e-2),
    "schedule_free_adamw": ({"lr": 0.05}, 2000, 1e-2),
    "prodigy": ({}, 2000, 1e-3),
}


@pytest.mark.parametrize("name", NAMES)
def test_reaches_the_minimum_of_a_parabola(name):
    given, steps, tol = CONVERGENCE[name]
    opt = make_optimizer(name, resolve_hyperparameters(name, given))
    x = np.array([[1.0, 1.0]])
    state = opt.init(x)
    for _ in range(steps):
        updates, state = opt.update(np.array([2.0, 20.0]) * x, state, x)
        x = x + updates
    point = opt.aux(state, x)["eval"] if name.startswith("schedule_free") else x
    np.testing.assert_allclose(point[0], [0.0, 0.0], atol=tol)


# --------------------------------------------------------------------------- registry and validation


def test_registry_lists_the_gradient_only_optimizers_with_references():
    assert NAMES == [
        "rprop", "asgd", "adafactor", "lion", "schedule_free_sgd", "schedule_free_adamw", "prodigy",
    ]  # fmt: skip
    refs = {name: OPTIMIZERS[name].reference for name in NAMES}
    assert refs["rprop"] == "torch.optim.Rprop (torch 2.13)"
    assert refs["lion"] == "lion_pytorch.Lion (lion-pytorch 0.2.5)"
    assert refs["schedule_free_adamw"] == "schedulefree.AdamWScheduleFree (schedulefree 1.4.1)"
    assert refs["prodigy"] == "prodigyopt.Prodigy (prodigyopt 1.1.2)"
    for name in NAMES:
        spec = OPTIMIZERS[name]
        assert spec.torch.startswith(f"{spec.module}.{spec.torch_class}(params, ")
        assert spec.hyperparameters[0].name == "lr" and spec.hyperparameters[0].log_scale
        assert all(p.description for p in spec.hyperparameters) and spec.note and spec.update_rule
        assert spec.not_on_surfaces == ""  # none of these degenerates on a 2-vector


@pytest.mark.parametrize(
    ("name", "given", "field"),
    [
        ("rprop", {"etas": (1.2, 0.5)}, "hyperparameters.etas"),
        ("rprop", {"etas": (0.5, 1.0)}, "hyperparameters.etas"),
        ("schedule_free_sgd", {"momentum": 0.0}, "hyperparameters.momentum"),
        ("schedule_free_adamw", {"betas": (0.0, 0.999)}, "hyperparameters.betas"),
        ("prodigy", {"lr": 0.0}, "hyperparameters.lr"),
        ("prodigy", {"beta3": 1.5}, "hyperparameters.beta3"),
        ("asgd", {"lambd": None}, "hyperparameters.lambd"),
        ("schedule_free_sgd", {"warmup_steps": 2.5}, "hyperparameters.warmup_steps"),
    ],
)
def test_reference_rules_are_config_errors_naming_the_field(name, given, field):
    with pytest.raises(ConfigError) as err:
        resolve_hyperparameters(name, given)
    assert err.value.field == field


def test_prodigy_null_hyperparameters_mean_the_reference_defaults():
    h = resolve_hyperparameters("prodigy", {"beta3": None, "growth_rate": None})
    assert h["beta3"] is None and h["growth_rate"] is None
    explicit = {"beta3": math.sqrt(0.999), "growth_rate": 1e6}  # d never grows 1e6-fold in a step here
    a = replay("prodigy", {}, "beale", (1.0, 1.5), 30)
    b = replay("prodigy", explicit, "beale", (1.0, 1.5), 30)
    assert a == b


def test_a_schedule_is_refused_for_rprop_only():
    with pytest.raises(ConfigError, match="first step size"):
        check_schedule("rprop", "cosine")
    check_schedule("rprop", "constant")
    check_schedule("asgd", "cosine")


def test_a_schedule_drives_the_own_lr_optimizers_like_a_torch_scheduler():
    """Schedule index = number of updates done (torch: scheduler.step() after each optimizer.step())."""
    for name in ("asgd", "lion", "schedule_free_adamw", "prodigy", "adafactor"):
        h = resolve_hyperparameters(name, PER_RUN[name][0])
        constant = make_optimizer(name, h)
        scheduled = make_optimizer(name, h, schedule=lambda t, lr=h["lr"]: lr)
        x = np.array([[0.5, 1.0]])
        s1 = constant.init(x)
        s2 = scheduled.init(x)
        for _ in range(5):
            u1, s1 = constant.update(2 * x, s1, x)
            u2, s2 = scheduled.update(2 * x, s2, x)
            np.testing.assert_array_equal(u1, u2)
            x = x + u1


# --------------------------------------------------------------------------- primitives


def test_fma_rounds_once_like_a_fused_multiply_add():
    from fractions import Fraction

    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((3, 2000)) * np.array([[1.0], [1e3], [1e-2]])
    want = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c, strict=True)]
    np.testing.assert_array_equal(fma(a, b, c), want)
    assert not np.array_equal(a * b + c, want)  # the plain expression rounds twice somewhere


def test_torch_lerp_takes_the_other_form_from_weight_one_half():
    start, end = np.array([1.0, -2.0]), np.array([3.0, 5.0])
    np.testing.assert_array_equal(torch_lerp(start, end, 1.0), end)  # exactly end (schedule-free's first c)
    np.testing.assert_array_equal(torch_lerp(start, end, 0.0), start)
    per_run = torch_lerp(np.stack([start, start]), np.stack([end, end]), np.array([[0.25], [0.75]]))
    np.testing.assert_allclose(per_run, [[1.5, -0.25], [2.5, 3.25]], rtol=1e-15)


# --------------------------------------------------------------------------- networks


def test_adafactor_factors_each_weight_matrix_on_a_network():
    """With a layout the second moment of a (3, 4) matrix is a row and a column vector, biases are vectors."""
    shapes = ((3, 4), (4,), (4, 1), (1,))
    size = sum(math.prod(s) for s in shapes)
    opt = make_optimizer("adafactor", resolve_hyperparameters("adafactor", {}), shapes=shapes)
    params = np.random.default_rng(0).standard_normal(size)
    state = opt.init(params)
    assert [np.shape(m[0]) if isinstance(m, tuple) else m.shape for m in state[0].moments] == [
        (3, 1),
        (4,),
        (4, 1),
        (1,),
    ]
    updates, state = opt.update(params, state, params)
    assert updates.shape == params.shape and np.isfinite(updates).all()
    with pytest.raises(ValueError, match="hold"):
        make_optimizer("adafactor", resolve_hyperparameters("adafactor", {}), shapes=((2, 2),)).init(params)


NETWORK_CASES: dict[str, dict[str, Any]] = {
    "rprop": {"lr": 0.01},
    "asgd": {"lr": 0.1, "t0": 2.0},
    "adafactor": {"lr": 0.05, "weight_decay": 0.1},
    "lion": {"lr": 0.01, "weight_decay": 0.1},
    "schedule_free_sgd": {"lr": 0.1, "warmup_steps": 3},
    "schedule_free_adamw": {"lr": 0.02},
    "prodigy": {"weight_decay": 0.01},
}


@pytest.mark.parametrize("name", NAMES)
def test_full_batch_training_on_a_tiny_mlp_matches_the_reference(name):
    """Six full-batch updates of a 2-5-3-1 network agree with the reference on torch.nn.Linear layers
    (weights transposed: ours are (in, out)); schedule-free also in its eval weights."""
    torch = pytest.importorskip("torch")
    pytest.importorskip(OPTIMIZERS[name].module)
    from app.ml.datasets import make_dataset
    from app.ml.training import TrainConfig, TrainData, Training
    from tests.ml import make_torch_reference as reference
    from tests.ml.test_training import torch_twin

    data = TrainData.from_dataset(make_dataset("xor", 12, seed=3), val_fraction=0.0, seed=3)
    hp = NETWORK_CASES[name]
    config = TrainConfig(
        hidden=(5, 3),
        activations=("tanh", "relu"),
        optimizer=name,
        hyperparameters=hp,
        batch_size=12,
        epochs=6,
        record="none",
        seed=2,
    )
    training = Training(config, data)
    start = training.params.copy()
    list(training)
    model, linears = torch_twin(training.net, start)
    opt = reference._reference_class(name)(model.parameters(), **reference._reference_kwargs(name, hp))
    if name.startswith("schedule_free"):
        opt.train()
    x, y = torch.from_numpy(training.X), torch.from_numpy(training.y)
    for _ in range(6):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        opt.step()
    views = [("train", training.net.views(training.params))]
    if name.startswith("schedule_free"):
        views.append(("eval", training.net.views(training.eval_params)))
    for mode, ours in views:
        if mode == "eval":
            opt.eval()
        for (w, b), linear in zip(ours, linears, strict=True):
            np.testing.assert_allclose(
                w.T, linear.weight.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=mode
            )
            np.testing.assert_allclose(b, linear.bias.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=mode)


# --------------------------------------------------------------------------- code export


@pytest.mark.parametrize("name", NAMES)
def test_exported_pytorch_script_uses_the_reference_and_runs(name, capsys):
    """The script names the reference (and its pip package), schedule-free switches train/eval modes,
    and it trains a couple of epochs where the reference is installed."""
    from app.ml.datasets import make_dataset
    from app.ml.export import keras_code, pytorch_code
    from app.ml.training import TrainConfig, TrainData

    spec = OPTIMIZERS[name]
    data = TrainData.from_dataset(make_dataset("circle", 40, seed=0), val_fraction=0.25, seed=0)
    config = TrainConfig(
        hidden=(4,), optimizer=name, hyperparameters=NETWORK_CASES[name], batch_size=16, epochs=2
    )
    src = pytorch_code(config, data)
    code = compile(src, "pytorch_export", "exec")
    assert f"optimizer = {spec.module}.{spec.torch_class}(model.parameters(), " in src
    if spec.package != "torch":
        assert f"pip install {spec.package}=={spec.version}" in src
    assert ("optimizer.train()" in src and "optimizer.eval()" in src) == name.startswith("schedule_free")
    keras_src = keras_code(config, data)
    compile(keras_src, "keras_export", "exec")
    assert f"keras.optimizers.{spec.keras}(" in keras_src
    if name == "prodigy":
        assert 'growth_rate=float("inf")' in src and "beta3=None" in src
    if name == "schedule_free_adamw":  # Keras' AdamW would decay by its own default 0.004
        assert "weight_decay=0.0" in keras_src
    if name == "adafactor":
        assert "eps=(None, 0.001)" in src and "epsilon_1=" in keras_src and "clip_threshold=1.0" in keras_src
    pytest.importorskip("torch")
    pytest.importorskip(spec.module)
    exec(code, {"__name__": "export_test"})
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("Epoch 2/2") and math.isfinite(float(lines[-1].split("loss: ")[1].split()[0]))
