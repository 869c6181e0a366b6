"""Convergence maps against their limit: `python -m benchmarks.run --only maps`.

The limit is a bare NumPy loop of the same optimizer on the same K = 40,000 lanes (a 200 × 200 grid of
starts on Himmelblau, 500 steps): the gradient and the update written out inline, no end checks, no
optimizer chain. The map is timed on the same grid with tolerance 0, where no lane ends early, so both do
the same 20 M run-steps; goal ≥ 50 % of the bare rate. Also timed: the map as a learner asks for it
(tolerance 1e-3, lanes that end leave the arrays) and POST /api/v1/maps end to end (validation, pricing,
the compute pool, JSON). Each figure is the best of a few repeats (other processes share the machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.ml.maps import basin_map
from app.ml.surfaces import get_surface

N, STEPS = 200, 500
LANES = N * N
HIMMELBLAU = get_surface("himmelblau")
CASES = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.002, "momentum": 0.9},
    "adam": {"lr": 0.1},
}


def _grid() -> np.ndarray:
    xs = np.linspace(-5.0, 5.0, N)
    points = np.empty((N, N, 2))
    points[..., 0] = xs[None, :]
    points[..., 1] = xs[:, None]
    return points.reshape(-1, 2)


def _himmelblau_grad(p: np.ndarray) -> np.ndarray:
    x, y = p[:, 0], p[:, 1]
    u = x * x + y - 11.0
    v = x + y * y - 7.0
    g = np.empty_like(p)
    g[:, 0] = 4.0 * x * u + 2.0 * v
    g[:, 1] = 2.0 * u + 4.0 * y * v
    return g


def bare_loop(case: str) -> Callable[[], None]:
    """The same optimizer, written out by hand for 40,000 lanes: the fastest NumPy can do it."""
    hp = CASES[case]
    lr = hp["lr"]

    def sgd() -> None:
        p = _grid()
        for _ in range(STEPS):
            p = p - lr * _himmelblau_grad(p)

    def momentum() -> None:
        p, buf, mu = _grid(), None, hp["momentum"]
        for _ in range(STEPS):
            g = _himmelblau_grad(p)
            buf = g if buf is None else mu * buf + g
            p = p - lr * buf

    def adam() -> None:
        b1, b2, eps = 0.9, 0.999, 1e-8
        p = _grid()
        m, v = np.zeros_like(p), np.zeros_like(p)
        for t in range(1, STEPS + 1):
            g = _himmelblau_grad(p)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            p = p - lr / (1 - b1**t) * m / (np.sqrt(v) / np.sqrt(1 - b2**t) + eps)

    return {"sgd": sgd, "momentum": momentum, "adam": adam}[case]


def _best_seconds(work: Callable[[], object], repeats: int) -> float:
    return _best_of(repeats, work)[0]


def _best_of(repeats: int, *works: Callable[[], object]) -> list[float]:
    """The fastest time of each of ``works``, run in turn ``repeats`` times: interleaved, so a burst of
    load from other processes slows both sides of a ratio alike rather than one of them."""
    best = [float("inf")] * len(works)
    for _ in range(repeats):
        for i, work in enumerate(works):
            t0 = time.perf_counter()
            work()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def _optimizer(case: str) -> str:
    return "sgd" if case in ("sgd", "momentum") else case


def maps_rows(quick: bool) -> list[tuple[str, str, str]]:
    repeats = 1 if quick else 5
    rows: list[tuple[str, str, str]] = []
    mega = LANES * STEPS / 1e6
    for case in ("sgd", "momentum", "adam") if not quick else ("adam",):
        worst = basin_map(HIMMELBLAU, _optimizer(case), CASES[case], N, STEPS, tolerance=0.0)
        usual = basin_map(HIMMELBLAU, _optimizer(case), CASES[case], N, STEPS, tolerance=1e-3)
        bare, mapped, learner = _best_of(repeats, bare_loop(case), worst.rows, usual.rows)
        rows.append(
            (f"bare NumPy {case}, K=40,000 lanes × 500 steps", f"{mega / bare:,.1f} M run-steps/s", "")
        )
        rows.append(
            (
                f"map {case} 200×200×500, tolerance 0 (no lane ends)",
                f"{mega / mapped:,.1f} M/s = {bare / mapped:.0%} of bare",
                "≥ 50 %",
            )
        )
        rows.append((f"map {case} 200×200×500, tolerance 1e-3", f"{learner:.2f} s", ""))
    settings = Settings(compute_mode="thread")
    body = {
        "surface": "himmelblau",
        "n": N,
        "steps": STEPS,
        "runs": [{"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.1}}],
    }
    with TestClient(create_app(settings)) as client:

        def post() -> None:
            response = client.post("/api/v1/maps", json=body)
            assert response.status_code == 200, response.text[:300]

        rows.append(("POST /maps adam 200×200×500 (end to end)", f"{_best_seconds(post, repeats):.2f} s", ""))
    return rows
