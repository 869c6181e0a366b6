"""Serving a class: the compute pool, the body limit, the price of every request, and streams that share.

The stall figures themselves are measured against a real server (tests/web/test_stalls.py and
`python -m benchmarks.run --only adversarial,capacity`); these pin the rules through the test client.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.web.compute import Busy, ComputePool

CSV_2000 = "a,b,c\n" + "".join(f"{i % 97 / 10},{(i * 7) % 89 / 10},{i % 2}\n" for i in range(2_000))


def _one_error(response) -> dict:
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    return error


@pytest.fixture(scope="module")
def small() -> TestClient:
    """An app whose budgets are small enough to cross with cheap requests."""
    settings = Settings(
        max_body_bytes=40_000, max_trace_work=5_000, max_network_work=2e8, max_frame_bytes=50_000
    )
    with TestClient(create_app(settings)) as client:
        yield client


# ------------------------------------------------------------------------------------------ body limit


def test_a_body_over_the_limit_is_413_before_it_is_parsed(small: TestClient) -> None:
    response = small.post(
        "/api/v1/traces", content=b"{" * 50_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    (error,) = response.json()["detail"]
    assert error["type"] == "too_large" and "at most 40,000 bytes" in error["msg"]


def test_a_chunked_body_over_the_limit_is_413_too(small: TestClient) -> None:
    def chunks():
        for _ in range(10):
            yield b" " * 5_000

    response = small.post("/api/v1/traces", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_body_under_the_limit_is_served(small: TestClient) -> None:
    body = {"surface": "bowl", "steps": 10, "runs": [{"optimizer": "sgd"}]}
    assert small.post("/api/v1/traces", json=body).status_code == 200


def test_the_request_bodies_stay_documented_in_openapi(small: TestClient) -> None:
    spec = small.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/traces"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/TraceRequest"}
    schemas = spec["components"]["schemas"]
    for name in ("TraceRequest", "NetworkRequest", "LandscapeRequest", "DatasetPreviewRequest", "RunConfig"):
        assert name in schemas, name


# ------------------------------------------------------------------------------------------ prices


def test_a_trace_over_the_work_budget_names_steps_and_the_budget(small: TestClient) -> None:
    body = {"surface": "bowl", "steps": 6_000, "tolerance": 0, "runs": [{"optimizer": "sgd"}]}
    error = _one_error(small.post("/api/v1/traces", json=body))
    assert error["loc"] == ["body", "steps"]
    assert "budget per request is 5,000" in error["msg"] and "lower `steps`" in error["msg"]


def test_a_custom_expression_costs_by_its_operations() -> None:
    settings = Settings(max_trace_work=150_000)
    expression = "+".join(["(x*y+y*x+x*y+y*x)"] * 12)
    with TestClient(create_app(settings)) as client:
        plain = {"surface": "bowl", "steps": 100_000, "tolerance": 0, "runs": [{"optimizer": "sgd"}]}
        assert _one_error(client.post("/api/v1/traces?format=csv", json=plain | {"steps": 200_000}))
        custom = {"expression": expression, "steps": 100_000, "runs": [{"optimizer": "sgd"}]}
        error = _one_error(client.post("/api/v1/traces", json=custom))
        assert error["loc"] == ["body", "steps"] and "run-steps of work" in error["msg"]


def test_a_trace_over_the_response_budget_is_refused_by_its_size() -> None:
    settings = Settings(max_response_bytes=100_000)
    body = {"surface": "bowl", "steps": 2_000, "tolerance": 0, "runs": [{"optimizer": "sgd"}] * 4}
    with TestClient(create_app(settings)) as client:
        error = _one_error(client.post("/api/v1/traces?format=ndjson", json=body))
        assert error["loc"] == ["body", "steps"] and "at most 0.1 MB per response" in error["msg"]


NET = {"dataset": {"csv": CSV_2000, "target": "c"}, "hidden": [32, 32], "batch_size": 64, "epochs": 50}


@pytest.mark.parametrize("path", ["/api/v1/traces/network", "/api/v1/networks/landscape"])
def test_a_network_over_the_work_budget_names_epochs(small: TestClient, path: str) -> None:
    body = {"config": NET} if "landscape" in path else NET
    error = _one_error(small.post(path, json=body))
    assert error["loc"][-1] == "epochs" and "multiply-adds" in error["msg"], error


def test_a_network_trace_within_budget_is_served(small: TestClient) -> None:
    body = {**NET, "hidden": [4], "epochs": 2, "grid_size": 5}
    response = small.post("/api/v1/traces/network", json=body)
    assert response.status_code == 200, response.text
    assert len(response.json()["epochs"]) == 2


def test_a_stream_refuses_a_network_whose_single_update_is_over_the_frame_budget(small: TestClient) -> None:
    config = {**NET, "hidden": [4], "grid_size": 200, "every": 1}
    with small.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "kind": "network", "config": config})
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "invalid_config"
        assert error["field"] == "config.batch_size" and "a frame may hold at most" in error["message"]


# ------------------------------------------------------------------------------------------ the pool


def test_the_pool_refuses_at_once_when_every_slot_and_the_line_are_taken() -> None:
    release = threading.Event()

    async def scenario() -> tuple[list[str], bool]:
        pool = ComputePool("thread", workers=1, queue=1)
        running = [asyncio.ensure_future(pool.run(release.wait, 10)) for _ in range(2)]
        await asyncio.sleep(0.05)
        refused = False
        try:
            await pool.run(release.wait, 10)
        except Busy:
            refused = True
        release.set()
        return [str(r) for r in await asyncio.gather(*running)], refused

    with ThreadPoolExecutor(1) as thread:  # a loop of its own: the browser tests keep one running here
        results, refused = thread.submit(asyncio.run, scenario()).result()
    assert refused and results == ["True", "True"]


def test_busy_is_a_503_with_retry_after() -> None:
    settings = Settings(compute_mode="thread", compute_workers=1, compute_queue=0)
    app = create_app(settings)
    with TestClient(app) as client:
        app.state.compute._admitted = 1  # the one slot is taken
        response = client.post("/api/v1/traces", json={"runs": [{"optimizer": "sgd"}]})
        app.state.compute._admitted = 0
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.json()["detail"][0]["type"] == "busy"


def test_threads_and_processes_give_the_same_bytes() -> None:
    body = {"surface": "himmelblau", "steps": 50, "runs": [{"optimizer": "adam"}, {"optimizer": "sgd"}]}
    answers = []
    for mode in ("thread", "process"):
        with TestClient(create_app(Settings(compute_mode=mode))) as client:
            answers.append(client.post("/api/v1/traces?format=csv", json=body).content)
    assert answers[0] == answers[1] and answers[0].startswith(b"run,optimizer,step")


# ------------------------------------------------------------------------------------------ streams


def _frames_until(ws, kind: str, limit: int = 2_000) -> list[dict]:
    frames = []
    for _ in range(limit):
        frame = json.loads(ws.receive_text())
        frames.append(frame)
        if frame["type"] == kind:
            return frames
    raise AssertionError(f"no {kind!r} within {limit} frames: {[f['type'] for f in frames[-5:]]}")


def test_step_n_sends_bounded_frames_instead_of_one_huge_one() -> None:
    settings = Settings(max_frame_bytes=1_000_000)
    config = {
        "dataset": {"name": "circle", "n": 200},
        "hidden": [8],
        "epochs": 200,
        "every": 1,
        "grid_size": 120,
    }
    with TestClient(create_app(settings)) as client, client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "kind": "network", "config": config, "paused": True})
        assert ws.receive_json()["type"] == "started"
        ws.send_json({"type": "step", "n": 100})
        sizes, epochs = [], 0
        for _ in range(1_000):
            text = ws.receive_text()
            frame = json.loads(text)
            if frame["type"] == "state":
                break
            sizes.append(len(text))
            if frame["type"] == "epoch":
                epochs += len(frame["records"])
        assert max(sizes) <= 1_000_000 and len(sizes) > 5
        assert epochs == 100 // -(-160 // 32)  # 100 iterations of 5 per epoch (160 training rows)


def test_a_paced_stream_that_cannot_keep_its_speed_says_so() -> None:
    config = {"dataset": {"csv": CSV_2000, "target": "c"}, "hidden": [32, 32], "batch_size": 2_000,
              "epochs": 10_000, "every": 10_000, "grid_size": 5}  # fmt: skip
    with TestClient(create_app()) as client, client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "kind": "network", "config": config, "speed": 100_000})
        lag = _frames_until(ws, "lag")[-1]
        assert lag["speed"] == 100_000 and 0 < lag["achieved"] < 100_000


WORKER_PID_SCRIPT = """
import asyncio, os, sys, time
from app.web.compute import ComputePool

async def main():
    pool = ComputePool("process", workers=1, queue=0)
    print(await pool.run(os.getpid), flush=True)
    time.sleep(60)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_compute_workers_end_when_their_server_is_killed(tmp_path) -> None:
    script = tmp_path / "server.py"
    script.write_text(WORKER_PID_SCRIPT)
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(server.stdout.readline())
        assert _alive(worker)
    finally:
        server.kill()
        server.wait(10)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "a compute worker outlived its killed server"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except FileNotFoundError:
        return False


def test_a_surface_grid_is_cacheable_and_an_error_is_not(small: TestClient) -> None:
    response = small.get("/api/v1/surfaces/rosenbrock?grid=20")
    assert response.status_code == 200 and response.headers["cache-control"] == "public, max-age=3600"
    refused = small.get("/api/v1/surfaces/custom?expression=x**&grid=20")
    assert refused.status_code == 422 and "cache-control" not in refused.headers
