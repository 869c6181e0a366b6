"""Property-based: whatever config arrives, the trace endpoint answers 200 or 422, never 500, never NaN."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.ml.optimizers import OPTIMIZERS
from app.ml.schedules import SCHEDULES
from app.ml.surfaces import SURFACES

CLIENT = TestClient(create_app())

numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(min_value=-10, max_value=10),
    st.integers(min_value=-(10**6), max_value=10**6),
)
hyper_values = st.one_of(
    numbers, st.booleans(), st.lists(numbers, min_size=2, max_size=2), st.text(max_size=3)
)
hyper_names = st.sampled_from(
    ["lr", "momentum", "betas", "eps", "weight_decay", "nesterov", "rho", "alpha", "x"]
)
runs = st.fixed_dictionaries(
    {"optimizer": st.sampled_from([*OPTIMIZERS, "nope"])},
    optional={
        "hyperparameters": st.dictionaries(hyper_names, hyper_values, max_size=4),
        "schedule": st.fixed_dictionaries(
            {"name": st.sampled_from([*SCHEDULES, "zig"])},
            optional={"params": st.dictionaries(st.sampled_from(["gamma", "step_size", "T_max"]), numbers)},
        ),
        "clip_norm": numbers,
        "clip_value": numbers,
        "start": st.lists(numbers, min_size=0, max_size=3),
    },
)
configs = st.fixed_dictionaries(
    {"runs": st.lists(runs, min_size=0, max_size=4)},
    optional={
        "surface": st.sampled_from([*SURFACES, "custom", "bogus"]),
        "expression": st.sampled_from(["x**2 + y**2", "log(x) * y", "exp(x*y)", "x/y", "sin(", "__x__"]),
        "start": st.lists(numbers, min_size=0, max_size=3),
        "steps": st.integers(min_value=-5, max_value=300),
        "noise": numbers,
        "seed": st.integers(min_value=-1, max_value=2**33),
        "tolerance": numbers,
        "params": st.dictionaries(st.sampled_from(["condition_number", "angle", "q"]), numbers, max_size=2),
    },
)


def _refuse(token: str) -> None:
    raise AssertionError(f"{token} in JSON output")


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_any_config_gets_200_or_a_422_naming_a_field(config: dict) -> None:
    response = CLIENT.post("/api/v1/traces", json=config)
    assert response.status_code in (200, 422), (response.status_code, response.text[:500])
    body = json.loads(response.text, parse_constant=_refuse)
    if response.status_code == 422:
        for detail in body["detail"]:
            assert detail["loc"] and detail["msg"]


network_configs = st.fixed_dictionaries(
    {},
    optional={
        "dataset": st.one_of(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(
                        ["insurance", "circle", "xor", "two_gaussians", "spiral", "blobs", "wave", "x"]
                    )
                },
                optional={"n": st.integers(-5, 600), "noise": numbers, "val_fraction": numbers},
            ),
            st.fixed_dictionaries(
                {
                    "csv": st.sampled_from(
                        ["a,b,t\n1,2,0\n2,1,1\n3,3,0\n4,1,1\n", "", "a,b\n1,x\n", "1,2\n3,4\n"]
                    ),
                    "target": st.sampled_from(["t", "b", "zz"]),
                },
            ),
        ),
        "hidden": st.lists(st.integers(-2, 40), max_size=7),
        "activations": st.one_of(
            st.sampled_from(["relu", "tanh", "sigmoid", "nope"]), st.lists(st.text(max_size=5))
        ),
        "optimizer": st.sampled_from([*OPTIMIZERS, "x"]),
        "hyperparameters": st.dictionaries(hyper_names, hyper_values, max_size=3),
        "batch_size": st.integers(-1, 500),
        "epochs": st.integers(-1, 40),
        "l1": numbers,
        "l2": st.one_of(numbers, st.lists(numbers, max_size=3)),
        "dropout": st.one_of(numbers, st.lists(numbers, max_size=3)),
        "early_stopping": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"monitor": st.sampled_from(["val_loss", "loss", "val_accuracy", "r2", "bogus"])},
                optional={"patience": st.integers(-1, 5), "min_delta": numbers},
            ),
        ),
        "every": st.integers(-1, 50),
        "grid_size": st.integers(0, 300),
    },
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(network_configs)
def test_any_network_config_gets_200_or_a_422_naming_a_field(config: dict) -> None:
    response = CLIENT.post("/api/v1/traces/network", json=config)
    assert response.status_code in (200, 422), (response.status_code, response.text[:500])
    body = json.loads(response.text, parse_constant=_refuse)
    if response.status_code == 422:
        for detail in body["detail"]:
            assert detail["loc"] and detail["msg"]
