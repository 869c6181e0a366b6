"""Learning-rate schedules: closed forms, torch.optim.lr_scheduler values (fixture), validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from app.ml.errors import ConfigError, UnknownNameError
from app.ml.schedules import SCHEDULES, make_schedule

CASES = json.loads((Path(__file__).parent / "data" / "torch_reference.json").read_text())["schedules"]


def test_registry_names_and_specs():
    assert list(SCHEDULES) == ["constant", "step", "exponential", "cosine", "warmup", "warmup_cosine"]
    for spec in SCHEDULES.values():
        assert spec.title and spec.formula and spec.latex and spec.note
        for p in spec.params:
            assert p.kind in ("float", "int") and p.minimum <= p.default <= p.maximum


def test_closed_forms():
    lr = 0.2
    assert make_schedule("constant", lr)(57) == lr
    assert make_schedule("step", lr, {"step_size": 10, "gamma": 0.5})(25) == lr * 0.25
    assert make_schedule("exponential", lr, {"gamma": 0.9})(3) == pytest.approx(lr * 0.9**3)
    cosine = make_schedule("cosine", lr, {"T_max": 10, "eta_min": 0.01})
    assert cosine(0) == lr and cosine(10) == pytest.approx(0.01) and cosine(20) == pytest.approx(lr)
    assert cosine(5) == pytest.approx(0.01 + (lr - 0.01) * (1 + math.cos(math.pi / 2)) / 2)
    warm = make_schedule("warmup", lr, {"start_factor": 0.1, "total_iters": 4})
    assert [warm(t) for t in range(6)] == pytest.approx([0.02, 0.065, 0.11, 0.155, 0.2, 0.2])
    wc = make_schedule(
        "warmup_cosine", lr, {"start_factor": 0.5, "total_iters": 2, "T_max": 4, "eta_min": 0.0}
    )
    c = math.cos(math.pi / 4)
    assert [wc(t) for t in range(7)] == pytest.approx(
        [0.1, 0.15, 0.2, lr * (1 + c) / 2, 0.1, lr * (1 - c) / 2, 0.0]
    )


@pytest.mark.parametrize("case", CASES, ids=[f"{c['schedule']}-{c['params']}" for c in CASES])
def test_matches_torch_lr_scheduler_fixture(case):
    """torch's chainable forms accumulate rounding, hence atol 1e-15 * base_lr rather than equality."""
    schedule = make_schedule(case["schedule"], case["base_lr"], case["params"])
    got = [schedule(t) for t in range(len(case["lrs"]))]
    np.testing.assert_allclose(got, case["lrs"], rtol=1e-12, atol=1e-14 * case["base_lr"])


def test_fixture_goes_beyond_cosine_t_max():
    cosine = [c for c in CASES if c["schedule"] == "cosine"]
    assert cosine and all(len(c["lrs"]) > 2 * c["params"]["T_max"] for c in cosine)


def test_base_lr_may_be_per_run():
    schedule = make_schedule("step", np.array([[1.0], [0.1]]), {"step_size": 2, "gamma": 0.5})
    np.testing.assert_allclose(schedule(3), [[0.5], [0.05]])


def test_unknown_schedule_lists_valid_names():
    with pytest.raises(UnknownNameError) as err:
        make_schedule("linear", 0.1)
    assert "cosine" in err.value.valid


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("step", {"gamma": 2.0}, "params.gamma"),
        ("step", {"step_size": 0}, "params.step_size"),
        ("step", {"step_size": 2.5}, "params.step_size"),
        ("cosine", {"T_max": float("nan")}, "params.T_max"),
        ("cosine", {"eta_min": "0"}, "params.eta_min"),
        ("exponential", {"step_size": 3}, "params.step_size"),
    ],
)
def test_bad_schedule_params_are_config_errors(name, params, field):
    with pytest.raises(ConfigError) as err:
        make_schedule(name, 0.1, params)
    assert err.value.field == field


def test_schedules_against_live_torch_when_installed():
    pytest.importorskip("torch")
    from tests.ml import make_torch_reference as reference

    for fresh, case in zip(reference.schedules(), CASES, strict=True):
        np.testing.assert_allclose(fresh["lrs"], case["lrs"], rtol=1e-15)
