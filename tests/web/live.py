"""Helpers for stall tests and benchmarks: a Uvicorn server in a subprocess, a /healthz prober in another.

The prober runs in a process of its own, so what it measures is the server's answer time and never the
test's own event loop or GIL (a client decoding a 30 MB frame would otherwise delay its probes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

EXPRESSION = "+".join(["(x*y+y*x+x*y+y*x)"] * 12)
"""A valid 215-character custom surface (the limit is 300): every step evaluates 48 products and more."""

PROBE_SCRIPT = r"""
import http.client, select, sys, time
port, interval, timeout = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
conn = None
print("ready", flush=True)
while not select.select([sys.stdin], [], [], interval)[0]:
    began = time.monotonic()
    print("sent", began, flush=True)
    ok = False
    try:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        ok = response.status == 200
    except (OSError, http.client.HTTPException):
        if conn is not None:
            conn.close()
        conn = None
    print("done", began, (time.monotonic() - began) * 1000, int(ok), flush=True)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def stop_process(proc: subprocess.Popen, grace: float = 5) -> None:
    """SIGTERM, then SIGKILL after ``grace`` s: Uvicorn waits for requests in flight, however long."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def app_server(**settings: object) -> Iterator[tuple[str, int]]:
    """`python -m app.cli`, one worker, in a subprocess (GDP_* settings from keywords): base URL, pid."""
    port = free_port()
    env = {**os.environ, "GDP_IDLE_TIMEOUT_S": "60"}
    env.update({f"GDP_{key.upper()}": str(value) for key, value in settings.items()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        stop_process(proc)


@dataclass
class Sample:
    began: float  # time.monotonic() when the probe was sent (one clock for every process on Linux)
    ms: float
    ok: bool


class Prober:
    """GET /healthz every ``interval`` s on one keep-alive connection, from a subprocess, until stop().

    Each answer is reported as it comes, so stop() returns at once even while a probe hangs: the probe
    still waiting is counted as failed, with the time it has waited so far (a lower bound).
    """

    def __init__(self, port: int, interval: float = 0.02, timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE_SCRIPT, str(port), str(interval), str(timeout)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.proc.stdout.readline()  # "ready"
        self.samples: list[Sample] = []
        self._pending: float | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            word, *values = line.split()
            if word == "sent":
                self._pending = float(values[0])
            elif word == "done":
                self.samples.append(Sample(float(values[0]), float(values[1]), values[2] == "1"))
                self._pending = None

    def stop(self) -> list[Sample]:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            with contextlib.suppress(OSError):
                self.proc.stdin.write("stop\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:  # a probe hangs on a stalled server
                pending = self._pending
                self.proc.kill()
                self.proc.wait(timeout=10)
                self._reader.join(timeout=5)
                if pending is not None:
                    self.samples.append(Sample(pending, (time.monotonic() - pending) * 1000, False))
            self._reader.join(timeout=5)
            for stream in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
        return self.samples

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def between(samples: list[Sample], start: float, end: float) -> list[Sample]:
    """The probes sent in [start, end) (a probe sent during the heavy work counts for it however late)."""
    return [s for s in samples if start <= s.began < end]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summary(samples: list[Sample]) -> str:
    ms = [s.ms for s in samples]
    failed = sum(not s.ok for s in samples)
    text = f"p50 {pct(ms, 50):.0f} / p99 {pct(ms, 99):.0f} / max {max(ms, default=float('nan')):.0f} ms"
    return text + (f" ({failed} failed)" if failed else "")


def heavy_csv(rows: int = 5_000) -> str:
    """Header a,b,c; c = i % 2, a and b deterministic numbers (a binary task, 4 decimals, ≈ 90 kB)."""
    lines = ["a,b,c"]
    for i in range(rows):
        lines.append(f"{(i * 37 % 1000) / 100 - 5:.4f},{(i * 91 % 997) / 99.7 - 5:.4f},{i % 2}")
    return "\n".join(lines) + "\n"


def heavy_network(rows: int = 5_000, **overrides: object) -> dict:
    """The issue's paced network config: 6 × 32 hidden units, one full-batch iteration per epoch."""
    config = {
        "dataset": {"csv": heavy_csv(rows), "target": "c"},
        "hidden": [32] * 6,
        "batch_size": 100_000,
        "epochs": 10_000,
        "every": 1_000,
        "grid_size": 5,
    }
    config.update(overrides)
    return config


def expression_surface(runs: int, steps: int, expression: str = EXPRESSION) -> dict:
    """``runs`` SGD runs with a tiny lr on the custom surface: none converges or diverges within ``steps``."""
    return {
        "expression": expression,
        "steps": steps,
        "tolerance": 0,
        "runs": [
            {"id": f"r{i}", "optimizer": "sgd", "hyperparameters": {"lr": 1e-9 * (1 + i)}}
            for i in range(runs)
        ],
    }
