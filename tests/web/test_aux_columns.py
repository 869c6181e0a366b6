"""The gradient-only optimizers over the wire: registry entries with references, aux columns in REST JSON,
CSV, NDJSON and stream frames (null where undefined, never NaN), live `set`, races, sweeps, refusals."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.web.test_stream import _connect, _merge, _start, _until

RACE = {
    "surface": "rosenbrock",
    "start": [-1.5, 2.0],
    "steps": 60,
    "runs": [
        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
        {"id": "sf", "optimizer": "schedule_free_adamw", "hyperparameters": {"lr": 0.02}},
        {"id": "asgd", "optimizer": "asgd", "hyperparameters": {"lr": 5e-4, "t0": 10}},
        {"id": "prodigy", "optimizer": "prodigy"},
        {"id": "lion", "optimizer": "lion", "hyperparameters": {"lr": 0.01}},
        {"id": "rprop", "optimizer": "rprop"},
        {"id": "adafactor", "optimizer": "adafactor"},
        {"id": "sfsgd", "optimizer": "schedule_free_sgd", "hyperparameters": {"lr": 1e-3}},
    ],
}
AUX = ["eval_x", "eval_y", "ax_x", "ax_y", "d"]


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def _finite(value: Any) -> None:
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for v in value.values():
            _finite(v)
    elif isinstance(value, list):
        for v in value:
            _finite(v)


def test_registry_lists_references_aux_columns_and_surface_availability(client: TestClient) -> None:
    listing = {o["name"]: o for o in client.get("/api/v1/optimizers").json()}
    assert len(listing) >= 21
    assert listing["lion"]["reference"] == {
        "class": "lion_pytorch.Lion",
        "package": "lion-pytorch",
        "version": "0.2.5",
    }
    assert listing["rprop"]["reference"]["class"] == "torch.optim.Rprop"
    assert listing["adam"]["reference"]["package"] == "torch"
    assert [a["name"] for a in listing["schedule_free_sgd"]["aux_columns"]] == ["eval"]
    assert listing["asgd"]["aux_columns"][0]["null"].startswith("at step 0")
    assert listing["prodigy"]["aux_columns"] == [
        {
            "name": "d",
            "kind": "scalar",
            "description": listing["prodigy"]["aux_columns"][0]["description"],
            "null": None,
        }
    ]
    beta3 = next(h for h in listing["prodigy"]["hyperparameters"] if h["name"] == "beta3")
    assert beta3["default"] is None and beta3["nullable"] is True
    assert all(o["surfaces"] == {"offered": True, "reason": None} for o in listing.values())
    assert all(o["update_rule"] and o["hyperparameters"] for o in listing.values())


def test_rest_trace_carries_each_runs_aux_columns_and_null_where_undefined(client: TestClient) -> None:
    body = client.post("/api/v1/traces", json=RACE).json()
    assert body["columns"][-5:] == AUX  # base columns, then the union in order of first appearance
    runs = {r["id"]: r for r in body["runs"]}
    assert runs["adam"]["aux_columns"] == [] and "eval_x" not in runs["adam"]["trace"]
    assert runs["sf"]["aux_columns"] == ["eval_x", "eval_y"]
    sf = runs["sf"]["trace"]
    assert sf["eval_x"][0] == sf["x"][0] and sf["eval_x"][5] != sf["x"][5]  # x = y at the start only
    ax = runs["asgd"]["trace"]
    assert ax["ax_x"][0] is None and ax["ax_y"][0] is None  # nothing averaged at step 0
    assert ax["ax_x"][5] == ax["x"][5]  # before t0 the average is the point
    assert ax["ax_x"][-1] != ax["x"][-1]  # after t0 = 10 it lags behind
    d = runs["prodigy"]["trace"]["d"]
    assert d[0] == 1e-6 and d[-1] > d[0] and all(b >= a for a, b in itertools.pairwise(d))
    _finite(body)


def test_csv_and_ndjson_carry_the_aux_columns(client: TestClient) -> None:
    text = client.post("/api/v1/traces?format=csv", json=RACE).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(AUX) <= set(rows[0])
    sf = [r for r in rows if r["run"] == "sf"]
    adam = [r for r in rows if r["run"] == "adam"]
    assert sf[3]["eval_x"] != "" and adam[3]["eval_x"] == ""
    asgd = [r for r in rows if r["run"] == "asgd"]
    assert asgd[0]["ax_x"] == "" and asgd[1]["ax_x"] != ""
    lines = [
        json.loads(line) for line in client.post("/api/v1/traces?format=ndjson", json=RACE).text.splitlines()
    ]
    steps = [line for line in lines if line["type"] == "step"]
    assert "d" in next(s for s in steps if s["run"] == "prodigy")
    assert "d" not in next(s for s in steps if s["run"] == "adam")
    assert next(s for s in steps if s["run"] == "asgd")["ax_x"] is None


@pytest.mark.parametrize("speed", ["max", 40])
def test_stream_equals_rest_with_aux_columns(client: TestClient, speed: Any) -> None:
    """Big batches (collect) and one-record frames (row by row) give the REST columns, aux included."""
    config = {**RACE, "steps": 25}
    rest = client.post("/api/v1/traces", json=config).json()
    with _connect(client) as ws:
        ws.receive_json()
        started = _start(ws, config, speed=speed)
        _, messages = _until(ws, "done")
    assert started["columns"] == rest["columns"]
    assert {r["id"]: r["aux_columns"] for r in started["runs"]} == {
        r["id"]: r["aux_columns"] for r in rest["runs"]
    }
    streamed = _merge(messages)
    for run in rest["runs"]:
        assert streamed[run["id"]] == run["trace"], run["id"]


def test_live_set_changes_a_running_gradient_only_optimizer(client: TestClient) -> None:
    config = {"surface": "beale", "steps": 40, "runs": [
        {"id": "lion", "optimizer": "lion", "hyperparameters": {"lr": 0.01}},
        {"id": "p", "optimizer": "prodigy"},
    ]}  # fmt: skip
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, config, speed="max", paused=True)
        ws.send_json({"type": "step", "n": 5})
        ws.send_json({"type": "set", "run": "lion", "hyperparameters": {"lr": 0.001, "betas": [0.8, 0.9]}})
        updated, _ = _until(ws, "updated")
        assert updated["hyperparameters"]["betas"] == [0.8, 0.9]
        ws.send_json({"type": "set", "run": "p", "hyperparameters": {"growth_rate": 1.05, "beta3": None}})
        updated, _ = _until(ws, "updated")
        assert (
            updated["hyperparameters"]["growth_rate"] == 1.05 and updated["hyperparameters"]["beta3"] is None
        )
        ws.send_json({"type": "set", "run": "p", "hyperparameters": {"d0": None}})
        error, _ = _until(ws, "error")
        assert "d0" in error["field"]


def test_sweep_of_a_gradient_only_optimizer(client: TestClient) -> None:
    runs = [{"id": f"lr{i}", "optimizer": "schedule_free_adamw", "hyperparameters": {"lr": lr}}
            for i, lr in enumerate([0.001, 0.01, 0.05])]  # fmt: skip
    body = client.post("/api/v1/traces", json={"surface": "himmelblau", "steps": 50, "runs": runs}).json()
    finals = [r["trace"]["eval_x"][-1] for r in body["runs"]]
    assert len(set(finals)) == 3


@pytest.mark.parametrize(
    ("run", "loc"),
    [
        ({"optimizer": "rprop", "schedule": {"name": "cosine", "params": {"T_max": 10}}}, "schedule"),
        ({"optimizer": "rprop", "hyperparameters": {"etas": [1.5, 0.5]}}, "etas"),
        ({"optimizer": "prodigy", "hyperparameters": {"lr": 0}}, "lr"),
        ({"optimizer": "adam", "hyperparameters": {"eps": None}}, "eps"),
    ],
)
def test_refusals_are_422_naming_the_field(client: TestClient, run: dict, loc: str) -> None:
    response = client.post("/api/v1/traces", json={"surface": "beale", "steps": 5, "runs": [run]})
    assert response.status_code == 422, response.text
    assert loc in ".".join(str(p) for p in response.json()["detail"][0]["loc"])


def test_an_optimizer_not_offered_on_surfaces_is_refused_with_its_reason(monkeypatch) -> None:
    """No registry entry needs it yet (none degenerates on a 2-vector), so a patched entry shows the path.

    In-process: the REST route runs the descent in the compute pool, which the patch does not reach."""
    import dataclasses

    from app.ml import optimizers
    from app.ml.errors import ConfigError
    from app.ml.run import Descent, RunSpec
    from app.ml.surfaces import get_surface
    from app.web.serialize import optimizer_json

    spec = dataclasses.replace(optimizers.OPTIMIZERS["lion"], not_on_surfaces="needs matrix parameters")
    monkeypatch.setitem(optimizers.OPTIMIZERS, "lion", spec)
    with pytest.raises(ConfigError) as error:
        Descent(get_surface("beale"), [RunSpec("a", "lion")], 5)
    assert "needs matrix parameters" in error.value.message and error.value.field == "runs.0.optimizer"
    assert optimizer_json(spec)["surfaces"] == {"offered": False, "reason": "needs matrix parameters"}


MIXED = {
    "surface": "himmelblau",
    "steps": 20,
    "runs": [
        {"id": "lbfgs", "optimizer": "lbfgs", "hyperparameters": {"lr": 0.5, "max_iter": 3}},
        {"id": "sam", "optimizer": "sam", "hyperparameters": {"lr": 0.01, "rho": 0.1}},
        {"id": "sf", "optimizer": "schedule_free_adamw", "hyperparameters": {"lr": 0.05}},
        {"id": "asgd", "optimizer": "asgd", "hyperparameters": {"lr": 0.005, "t0": 5}},
        {"id": "prodigy", "optimizer": "prodigy"},
    ],
}


def test_evaluations_and_aux_columns_coexist_in_every_format(client: TestClient) -> None:
    """Evaluating optimizers (evaluations, evaluated points) and gradient-only ones (aux columns) together."""
    body = client.post("/api/v1/traces", json=MIXED).json()
    assert body["columns"][-6:] == ["evaluations", *AUX]
    runs = {r["id"]: r for r in body["runs"]}
    assert runs["lbfgs"]["trace"]["evaluations"][:2] == [0, 3] and "eval_x" not in runs["lbfgs"]["trace"]
    assert runs["sam"]["trace"]["evaluations"][1] == 2 and len(runs["sam"]["trace"]["evaluated"][1]) == 1
    for rid in ("sf", "asgd", "prodigy"):
        trace = runs[rid]["trace"]
        assert trace["evaluations"][1:] == [1] * 20 and "evaluated" not in trace
    assert runs["sf"]["trace"]["eval_x"][5] is not None and runs["asgd"]["trace"]["ax_x"][0] is None
    assert summary_evaluations(runs) == {"lbfgs": sum(runs["lbfgs"]["trace"]["evaluations"]), "sf": 20}
    _finite(body)
    rows = list(csv.DictReader(io.StringIO(client.post("/api/v1/traces?format=csv", json=MIXED).text)))
    assert {"evaluations", *AUX} <= set(rows[0])
    assert next(r for r in rows if r["run"] == "lbfgs" and r["step"] == "1")["eval_x"] == ""
    assert next(r for r in rows if r["run"] == "sf" and r["step"] == "1")["evaluations"] == "1"
    lines = client.post("/api/v1/traces?format=ndjson", json=MIXED).text.splitlines()
    steps = [json.loads(line) for line in lines if '"type":"step"' in line.replace(" ", "")]
    first = {s["run"]: s for s in steps if s["step"] == 1}
    assert "evaluated" in first["lbfgs"] and "eval_x" not in first["lbfgs"]
    assert "eval_x" in first["sf"] and "evaluated" not in first["sf"] and first["sf"]["evaluations"] == 1
    with _connect(client) as ws:
        ws.receive_json()
        started = _start(ws, MIXED, speed="max")
        _, messages = _until(ws, "done")
    assert started["columns"] == body["columns"]
    streamed = _merge(messages)
    for run in body["runs"]:
        trace, got = dict(run["trace"]), dict(streamed[run["id"]])
        seen, rest_seen = got.pop("evaluated", []), trace.pop("evaluated", [])
        assert got == trace, run["id"]
        assert rest_seen[len(rest_seen) - len(seen) :] == seen  # from the first frame with a point on


def summary_evaluations(runs: dict[str, Any]) -> dict[str, int]:
    return {rid: runs[rid]["summary"]["evaluations"] for rid in ("lbfgs", "sf")}


def test_include_state_and_tune_work_for_the_gradient_only_optimizers(client: TestClient) -> None:
    """`include: ["state"]` lists their state fields; `tune` searches their lr (Rprop's first step size)."""
    config = {
        "surface": "himmelblau",
        "steps": 5,
        "include": ["state"],
        "runs": [{"id": "rprop", "optimizer": "rprop"}, {"id": "prodigy", "optimizer": "prodigy"}],
    }
    runs = {r["id"]: r for r in client.post("/api/v1/traces", json=config).json()["runs"]}
    assert len(runs["rprop"]["state"]["rprop.step_size_x"]) == 6
    assert "prodigy.d" in runs["prodigy"]["state"]
    tuned = {**config, "steps": 40, "include": [], "tune": {"count": 4, "low": 1e-3, "high": 1.0}}
    reply = client.post("/api/v1/traces", json=tuned)
    assert reply.status_code == 200, reply.text
    for run in reply.json()["runs"]:
        tuning = run["tuning"]
        assert tuning["lr"] in tuning["candidates"] and run["hyperparameters"]["lr"] == tuning["lr"]
