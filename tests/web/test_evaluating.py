"""Optimizers that evaluate the function over the wire: the evaluations column and evaluated points in
JSON, CSV, NDJSON and stream frames (a stream equals the REST trace), the curvature endpoint, and the
422s (f_star, clipping, networks)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import orjson
import pytest

from tests.web.test_stream import _merge, _start, _until

RACE = {
    "surface": "himmelblau",
    "steps": 12,
    "runs": [
        {"id": "gd", "optimizer": "sgd", "hyperparameters": {"lr": 0.01}},
        {"id": "lb", "optimizer": "lbfgs", "hyperparameters": {"lr": 0.5, "max_iter": 3}},
        {"id": "wolfe", "optimizer": "lbfgs", "hyperparameters": {"line_search_fn": "strong_wolfe"}},
        {"id": "sam", "optimizer": "sam", "hyperparameters": {"lr": 0.01, "rho": 0.1}},
        {"id": "newton", "optimizer": "newton", "hyperparameters": {"lr": 0.5}},
        {"id": "polyak", "optimizer": "polyak"},
    ],
}


def _trace(client, body: dict[str, Any], fmt: str = "json"):
    response = client.post(f"/api/v1/traces?format={fmt}", json=body)
    assert response.status_code == 200, response.text
    return response


def test_json_trace_has_evaluations_for_every_run_and_points_for_lbfgs_and_sam(client) -> None:
    payload = _trace(client, RACE).json()
    assert payload["columns"][-1] == "evaluations"
    runs = {run["id"]: run["trace"] for run in payload["runs"]}
    for rid, trace in runs.items():
        assert trace["evaluations"][0] == 0, rid
        assert len(trace["evaluations"]) == len(trace["step"])
    assert set(runs["gd"]["evaluations"][1:]) == {1} and "evaluated" not in runs["gd"]
    assert set(runs["sam"]["evaluations"][1:]) == {2}
    assert all(len(points) == 1 for points in runs["sam"]["evaluated"][1:])
    assert set(runs["lb"]["evaluations"][1:]) == {3}, "max_iter 3, no line search: 1 + 2 moves evaluated"
    for rid in ("lb", "wolfe"):
        trace = runs[rid]
        assert trace["evaluated"][0] == []
        assert [len(p) for p in trace["evaluated"][1:]] == [e - 1 for e in trace["evaluations"][1:]]
    assert "evaluated" not in runs["newton"] and "evaluated" not in runs["polyak"]
    resolved = {run["id"]: run["hyperparameters"] for run in payload["runs"]}
    assert resolved["wolfe"]["line_search_fn"] == "strong_wolfe" and resolved["lb"]["max_eval"] is None
    assert resolved["polyak"]["f_star"] == 0.0, "Himmelblau's known minimum value"


def test_csv_and_ndjson_carry_the_evaluations_column(client) -> None:
    rows = list(csv.DictReader(io.StringIO(_trace(client, RACE, "csv").text)))
    sam = [r for r in rows if r["run"] == "sam"]
    assert [r["evaluations"] for r in sam[:3]] == ["0", "2", "2"]
    lines = [orjson.loads(line) for line in _trace(client, RACE, "ndjson").content.splitlines()]
    steps = [line for line in lines if line["type"] == "step" and line["run"] == "wolfe"]
    assert steps[0]["evaluations"] == 0 and steps[0]["evaluated"] == []
    assert steps[1]["evaluations"] == len(steps[1]["evaluated"]) + 1
    assert all("evaluated" not in line for line in lines if line["type"] == "step" and line["run"] == "gd")


def test_a_stream_sends_the_same_evaluations_and_points_as_the_rest_trace(client) -> None:
    runs = _trace(client, RACE).json()["runs"]
    rest = {run["id"]: run["trace"] for run in runs}
    totals = {run["id"]: run["summary"]["evaluations"] for run in runs}
    assert totals == {rid: sum(trace["evaluations"]) for rid, trace in rest.items()}
    assert totals["gd"] == RACE["steps"] and totals["sam"] == 2 * RACE["steps"]
    for speed in (30, "max"):
        with client.websocket_connect("/api/v1/stream") as ws:
            _until(ws, "hello")
            started = _start(ws, RACE, speed=speed)
            assert started["columns"][-1] == "evaluations"
            done, messages = _until(ws, "done")
        assert {rid: m["evaluations"] for rid, m in done["summaries"].items()} == totals, speed
        streamed = _merge(messages)
        for rid, trace in rest.items():
            assert streamed[rid]["evaluations"] == trace["evaluations"], (speed, rid)
            assert streamed[rid]["x"] == trace["x"], (speed, rid)
            if "evaluated" in trace:
                got = streamed[rid]["evaluated"]
                padded = [[]] * (len(trace["evaluated"]) - len(got)) + got  # the column starts at step 1
                assert padded == trace["evaluated"], (speed, rid)


def test_live_set_of_line_search_fn_and_null_max_eval(client) -> None:
    with client.websocket_connect("/api/v1/stream") as ws:
        _until(ws, "hello")
        _start(
            ws, {"surface": "beale", "steps": 50, "runs": [{"id": "lb", "optimizer": "lbfgs"}]}, paused=True
        )
        ws.send_json({"type": "set", "run": "lb", "hyperparameters": {"line_search_fn": "strong_wolfe"}})
        updated, _ = _until(ws, "updated")
        assert updated["hyperparameters"]["line_search_fn"] == "strong_wolfe"
        ws.send_json({"type": "set", "run": "lb", "hyperparameters": {"line_search_fn": "armijo"}})
        error, _ = _until(ws, "error")
        assert "strong_wolfe" in error["message"]


RUN = ["body", "runs", 0]
HP = [*RUN, "hyperparameters"]


def _runs(optimizer: str, **run: Any) -> dict[str, Any]:
    return {"runs": [{"optimizer": optimizer, **run}]}


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"surface": "saddle", **_runs("polyak")}, [*HP, "f_star"], "f_star"),
        ({"expression": "x^2 + y^2", **_runs("polyak")}, [*HP, "f_star"], "f_star"),
        (_runs("lbfgs", clip_norm=1.0), [*RUN, "clip_norm"], "own gradients"),
        ({"noise": 0.5, **_runs("sam")}, [*RUN, "noise"], "noise"),
        (_runs("lbfgs", hyperparameters={"history_size": 0}), [*HP, "history_size"], "between"),
        (
            _runs("lbfgs", hyperparameters={"line_search_fn": "backtrack"}),
            [*HP, "line_search_fn"],
            "strong_wolfe",
        ),
        (_runs("sgd", hyperparameters={"lr": "0.1"}), [*HP, "lr"], "number"),
    ],
)
def test_bad_evaluating_configs_are_422_naming_the_field(client, body, loc, words) -> None:
    response = client.post("/api/v1/traces", json={"steps": 5, **body})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == loc and words in detail["msg"], detail


def test_polyak_with_f_star_runs_on_a_custom_expression(client) -> None:
    body = {
        "expression": "x^2 + 3*y^2 + 1",
        "steps": 5,
        "runs": [{"optimizer": "polyak", "hyperparameters": {"f_star": 1}}],
    }
    trace = _trace(client, body).json()["runs"][0]["trace"]
    assert trace["loss"][-1] < trace["loss"][0]


def test_an_lbfgs_trace_is_priced_by_its_evaluations(client) -> None:
    """A budget that fits 40 plain runs of 5,000 steps does not fit them as L-BFGS with 100 evaluations."""
    runs = [{"optimizer": "lbfgs", "hyperparameters": {"max_iter": 100, "max_eval": 250}}] * 2
    response = client.post("/api/v1/traces", json={"steps": 5000, "runs": runs})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "steps"]
    assert (
        client.post("/api/v1/traces", json={"steps": 5000, "runs": [{"optimizer": "sgd"}] * 2}).status_code
        == 200
    )


# ------------------------------------------------------------------------------------------ curvature


def test_curvature_of_rosenbrock_matches_the_documented_example(client) -> None:
    body = client.get("/api/v1/surfaces/rosenbrock/curvature?x=-1&y=1.5").json()
    assert body["hessian"] == [[602.0, 400.0], [400.0, 200.0]]
    assert body["two_over_lambda_max"] == pytest.approx(2 / body["lambda_max"])
    assert body["eigenvalues"][0] < 0 < body["eigenvalues"][1]


def test_curvature_of_a_concave_expression_has_no_step_limit(client) -> None:
    body = client.get(
        "/api/v1/surfaces/custom/curvature", params={"x": 1, "y": 1, "expression": "-x^2 - y^2"}
    ).json()
    assert body["hessian"] == [[-2.0, 0.0], [0.0, -2.0]] and body["two_over_lambda_max"] is None


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/api/v1/surfaces/rosenbrock/curvature?y=1", ["query", "x"]),
        ("/api/v1/surfaces/rosenbrock/curvature?x=1", ["query", "y"]),
        ("/api/v1/surfaces/rosenbrock/curvature?x=inf&y=1", ["query", "x"]),
        ("/api/v1/surfaces/rosenbrock/curvature?x=a&y=1", ["query", "x"]),
        ("/api/v1/surfaces/nowhere/curvature?x=1&y=1", ["query", "name"]),
        ("/api/v1/surfaces/ackley/curvature?x=0&y=0", ["query", "x"]),
        ("/api/v1/surfaces/custom/curvature?x=-1&y=0&expression=log(x)", ["query", "x"]),
        ("/api/v1/surfaces/custom/curvature?x=1&y=0", ["query", "expression"]),
        ("/api/v1/surfaces/custom/curvature?x=1&y=0&expression=x%2B", ["query", "expression"]),
        ("/api/v1/surfaces/bowl/curvature?x=1&y=0&depth=2", ["query", "params", "depth"]),
    ],
)
def test_bad_curvature_queries_are_422_naming_the_field(client, url: str, loc: list[Any]) -> None:
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc, response.json()


# ------------------------------------------------------------------------------------------- networks

NETWORK = {"dataset": {"name": "circle", "n": 60}, "hidden": [4], "epochs": 2}


@pytest.mark.parametrize(
    ("optimizer", "extra", "loc"),
    [("lbfgs", {"batch_size": 8}, ["body", "batch_size"]), ("newton", {}, ["body", "optimizer"])],
)
def test_networks_refuse_lbfgs_on_mini_batches_and_newton(client, optimizer, extra, loc) -> None:
    response = client.post("/api/v1/traces/network", json={**NETWORK, "optimizer": optimizer, **extra})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_a_full_batch_lbfgs_network_reports_its_evaluations(client) -> None:
    body = {**NETWORK, "optimizer": "lbfgs", "batch_size": 1000, "hyperparameters": {"max_iter": 4}}
    response = client.post("/api/v1/traces/network", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["iterations"]["evaluations"] == [4, 4]
    code = client.post("/api/v1/networks/code", json=body).json()
    assert "optimizer.step(closure)" in code["pytorch"] and "Keras has no L-BFGS" in code["keras"]
    assert json.dumps(code)


def test_a_stream_of_lbfgs_runs_is_priced_to_step_off_the_event_loop() -> None:
    """First-order surface steps are light; 32 L-BFGS lanes with torch's defaults are not."""
    from app.config import Settings
    from app.web.streams import SurfaceStream

    settings = Settings()
    light = SurfaceStream({"runs": [{"optimizer": "adam"}] * 32}, settings)
    heavy = SurfaceStream({"runs": [{"optimizer": "lbfgs"}] * 32}, settings)
    assert light.step_seconds == 0.0 < settings.stream_thread_s < heavy.step_seconds
