"""Network REST endpoints and the network stream (docs/networks.md): Keras arithmetic, controls, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

CONFIG: dict[str, Any] = {
    "dataset": {"name": "two_gaussians", "n": 200, "seed": 1},
    "hidden": [8],
    "hyperparameters": {"lr": 0.05},
    "batch_size": 32,
    "epochs": 12,
    "dropout": 0.25,
    "every": 5,
}
INSURANCE_CSV = (
    "age,affordability,have_insurance\n22,1,0\n25,0,0\n47,1,1\n52,0,0\n46,1,1\n56,1,1\n55,0,0\n60,0,1\n"
)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


def _refuse(token: str) -> None:
    raise AssertionError(f"{token} in JSON")


def test_datasets_registry_starts_with_the_course_insurance_table(client: TestClient) -> None:
    names = [d["name"] for d in client.get("/api/v1/datasets").json()]
    assert names[0] == "insurance" and {"circle", "xor", "two_gaussians", "spiral", "blobs", "wave"} <= set(
        names
    )


def test_network_trace_counts_iterations_as_keras_does(client: TestClient) -> None:
    body = client.post("/api/v1/traces/network", json=CONFIG).json()
    n_train = body["dataset"]["n_train"]
    assert n_train == 160 and body["iterations_per_epoch"] == 5  # ceil(160 / 32)
    cols = body["iterations"]
    assert len(cols["epoch"]) == 12 * 5
    assert cols["iteration"][:6] == [1, 2, 3, 4, 5, 1] and cols["epoch"][:6] == [1, 1, 1, 1, 1, 2]
    assert [len(b) for b in cols["batch"][:5]] == [32] * 5
    assert sorted(i for b in cols["batch"][:5] for i in b) == list(range(160)), "each row once per epoch"
    masks = cols["masks"][0]
    assert len(masks) == 1 and len(masks[0]) == 8 and set(masks[0]) <= {0, 1}
    assert 0.6 < sum(k[0] for k in cols["kept"]) / len(cols["kept"]) < 0.9, "about 1 - p kept"
    epochs = body["epochs"]
    assert [e["epoch"] for e in epochs] == list(range(1, 13))
    assert [e["epoch"] for e in epochs if e["decision_grid"]] == [1, 5, 10, 12]
    assert epochs[-1]["val_metrics"]["accuracy"] > 0.9
    assert body["end"]["reason"] == "done" and body["summary"]["confusion_matrix"]["val"]
    assert body["network"]["layers"] == [2, 8, 1]


def test_the_seven_hundred_over_thirty_two_slide(client: TestClient) -> None:
    config = {**CONFIG, "dataset": {"name": "insurance", "n": 875, "val_fraction": 0.2}, "epochs": 1}
    body = client.post("/api/v1/traces/network", json=config).json()
    assert body["dataset"]["n_train"] == 700 and body["iterations_per_epoch"] == 22
    assert [len(b) for b in body["iterations"]["batch"]][-1] == 28


def test_early_stopping_event_names_the_best_epoch(client: TestClient) -> None:
    config = {
        **CONFIG,
        "epochs": 300,
        "hyperparameters": {"lr": 0.05},
        "early_stopping": {"monitor": "val_loss", "patience": 3, "restore_best_weights": True},
    }
    body = client.post("/api/v1/traces/network", json=config).json()
    end = body["end"]
    assert end["reason"] == "early_stop" and end["best_epoch"] is not None and end["restored_best_weights"]
    assert end["epoch"] < 300


def test_code_export_has_model_fit_and_torch_optim(client: TestClient) -> None:
    code = client.post("/api/v1/networks/code", json=CONFIG).json()
    assert "model.fit(" in code["keras"] and "batch_size=32" in code["keras"] and "epochs=12" in code["keras"]
    assert "torch.optim.Adam(" in code["pytorch"]
    compile(code["pytorch"], "pytorch_code", "exec")
    compile(code["keras"], "keras_code", "exec")


def test_landscape_has_the_grid_and_the_projected_path(client: TestClient) -> None:
    body = client.post("/api/v1/networks/landscape", json={"config": CONFIG, "n": 11, "span": 0.5}).json()
    assert len(body["alphas"]) == len(body["betas"]) == 11 and len(body["loss"]) == 11
    assert body["path"]["epoch"] == list(range(1, 13)) and len(body["path"]["alpha"]) == 12
    assert abs(body["path"]["alpha"][-1]) < 1e-9 and abs(body["path"]["beta"][-1]) < 1e-9, (
        "ends at the centre"
    )


def test_csv_upload_preview_and_training(client: TestClient) -> None:
    dataset = {"csv": INSURANCE_CSV, "target": "have_insurance", "val_fraction": 0.25}
    preview = client.post("/api/v1/datasets/preview", json={"dataset": dataset}).json()["dataset"]
    assert preview["features"] == ["age", "affordability"] and preview["task"] == "binary"
    assert preview["n_train"] + preview["n_val"] == 8
    trace = client.post("/api/v1/traces/network", json={**CONFIG, "dataset": dataset, "batch_size": 2}).json()
    assert trace["iterations_per_epoch"] == 3


@pytest.mark.parametrize(
    ("change", "loc", "needle"),
    [
        ({"dataset": {"name": "mnist"}}, ["body", "dataset", "name"], "insurance"),
        ({"dataset": {"csv": "a,b\n1,x\n", "target": "b"}}, ["body", "dataset", "target"], "not a number"),
        ({"dataset": {"csv": "a,b\n1,2\n", "target": "c"}}, ["body", "dataset", "target"], "columns: a, b"),
        ({"dataset": {"csv": "x" * 300_000, "target": "c"}}, ["body", "dataset", "csv"], "bytes"),
        ({"hidden": [8] * 7}, ["body", "hidden"], ""),
        ({"hidden": [64]}, ["body", "hidden", 0], "32"),
        ({"activations": "swish"}, ["body", "activations"], "relu"),
        ({"optimizer": "lionn"}, ["body", "optimizer"], "adam"),
        ({"hyperparameters": {"lr": -1}}, ["body", "hyperparameters", "lr"], ""),
        ({"dropout": 0.95}, ["body", "dropout"], ""),
        ({"epochs": 20_000}, ["body", "epochs"], "10000"),
        ({"epochs": 9_000, "batch_size": 1}, ["body", "epochs"], "stream"),
        ({"early_stopping": {"monitor": "val_rmse"}}, ["body", "early_stopping", "monitor"], ""),
    ],
)
def test_bad_network_configs_are_422_naming_the_field(
    client: TestClient, change: dict, loc: list, needle: str
) -> None:
    response = client.post("/api/v1/traces/network", json={**CONFIG, **change})
    assert response.status_code == 422, response.text[:300]
    detail = response.json()["detail"][0]
    assert detail["loc"][: len(loc)] == loc, detail
    assert needle in detail["msg"], detail


def test_diverging_network_has_no_nan_in_json(client: TestClient) -> None:
    config = {**CONFIG, "optimizer": "sgd", "hyperparameters": {"lr": 1000.0}, "dataset": {"name": "wave"}}
    response = client.post("/api/v1/traces/network", json=config)
    body = json.loads(response.text, parse_constant=_refuse)
    assert body["end"]["reason"] == "diverged"


# ---------------------------------------------------------------------------------------------- stream


def _until(ws, kind: str, limit: int = 10_000) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        if message["type"] == kind:
            return message, seen
        seen.append(message)
    raise AssertionError(f"no {kind!r}")


def _start(ws, config: dict, **options: Any) -> dict[str, Any]:
    ws.send_json({"type": "start", "kind": "network", "config": config, **options})
    started, before = _until(ws, "started")
    assert not before, before
    return started


def test_network_stream_equals_the_rest_trace(client: TestClient) -> None:
    rest = client.post("/api/v1/traces/network", json=CONFIG).json()
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        started = _start(ws, CONFIG, speed="max")
        done, messages = _until(ws, "done")
    assert (
        started["iterations_per_epoch"] == rest["iterations_per_epoch"]
        and started["dataset"] == rest["dataset"]
    )
    merged: dict[str, list] = {}
    epochs = []
    for m in messages:
        if m["type"] == "iterations":
            for k, v in m["columns"].items():
                merged.setdefault(k, []).extend(v)
        elif m["type"] == "epoch":
            epochs.extend(m["records"])
    # everything but the measured compute time ("seconds", Keras' "2ms/step") is the same
    assert {k: v for k, v in merged.items() if k != "seconds"} == {
        k: v for k, v in rest["iterations"].items() if k != "seconds"
    }
    assert len(merged["seconds"]) == len(rest["iterations"]["seconds"])
    assert [{**r, "seconds": 0} for r in epochs] == [{**r, "seconds": 0} for r in rest["epochs"]]
    assert all(r["seconds"] > 0 for r in epochs)
    assert done["summary"] == rest["summary"]


def test_network_stream_step_pause_and_live_learning_rate(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        _start(ws, CONFIG, paused=True)
        ws.send_json({"type": "step", "n": 3})
        first = ws.receive_json()
        assert first["type"] == "iterations" and first["columns"]["global_step"] == [1, 2, 3]
        assert ws.receive_json()["type"] == "state"
        ws.send_json({"type": "set", "hyperparameters": {"lr": 0.001}})
        updated = ws.receive_json()
        assert updated["type"] == "updated" and updated["hyperparameters"]["lr"] == 0.001
        assert updated["from_step"] == 4
        ws.send_json({"type": "step", "n": 2})
        nxt = ws.receive_json()
        assert nxt["columns"]["global_step"] == [4, 5] and nxt["columns"]["lr"] == [0.001, 0.001]
        epoch = ws.receive_json()
        assert epoch["type"] == "epoch" and epoch["records"][0]["epoch"] == 1
        assert ws.receive_json()["type"] == "state"
        ws.send_json({"type": "add_run", "run": {"optimizer": "sgd"}})
        assert ws.receive_json()["code"] == "invalid_command"
        ws.send_json({"type": "stop"})
        event, _ = _until(ws, "event")
        assert event["reason"] == "stopped"


def test_network_stream_bad_config_is_an_error_frame(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "kind": "network", "config": {**CONFIG, "hidden": [99]}})
        error = ws.receive_json()
        assert (error["code"], error["field"]) == ("invalid_config", "config.hidden.0")
        ws.send_json({"type": "start", "kind": "network", "config": {**CONFIG, "batch_size": "x"}})
        assert ws.receive_json()["field"] == "config.batch_size"


def test_sharpness_is_recorded_when_asked_for(client):
    body = {
        "dataset": {"name": "wave", "n": 60},
        "hidden": [8],
        "activations": "tanh",
        "optimizer": "sgd",
        "hyperparameters": {"lr": 0.05},
        "batch_size": 1000,
        "epochs": 3,
        "sharpness": True,
    }
    reply = client.post("/api/v1/traces/network", json=body)
    assert reply.status_code == 200, reply.text
    values = [e["sharpness"] for e in reply.json()["epochs"]]
    assert len(values) == 3 and all(isinstance(v, float) and v > 0 for v in values)
    plain = client.post("/api/v1/traces/network", json={**body, "sharpness": False}).json()
    assert [e["sharpness"] for e in plain["epochs"]] == [None, None, None]
    bad = client.post("/api/v1/traces/network", json={**body, "sharpness": "yes please"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "sharpness"
