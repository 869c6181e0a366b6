"""Contract tests of the REST API v1: registries, traces in three formats, and 422s for bad input."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.ml.optimizers import OPTIMIZERS
from app.ml.surfaces import SURFACES

RACE = {
    "surface": "rosenbrock",
    "start": [-1.5, 2.0],
    "steps": 300,
    "runs": [
        {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}},
        {"id": "momentum", "optimizer": "momentum", "hyperparameters": {"lr": 0.0005}},
        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
    ],
}


def _refuse_constant(token: str) -> None:
    raise AssertionError(f"{token} leaked into the JSON")


def _assert_no_nonfinite(text: str) -> None:
    """Python's json accepts NaN/Infinity tokens; this parse refuses them."""
    json.loads(text, parse_constant=_refuse_constant)


def _error(response) -> dict:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]


def test_lists_every_surface_with_formula_view_start_and_minima(client: TestClient) -> None:
    body = client.get("/api/v1/surfaces").json()
    assert [s["name"] for s in body] == list(SURFACES)
    for s in body:
        assert s["formula"] and s["latex"] and s["note"]
        assert len(s["view"]) == 2 * s["dim"] and len(s["start"]) == s["dim"]
    assert {"name": "condition_number"}.items() <= next(s for s in body if s["name"] == "elongated")[
        "parameters"
    ][0].items()


