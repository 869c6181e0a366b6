"""Live-stream figures against a real Uvicorn server on 127.0.0.1 (bounded in count and time).

`python -m benchmarks.stream` prints: one connection's throughput at max speed (one run, and a K=64
learning-rate sweep), fairness (50 clients at max speed: time from each start to its first batch), and
200 connections at 60 steps/s (p50/p99 gap between messages, errors). Clients run in this process,
the server in a subprocess, so both share the machine's two cores as they would in a classroom test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import websockets

from tests.e2e.conftest import free_port

STEPS_PREFIX = '{"type":"steps"'


@contextlib.contextmanager
def server(workers: int = 1) -> Iterator[tuple[str, int]]:
    """A Uvicorn server in a subprocess; yields its ws:// URL and pid once it accepts connections."""
    port = free_port()
    env = {**os.environ, "GDP_IDLE_TIMEOUT_S": "60"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("server did not start within 20 s")
        yield f"ws://127.0.0.1:{port}/api/v1/stream", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _config(runs: int, steps: int, lr: float = 1e-6) -> dict:
    """Runs that never converge early (tiny lr, tolerance 0), so every step is made and sent."""
    return {
        "surface": "rosenbrock",
        "start": [-1.5, 2.0],
        "steps": steps,
        "tolerance": 0,
        "runs": [
            {"id": f"r{i}", "optimizer": "adam", "hyperparameters": {"lr": lr * (1 + i)}} for i in range(runs)
        ],
    }


async def _open(url: str):
    ws = await websockets.connect(url, max_size=2**26)
    await ws.recv()  # hello
    return ws


async def throughput(url: str, runs: int, steps: int) -> tuple[float, int]:
    """Run-steps per second received by one client at max speed, and the number of steps messages."""
    ws = await _open(url)
    t0 = time.perf_counter()
    await ws.send(json.dumps({"type": "start", "speed": "max", "config": _config(runs, steps)}))
    messages = 0
    while True:
        text = await ws.recv()
        if text.startswith(STEPS_PREFIX):
            messages += 1
        elif text.startswith('{"type":"done"'):
            break
    elapsed = time.perf_counter() - t0
    await ws.close()
    return runs * (steps + 1) / elapsed, messages


async def fairness(url: str, clients: int) -> tuple[list[float], list[float]]:
    """Each client starts a long max-speed run: ms to its first batch, and to its first computed batch."""
    sockets = [await _open(url) for _ in range(clients)]
    first: list[float] = []
    computed: list[float] = []

    async def one(ws) -> None:
        t0 = time.perf_counter()
        await ws.send(json.dumps({"type": "start", "speed": "max", "config": _config(1, 100_000)}))
        seen_first = False
        while True:
            text = await ws.recv()
            if not text.startswith(STEPS_PREFIX):
                continue
            now = (time.perf_counter() - t0) * 1000
            if not seen_first:
                first.append(now)
                seen_first = True
            elif '"step":[0' not in text[:80]:
                computed.append(now)
                return

    await asyncio.gather(*(one(ws) for ws in sockets))
    await asyncio.gather(*(ws.close() for ws in sockets))
    return first, computed


async def many_paced(url: str, clients: int, speed: float, seconds: float) -> tuple[list[float], int, int]:
    """``clients`` sockets at ``speed`` steps/s for ``seconds``: gaps between steps messages (ms), errors."""
    sockets = [await _open(url) for _ in range(clients)]
    gaps: list[float] = []
    errors = 0
    received = 0

    async def one(ws) -> None:
        nonlocal errors, received
        await ws.send(json.dumps({"type": "start", "speed": speed, "config": _config(1, 100_000)}))
        last = None
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=5)
            except (TimeoutError, websockets.ConnectionClosed):
                errors += 1
                return
            if text.startswith('{"type":"error"'):
                errors += 1
            if not text.startswith(STEPS_PREFIX):
                continue
            received += 1
            now = time.perf_counter()
            if last is not None:
                gaps.append((now - last) * 1000)
            last = now

    await asyncio.gather(*(one(ws) for ws in sockets))
    await asyncio.gather(*(ws.close() for ws in sockets))
    return gaps[clients:], errors, received  # drop each client's first gap (start-up)


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else float("nan")


def stream_rows(quick: bool) -> list[tuple[str, str, str]]:
    """The figures as (name, measured, target) rows for benchmarks.run."""
    rows = []
    with server() as (url, _):
        rate, _ = asyncio.run(throughput(url, 1, 20_000 if quick else 100_000))
        rows.append(("stream, 1 connection, 1 run, max speed", f"{rate:,.0f} steps/s", "≥ 500,000"))
        rate, _ = asyncio.run(throughput(url, 32, 2_000 if quick else 10_000))
        rows.append(("stream, 1 connection, K=32 sweep, max speed", f"{rate:,.0f} run-steps/s", "≥ 500,000"))
        first, computed = asyncio.run(fairness(url, 50))
        rows.append(("fairness, 50 clients at max: first batch", f"max {max(first):.0f} ms", "≤ 100 ms"))
        rows.append(("fairness, 50 clients: first computed batch", f"max {max(computed):.0f} ms", ""))
    for workers in (1, 2):
        with server(workers) as (url, _):
            gaps, errors, received = asyncio.run(many_paced(url, 200, 60.0, 4 if quick else 10))
        rows.append(
            (
                f"200 connections × 60 steps/s, {workers} worker(s): gap",
                f"p50 {_pct(gaps, 50):.1f} / p99 {_pct(gaps, 99):.1f} ms",
                "p99 ≤ 50 ms",
            )
        )
        rows.append(
            (f"  … errors, messages received ({workers} worker(s))", f"{errors}, {received:,}", "0 errors")
        )
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    for name, value, target in stream_rows(quick):
        print(f"{name:<48} {value:>28}  {target}")


if __name__ == "__main__":
    main()
