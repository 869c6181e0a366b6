"""One heavy client must not stall the worker: /healthz keeps answering while each heavy workload runs.

A real one-worker Uvicorn server in a subprocess (python -m app.cli, as deployed), a prober in another
process GETting /healthz every 20 ms, and ONE client doing a small version of each workload of the stall
issue (each takes the server seconds of compute). The bound is loose on purpose — every probe under
1 s on a shared 2-core machine — and the heavy client must get a correct answer or a clear refusal (a
4xx, or an `error` frame other than `internal_error`), never a 500. Each test is bounded to ~20 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import websockets

from tests.web.live import Prober, Sample, app_server, expression_surface, heavy_network, summary

PROBE_BOUND_MS = 1_000.0


def run_async(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps a loop running on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class Live:
    def __init__(self, base: str) -> None:
        self.base = base
        self.port = int(base.rsplit(":", 1)[1])
        self.ws = base.replace("http://", "ws://") + "/api/v1/stream"


@pytest.fixture
def live() -> Iterator[Live]:
    with app_server() as (base, _):
        yield Live(base)


def assert_responsive(samples: list[Sample], what: str) -> None:
    assert samples, f"no /healthz probe completed during {what}"
    slow = [s for s in samples if not s.ok or s.ms >= PROBE_BOUND_MS]
    assert not slow, f"/healthz stalled during {what}: {summary(samples)}, {len(slow)} of {len(samples)} slow"


def probed(live: Live, work) -> tuple[object, list[Sample]]:
    """``work()`` with /healthz probed every 20 ms alongside; its result and the probes."""
    prober = Prober(live.port, interval=0.02, timeout=10)
    try:
        time.sleep(0.2)
        result = work()
    finally:
        samples = prober.stop()
    return result, samples


async def _connect(url: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, max_size=2**28, open_timeout=10, ping_interval=None)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "hello"
    return ws


async def _stream(url: str, start: dict, seconds: float) -> dict[str, int | list[str]]:
    """Send ``start``, receive for ``seconds``: counts by type, and the error frames' codes."""
    ws = await _connect(url)
    seen: dict[str, int | list[str]] = {"errors": []}
    await ws.send(json.dumps(start))
    end = time.monotonic() + seconds
    try:
        while (left := end - time.monotonic()) > 0:
            message = json.loads(await asyncio.wait_for(ws.recv(), left))
            seen[message["type"]] = seen.get(message["type"], 0) + 1
            if message["type"] == "error":
                seen["errors"].append(message["code"])
    except TimeoutError:
        pass
    finally:
        ws.transport.abort()  # no closing handshake: a stalled server would not answer it
    return seen


def assert_served_or_refused(seen: dict, data: str) -> None:
    assert "internal_error" not in seen["errors"], seen
    assert seen.get(data, 0) > 0 or seen["errors"], f"neither {data} nor an error frame: {seen}"


def test_a_paced_heavy_network_stream_does_not_stall_the_worker(live: Live) -> None:
    start = {"type": "start", "kind": "network", "speed": 150, "config": heavy_network()}
    seen, samples = probed(live, lambda: run_async(_stream(live.ws, start, 4.0)))
    assert_responsive(samples, "a paced network stream at 150 iterations/s")
    assert_served_or_refused(seen, "iterations")


def test_a_fast_stream_of_an_expensive_expression_does_not_stall_the_worker(live: Live) -> None:
    start = {"type": "start", "speed": 100_000, "config": expression_surface(32, 100_000)}
    seen, samples = probed(live, lambda: run_async(_stream(live.ws, start, 3.0)))
    assert_responsive(samples, "a surface stream at 100,000 steps/s of 32 runs on a long expression")
    assert_served_or_refused(seen, "steps")


def test_a_step_of_many_heavy_iterations_does_not_stall_the_worker(live: Live) -> None:
    async def scenario() -> dict:
        ws = await _connect(live.ws)
        start = {"type": "start", "kind": "network", "speed": 150, "paused": True, "config": heavy_network()}
        await ws.send(json.dumps(start))
        while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "started":
            pass
        await ws.send(json.dumps({"type": "step", "n": 50}))
        got: dict = {"iterations": 0, "errors": [], "state": False}
        try:
            while not got["state"]:
                message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if message["type"] == "iterations":
                    got["iterations"] += len(message["columns"]["iteration"])
                elif message["type"] == "error":
                    got["errors"].append(message["code"])
                    break
                elif message["type"] == "state":
                    got["state"] = True
        except TimeoutError:
            pass
        ws.transport.abort()
        return got

    got, samples = probed(live, lambda: run_async(scenario()))
    assert_responsive(samples, "step n=50 on a paused 6 × 32 full-batch network")
    assert "internal_error" not in got["errors"], got
    assert got["errors"] or (got["state"] and got["iterations"] == 50), got


