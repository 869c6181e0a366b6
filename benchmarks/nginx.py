"""nginx in front of two app processes, on 127.0.0.1: `python -m benchmarks.nginx [--quick]`.

Starts two app processes (`python -m app.cli`, one Uvicorn worker each) on free ports, renders
deploy/nginx.conf with those upstreams and a free listen port into a temporary prefix directory (pid,
logs, temp and cache paths all inside it, so no root paths are needed), checks it with `nginx -t` and runs
`nginx -p <tmp> -c <tmp>/nginx.conf -g 'daemon off;'`. Then, through nginx: GET /playground (gzip),
Plotly (cache MISS then HIT), POST /api/v1/traces (latency, and throughput with concurrent clients),
a trace permalink (cached by nginx), and WebSocket streams at max speed to `done`. The access log tells
which upstream served each request: both must have served some. Every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.e2e.conftest import free_port

NGINX = "/usr/sbin/nginx"
ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx.conf"
START_TIMEOUT_S = 20.0
TRACE = {"surface": "rosenbrock", "steps": 300, "runs": [{"optimizer": "adam"}, {"optimizer": "sgd"}]}


def render(template: str, listen: int, upstreams: list[int], worker_processes: int | None = None) -> str:
    """deploy/nginx.conf with its "# rendered" lines set: listen on 127.0.0.1:``listen``, one server line
    per upstream port (keeping the template's parameters such as max_fails)."""
    out: list[str] = []
    emitted = False
    for line in template.splitlines():
        if "# rendered" in line and line.strip().startswith("server 127.0.0.1:"):
            if not emitted:
                indent = line[: len(line) - len(line.lstrip())]
                params = line.split(";")[0].split()[2:]
                out += [
                    " ".join([f"{indent}server", f"127.0.0.1:{port}", *params]) + ";" for port in upstreams
                ]
                emitted = True
            continue
        if "# rendered" in line and line.strip().startswith("listen "):
            line = re.sub(r"listen [^;]+;", f"listen 127.0.0.1:{listen};", line)
        if worker_processes is not None and line.startswith("worker_processes "):
            line = f"worker_processes {worker_processes};"
        out.append(line)
    if not emitted:
        raise ValueError("the template has no '# rendered' upstream server line")
    return "\n".join(out) + "\n"


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S:.0f} s")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Stack:
    """nginx on ``base`` in front of app processes on ``upstreams``; ``prefix`` holds config and logs."""

    base: str
    upstreams: list[int]
    prefix: Path
    config_test: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/api/v1/stream"

    def served_by(self) -> Counter[int]:
        """Requests per upstream port, from nginx's access log (`upstream=127.0.0.1:PORT`)."""
        text = (self.prefix / "logs" / "access.log").read_text()
        return Counter(int(port) for port in re.findall(r"upstream=127\.0\.0\.1:(\d+)", text))

    def access_log(self) -> str:
        return (self.prefix / "logs" / "access.log").read_text()


