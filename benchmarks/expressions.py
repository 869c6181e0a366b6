"""Per-step cost of a typed (custom) surface against a built-in one: `python -m benchmarks.expressions`.

Target (2-core dev machine): one SGD run through the whole engine on the custom expression
``(x*y+y*x+x*y+y*x)+…`` (12 copies, 191 parts) costs at most 3× a step on built-in Rosenbrock.
Both are timed alternately, each figure the best of several repeats, so load from other processes
disturbs them alike and the ratio stays meaningful.
"""

from __future__ import annotations

import time

from app.ml.expressions import custom_surface
from app.ml.run import Descent, RunSpec
from app.ml.surfaces import Surface, get_surface

CUSTOM_TEXT = "+".join(["(x*y+y*x+x*y+y*x)"] * 12)
START = [0.5, 0.5]
RUN = RunSpec("sgd", "sgd", {"lr": 1e-4})


def step_seconds(surface: Surface, steps: int) -> float:
    """Wall time per step of one SGD run, records included, tolerance 0 so it runs all ``steps``."""
    descent = Descent(surface, [RUN], steps, start=START, tolerance=0.0)
    t0 = time.perf_counter()
    for _ in descent:
        pass
    return (time.perf_counter() - t0) / steps


def expressions_rows(quick: bool) -> list[tuple[str, str, str]]:
    """Rosenbrock vs the custom expression, µs per step, and their ratio."""
    steps, repeats = (5_000, 3) if quick else (20_000, 5)
    builtin = get_surface("rosenbrock")
    custom = custom_surface(CUSTOM_TEXT, view=(-1.0, 1.0, -1.0, 1.0))
    best_builtin = best_custom = float("inf")
    for _ in range(repeats):
        best_builtin = min(best_builtin, step_seconds(builtin, steps))
        best_custom = min(best_custom, step_seconds(custom, steps))
    return [
        ("engine, 1 run, sgd, Rosenbrock", f"{best_builtin * 1e6:.1f} µs/step", ""),
        ("engine, 1 run, sgd, custom 12×(x*y+y*x+x*y+y*x)", f"{best_custom * 1e6:.1f} µs/step", ""),
        ("custom expression / built-in, per step", f"{best_custom / best_builtin:.2f}×", "≤ 3×"),
    ]


if __name__ == "__main__":
    for name, measured, target in expressions_rows(quick=False):
        print(f"{name:<52} {measured:>16}  {target}")