def _post(live: Live, path: str, body: bytes, timeout: float = 15) -> tuple[int | None, bytes, float]:
    t0 = time.monotonic()
    try:
        response = httpx.post(
            live.base + path, content=body, headers={"content-type": "application/json"}, timeout=timeout
        )
    except httpx.TimeoutException:
        return None, b"", time.monotonic() - t0
    return response.status_code, response.content, time.monotonic() - t0


def test_a_multi_megabyte_json_body_does_not_stall_the_worker(live: Live) -> None:
    body = json.dumps({"runs": [{"optimizer": "sgd"}] * 100_000}).encode()  # 2.2 MB, refused either way
    (status, _, _), samples = probed(live, lambda: _post(live, "/api/v1/traces", body))
    assert_responsive(samples, f"parsing a {len(body) / 1e6:.1f} MB body")
    assert status is not None and 400 <= status < 500, status


def test_a_network_trace_with_a_fine_grid_every_epoch_does_not_stall_the_worker(live: Live) -> None:
    body = json.dumps(heavy_network(epochs=10, every=1, grid_size=200)).encode()
    (status, content, _), samples = probed(live, lambda: _post(live, "/api/v1/traces/network", body))
    assert_responsive(samples, "a network trace with a 200 × 200 grid every epoch")
    assert status == 200 or (status is not None and 400 <= status < 500), status
    if status == 200:
        assert len(json.loads(content)["epochs"]) == 10


def test_a_long_trace_on_an_expensive_expression_does_not_stall_the_worker(live: Live) -> None:
    body = json.dumps(expression_surface(1, 5_000)).encode()
    (status, _, _), samples = probed(live, lambda: _post(live, "/api/v1/traces", body))
    assert_responsive(samples, "a 5,000-step trace on a 215-character expression")
    assert status == 200 or (status is not None and 400 <= status < 500), status


def _message(body: object) -> str:
    """The human sentence of an error body: FastAPI's {"detail": "..."} or [{"msg": ...}], or "message"."""
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return next((m for m in map(_message, body) if m), "")
    if isinstance(body, dict):
        return next((m for k in ("detail", "message", "msg") if (m := _message(body.get(k)))), "")
    return ""


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_parsed(live: Live) -> None:
    body = b'{"runs": [' + b'{"optimizer": "sgd"}, ' * 1_000_000 + b'{"optimizer": "sgd"}]}'  # 22 MB
    status, content, took = _post(live, "/api/v1/traces", body, timeout=10)
    assert status == 413
    assert _message(json.loads(content)), content[:200]
    assert took < 1.0, f"a {len(body) / 1e6:.0f} MB body took {took:.2f} s to refuse"


def test_a_chunked_body_over_the_limit_is_refused_with_413(live: Live) -> None:
    """Without a Content-Length the limit still holds: the server stops reading at the limit."""

    def chunks() -> Iterator[bytes]:
        yield b'{"runs": ['
        for _ in range(20):
            yield b'{"optimizer": "sgd"}, ' * 50_000  # 1.1 MB a chunk
        yield b'{"optimizer": "sgd"}]}'

    t0 = time.monotonic()
    try:
        response = httpx.post(
            live.base + "/api/v1/traces",
            content=chunks(),
            headers={"content-type": "application/json"},
            timeout=10,
        )
    except httpx.TimeoutException:
        pytest.fail("no answer within 10 s to a chunked 22 MB body")
    took = time.monotonic() - t0
    assert response.status_code == 413
    assert _message(response.json()), response.text[:200]
    assert took < 1.0, f"a chunked 22 MB body took {took:.2f} s to refuse"


def test_a_class_of_paced_sockets_streams_on_one_worker(live: Live) -> None:
    """50 learners at 60 steps/s on one worker (the benchmark runs 200 and holds the tight figures):
    every socket streams (none starves), nobody gets an error, and /healthz keeps answering."""
    config = {
        "surface": "rosenbrock",
        "start": [-1.5, 2.0],
        "steps": 100_000,
        "tolerance": 0,
        "runs": [{"id": "r", "optimizer": "adam", "hyperparameters": {"lr": 1e-6}}],
    }
    start = {"type": "start", "speed": 60, "config": config}

    async def scenario() -> list[dict]:
        return await asyncio.gather(*(_stream(live.ws, start, 3.0) for _ in range(50)))

    seen, samples = probed(live, lambda: run_async(scenario()))
    assert_responsive(samples, "50 paced sockets")
    assert all(not s["errors"] for s in seen), [s["errors"] for s in seen if s["errors"]][:3]
    steps = sorted(int(s.get("steps", 0)) for s in seen)  # a busy machine sends fewer, fuller messages
    assert steps[0] >= 15 and steps[0] >= steps[25] / 3, f"a socket starved: {steps[0]}, median {steps[25]}"
