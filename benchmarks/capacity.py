"""Capacity of one worker: 200 paced sockets against our server, and against the limit of a bare one.

`python -m benchmarks.capacity [--quick]` prints one table. 200 WebSocket clients each start a paced
surface stream (60 steps/s, 1 run, 100,000-step budget) on ONE Uvicorn worker for 15 s (5 s quick):
gaps between `steps` messages per client (p50/p99), messages/s in all, errors, /healthz p50/p99
sampled concurrently by a prober in its own process, and the server's CPU time per message while every
socket streams (on a shared machine the rates follow the other work; the CPU per message much less).

The limit: a bare Starlette app under the same Uvicorn settings (one worker, `ws_per_message_deflate`
off, as app.cli runs it) that answers the same `start` with a captured `started` frame and then sends a
captured real `steps` frame (same size and shape) 60 times a second to each of the same 200 clients.
Our messages/s as a share of its messages/s should be ≥ 0.5.

Both servers run in a subprocess; the 200 clients share this process (one asyncio loop, the websockets
library), so they compete with the server for the machine's 2 cores: their CPU use is reported too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import websockets

from benchmarks.adversarial import _served
from benchmarks.stream import STEPS_PREFIX, _config, _open, _pct
from tests.web.live import Prober, free_port, stop_process, summary, wait_port

Row = tuple[str, str, str]
SPEED = 60


# ---------------------------------------------------------------------------------------------- bare app
def bare_app():
    """The limit: hello, then on `start` the captured `started` and a captured `steps` frame at 60/s.

    Also a /healthz (an async JSON answer) so the prober has the same thing to ask both servers.
    """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    frames = json.loads(Path(os.environ["GDP_BARE_FRAMES"]).read_text())
    hello, started, steps = frames["hello"], frames["started"], frames["steps"]

    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(hello)
        pacer: asyncio.Task | None = None

        async def pace() -> None:
            await websocket.send_text(started)
            began, sent = time.monotonic(), 0
            while True:
                await websocket.send_text(steps)
                sent += 1
                await asyncio.sleep(max(0.0, began + sent / SPEED - time.monotonic()))

        try:
            while True:
                message = await websocket.receive_text()
                if pacer is None and json.loads(message).get("type") == "start":
                    pacer = asyncio.create_task(pace())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if pacer is not None:
                pacer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pacer

    async def healthz(request: object) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": "bare", "streams": 0})

    return Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/api/v1/stream", stream)])


@contextlib.contextmanager
def bare_server(frames: dict[str, str]) -> Iterator[tuple[str, int]]:
    """bare_app under Uvicorn in a subprocess, the same settings as app.cli; yields ws:// URL and pid."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(frames, file)
    code = (
        "import uvicorn; uvicorn.run('benchmarks.capacity:bare_app', factory=True, host='127.0.0.1', "
        f"port={port}, workers=1, ws_per_message_deflate=False, log_level='warning')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "GDP_BARE_FRAMES": file.name},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield f"ws://127.0.0.1:{port}/api/v1/stream", proc.pid
    finally:
        stop_process(proc)
        os.unlink(file.name)


async def capture(url: str) -> dict[str, str]:
    """The hello, started and second steps frame (step 1: a real computed step) of a paced stream."""
    ws = await websockets.connect(url, max_size=2**26)
    frames = {"hello": await ws.recv()}
    await ws.send(json.dumps({"type": "start", "speed": SPEED, "config": _config(1, 100_000)}))
    frames["started"] = await ws.recv()
    seen = 0
    while seen < 2:
        text = await ws.recv()
        if text.startswith(STEPS_PREFIX):
            seen += 1
            frames["steps"] = text
    await ws.close()
    return frames


# ---------------------------------------------------------------------------------------------- clients
@dataclass
class Result:
    gaps: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    messages: int = 0
    seconds: float = 0.0
    window_cpu_s: float = 0.0  # the server's CPU time while the messages were counted
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    wall_s: float = 0.0
    healthz: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else float("nan")

    @property
    def cpu_per_message_us(self) -> float:
        """Server CPU time per steps message while every socket streams: what one message costs, which
        other work on the machine changes far less than it changes the rates."""
        return self.window_cpu_s / self.messages * 1e6 if self.messages else float("nan")


async def _client(url: str, end: float, result: Result, counting: list[float]) -> None:
    """One paced socket until ``end``: gaps between steps messages (its first gap, start-up, dropped)."""
    try:
        ws = await _open(url)
        await ws.send(json.dumps({"type": "start", "speed": SPEED, "config": _config(1, 100_000)}))
        last = None
        first_gap = True
        while time.monotonic() < end:
            text = await asyncio.wait_for(ws.recv(), timeout=5)
            if text.startswith('{"type":"error"'):
                result.errors.append(text[:200])
            if not text.startswith(STEPS_PREFIX):
                continue
            now = time.monotonic()
            if counting[0] <= now < counting[1]:
                result.messages += 1
            if last is not None:
                if not first_gap:
                    result.gaps.append((now - last) * 1000)
                first_gap = False
            last = now
        await ws.close()
    except (TimeoutError, OSError, websockets.ConnectionClosed) as error:
        result.errors.append(repr(error))


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_clients(url: str, pid: int, clients: int, seconds: float) -> Result:
    """``clients`` paced sockets for ``seconds`` (after all are connected) with /healthz probed alongside.

    Messages/s count the steps messages received in the middle of the run (from 1 s after the last client
    started to the end), when every socket is streaming.
    """
    port = int(url.split(":")[2].split("/")[0])
    result = Result()
    counting = [float("inf"), float("inf")]

    async def scenario() -> None:
        end = time.monotonic() + seconds + 3  # time to connect 200 sockets, then ``seconds`` of streaming
        tasks = [asyncio.create_task(_client(url, end, result, counting)) for _ in range(clients)]
        counting[:] = [end - seconds, end - 0.1]
        await asyncio.sleep(counting[0] - time.monotonic())
        window_cpu = _cpu_s(pid)
        await asyncio.sleep(counting[1] - time.monotonic())
        result.window_cpu_s = _cpu_s(pid) - window_cpu
        await asyncio.gather(*tasks)

    prober = Prober(port, interval=0.02, timeout=10)
    cpu0, self0, t0 = _cpu_s(pid), _self_cpu_s(), time.monotonic()
    try:
        asyncio.run(scenario())
    finally:
        samples = prober.stop()
    result.wall_s = time.monotonic() - t0
    result.server_cpu_s, result.client_cpu_s = _cpu_s(pid) - cpu0, _self_cpu_s() - self0
    result.seconds = counting[1] - counting[0]
    window = [s for s in samples if counting[0] <= s.began < counting[1]]
    result.healthz = summary(window)
    return result


def capacity_rows(quick: bool) -> list[Row]:
    clients, seconds = 200, 5.0 if quick else 15.0
    load_start = os.getloadavg()
    with _served() as served:  # benchmarks.stream.server, killed if it will not stop
        frames = asyncio.run(capture(served.ws))
        ours = run_clients(served.ws, served.pid, clients, seconds)
    with bare_server(frames) as (url, pid):
        bare = run_clients(url, pid, clients, seconds)
    load_end = os.getloadavg()
    rows: list[Row] = [
        ("machine load (1/5/15 min) at start", " / ".join(f"{x:.2f}" for x in load_start), ""),
        (f"{clients} sockets × {SPEED} steps/s, 1 worker, {seconds:.0f} s: gap", _gaps(ours), "p99 ≤ 50 ms"),
        ("  … messages/s (ours)", f"{ours.rate:,.0f} of {clients * SPEED:,} asked", ""),
        ("  … /healthz alongside (ours)", ours.healthz, "p99 ≤ 100 ms"),
        ("  … errors (ours)", _errors(ours), "0"),
        (
            "  … CPU s/s: server, clients (ours)",
            f"{ours.server_cpu_s / ours.wall_s:.2f}, {ours.client_cpu_s / ours.wall_s:.2f}",
            "",
        ),
        ("  … server CPU per message (ours)", f"{ours.cpu_per_message_us:.0f} µs", ""),
        (f"LIMIT: bare Uvicorn app, same frames ({len(frames['steps'])} B): gap", _gaps(bare), ""),
        ("  … messages/s (bare)", f"{bare.rate:,.0f}", ""),
        ("  … /healthz alongside (bare)", bare.healthz, ""),
        ("  … errors (bare)", _errors(bare), ""),
        (
            "  … CPU s/s: server, clients (bare)",
            f"{bare.server_cpu_s / bare.wall_s:.2f}, {bare.client_cpu_s / bare.wall_s:.2f}",
            "",
        ),
        ("  … server CPU per message (bare)", f"{bare.cpu_per_message_us:.0f} µs", ""),
        ("ours / bare messages/s", f"{ours.rate / bare.rate:.2f}", "≥ 0.5"),
        ("machine load (1/5/15 min) at end", " / ".join(f"{x:.2f}" for x in load_end), ""),
    ]
    return rows


def _gaps(result: Result) -> str:
    return f"p50 {_pct(result.gaps, 50):.1f} / p99 {_pct(result.gaps, 99):.1f} ms"


def _errors(result: Result) -> str:
    if not result.errors:
        return "0"
    return f"{len(result.errors)} (first: {result.errors[0][:60]})"


def main() -> None:
    rows = capacity_rows("--quick" in sys.argv)
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<40}  {target}")


if __name__ == "__main__":
    main()
