"""POST /api/v1/maps and the map stream: validation naming the field, the limits, whole answers, no NaN."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.ml.surfaces import get_surface
from app.web.cost import check_map_price, map_price

SGD = {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.01}}
BASINS = {"surface": "himmelblau", "n": 12, "steps": 200, "runs": [SGD]}
TRAINABILITY = {
    "kind": "trainability",
    "surface": "himmelblau",
    "start": [0.0, 0.0],
    "n": 8,
    "steps": 150,
    "runs": [{"optimizer": "sgd"}],
    "x": {"name": "lr", "min": 1e-3, "max": 0.2, "scale": "log"},
    "y": {"name": "momentum", "min": 0.0, "max": 0.95, "scale": "linear"},
}


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def test_basin_map_of_two_optimizers_side_by_side(client: TestClient) -> None:
    body = {**BASINS, "runs": [SGD, {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.1}}]}
    response = client.post("/api/v1/maps", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [m["id"] for m in answer["maps"]] == ["sgd", "adam"]
    assert answer["x"]["values"][0] == -5.0 and len(answer["y"]["values"]) == 12
    for panel in answer["maps"]:
        assert len(panel["basin"]) == 12 and all(len(row) == 12 for row in panel["basin"])
        assert {v for row in panel["basin"] for v in row} <= {0, 1, 2, 3, -1, -2, -3}
        assert sum(panel["summary"]["minima"]) + panel["summary"]["diverged"] <= 144
    assert answer["maps"][0]["summary"]["minima"] == [
        sum(row.count(k) for row in answer["maps"][0]["basin"]) for k in range(4)
    ]
    assert "NaN" not in response.text and "Infinity" not in response.text


def test_trainability_map_spans_two_hyperparameters_and_stays_finite(client: TestClient) -> None:
    response = client.post("/api/v1/maps", json=TRAINABILITY)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["x"]["scale"] == "log" and answer["x"]["values"][-1] == pytest.approx(0.2)
    reasons = {answer["reasons"][r] for row in answer["maps"][0]["reason"] for r in row}
    assert {"converged", "diverged"} <= reasons  # a large lr with large momentum diverges from (0, 0)
    assert _finite(answer)
    assert "NaN" not in response.text and "Infinity" not in response.text


def test_custom_expression_undefined_cells_are_null_not_nan(client: TestClient) -> None:
    body = {"expression": "log(x) + y**2", "view": [-1, 3, -2, 2], "n": 6, "steps": 50, "runs": [SGD]}
    response = client.post("/api/v1/maps", json=body)
    assert response.status_code == 200, response.text
    panel = response.json()["maps"][0]
    assert panel["final_loss"][0][0] is None and panel["basin"][0][0] == -3
    assert "NaN" not in response.text


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"n": 201}, ["body", "n"]),
        ({"n": 1}, ["body", "n"]),
        ({"n": 200, "steps": 2000}, ["body", "n"]),  # over the work budget
        ({"runs": [SGD] * 4}, ["body", "runs"]),
        ({"runs": [SGD, SGD]}, ["body", "runs", 1, "id"]),
        ({"runs": [{"optimizer": "sgdd"}]}, ["body", "runs", 0, "optimizer"]),
        (
            {"runs": [{"optimizer": "sgd", "hyperparameters": {"lr": -1}}]},
            ["body", "runs", 0, "hyperparameters", "lr"],
        ),
        ({"runs": [SGD, {"optimizer": "lbfgs"}]}, ["body", "runs", 1, "optimizer"]),
        ({"steps": -1}, ["body", "steps"]),
        ({"tolerance": "x"}, ["body", "tolerance"]),
        ({"surface": "parabola"}, ["body", "surface"]),
        ({"surface": "nope"}, ["body", "surface"]),
        ({"x": {"name": "lr", "min": 0.1, "max": 1}}, ["body", "x"]),
        ({"kind": "trainability"}, ["body", "x"]),
        ({"colour": "basin"}, ["body", "colour"]),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client: TestClient, change: dict, loc: list) -> None:
    response = client.post("/api/v1/maps", json={**BASINS, **change})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc, response.json()


@pytest.mark.parametrize(
    ("axis", "change", "loc"),
    [
        ("x", {"name": "betas.0"}, ["body", "x", "name"]),
        ("x", {"min": 0}, ["body", "x", "min"]),
        ("y", {"max": 1.5}, ["body", "y", "max"]),
        ("y", {"name": "lr"}, ["body", "y", "name"]),
        ("y", {"scale": "square"}, ["body", "y", "scale"]),
    ],
)
def test_bad_axes_are_422_naming_the_axis_field(
    client: TestClient, axis: str, change: dict, loc: list
) -> None:
    body = {**TRAINABILITY, axis: {**TRAINABILITY[axis], **change}}
    response = client.post("/api/v1/maps", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc, response.json()


def test_the_budget_is_a_setting() -> None:
    with TestClient(create_app(Settings(max_map_work=1e4))) as small:
        response = small.post("/api/v1/maps", json=BASINS)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "n"]
    assert "budget" in response.json()["detail"][0]["msg"]


def test_full_size_map_is_within_the_default_budget(client: TestClient) -> None:
    """200 × 200 starts × 500 steps, the size the view offers, is allowed (and so are two of them)."""
    check_map_price(map_price(get_surface("himmelblau"), 200, 500, 2), Settings())


# ------------------------------------------------------------------------------------------------ stream


def _messages(ws, until: str, limit: int = 500) -> list[dict[str, Any]]:
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        seen.append(message)
        if message["type"] == until:
            return seen
    raise AssertionError(f"no {until!r} in {limit} messages")


def test_stream_fills_the_map_in_bands_equal_to_the_rest_answer(client: TestClient) -> None:
    body = {**BASINS, "n": 60, "steps": 100}
    whole = client.post("/api/v1/maps", json=body).json()
    with client.websocket_connect("/api/v1/stream") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "start", "kind": "map", "config": body, "speed": "max"})
        messages = _messages(ws, "done")
    started = next(m for m in messages if m["type"] == "started")
    assert started["kind"] == "map" and started["band"] == 33
    assert started["map"]["x"] == whole["x"] and started["map"]["kind"] == "basins"
    bands = [m for m in messages if m["type"] == "map_rows"]
    assert [(b["start"], b["stop"]) for b in bands] == [(0, 33), (33, 60)]
    streamed = [row for band in bands for row in band["maps"]["sgd"]["basin"]]
    assert streamed == whole["maps"][0]["basin"]
    done = messages[-1]
    assert done["summaries"]["sgd"] == whole["maps"][0]["summary"] and done["stopped"] is False


def test_stream_step_computes_one_band_and_stop_ends_with_done(client: TestClient) -> None:
    body = {**BASINS, "n": 40}
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "kind": "map", "config": body, "paused": True})
        assert _messages(ws, "started")[-1]["paused"] is True
        ws.send_json({"type": "step"})
        band = _messages(ws, "map_rows")[-1]
        assert (band["start"], band["stop"]) == (0, 40)  # 2,000 cells: all 40 rows of a 40 × 40 map
        for command in (
            {"type": "set", "run": "sgd", "hyperparameters": {"lr": 0.1}},
            {"type": "explain", "run": "sgd"},
        ):
            ws.send_json(command)
            error = _messages(ws, "error")[-1]
            assert error["code"] == "invalid_command", error


def test_stream_stop_sends_done_with_the_rows_computed(client: TestClient) -> None:
    body = {**BASINS, "n": 100, "steps": 50}
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "kind": "map", "config": body, "paused": True})
        _messages(ws, "started")
        ws.send_json({"type": "step"})
        _messages(ws, "map_rows")
        ws.send_json({"type": "stop"})
        done = _messages(ws, "done")[-1]
    assert done["stopped"] is True and done["rows"] == 20
    assert sum(done["summaries"]["sgd"]["minima"]) + done["summaries"]["sgd"]["diverged"] <= 2000


def test_stream_refuses_a_bad_map_config_naming_the_field(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "start", "kind": "map", "config": {**BASINS, "n": 500}}))
        error = _messages(ws, "error")[-1]
    assert error["code"] == "invalid_config" and error["field"] == "config.n"
