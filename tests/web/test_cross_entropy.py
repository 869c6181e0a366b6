"""REST and stream access to the insurance data's loss: GET /api/v1/cross-entropy, surface insurance_bce."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.ml.surfaces import get_surface

MINI_BATCH = {
    "surface": "insurance_bce",
    "params": {"batch_size": 32},
    "steps": 50,
    "runs": [{"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.5}}],
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def test_the_table_at_the_default_start_holds_the_slides_4_6(client: TestClient) -> None:
    answer = client.get("/api/v1/cross-entropy?w=3&b=-1.25").json()
    assert answer["n_train"] == 700 and answer["batch_size"] == 32 and answer["iterations_per_epoch"] == 22
    assert len(answer["rows"]) == 13
    worst = answer["rows"][answer["worst"]]
    assert (worst["age"], worst["affordability"], worst["have_insurance"]) == (27, 0, 1)
    assert worst["y_hat"] == pytest.approx(0.01, abs=5e-5)
    assert worst["loss"] == pytest.approx(4.606, abs=1e-3)
    assert answer["slide_case"] == {"y": 1.0, "y_hat": 0.01, "loss": pytest.approx(4.605170185988091)}
    losses = [row["loss"] for row in answer["rows"]]
    assert answer["mean_loss"] == pytest.approx(float(np.mean(losses)))
    assert answer["bce"] == pytest.approx(float(get_surface("insurance_bce").value(np.array([3.0, -1.25]))))
    for row in answer["rows"]:
        assert row["z"] == pytest.approx(3 * row["age_scaled"] - 1.25)


def test_batch_size_one_and_full_batch_count_iterations_as_keras(client: TestClient) -> None:
    one = client.get("/api/v1/cross-entropy?w=0&b=0&batch_size=1").json()
    full = client.get("/api/v1/cross-entropy?w=0&b=0&batch_size=5000").json()
    assert one["iterations_per_epoch"] == 700
    assert (full["batch_size"], full["iterations_per_epoch"]) == (700, 1)
    assert all(row["y_hat"] == 0.5 for row in one["rows"])  # z = 0: ŷ = σ(0)


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("w=3", ["query", "b"]),
        ("w=nan&b=0", ["query", "w"]),
        ("w=1e9&b=0", ["query", "w"]),
        ("w=3&b=0&rows=2", ["query", "params", "rows"]),
        ("w=3&b=0&batch_size=0", ["query", "params", "batch_size"]),
        ("w=3&b=0&rows=abc", ["query", "rows"]),
        ("w=3&b=0&learning_rate=1", ["query", "params", "learning_rate"]),
    ],
)
def test_bad_queries_are_a_422_naming_the_field(client: TestClient, query: str, loc: list[str]) -> None:
    response = client.get(f"/api/v1/cross-entropy?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_the_surface_of_one_mini_batch_has_its_own_minimum(client: TestClient) -> None:
    whole = client.get("/api/v1/surfaces/insurance_bce?grid=5").json()
    batch = client.get("/api/v1/surfaces/insurance_bce?grid=5&batch=3").json()
    single = client.get("/api/v1/surfaces/insurance_bce?grid=5&batch=3&batch_size=1").json()
    assert whole["minima"] == [[pytest.approx(1.9131, abs=1e-4), pytest.approx(-0.5159, abs=1e-4)]]
    assert len(batch["minima"]) == 1 and batch["minima"] != whole["minima"]
    assert single["minima"] == []  # one row is always separable: no finite minimum
    assert batch["grid"]["z"] != whole["grid"]["z"]
    assert batch["formula"].endswith("N = 32") and whole["formula"].endswith("N = 700")


def test_a_trace_descends_mini_batches_and_the_stream_equals_it(client: TestClient) -> None:
    rest = client.post("/api/v1/traces", json=MINI_BATCH).json()
    trace = rest["runs"][0]["trace"]
    for t in (0, 7, 22, 49):
        batch = get_surface("insurance_bce", {"batch_size": 32, "batch": t})
        assert trace["loss"][t] == pytest.approx(float(batch.value(np.array([trace["x"][t], trace["y"][t]]))))
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "config": MINI_BATCH, "speed": "max"})
        streamed: dict[str, list] = {}
        for _ in range(1000):
            message = ws.receive_json()
            assert message["type"] != "error", message
            if message["type"] == "steps":
                for name, values in message["runs"]["sgd"].items():
                    streamed.setdefault(name, []).extend(values)
            if message["type"] == "done":
                break
    assert streamed == trace


def test_trace_with_bad_surface_parameters_names_the_field(client: TestClient) -> None:
    body = {**MINI_BATCH, "params": {"batch_size": 2.5}}
    response = client.post("/api/v1/traces", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "params", "batch_size"]


def test_the_page_and_its_embed_are_served_in_both_languages(client: TestClient) -> None:
    english = client.get("/cross-entropy")
    turkish = client.get("/embed/cross-entropy?lang=tr")
    assert english.status_code == turkish.status_code == 200
    assert "Cross-entropy on the insurance data" in english.text
    assert "Sigorta verisinde çapraz entropi" in turkish.text
    assert 'id="xent-table"' in turkish.text and "views/cross-entropy.js" in turkish.text
