"""Load on one worker (loopback, bounded): 200 live streams plus REST traffic, and memory over 10,000 runs.

`python -m benchmarks.load` prints: message gaps (p50/p99) of 200 sockets at 60 steps/s while REST
traces are requested alongside (their latency p50/p99), errors (must be 0), and the server's resident
memory before and after 10,000 short runs (streamed and REST), which must stay within a stated bound.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx
import websockets

from benchmarks.stream import STEPS_PREFIX, _config, _open, _pct, server

MEMORY_BOUND_MB = 50.0
"""Allowed growth of the server's RSS across 10,000 runs (caches are bounded; sessions are freed)."""


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _paced_client(url: str, seconds: float, gaps: list[float], errors: list[str]) -> None:
    try:
        ws = await _open(url)
        await ws.send(json.dumps({"type": "start", "speed": 60, "config": _config(1, 100_000)}))
        last = None
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            text = await asyncio.wait_for(ws.recv(), timeout=5)
            if text.startswith('{"type":"error"'):
                errors.append(text[:200])
            if not text.startswith(STEPS_PREFIX):
                continue
            now = time.perf_counter()
            if last is not None:
                gaps.append((now - last) * 1000)
            last = now
        await ws.close()
    except (TimeoutError, OSError, websockets.ConnectionClosed) as error:
        errors.append(repr(error))


async def _rest_client(base: str, seconds: float, latencies: list[float], errors: list[str]) -> None:
    body = {"surface": "rosenbrock", "steps": 300, "runs": [{"optimizer": "adam"}, {"optimizer": "sgd"}]}
    end = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        seed = 0
        while time.perf_counter() < end:
            seed += 1  # distinct configs, so the LRU does not answer for the engine
            t0 = time.perf_counter()
            response = await http.post("/api/v1/traces", json={**body, "seed": seed, "noise": 0.1})
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                errors.append(f"HTTP {response.status_code}")


async def mixed(
    url: str, base: str, clients: int, seconds: float
) -> tuple[list[float], list[float], list[str]]:
    gaps: list[float] = []
    latencies: list[float] = []
    errors: list[str] = []
    await asyncio.gather(
        *(_paced_client(url, seconds, gaps, errors) for _ in range(clients)),
        *(_rest_client(base, seconds, latencies, errors) for _ in range(2)),
    )
    return gaps, latencies, errors


async def many_runs(url: str, base: str, runs: int) -> list[str]:
    """``runs`` short runs: half streamed to the end on 20 reused sockets, half as REST traces."""
    errors: list[str] = []
    per_socket = runs // 2 // 20

    async def streamer(k: int) -> None:
        ws = await _open(url)
        for i in range(per_socket):
            config = {**_config(1, 20), "seed": k * 100_000 + i}
            await ws.send(json.dumps({"type": "start", "speed": "max", "config": config}))
            while not (await ws.recv()).startswith('{"type":"done"'):
                pass
        await ws.close()

    async def rest(k: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for i in range(per_socket):
                body = {
                    "surface": "booth",
                    "steps": 20,
                    "seed": k * 100_000 + i,
                    "runs": [{"optimizer": "sgd"}],
                }
                if (await http.post("/api/v1/traces", json=body)).status_code != 200:
                    errors.append("rest")

    await asyncio.gather(*(streamer(k) for k in range(20)), *(rest(k) for k in range(20)))
    return errors


def load_rows(quick: bool) -> list[tuple[str, str, str]]:
    rows = []
    with server(workers=2) as (url, _):  # the deployment this 2-core machine calls for: a worker per core
        base = url.replace("ws://", "http://").removesuffix("/api/v1/stream")
        clients, seconds = (200, 5) if quick else (200, 15)
        gaps, latencies, errors = asyncio.run(mixed(url, base, clients, seconds))
        rows.append(
            (
                f"{clients} sockets × 60 steps/s + REST, 2 workers: gap",
                f"p50 {_pct(gaps, 50):.1f} / p99 {_pct(gaps, 99):.1f} ms",
                "p99 ≤ 50 ms",
            )
        )
        rows.append(
            (
                "REST trace latency under that load",
                f"p50 {_pct(latencies, 50):.0f} / p99 {_pct(latencies, 99):.0f} ms",
                "",
            )
        )
        rows.append(("errors under load", f"{len(errors)}", "0"))
    with server(workers=1) as (url, pid):  # one process, so its RSS is the worker's
        base = url.replace("ws://", "http://").removesuffix("/api/v1/stream")
        runs = 2_000 if quick else 10_000
        before = _rss_mb(pid)
        run_errors = asyncio.run(many_runs(url, base, runs))
        after = _rss_mb(pid)
        rows.append(
            (
                f"server RSS before → after {runs:,} runs",
                f"{before:.0f} → {after:.0f} MB",
                f"growth ≤ {MEMORY_BOUND_MB:.0f} MB",
            )
        )
        rows.append((f"errors over {runs:,} runs", f"{len(run_errors)}", "0"))
    return rows


def main() -> None:
    for name, value, target in load_rows("--quick" in sys.argv):
        print(f"{name:<48} {value:>28}  {target}")


if __name__ == "__main__":
    main()
