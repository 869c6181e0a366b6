"""Does one heavy client stall the worker? `/healthz` latency while one client does each heavy thing.

`python -m benchmarks.adversarial [--quick]` prints one table. For each workload of the stall issue a
fresh one-worker Uvicorn server is started (benchmarks.stream.server, so one workload's leftover
computation never pollutes the next), a prober in its own process GETs /healthz every 20 ms on its own
keep-alive connection, and ONE client does the heavy thing:

1. a paced network stream (speed 150) on a 5,000-row CSV with 6 × 32 hidden units, full batch; and the
   few seconds after that client disconnects;
2. a surface stream at speed 100,000 of 32 runs on a 215-character custom expression;
3. `step` n=10 then n=100 on the network of 1, started paused;
4. a 10 MB JSON body on POST /api/v1/traces;
5. POST /api/v1/traces/network with every=1, grid_size=200, 400 full-batch epochs;
6. POST /api/v1/traces on the custom expression, 100,000 steps, 1 run.

Each is bounded in wall time (the client gives up; the server is then killed if it will not stop). A
quick 4xx refusal is a pass for stalls; its status is reported. Target: /healthz p99 ≤ 100 ms throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import websockets

from benchmarks.stream import server
from tests.web.live import EXPRESSION, Prober, Sample, between, expression_surface, heavy_network, summary

TARGET = "p99 ≤ 100 ms"
Row = tuple[str, str, str]


@dataclass
class Served:
    ws: str
    base: str
    port: int
    pid: int


def _memory_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM) in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


@contextlib.contextmanager
def _served() -> Iterator[Served]:
    """benchmarks.stream.server, plus SIGKILL if it does not stop in 10 s (it waits for a stalled request)."""
    pid = None
    try:
        with server(1) as (ws, pid):
            base = ws.replace("ws://", "http://").removesuffix("/api/v1/stream")
            yield Served(ws, base, int(base.rsplit(":", 1)[1]), pid)
    except subprocess.TimeoutExpired:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Outcome:
    """What the heavy client saw, as one sentence, plus the window the probes are judged over."""

    text: str
    extra: list[Row] = field(default_factory=list)


def _measure(
    heavy: Callable[[Served], Awaitable[Outcome]], after_s: float = 0.0
) -> tuple[list[Sample], list[Sample], Outcome, tuple[float, float, float]]:
    """Probes during ``heavy`` and for ``after_s`` after it, its outcome, and RSS before/after/peak (MB)."""
    with _served() as srv:
        prober = Prober(srv.port, interval=0.02, timeout=30)
        try:
            time.sleep(0.3)
            before, _ = _memory_mb(srv.pid)
            t0 = time.monotonic()
            outcome = asyncio.run(heavy(srv))
            t1 = time.monotonic()
            after, peak = _memory_mb(srv.pid)
            time.sleep(after_s)
            t2 = time.monotonic()
        finally:
            samples = prober.stop()
    return (
        between(samples, t0, t1),
        between(samples, t1, t2 if after_s else t1),
        outcome,
        (before, after, peak),
    )


# ---------------------------------------------------------------------------------------------- clients
class Frames:
    """Counts what a socket received: messages by type, bytes, the largest frame, the first error."""

    def __init__(self) -> None:
        self.types: dict[str, int] = {}
        self.bytes = 0
        self.largest = 0
        self.error: str | None = None
        self.iterations = 0
        self.closed: str | None = None

    def add(self, text: str) -> str:
        kind = text[9 : text.index('"', 9)] if text.startswith('{"type":"') else "?"
        self.types[kind] = self.types.get(kind, 0) + 1
        self.bytes += len(text)
        self.largest = max(self.largest, len(text))
        if kind == "error" and self.error is None:
            self.error = text[:200]
        if kind == "iterations":
            self.iterations += len(json.loads(text)["columns"]["iteration"])
        return kind

    def brief(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in self.types.items())
        text = f"{kinds}; {self.bytes / 1e6:.1f} MB, largest frame {self.largest / 1e6:.2f} MB"
        if self.error:
            text += f"; first error {self.error}"
        if self.closed:
            text += f"; closed {self.closed}"
        return text


async def _connect(url: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, max_size=2**28, open_timeout=20, ping_interval=None)
    await asyncio.wait_for(ws.recv(), 20)  # hello
    return ws


async def _receive_for(ws: websockets.ClientConnection, frames: Frames, seconds: float) -> float | None:
    """Receive for ``seconds``; the time (s) to the first steps/iterations frame, or None."""
    t0 = time.monotonic()
    first = None
    end = t0 + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            text = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            break
        except websockets.ConnectionClosed as closed:
            frames.closed = f"{closed.rcvd.code} {closed.rcvd.reason}" if closed.rcvd else "no close frame"
            break
        kind = frames.add(text)
        if first is None and kind in ("steps", "iterations"):
            first = time.monotonic() - t0
    return first


def _paced_network(seconds: float) -> Callable[[Served], Awaitable[Outcome]]:
    async def heavy(srv: Served) -> Outcome:
        ws = await _connect(srv.ws)
        frames = Frames()
        start = {"type": "start", "kind": "network", "speed": 150, "config": heavy_network()}
        await ws.send(json.dumps(start))
        first = await _receive_for(ws, frames, seconds)
        await ws.close()
        rate = frames.iterations / seconds
        first_text = "none" if first is None else f"{first:.2f} s"
        return Outcome(
            f"{rate:.0f} iterations/s of 150 asked; first iterations {first_text}; {frames.brief()}"
        )

    return heavy


def _fast_surface(seconds: float) -> Callable[[Served], Awaitable[Outcome]]:
    async def heavy(srv: Served) -> Outcome:
        ws = await _connect(srv.ws)
        frames = Frames()
        start = {"type": "start", "speed": 100_000, "config": expression_surface(32, 100_000)}
        await ws.send(json.dumps(start))
        first = await _receive_for(ws, frames, seconds)
        await ws.close()
        first_text = "none" if first is None else f"{first:.2f} s"
        return Outcome(f"first steps {first_text}; {frames.brief()}")

    return heavy


def _steps(timeout: float) -> Callable[[Served], Awaitable[Outcome]]:
    async def heavy(srv: Served) -> Outcome:
        ws = await _connect(srv.ws)
        frames = Frames()
        start = {"type": "start", "kind": "network", "speed": 150, "paused": True, "config": heavy_network()}
        await ws.send(json.dumps(start))
        while frames.add(await asyncio.wait_for(ws.recv(), timeout)) != "started":
            pass
        parts, extra = [], []
        for n in (10, 100):
            before = frames.iterations
            t0 = time.monotonic()
            await ws.send(json.dumps({"type": "step", "n": n}))
            try:
                while frames.add(await asyncio.wait_for(ws.recv(), timeout)) not in ("state", "error"):
                    pass
                took = f"{time.monotonic() - t0:.2f} s"
            except TimeoutError:
                took = f"no state within {timeout:.0f} s"
            parts.append(f"n={n}: {took}, {frames.iterations - before} iterations")
        await ws.close()
        extra.append(("  … largest frame received (step)", f"{frames.largest / 1e6:.2f} MB", ""))
        return Outcome("; ".join(parts) + (f"; first error {frames.error}" if frames.error else ""), extra)

    return heavy


def _post(path: str, body: bytes, timeout: float) -> Callable[[Served], Awaitable[Outcome]]:
    async def heavy(srv: Served) -> Outcome:
        t0 = time.monotonic()
        try:
            async with httpx.AsyncClient(base_url=srv.base, timeout=timeout) as http:
                response = await http.post(path, content=body, headers={"content-type": "application/json"})
        except httpx.TimeoutException:
            return Outcome(f"no answer within {timeout:.0f} s (client gave up)")
        took = time.monotonic() - t0
        text = f"HTTP {response.status_code} in {took:.2f} s, {len(response.content) / 1e6:.2f} MB"
        if response.status_code >= 400:
            text += f": {response.text[:120]}"
        return Outcome(text)

    return heavy


# ---------------------------------------------------------------------------------------------- table
def _probe_row(name: str, samples: list[Sample]) -> Row:
    return (name, f"healthz {summary(samples)} (n={len(samples)})", TARGET)


def adversarial_rows(quick: bool) -> list[Row]:
    """Six heavy workloads, one fresh server each: /healthz latency and what the heavy client got."""
    stream_s = 4.0 if quick else 10.0
    after_s = 2.0 if quick else 4.0
    timeout = 8.0 if quick else 20.0
    rows: list[Row] = []

    async def idle(_: Served) -> Outcome:
        await asyncio.sleep(2.0 if quick else 4.0)
        return Outcome("")

    during, _, _, _ = _measure(idle)
    rows.append(_probe_row("idle server (baseline)", during))

    during, after, outcome, _ = _measure(_paced_network(stream_s), after_s)
    rows.append(_probe_row(f"1. paced network stream ×150, {stream_s:.0f} s", during))
    rows.append(_probe_row(f"  … {after_s:.0f} s after that client disconnected", after))
    rows.append(("  … heavy client got", outcome.text, ""))

    during, _, outcome, _ = _measure(_fast_surface(stream_s))
    rows.append(_probe_row(f"2. surface stream ×100,000, 32 runs, {len(EXPRESSION)}-char expr", during))
    rows.append(("  … heavy client got", outcome.text, ""))

    during, _, outcome, _ = _measure(_steps(timeout))
    rows.append(_probe_row("3. step n=10, n=100 on the paused network", during))
    rows.append(("  … heavy client got", outcome.text, ""))
    rows.extend(outcome.extra)

    body = json.dumps({"runs": [{"optimizer": "sgd"}] * 500_000}).encode()
    during, _, outcome, rss4 = _measure(_post("/api/v1/traces", body, timeout))
    rows.append(_probe_row(f"4. POST /traces, {len(body) / 1e6:.1f} MB JSON body", during))
    rows.append(("  … heavy client got", outcome.text, ""))

    network = heavy_network(epochs=400, every=1, grid_size=200)
    body = json.dumps(network).encode()
    during, _, outcome, rss5 = _measure(_post("/api/v1/traces/network", body, timeout))
    rows.append(_probe_row("5. POST /traces/network every=1 grid 200 ×400", during))
    rows.append(("  … heavy client got", outcome.text, ""))

    for label, (before, after, peak) in (("4", rss4), ("5", rss5)):
        rows.append(
            (
                f"  … server RSS during workload {label}",
                f"{before:.0f} → {after:.0f} MB (peak {peak:.0f})",
                "",
            )
        )

    body = json.dumps(expression_surface(1, 100_000)).encode()
    during, _, outcome, _ = _measure(_post("/api/v1/traces", body, timeout))
    rows.append(_probe_row("6. POST /traces, expr ×12 (215 chars), 100,000 steps", during))
    rows.append(("  … heavy client got", outcome.text, ""))
    return rows


def print_rows(rows: list[Row]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'measured':<44}  target")
    print("-" * (width + 60))
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<44}  {target}")


def main() -> None:
    print_rows(adversarial_rows("--quick" in sys.argv))


if __name__ == "__main__":
    main()
