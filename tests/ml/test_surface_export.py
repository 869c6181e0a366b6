"""The exported surface script reproduces the trace: per-step losses equal to ≤ 1e-9 relative.

Each test runs the runs with :class:`app.ml.run.Descent`, executes the exported script with torch
(skipped when torch is not installed) and compares every run's losses, points and end reason: every
optimizer, every built-in surface, custom expressions using every whitelisted function, schedules and
clipping. Bounded steps keep it fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.errors import ConfigError
from app.ml.expressions import UNARY_NAMES, custom_surface
from app.ml.optimizers import OPTIMIZERS
from app.ml.run import Descent, RunSpec, collect
from app.ml.schedules import Schedule
from app.ml.surface_export import surface_code, torch_expression
from app.ml.surfaces import SURFACES, get_surface

torch = pytest.importorskip("torch")

TOLERANCE = 1e-9
LEARNING_RATES = {"sgd": 0.002, "momentum": 0.001, "nesterov": 0.001, "adadelta": 1.0, "lbfgs": 0.2}
EXTRA = {"lbfgs": {"max_iter": 4}, "newton": {"lr": 0.5, "damping": 0.1}, "polyak": {"lr": 0.05}}


def _spec(name: str, run_id: str | None = None, lr: float | None = None, **changes) -> RunSpec:
    h = {"lr": lr or LEARNING_RATES.get(name, 0.01), **EXTRA.get(name, {})}
    return RunSpec(run_id or name, name, h, **changes)


def _worst(surface, specs: list[RunSpec], steps: int = 60, **options) -> float:
    descent = Descent(surface, specs, steps, **options)
    code = surface_code(descent)
    traces = collect(Descent(surface, specs, steps, **options))
    namespace: dict = {"__name__": "export_test"}
    torch.set_num_threads(1)
    exec(compile(code, "surface_export", "exec"), namespace)
    worst = 0.0
    for run_id, run in namespace["RUNS"].items():
        theirs, ours = run(), traces[run_id]
        assert theirs["end"] == ours.end.reason, run_id
        assert len(theirs["loss"]) == len(ours.loss), run_id
        scale = np.maximum(np.abs(ours.loss), 1e-300)
        worst = max(worst, float(np.max(np.abs(np.asarray(theirs["loss"]) - ours.loss) / scale)))
        np.testing.assert_allclose(theirs["position"], ours.position, rtol=1e-9, atol=1e-12)
    return worst


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_reproduces_the_trace(name: str) -> None:
    surface = get_surface("himmelblau")
    assert _worst(surface, [_spec(name)], start=[-1.0, 1.0]) <= TOLERANCE


def test_a_race_on_rosenbrock_with_schedules_and_clipping() -> None:
    specs = [
        _spec("adam", "adam", schedule=Schedule("cosine", {"T_max": 40})),
        _spec("momentum", "momentum", clip_norm=1.0),
        _spec("rmsprop", "rmsprop", clip_value=0.5, schedule=Schedule("step", {"step_size": 10})),
        _spec("nadam", "warm", schedule=Schedule("warmup_cosine", {"total_iters": 5, "T_max": 30})),
    ]
    assert _worst(get_surface("rosenbrock"), specs, steps=80) <= TOLERANCE


FORMULAS = [name for name in SURFACES if get_surface(name).batch_value_and_grad is None]


@pytest.mark.parametrize("name", FORMULAS)
def test_every_built_in_surface_is_the_same_function(name: str) -> None:
    surface = get_surface(name)
    assert _worst(surface, [_spec("adam")], steps=40) <= TOLERANCE


@pytest.mark.parametrize(
    "text",
    [
        "x^2 + 10*y^2",
        *(f"{f}(0.1*x + 0.1*y + 0.3) + x^2 + y^2" for f in UNARY_NAMES),
        "min(x^2, y^2 + 1) + max(x, 2*y) + abs(x - 1)^1.5 + 2^x + sin(2) * y^2 + (-1)^2 * x",
        "7",
    ],
)
def test_custom_expressions_translate_to_the_same_function(text: str) -> None:
    surface = custom_surface(text, start=[-1.2, 0.8])
    assert _worst(surface, [_spec("adam"), _spec("sgd")], steps=40) <= TOLERANCE


def test_a_data_set_surface_is_refused_naming_the_surface() -> None:
    stochastic = [name for name in SURFACES if name not in FORMULAS]
    assert stochastic, "a surface trained in mini-batches exists on main (insurance_bce)"
    with pytest.raises(ConfigError) as info:
        surface_code(Descent(get_surface(stochastic[0]), [_spec("sgd")], 5))
    assert info.value.field == "surface" and "not exported" in info.value.message


def test_the_evaluation_budget_and_leaving_the_view_end_runs_as_the_trace_does() -> None:
    assert (
        _worst(get_surface("himmelblau"), [_spec("lbfgs"), _spec("sam")], steps=12, budget="evaluations")
        <= TOLERANCE
    )
    saddle = get_surface("saddle")
    assert collect(Descent(saddle, [_spec("sgd", lr=0.2)], 100))["sgd"].end.reason == "left_view"
    assert _worst(saddle, [_spec("sgd", lr=0.2)], steps=100) <= TOLERANCE
    budget = collect(Descent(get_surface("himmelblau"), [_spec("lbfgs")], 12, budget="evaluations"))
    assert budget["lbfgs"].end.reason == "max_evaluations"


def test_the_translation_emits_only_operators_whitelisted_names_and_numbers() -> None:
    from app.ml.expressions import parse_expression

    source = torch_expression(parse_expression("sin(x)^2 + max(y, 0.5) - 3").tree)
    assert source == "(((torch.sin(x) ** 2.0) + torch.maximum(y, K(0.5))) - 3.0)"
