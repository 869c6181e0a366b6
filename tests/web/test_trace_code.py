"""POST /api/v1/traces/code: the script for a trace request, run with torch against POST /api/v1/traces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app

BODY = {
    "surface": "himmelblau",
    "start": [-1.0, 1.0],
    "steps": 40,
    "runs": [
        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.1}},
        {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.01}, "clip_norm": 5.0},
        {"id": "lbfgs", "optimizer": "lbfgs", "hyperparameters": {"lr": 0.5, "max_iter": 3}},
    ],
}
CUSTOM = {
    "expression": "sin(x) * cos(y) + 0.1*(x^2 + y^2)",
    "steps": 30,
    "runs": [{"optimizer": "rmsprop", "schedule": {"name": "cosine", "params": {"T_max": 30}}}],
}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


def _run(source: str, tmp_path: Path, as_program: bool) -> dict:
    """The script's traces: run as a program writing its JSON (slow: a fresh torch import), or in-process."""
    if not as_program:
        namespace: dict = {"__name__": "export_test"}
        exec(compile(source, "trace_code", "exec"), namespace)
        return {run_id: run() for run_id, run in namespace["RUNS"].items()}
    script, out = tmp_path / "trace.py", tmp_path / "trace.json"
    script.write_text(source)
    subprocess.run([sys.executable, str(script), str(out)], check=True, capture_output=True, timeout=180)
    return json.loads(out.read_text())


@pytest.mark.parametrize(("body", "as_program"), [(BODY, True), (CUSTOM, False)], ids=["race", "custom"])
def test_the_script_reproduces_the_trace(
    client: TestClient, body: dict, as_program: bool, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    reply = client.post("/api/v1/traces/code", json=body)
    assert reply.status_code == 200
    theirs = _run(reply.json()["pytorch"], tmp_path, as_program)
    trace = client.post("/api/v1/traces", json=body).json()
    for run in trace["runs"]:
        mine = theirs[run["id"]]
        assert mine["end"] == run["end"]["reason"]
        np.testing.assert_allclose(mine["loss"], run["trace"]["loss"], rtol=1e-9)
        np.testing.assert_allclose(
            np.asarray(mine["position"])[:, 0], run["trace"]["x"], rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"noise": 0.5}, ["body", "noise"]),
        ({"tune": {"count": 3}}, ["body", "tune"]),
        ({"surface": "nowhere"}, ["body", "surface"]),
        ({"surface": "insurance_bce", "start": None}, ["body", "surface"]),
        (
            {"runs": [{"optimizer": "adam", "hyperparameters": {"lr": -1}}]},
            ["body", "runs", 0, "hyperparameters", "lr"],
        ),
        ({"steps": 10**9}, ["body", "steps"]),
    ],
)
def test_bad_requests_are_a_422_naming_the_field(client: TestClient, change: dict, loc: list) -> None:
    reply = client.post("/api/v1/traces/code", json={**BODY, **change})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == loc


def test_a_body_that_is_not_json_is_a_422(client: TestClient) -> None:
    reply = client.post("/api/v1/traces/code", content=b"{runs")
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"] == ["body"]