@contextlib.contextmanager
def nginx_stack(apps: int = 2, worker_processes: int | None = 1) -> Iterator[Stack]:
    """Start ``apps`` app processes and nginx in front of them; stop all of them on exit."""
    with tempfile.TemporaryDirectory(prefix="gdp-nginx-") as tmp:
        prefix = Path(tmp)
        prefix.chmod(0o755)  # nginx workers drop to "nobody" when started as root: they must reach temp/
        for sub in ("logs", "temp"):
            (prefix / sub).mkdir()
            (prefix / sub).chmod(0o777)
        ports = [free_port() for _ in range(apps)]
        listen = free_port()
        (prefix / "nginx.conf").write_text(render(CONFIG.read_text(), listen, ports, worker_processes))
        stack = Stack(f"http://127.0.0.1:{listen}", ports, prefix)
        env = {**os.environ, "GDP_IDLE_TIMEOUT_S": "60"}
        try:
            for port in ports:
                log = prefix / "logs" / f"app-{port}.log"
                with log.open("w") as out:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "app.cli", "--host", "127.0.0.1", "--port", str(port)],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                stack.processes.append(proc)
            nginx = [NGINX, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf")]
            test = subprocess.run([*nginx, "-t"], capture_output=True, text=True, timeout=30)
            stack.config_test = test.stderr.strip()
            if test.returncode != 0:
                raise RuntimeError(f"nginx -t failed: {test.stderr}")
            nginx_log = prefix / "logs" / "nginx-stderr.log"
            with nginx_log.open("w") as out:
                proc = subprocess.Popen([*nginx, "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT)
            stack.processes.append(proc)
            for port, app in zip(ports, stack.processes, strict=False):
                _wait_port(port, app, f"app on {port}", prefix / "logs" / f"app-{port}.log")
            _wait_port(listen, proc, "nginx", nginx_log)
            yield stack
        finally:
            for proc in reversed(stack.processes):  # nginx first (SIGQUIT: graceful), then the apps
                _stop(proc, signal.SIGQUIT if proc.args[0] == NGINX else signal.SIGTERM)


def stream_to_done(ws_url: str, steps: int, seed: int = 0) -> tuple[float, int]:
    """One WebSocket descent at max speed through ``ws_url``: (run-steps per second, steps messages)."""
    config = {**TRACE, "steps": steps, "tolerance": 0, "seed": seed}
    config["runs"] = [{"id": "a", "optimizer": "adam", "hyperparameters": {"lr": 1e-6}}]
    with connect(ws_url, max_size=2**26, open_timeout=10, close_timeout=5) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello", hello
        t0 = time.perf_counter()
        ws.send(json.dumps({"type": "start", "config": config, "speed": "max"}))
        messages = 0
        while True:
            text = ws.recv(timeout=30)
            if text.startswith('{"type":"steps"'):
                messages += 1
            elif text.startswith('{"type":"done"'):
                break
            elif text.startswith('{"type":"error"'):
                raise RuntimeError(text[:300])
        return (steps + 1) / (time.perf_counter() - t0), messages


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values or [float("nan")])[0]


def _timed(fn, n: int) -> list[float]:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _post_throughput(base: str, clients: int, seconds: float) -> tuple[int, list[str]]:
    """POST /api/v1/traces back to back from ``clients`` threads for ``seconds``: (completed, errors)."""
    done: list[int] = []
    errors: list[str] = []
    end = time.perf_counter() + seconds

    def client(k: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            i = 0
            while time.perf_counter() < end:
                i += 1
                response = http.post(
                    "/api/v1/traces", json={**TRACE, "seed": k * 1_000_000 + i, "noise": 0.1}
                )
                (done if response.status_code == 200 else errors).append(response.status_code)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return len(done), [str(e) for e in errors]


def nginx_rows(quick: bool) -> list[tuple[str, str, str]]:
    """Latency and throughput through nginx in front of two app processes, and who served what."""
    if not shutil.which(NGINX):
        return [("nginx section", f"skipped: {NGINX} missing", "")]
    n = 20 if quick else 100
    seconds = 3.0 if quick else 10.0
    rows: list[tuple[str, str, str]] = []
    with nginx_stack(apps=2) as stack, httpx.Client(base_url=stack.base, timeout=30) as http:
        rows.append(("nginx -t on the rendered deploy/nginx.conf", "ok", "ok"))
        gz = {"accept-encoding": "gzip"}
        page = http.get("/playground", headers=gz)
        assert page.status_code == 200 and page.headers.get("content-encoding") == "gzip"
        times = _timed(lambda _: http.get("/playground", headers=gz).raise_for_status(), n)
        rows.append(
            (
                "GET /playground via nginx (gzip)",
                f"p50 {_pct(times, 50):.1f} / p99 {_pct(times, 99):.1f} ms",
                f"{page.num_bytes_downloaded:,} B",
            )
        )
        plotly = re.search(r'src="(/static/[0-9a-f]{12}/vendor/plotly\.min\.js)"', page.text)
        assert plotly, "versioned Plotly URL on the page"
        with http.stream("GET", plotly.group(1), headers=gz) as first:
            first_bytes = sum(len(chunk) for chunk in first.iter_raw())
            first_status = first.headers.get("x-cache-status", "-")
        t0 = time.perf_counter()
        second = http.get(plotly.group(1), headers=gz)
        hit_ms = (time.perf_counter() - t0) * 1000
        rows.append(
            (
                "Plotly via nginx: bytes, cache first → second",
                f"{first_bytes:,} B, {first_status} → {second.headers.get('x-cache-status')}",
                "≤ 1,600,000 B, HIT",
            )
        )
        rows.append(("Plotly from nginx's cache (HIT)", f"{hit_ms:.1f} ms", ""))
        times = _timed(
            lambda i: http.post("/api/v1/traces", json={**TRACE, "seed": 10_000 + i}).raise_for_status(), n
        )
        rows.append(
            (
                "POST /api/v1/traces 2 runs × 300 steps via nginx",
                f"p50 {_pct(times, 50):.1f} / p99 {_pct(times, 99):.1f} ms",
                "",
            )
        )
        completed, errors = _post_throughput(stack.base, 4, seconds)
        rows.append(
            (
                "POST /api/v1/traces, 4 clients, 2 app processes",
                f"{completed / seconds:,.0f} req/s, {len(errors)} errors",
                "0 errors",
            )
        )
        permalink = http.get("/api/v1/traces", params={"config": _permalink_config()}, headers=gz)
        again = http.get("/api/v1/traces", params={"config": _permalink_config()}, headers=gz)
        rows.append(
            (
                "trace permalink via nginx: cache first → second",
                f"{permalink.headers.get('x-cache-status')} → {again.headers.get('x-cache-status')}",
                "MISS → HIT",
            )
        )
        steps = 20_000 if quick else 100_000
        rates = [stream_to_done(stack.ws_url, steps, seed)[0] for seed in range(4)]
        rows.append(
            (
                "WebSocket via nginx, 1 run at max speed",
                f"{statistics.median(rates):,.0f} steps/s (median of 4)",
                "",
            )
        )
        time.sleep(0.2)  # the access log line of a socket is written when it closes
        served = stack.served_by()
        rows.append(
            (
                "requests served per upstream (access log)",
                " / ".join(f"{served[port]:,}" for port in stack.upstreams),
                "both > 0",
            )
        )
        streams = Counter(
            re.findall(
                r'"GET /api/v1/stream HTTP/1\.1" 101 \d+ upstream=127\.0\.0\.1:(\d+)', stack.access_log()
            )
        )
        rows.append(
            ("WebSocket streams per upstream", " / ".join(f"{streams[str(p)]}" for p in stack.upstreams), "")
        )
    return rows


def _permalink_config() -> str:
    raw = json.dumps({**TRACE, "seed": 424242}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and shorter runs")
    args = parser.parse_args()
    for name, value, target in nginx_rows(args.quick):
        print(f"{name:<50} {value:>36}  {target}")


if __name__ == "__main__":
    main()
