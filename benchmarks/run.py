"""Speed figures of the core and the REST API: `python -m benchmarks.run` prints one table.

Targets (2-core dev machine): single-run Adam on Rosenbrock ≥ 100,000 steps/s through the whole
engine; vectorised K=64 ≥ 3,000,000 run-steps/s; POST /api/v1/traces with 8 optimizers × 1,000 steps
≤ 30 ms median server side. If torch is installed, torch.optim.Adam on the same problem is timed too.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Callable

import numpy as np

from app.config import Settings
from app.ml.run import Descent, RunSpec
from app.ml.surfaces import get_surface
from app.web import serialize
from app.web.schemas import TraceRequest
from app.web.service import compute_trace

ROSENBROCK = get_surface("rosenbrock")
START = [-1.5, 2.0]
RACE8 = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "nadam", "adamax"]


def _best_rate(work: Callable[[], int], repeats: int) -> float:
    """Units per second of the fastest of ``repeats`` runs (the least disturbed by other processes)."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        units = work()
        best = max(best, units / (time.perf_counter() - t0))
    return best


def engine_rate(optimizer: str, k: int, steps: int, repeats: int) -> float:
    """Run-steps per second of Descent (records included) for K runs in one vectorised group."""
    lrs = np.geomspace(1e-4, 1e-3, k)
    specs = [RunSpec(f"r{i}", optimizer, {"lr": float(lr)}) for i, lr in enumerate(lrs)]

    def work() -> int:
        descent = Descent(ROSENBROCK, specs, steps, start=START, tolerance=0.0)
        for _ in descent:
            pass
        return k * steps

    return _best_rate(work, repeats)


def torch_rate(steps: int) -> float | None:
    """torch.optim.Adam steps/s on the same Rosenbrock problem, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    p = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=1e-3)

    def work() -> int:
        for _ in range(steps):
            opt.zero_grad()
            loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
            loss.backward()
            opt.step()
        return steps

    return _best_rate(work, 3)


def trace_latency_ms(repeats: int) -> float:
    """Median server-side time for 8 optimizers × 1,000 steps: validate, compute, serialise to JSON."""
    body = {
        "surface": "rosenbrock",
        "start": START,
        "steps": 1000,
        "tolerance": 0,
        "runs": [{"id": name, "optimizer": name} for name in RACE8],
    }
    settings = Settings()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        request = TraceRequest.model_validate(body)
        result = compute_trace(request, settings)
        serialize.dumps(
            serialize.trace_json(result, request.steps, request.seed, request.noise, request.tolerance)
        )
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def core_rows(quick: bool) -> list[tuple[str, str, str]]:
    """Engine and REST figures."""
    repeats = 2 if quick else 5
    rows: list[tuple[str, str, str]] = []
    for name in ("sgd", "adam"):
        rate = engine_rate(name, 1, 20_000, repeats)
        target = "≥ 100,000" if name == "adam" else ""
        rows.append((f"engine, 1 run, {name}, Rosenbrock", f"{rate:,.0f} steps/s", target))
    for name in ("sgd", "adam"):
        rate = engine_rate(name, 64, 2_000, repeats)
        target = "≥ 3,000,000" if name == "adam" else ""
        rows.append((f"engine, K=64 vectorised, {name}", f"{rate:,.0f} run-steps/s", target))
    torch = torch_rate(5_000)
    rows.append(
        (
            "torch.optim.Adam, 1 run (reference)",
            "not installed" if torch is None else f"{torch:,.0f} steps/s",
            "",
        )
    )
    rows.append(
        (
            "POST /traces 8 opt × 1,000 steps (server)",
            f"{trace_latency_ms(repeats * 4):.1f} ms median",
            "≤ 30 ms",
        )
    )
    return rows


SECTIONS = (
    "core",
    "stream",
    "load",
    "browser",
    "nets",
    "expressions",
    "adversarial",
    "capacity",
    "assets",
    "nginx",
    "maps",
)


def _section(name: str) -> Callable[[bool], list[tuple[str, str, str]]]:
    """The row function of a section, imported only when asked for (the browser one needs Chromium)."""
    if name == "core":
        return core_rows
    module = importlib.import_module(f"benchmarks.{name}")
    return getattr(module, f"{name}_rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and shorter runs (a smoke run)")
    parser.add_argument(
        "--only",
        type=lambda text: text.split(","),
        action="extend",
        help=f"run only these sections (comma-separated; of {', '.join(SECTIONS)})",
    )
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    unknown = set(args.only or ()) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}; sections: {', '.join(SECTIONS)}")
    for name in args.only or SECTIONS:
        try:
            rows.extend(_section(name)(args.quick))
        except ModuleNotFoundError as error:
            rows.append((f"{name} section", f"skipped: {error.name} missing", ""))
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'measured':>30}  target")
    print("-" * (width + 46))
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>30}  {target}")


if __name__ == "__main__":
    main()
