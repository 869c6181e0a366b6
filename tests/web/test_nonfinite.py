"""Huge but finite numbers over the wire: gradient norms that would overflow if squared, and the loss
landscape of a network whose training diverged (docs/networks.md, *Landscape of a run that diverged*)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

# exp(360) ~ 2.2e156 is finite; its square is not, so sqrt(gx^2 + gy^2) would be inf.
HUGE_GRADIENT = {
    "expression": "exp(x) + y",
    "view": [355, 365, -1, 1],
    "start": [360, 0],
    "steps": 2,
    "runs": [{"optimizer": "sgd", "hyperparameters": {"lr": 1e-300}}],
}
EXPECTED_NORM = math.hypot(math.exp(360.0), 1.0)
DIVERGING = {
    "config": {
        "dataset": {"name": "wave"},
        "optimizer": "sgd",
        "hyperparameters": {"lr": 1000},
        "epochs": 20,
    },
    "n": 7,
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def _strict_json(text: str) -> Any:
    """Parse JSON refusing NaN / Infinity tokens, which are not JSON."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in JSON")

    return json.loads(text, parse_constant=refuse)


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


# ----- gradient norms -----


def test_json_trace_of_a_huge_finite_gradient_has_finite_norms_and_does_not_diverge(client) -> None:
    response = client.post("/api/v1/traces", json=HUGE_GRADIENT)
    assert response.status_code == 200, response.text
    (run,) = _strict_json(response.text)["runs"]
    norms = run["trace"]["grad_norm"]
    assert len(norms) == 3
    assert all(isinstance(v, float) and math.isfinite(v) for v in norms)
    assert norms == pytest.approx([EXPECTED_NORM] * 3, rel=1e-15)
    assert run["end"]["reason"] == "max_steps" and "diverged" not in run["end"]["detail"]


def test_csv_trace_of_a_huge_finite_gradient_has_finite_norms_and_does_not_diverge(client) -> None:
    response = client.post("/api/v1/traces?format=csv", json=HUGE_GRADIENT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3
    for row in rows:
        assert math.isfinite(float(row["grad_norm"]))
        assert float(row["grad_norm"]) == pytest.approx(EXPECTED_NORM, rel=1e-15)
    assert rows[-1]["end_reason"] == "max_steps"
    assert "diverged" not in response.text


def test_ndjson_trace_of_a_huge_finite_gradient_has_finite_norms_and_does_not_diverge(client) -> None:
    response = client.post("/api/v1/traces?format=ndjson", json=HUGE_GRADIENT)
    assert response.status_code == 200, response.text
    lines = [_strict_json(line) for line in response.text.splitlines() if line.strip()]
    steps = [line for line in lines if line["type"] == "step"]
    ends = [line for line in lines if line["type"] == "end"]
    assert len(steps) == 3
    for step in steps:
        assert isinstance(step["grad_norm"], float) and math.isfinite(step["grad_norm"])
        assert step["grad_norm"] == pytest.approx(EXPECTED_NORM, rel=1e-15)
    assert [end["reason"] for end in ends] == ["max_steps"]


def test_clipping_by_norm_scales_a_huge_gradient_to_the_limit(client) -> None:
    body = {**HUGE_GRADIENT, "runs": [{"optimizer": "sgd", "hyperparameters": {"lr": 0.5}, "clip_norm": 1.0}]}
    response = client.post("/api/v1/traces", json=body)
    assert response.status_code == 200, response.text
    (run,) = _strict_json(response.text)["runs"]
    update = (run["trace"]["update_x"][1], run["trace"]["update_y"][1])
    assert math.hypot(*update) == pytest.approx(0.5 * (1.0 - 1e-6 / EXPECTED_NORM), rel=1e-9)  # not zero


# ----- landscape of a diverged training -----


@pytest.fixture(scope="module")
def diverged(client) -> dict[str, Any]:
    response = client.post("/api/v1/networks/landscape", json=DIVERGING)
    assert response.status_code == 200, response.text
    return _strict_json(response.text)


def test_landscape_of_a_diverged_training_says_so_with_the_network_trace_end(diverged) -> None:
    assert diverged["diverged"] is True
    end = diverged["end"]
    assert end["reason"] == "diverged" and "learning rate is too high" in end["detail"]
    assert {"epoch", "global_step", "detail", "best_epoch", "restored_best_weights"} <= set(end)


def test_landscape_of_a_diverged_training_is_finite_around_the_last_finite_weights(diverged) -> None:
    assert diverged["centre"] == {"weights": "initial", "epoch": 0}  # it diverged inside epoch 1
    assert isinstance(diverged["final_loss"], float) and math.isfinite(diverged["final_loss"])
    grid = diverged["loss"]
    assert len(grid) == 7 and all(len(row) == 7 for row in grid)
    cells = [v for row in grid for v in row]
    assert all(isinstance(v, float) and math.isfinite(v) and v < 1e300 for v in cells)
    assert grid[3][3] == pytest.approx(diverged["final_loss"], rel=1e-12)
    assert 0 < diverged["span"] <= 1.0
    assert all(math.isfinite(v) and abs(v) < 1e300 for v in _numbers(diverged))


def test_landscape_centres_on_the_latest_epoch_with_a_finite_loss(client) -> None:
    config = {**DIVERGING["config"], "hyperparameters": {"lr": 1}}  # diverges in epoch 2
    response = client.post("/api/v1/networks/landscape", json={**DIVERGING, "config": config})
    assert response.status_code == 200, response.text
    body = _strict_json(response.text)
    assert body["diverged"] is True and body["end"]["reason"] == "diverged"
    assert body["centre"] == {"weights": "epoch", "epoch": 1}
    assert all(e <= body["centre"]["epoch"] for e in body["path"]["epoch"])
    assert all(math.isfinite(v) for v in _numbers(body))


def test_landscape_of_a_healthy_training_is_centred_on_the_final_weights(client) -> None:
    config = {**DIVERGING["config"], "hyperparameters": {"lr": 0.01}, "epochs": 5}
    response = client.post("/api/v1/networks/landscape", json={**DIVERGING, "config": config})
    assert response.status_code == 200, response.text
    body = _strict_json(response.text)
    assert body["diverged"] is False and body["end"]["reason"] == "done"
    assert body["centre"] == {"weights": "final", "epoch": 5}
    assert body["span"] == 1.0 and body["path"]["epoch"] == [1, 2, 3, 4, 5]
