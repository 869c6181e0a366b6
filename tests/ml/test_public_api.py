"""app.ml is the public face of the core: a notebook imports it without the web layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import app.ml as ml
from app.ml import (
    ConfigError,
    Param,
    RunSpec,
    Schedule,
    TrainConfig,
    TrainData,
    collect,
    descend,
    get_surface,
    make_dataset,
    make_optimizer,
    resolve,
    resolve_hyperparameters,
    train,
)

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_core_loads_no_web_framework() -> None:
    code = (
        "import app.ml, sys; "
        "web = ('fastapi', 'starlette', 'pydantic', 'jinja2', 'app.web'); "
        "web = [m for m in sys.modules if m.startswith(web)]; "
        "assert not web, web"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_every_public_name_exists() -> None:
    missing = [name for name in ml.__all__ if not hasattr(ml, name)]
    assert not missing, missing


def test_a_notebook_descends_a_surface() -> None:
    runs = [
        RunSpec("adam", "adam", {"lr": 0.05}),
        RunSpec("sgd", "sgd", {"lr": 1e-3}, Schedule("cosine", {"T_max": 50})),
    ]
    traces = collect(descend(get_surface("rosenbrock"), runs, steps=50))
    assert list(traces) == ["adam", "sgd"]
    assert traces["adam"].end.reason == "max_steps" and len(traces["adam"].steps) == 51
    assert traces["sgd"].lr[-1] == pytest.approx(0.0, abs=1e-12)  # cosine reaches eta_min at T_max


def test_a_notebook_trains_a_network() -> None:
    data = TrainData.from_dataset(make_dataset("two_gaussians", n=40))
    events = list(
        train(TrainConfig(hidden=(4,), epochs=3, schedule=Schedule("step", {"step_size": 1})), data)
    )
    assert events[-1].reason == "done" and events[-1].epoch == 3


def test_a_notebook_steps_an_optimizer_by_hand() -> None:
    opt = make_optimizer("sgd", resolve_hyperparameters("sgd", {"lr": 0.25}))
    params = np.array([2.0])
    state = opt.init(params)
    updates, state = opt.update(2 * params, state, params)  # gradient of x^2
    np.testing.assert_allclose(params + updates, [1.0])


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        (Schedule("zigzag"), "runs.0.schedule.name"),
        (Schedule("step", {"gamma": 2.0}), "runs.0.schedule.params.gamma"),
        (Schedule("cosine", {"period": 3}), "runs.0.schedule.params.period"),
    ],
)
def test_schedule_errors_name_the_run_fields(schedule: Schedule, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        list(descend(get_surface("bowl"), [RunSpec("r", "sgd", schedule=schedule)], steps=1))
    assert info.value.field == field


# --------------------------------------------------------------------------- Param and resolve

WHOLE = Param("n", 3, 1, 10, "a count", kind="int")
PAIR = Param("betas", (0.9, 0.999), 0.0, 0.9999, "two decays", kind="pair")
FLAG = Param("on", False, description="a switch", kind="bool")


def test_resolve_fills_defaults_and_converts_kinds() -> None:
    assert resolve((WHOLE, PAIR, FLAG), None, "params") == {"n": 3, "betas": (0.9, 0.999), "on": False}
    got = resolve((WHOLE, PAIR, FLAG), {"n": 4.0, "betas": [0.5, 0.6], "on": np.bool_(True)}, "params")
    assert got == {"n": 4, "betas": (0.5, 0.6), "on": True} and type(got["n"]) is int


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"n": 2.5}, "whole number"),
        ({"n": 0}, "between"),
        ({"n": float("nan")}, "finite"),
        ({"n": "3"}, "number"),
        ({"n": True}, "number"),
        ({"n": [3]}, "single number"),
        ({"betas": [0.9]}, "pair"),
        ({"betas": [0.9, 1.0]}, "between"),
        ({"on": 1}, "true or false"),
    ],
)
def test_resolve_refuses_bad_values_naming_the_field(given: dict, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve((WHOLE, PAIR, FLAG), given, "schedule.params")
    key = next(iter(given))
    assert info.value.field == f"schedule.params.{key}" and words in info.value.message


def test_resolve_lists_the_valid_names_of_an_unknown_one() -> None:
    with pytest.raises(ml.UnknownNameError) as info:
        resolve((WHOLE, PAIR), {"m": 1}, "params", what="parameter")
    assert info.value.field == "params.m" and info.value.valid == ["betas", "n"]