def test_surface_grid_follows_plotly_convention(client: TestClient) -> None:
    body = client.get("/api/v1/surfaces/booth?grid=21").json()
    grid = body["grid"]
    assert len(grid["x"]) == len(grid["y"]) == 21 and len(grid["z"]) == 21
    x, y = grid["x"][3], grid["y"][17]
    assert grid["z"][17][3] == pytest.approx((x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2)


def test_surface_params_and_custom_expression_in_query(client: TestClient) -> None:
    body = client.get("/api/v1/surfaces/elongated?condition_number=50&angle=30").json()
    assert body["params"] == {"condition_number": 50.0, "angle": 30.0}
    custom = client.get("/api/v1/surfaces/custom", params={"expression": "log(x)", "grid": 5}).json()
    assert custom["name"] == "custom"
    flat = [v for row in custom["grid"]["z"] for v in row]
    assert None in flat, "log of negative x must come back as null, not NaN"


@pytest.mark.parametrize(
    ("url", "loc", "needle"),
    [
        ("/api/v1/surfaces/nope", ["query", "name"], "rosenbrock"),
        ("/api/v1/surfaces/elongated?condition_number=1e9", ["query", "params", "condition_number"], ""),
        ("/api/v1/surfaces/elongated?wobble=2", ["query", "params", "wobble"], "condition_number"),
        ("/api/v1/surfaces/bowl?grid=100000", ["query", "grid"], "400"),
        ("/api/v1/surfaces/custom?expression=__import__('os')", ["query", "expression"], ""),
        ("/api/v1/surfaces/custom", ["query", "expression"], "expression"),
        ("/api/v1/surfaces/custom?expression=x&view=1,2,3", ["query", "view"], "four"),
        ("/api/v1/surfaces/bowl?angle=abc", ["query", "angle"], "number"),
    ],
)
def test_bad_surface_queries_are_422_naming_the_field(
    client: TestClient, url: str, loc: list, needle: str
) -> None:
    detail = _error(client.get(url))
    assert detail["loc"] == loc
    assert needle in detail["msg"]


def test_optimizer_registry_has_torch_defaults(client: TestClient) -> None:
    body = {o["name"]: o for o in client.get("/api/v1/optimizers").json()}
    assert list(body) == list(OPTIMIZERS)
    adam = {hp["name"]: hp for hp in body["adam"]["hyperparameters"]}
    assert adam["lr"]["default"] == 0.001 and adam["betas"]["default"] == [0.9, 0.999]
    assert adam["eps"]["default"] == 1e-8 and body["adam"]["update_rule"]
    assert {hp["name"]: hp["default"] for hp in body["adamw"]["hyperparameters"]}["weight_decay"] == 0.01


def test_schedule_registry_lists_the_documented_schedules(client: TestClient) -> None:
    names = [s["name"] for s in client.get("/api/v1/schedules").json()]
    for expected in ("constant", "step", "exponential", "cosine", "warmup", "warmup_cosine"):
        assert expected in names


def test_trace_json_has_columns_end_reasons_and_summaries(client: TestClient) -> None:
    response = client.post("/api/v1/traces", json=RACE)
    assert response.status_code == 200, response.text
    _assert_no_nonfinite(response.text)
    body = response.json()
    assert body["columns"][:4] == ["step", "x", "y", "loss"]
    runs = {r["id"]: r for r in body["runs"]}
    assert list(runs) == ["sgd", "momentum", "adam"]
    for run in runs.values():
        trace = run["trace"]
        n = len(trace["step"])
        assert all(len(trace[c]) == n for c in body["columns"])
        assert trace["x"][0] == -1.5 and trace["y"][0] == 2.0
        assert trace["update_x"][0] is None and trace["update_x"][1] is not None
        assert run["end"]["reason"] in {"max_steps", "converged", "diverged"}
        assert run["end"]["step"] == trace["step"][-1]
        assert run["summary"]["nearest_minimum"] == [1.0, 1.0]
        assert run["summary"]["final_loss"] == trace["loss"][-1]
    adam = runs["adam"]["trace"]
    assert adam["loss"][-1] < adam["loss"][0] / 5, "Adam at lr 0.05 makes clear progress on Rosenbrock"
    assert runs["adam"]["hyperparameters"]["betas"] == [0.9, 0.999]


def test_trace_update_is_the_move_between_consecutive_points(client: TestClient) -> None:
    trace = client.post("/api/v1/traces", json=RACE).json()["runs"][2]["trace"]
    for t in (1, 2, 50):
        assert trace["x"][t] - trace["x"][t - 1] == pytest.approx(trace["update_x"][t], abs=1e-15)


def test_same_config_and_seed_give_byte_identical_traces(client: TestClient) -> None:
    config = {**RACE, "noise": 0.5, "seed": 7}
    first = client.post("/api/v1/traces", json=config).content
    assert first == client.post("/api/v1/traces", json=config).content
    assert first != client.post("/api/v1/traces", json={**config, "seed": 8}).content


def test_trace_csv_long_format_one_row_per_run_and_step(client: TestClient) -> None:
    response = client.post("/api/v1/traces?format=csv", json=RACE)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    as_json = client.post("/api/v1/traces", json=RACE).json()
    assert len(rows) == sum(len(r["trace"]["step"]) for r in as_json["runs"])
    first = rows[0]
    assert first["run"] == "sgd" and first["step"] == "0" and first["update_x"] == ""
    assert float(rows[1]["loss"]) == as_json["runs"][0]["trace"]["loss"][1]
    assert rows[-1]["end_reason"] == as_json["runs"][-1]["end"]["reason"]


def test_trace_ndjson_by_accept_header(client: TestClient) -> None:
    response = client.post("/api/v1/traces", json=RACE, headers={"accept": "application/x-ndjson"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0]["type"] == "meta" and lines[0]["surface"]["name"] == "rosenbrock"
    ends = [line for line in lines if line["type"] == "end"]
    assert [e["run"] for e in ends] == ["sgd", "momentum", "adam"]
    steps = [line for line in lines if line["type"] == "step"]
    assert steps[0]["run"] == "sgd" and steps[0]["step"] == 0 and "summary" in ends[0]


def test_diverging_learning_rate_ends_as_diverged_with_finite_json(client: TestClient) -> None:
    config = {
        "surface": "parabola",
        "steps": 500,
        "runs": [{"optimizer": "sgd", "hyperparameters": {"lr": 1.5}}],
    }
    response = client.post("/api/v1/traces", json=config)
    _assert_no_nonfinite(response.text)
    run = response.json()["runs"][0]
    assert run["end"]["reason"] == "diverged" and run["end"]["step"] < 500
    assert all(math.isfinite(v) for v in run["trace"]["loss"])
    assert run["trace"]["x"][1] == pytest.approx(-2 * run["trace"]["x"][0]), "x1 = x0 - 1.5 * 2 x0"


def test_too_low_just_right_too_high_on_the_parabola(client: TestClient) -> None:
    runs = [
        {"id": n, "optimizer": "sgd", "hyperparameters": {"lr": lr}}
        for n, lr in [("low", 0.01), ("right", 0.3), ("high", 0.95), ("much", 1.2)]
    ]
    body = client.post("/api/v1/traces", json={"surface": "parabola", "steps": 200, "runs": runs}).json()
    ends = {r["id"]: r for r in body["runs"]}
    assert ends["right"]["end"]["reason"] == "converged"
    assert ends["low"]["end"]["reason"] == "max_steps"
    assert ends["high"]["end"]["reason"] == "converged"
    assert ends["high"]["trace"]["x"][1] * ends["high"]["trace"]["x"][0] < 0, "too high oscillates across"
    assert ends["much"]["end"]["reason"] == "diverged"
    assert ends["right"]["end"]["step"] < ends["high"]["end"]["step"]


def test_custom_expression_trace_has_no_minima_summary(client: TestClient) -> None:
    config = {
        "expression": "x**2 + 10*y**2",
        "start": [2, 1],
        "steps": 100,
        "runs": [{"optimizer": "sgd", "hyperparameters": {"lr": 0.05}}],
    }
    body = client.post("/api/v1/traces", json=config).json()
    assert body["surface"]["name"] == "custom"
    run = body["runs"][0]
    assert run["summary"]["distance_to_nearest_minimum"] is None
    assert run["trace"]["grad_x"][0] == pytest.approx(4.0) and run["trace"]["grad_y"][0] == pytest.approx(
        20.0
    )


def test_per_run_start_schedule_and_clipping(client: TestClient) -> None:
    config = {
        "surface": "bowl",
        "steps": 20,
        "runs": [
            {
                "id": "a",
                "optimizer": "sgd",
                "hyperparameters": {"lr": 0.1},
                "start": [1, 1],
                "schedule": {"name": "step", "params": {"step_size": 5, "gamma": 0.5}},
            },
            {
                "id": "b",
                "optimizer": "sgd",
                "hyperparameters": {"lr": 0.1},
                "start": [3, 4],
                "clip_norm": 1.0,
            },
        ],
    }
    runs = {r["id"]: r for r in client.post("/api/v1/traces", json=config).json()["runs"]}
    assert runs["a"]["trace"]["lr"][:7] == [0.1] * 5 + [0.05] * 2
    b = runs["b"]["trace"]
    assert math.hypot(b["update_x"][1], b["update_y"][1]) == pytest.approx(
        0.1 * 1.0 / (1 + 1e-6 / 10), rel=1e-6
    )


@pytest.mark.parametrize(
    ("change", "loc", "needle"),
    [
        ({"runs": [{"optimizer": "adamm"}]}, ["body", "runs", 0, "optimizer"], "adam"),
        (
            {"runs": [{"optimizer": "adam", "hyperparameters": {"learning_rate": 1}}]},
            ["body", "runs", 0, "hyperparameters", "learning_rate"],
            "lr",
        ),
        (
            {"runs": [{"optimizer": "adam", "hyperparameters": {"lr": -1}}]},
            ["body", "runs", 0, "hyperparameters", "lr"],
            "",
        ),
        (
            {"runs": [{"optimizer": "sgd", "hyperparameters": {"nesterov": True}}]},
            ["body", "runs", 0, "hyperparameters"],
            "momentum",
        ),
        (
            {"runs": [{"optimizer": "sgd", "schedule": {"name": "zigzag"}}]},
            ["body", "runs", 0, "schedule", "name"],
            "cosine",
        ),
        (
            {"runs": [{"optimizer": "sgd", "schedule": {"name": "step", "params": {"gamma": 2.5}}}]},
            ["body", "runs", 0, "schedule", "params", "gamma"],
            "",
        ),
        ({"surface": "nope"}, ["body", "surface"], "rosenbrock"),
        ({"steps": 10**6}, ["body", "steps"], "100000"),
        ({"steps": -1}, ["body", "steps"], ""),
        ({"runs": []}, ["body", "runs"], ""),
        ({"runs": [{"optimizer": "sgd"}] * 40}, ["body", "runs"], "32"),
        ({"start": [1.0, 2.0, 3.0]}, ["body", "start"], ""),
        ({"surface": "parabola", "start": [1.0, 2.0]}, ["body", "start"], "1 coordinate"),
        ({"expression": "x.__class__"}, ["body", "expression"], "attribute"),
        ({"expression": "x" * 400}, ["body", "expression"], "300"),
        ({"expression": "log(x)", "start": [-1, 0]}, ["body", "start"], "not defined"),
        ({"surface": "bowl", "expression": "x"}, ["body", "surface"], "not both"),
        ({"noise": -1}, ["body", "noise"], ""),
        ({"lr": 0.1}, ["body", "lr"], "Extra"),
        (
            {"runs": [{"id": "a", "optimizer": "sgd"}, {"id": "a", "optimizer": "adam"}]},
            ["body", "runs"],
            "unique",
        ),
        ({"runs": [{"id": "<script>", "optimizer": "sgd"}]}, ["body", "runs", 0, "id"], ""),
    ],
)
def test_bad_trace_configs_are_422_naming_the_field(
    client: TestClient, change: dict, loc: list, needle: str
) -> None:
    config = {"steps": 10, "runs": [{"optimizer": "adam"}], **change}
    detail = _error(client.post("/api/v1/traces", json=config))
    assert detail["loc"][: len(loc)] == loc, detail
    assert needle in detail["msg"], detail


def test_non_finite_numbers_in_the_body_are_refused(client: TestClient) -> None:
    body = '{"runs": [{"optimizer": "sgd", "hyperparameters": {"lr": NaN}}], "steps": 5}'
    response = client.post("/api/v1/traces", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_record_budget_is_a_setting() -> None:
    app = create_app(Settings(max_step_records=1_000))
    with TestClient(app) as small:
        detail = _error(small.post("/api/v1/traces", json={"steps": 600, "runs": [{"optimizer": "sgd"}] * 2}))
    assert detail["loc"] == ["body", "steps"] and "1000" in detail["msg"]


def test_openapi_documents_examples_and_422(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/traces"]["post"]
    assert "422" in post["responses"] and "text/csv" in post["responses"]["200"]["content"]
    schema = spec["components"]["schemas"]["TraceRequest"]
    assert schema.get("examples"), "the trace request has an example in the docs"


def test_landing_page_lists_surfaces_and_optimizers(client: TestClient) -> None:
    html = client.get("/").text
    for name in ("rosenbrock", "himmelblau", "adam", "nadam", "warmup_cosine"):
        assert f'data-name="{name}"' in html
    js = client.get("/static/vendor/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000


def test_expression_depth_is_a_setting() -> None:
    app = create_app(Settings(max_expression_depth=4))
    with TestClient(app) as small:
        detail = _error(
            small.get("/api/v1/surfaces/custom", params={"expression": "sin(sin(sin(sin(sin(x)))))"})
        )
    assert detail["loc"] == ["query", "expression"] and "deep" in detail["msg"]


def test_a_json_trace_can_include_the_optimizer_state_of_every_step(client):
    body = {
        "surface": "rosenbrock",
        "steps": 5,
        "runs": [{"id": "adam", "optimizer": "adam"}, {"id": "hb", "optimizer": "momentum"}],
        "include": ["state"],
    }
    reply = client.post("/api/v1/traces", json=body)
    assert reply.status_code == 200, reply.text
    runs = {run["id"]: run for run in reply.json()["runs"]}
    adam = runs["adam"]["state"]
    assert adam["scale_by_adam.count"] == [0, 1, 2, 3, 4, 5]
    g = runs["adam"]["trace"]["grad_x"]
    # m_1 = (1 - β1) g_0: the state after the first update, on the record of step 1
    assert adam["scale_by_adam.exp_avg_x"][1] == pytest.approx(0.1 * g[0], rel=1e-12)
    assert len(runs["hb"]["state"]["trace.momentum_buffer_y"]) == 6
    assert "state" not in client.post("/api/v1/traces", json={**body, "include": []}).json()["runs"][0]
    csv_reply = client.post("/api/v1/traces?format=csv", json=body)
    assert csv_reply.status_code == 422 and csv_reply.json()["detail"][0]["loc"] == ["body", "include"]
    bad = client.post("/api/v1/traces", json={**body, "include": ["secrets"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["body", "include"]


def test_a_tuned_race_says_which_learning_rate_each_run_got(client):
    body = {
        "surface": "rosenbrock",
        "steps": 100,
        "runs": [{"id": "sgd", "optimizer": "sgd"}, {"id": "adam", "optimizer": "adam"}],
        "tune": {"count": 6, "low": 1e-4, "high": 1.0},
    }
    reply = client.post("/api/v1/traces", json=body)
    assert reply.status_code == 200, reply.text
    runs = {run["id"]: run for run in reply.json()["runs"]}
    for run in runs.values():
        tuning = run["tuning"]
        assert len(tuning["candidates"]) == 6 and tuning["budget"] == {"steps": 100}
        assert run["hyperparameters"]["lr"] == tuning["lr"]  # the race ran with the chosen rate
        counted = [
            (loss, lr)
            for loss, lr in zip(tuning["final_losses"], tuning["candidates"], strict=True)
            if loss is not None
        ]
        assert tuning["lr"] == min(counted)[1]
    assert runs["sgd"]["tuning"]["final_losses"][-1] is None  # sgd at lr 1 diverges on Rosenbrock
    plain = client.post("/api/v1/traces", json={**body, "tune": None}).json()
    assert all(run["tuning"] is None for run in plain["runs"])


@pytest.mark.parametrize(
    ("tune", "loc"),
    [
        ({"count": 1}, ["body", "tune", "count"]),
        ({"low": 1.0, "high": 0.1}, ["body", "tune", "low"]),
        ({"low": -1}, ["body", "tune", "low"]),
        ({"count": 24, "extra": 1}, ["body", "tune", "extra"]),
    ],
)
def test_a_bad_search_is_refused_naming_the_field(client, tune, loc):
    body = {"surface": "rosenbrock", "steps": 10, "runs": [{"optimizer": "sgd"}], "tune": tune}
    reply = client.post("/api/v1/traces", json=body)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == loc


def test_a_search_over_the_work_budget_is_refused_before_it_runs(client):
    """2 runs × 100,000 steps fit the trace budget; 24 candidates of each do not."""
    body = {"surface": "rosenbrock", "steps": 100_000, "runs": [{"optimizer": "sgd"}] * 2}
    assert client.post("/api/v1/traces", json={**body, "steps": 0}).status_code == 200
    reply = client.post("/api/v1/traces", json={**body, "tune": {"count": 24}})
    assert reply.status_code == 422
    detail = reply.json()["detail"][0]
    assert detail["loc"] == ["body", "tune", "count"] and "learning-rate search" in detail["msg"]


def test_a_race_budgeted_in_evaluations_ends_each_run_when_it_has_spent_them(client):
    body = {
        "surface": "rosenbrock",
        "steps": 40,
        "tolerance": 0,
        "budget": "evaluations",
        "runs": [{"id": "lbfgs", "optimizer": "lbfgs"}, {"id": "sgd", "optimizer": "sgd"}],
        "tune": {"count": 3, "low": 1e-4, "high": 1e-2},
    }
    reply = client.post("/api/v1/traces", json=body)
    assert reply.status_code == 200, reply.text
    runs = {run["id"]: run for run in reply.json()["runs"]}
    assert runs["sgd"]["end"]["reason"] == "max_evaluations" and runs["sgd"]["summary"]["steps_taken"] == 40
    assert sum(runs["lbfgs"]["trace"]["evaluations"]) >= 40 or runs["lbfgs"]["end"]["reason"] == "converged"
    assert runs["sgd"]["tuning"]["budget"] == {"evaluations": 40}
    bad = client.post("/api/v1/traces", json={**body, "budget": "minutes"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "budget"]
