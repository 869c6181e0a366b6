"""Regenerate ``tests/ml/data/torch_reference.json``: trajectories, schedules and clipping from torch.

Run from the repository root with torch installed (CI does not need it):

    python -m tests.ml.make_torch_reference

Every case records the exact inputs (optimizer name, hyperparameters in our = torch's names,
start, changes made mid-run) so the tests replay them with ``app.ml`` and compare.
The Rosenbrock gradient is written out here in Python floats (the tests use the same
expression in NumPy, which rounds identically), so only optimizer arithmetic can differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.ml.optimizers import GRADIENT_ONLY, OPTIMIZERS, resolve_hyperparameters
from app.ml.surfaces import SURFACES

# torch keeps some optimizer scalars (step, NAdam's mu_product) in the default dtype: make it float64
torch.set_default_dtype(torch.float64)

OUT = Path(__file__).parent / "data" / "torch_reference.json"
STEPS = 150
STARTS = [(-1.5, 2.0), (0.0, 0.5), (1.5, 1.5)]
RECORDED = [t for t in range(1, STEPS + 1) if t <= 5 or t % 5 == 0]
CLASSIC = [
    name
    for name, spec in OPTIMIZERS.items()
    if not spec.evaluating and name not in {s.name for s in GRADIENT_ONLY}
]
"""The classic torch.optim set: first-order chains (the evaluating optimizers have their own sections)."""

TORCH_CLASS = {name: getattr(torch.optim, OPTIMIZERS[name].torch_class) for name in CLASSIC}

# name -> non-default hyperparameter sets (the defaults are always a case too)
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "sgd": [
        {"lr": 5e-4, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1},
        {"lr": 5e-4, "momentum": 0.7, "nesterov": True, "weight_decay": 0.05},
    ],
    "momentum": [{"lr": 2e-4, "dampening": 0.1, "weight_decay": 0.2}],
    "nesterov": [{"lr": 3e-4, "weight_decay": 0.1}],
    "adagrad": [
        {"lr": 0.2, "lr_decay": 0.01, "initial_accumulator_value": 0.5, "weight_decay": 0.1, "eps": 1e-8}
    ],
    "adadelta": [{"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.1}],
    "rmsprop": [{"lr": 1e-3, "alpha": 0.95, "momentum": 0.5, "centered": True, "weight_decay": 0.1}],
    "rmsprop_centered": [{"lr": 3e-3, "momentum": 0.3, "eps": 1e-6}],
    "rmsprop_momentum": [{"lr": 1e-3, "weight_decay": 0.05}],
    "adam": [{"lr": 0.02, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.1}],
    "adamw": [{"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}],
    "amsgrad": [{"lr": 0.01, "weight_decay": 0.05, "eps": 1e-6}],
    "nadam": [
        {"lr": 0.01, "momentum_decay": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 0.01, "betas": (0.85, 0.995), "weight_decay": 0.1},
    ],
    "radam": [
        {"lr": 5e-4, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 5e-4, "betas": (0.8, 0.99), "weight_decay": 0.1},
    ],
    "adamax": [{"lr": 0.01, "betas": (0.85, 0.99), "weight_decay": 0.1}],
}

# mid-run changes: (optimizer, initial hyperparameters, {step index before which to change: changes})
LIVE: list[tuple[str, dict[str, Any], dict[int, dict[str, Any]]]] = [
    (
        "sgd",
        {"lr": 1e-3},
        {30: {"momentum": 0.9}, 60: {"lr": 5e-4}, 90: {"momentum": 0.0}, 110: {"momentum": 0.5}},
    ),
    ("adam", {"lr": 0.01}, {50: {"lr": 1e-3}, 100: {"betas": (0.8, 0.99), "lr": 0.02}}),
    ("rmsprop_momentum", {"lr": 1e-3}, {50: {"momentum": 0.5}, 100: {"lr": 3e-3, "momentum": 0.0}}),
    ("nadam", {"lr": 0.01}, {50: {"lr": 2e-3}, 100: {"momentum_decay": 0.01}}),
]

SCHEDULE_CASES: list[tuple[str, dict[str, float]]] = [
    ("constant", {}),
    ("step", {"step_size": 30, "gamma": 0.5}),
    ("exponential", {"gamma": 0.98}),
    ("cosine", {"T_max": 50, "eta_min": 0.001}),
    ("cosine", {"T_max": 70, "eta_min": 0.0}),
    ("warmup", {"start_factor": 0.1, "total_iters": 20}),
    ("warmup_cosine", {"start_factor": 0.05, "total_iters": 10, "T_max": 60, "eta_min": 0.002}),
]
SCHEDULE_STEPS = 200
BASE_LR = 0.1


def rosenbrock_grad(x: float, y: float) -> list[float]:
    """Gradient of (1 - x)^2 + 100 (y - x^2)^2, same operation order as the tests."""
    return [-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)]


def _torch_kwargs(h: dict[str, Any]) -> dict[str, Any]:
    return {k: (tuple(v) if k == "betas" else v) for k, v in h.items()}


def _jsonable(h: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in h.items()}


def run_torch(name: str, h: dict[str, Any], start: tuple[float, float], changes: dict[int, dict[str, Any]]):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = TORCH_CLASS[name]([p], foreach=False, **_torch_kwargs(resolve_hyperparameters(name, h)))
    out = []
    for t in range(1, STEPS + 1):
        for key, value in changes.get(t - 1, {}).items():
            opt.param_groups[0][key] = value
        x, y = p.detach().tolist()
        p.grad = torch.tensor(rosenbrock_grad(x, y), dtype=torch.float64)
        opt.step()
        if t in RECORDED:
            pos = p.detach().tolist()
            assert all(np.isfinite(pos)) and max(map(abs, pos)) < 10, (name, h, start, t, pos)
            out.append(pos)
    return out


def trajectories() -> list[dict[str, Any]]:
    cases = []
    for name in TORCH_CLASS:
        for h in [{}, *VARIANTS[name]]:
            cases.append(
                {
                    "optimizer": name,
                    "hyperparameters": _jsonable(h),
                    "starts": [list(s) for s in STARTS],
                    "positions": [run_torch(name, h, s, {}) for s in STARTS],
                }
            )
    return cases


def live_changes() -> list[dict[str, Any]]:
    return [
        {
            "optimizer": name,
            "hyperparameters": _jsonable(h),
            "changes": {str(k): _jsonable(v) for k, v in changes.items()},
            "start": list(STARTS[0]),
            "positions": run_torch(name, h, STARTS[0], changes),
        }
        for name, h, changes in LIVE
    ]


def _torch_scheduler(name: str, opt: torch.optim.Optimizer, p: dict[str, float]):
    sched = torch.optim.lr_scheduler
    if name == "constant":
        return sched.LambdaLR(opt, lambda t: 1.0)
    if name == "step":
        return sched.StepLR(opt, step_size=int(p["step_size"]), gamma=p["gamma"])
    if name == "exponential":
        return sched.ExponentialLR(opt, gamma=p["gamma"])
    if name == "cosine":
        return sched.CosineAnnealingLR(opt, T_max=int(p["T_max"]), eta_min=p["eta_min"])
    if name == "warmup":
        return sched.LinearLR(opt, start_factor=p["start_factor"], total_iters=int(p["total_iters"]))
    warm = int(p["total_iters"])
    return sched.SequentialLR(
        opt,
        [
            sched.LinearLR(opt, start_factor=p["start_factor"], total_iters=warm),
            sched.CosineAnnealingLR(opt, T_max=int(p["T_max"]), eta_min=p["eta_min"]),
        ],
        milestones=[warm],
    )


def schedules() -> list[dict[str, Any]]:
    cases = []
    for name, params in SCHEDULE_CASES:
        w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([w], lr=BASE_LR)
        sched = _torch_scheduler(name, opt, params)
        lrs = []
        for _ in range(SCHEDULE_STEPS):
            lrs.append(opt.param_groups[0]["lr"])  # the lr the next update uses
            w.grad = torch.zeros(1, dtype=torch.float64)
            opt.step()
            sched.step()
        cases.append({"schedule": name, "params": params, "base_lr": BASE_LR, "lrs": lrs})
    return cases


def clipping() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    grads = (
        rng.standard_normal((8, 3)) * np.array([[0.1], [0.5], [1], [2], [5], [10], [0.01], [3]])
    ).tolist()
    max_norm, clip_value = 1.5, 0.7
    by_norm, by_value = [], []
    for row in grads:
        p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(row, dtype=torch.float64)
        torch.nn.utils.clip_grad_norm_([p], max_norm)
        by_norm.append(p.grad.tolist())
        p.grad = torch.tensor(row, dtype=torch.float64)
        torch.nn.utils.clip_grad_value_([p], clip_value)
        by_value.append(p.grad.tolist())
    return {
        "grads": grads,
        "max_norm": max_norm,
        "clip_value": clip_value,
        "by_norm": by_norm,
        "by_value": by_value,
    }


# --------------------------------------------------------------------------- gradient-only optimizers
# Rprop, ASGD, Adafactor (torch.optim) and Lion, Schedule-Free SGD/AdamW, Prodigy (their pip packages,
# installed with --no-deps next to torch) on three surfaces, with the auxiliary columns each one declares.
# The gradients come from app.ml.surfaces itself on one-row arrays, exactly what the tests feed our code.

SURFACE_STEPS = 100
SURFACE_RECORDED = [t for t in range(0, SURFACE_STEPS + 1) if t <= 5 or t % 5 == 0]
SURFACE_NAMES = ("rosenbrock", "beale", "himmelblau")
SURFACE_STARTS: dict[str, list[tuple[float, float]]] = {
    "rosenbrock": [(-1.5, 2.0), (0.5, -0.5)],
    "beale": [(1.0, 1.5), (-1.0, -1.0)],
    "himmelblau": [(-0.3, -0.9), (1.0, 1.0)],
}
# every case, defaults ({}) included where they do not diverge on these surfaces (ASGD's lr 0.01 and
# Schedule-Free SGD's lr 1.0 do on Rosenbrock)
GRADIENT_CASES: dict[str, list[dict[str, Any]]] = {
    "rprop": [{}, {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-4, 0.5)}, {"lr": 1e-3}],
    "asgd": [
        {"lr": 5e-4},
        {"lr": 2e-3, "lambd": 0.01, "alpha": 0.6, "t0": 20.0, "weight_decay": 0.1},
        {"lr": 1e-3, "t0": 0.0},
    ],
    "adafactor": [
        {},
        {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-10, 1e-2), "d": 2.0, "weight_decay": 0.1},
        {"lr": 0.3},
    ],
    "lion": [{}, {"lr": 1e-3, "betas": (0.8, 0.95), "weight_decay": 0.1}, {"lr": 3e-2}],
    "schedule_free_sgd": [
        {"lr": 1e-3},
        {"lr": 1e-3, "momentum": 0.8, "warmup_steps": 10, "r": 0.5, "weight_lr_power": 1.0},
        {"lr": 2e-4, "weight_decay": 0.1},
    ],
    "schedule_free_adamw": [
        {},
        {"lr": 0.02, "betas": (0.85, 0.99), "eps": 1e-6, "warmup_steps": 5, "r": 1.0},
        {"lr": 0.01, "weight_decay": 0.05, "weight_lr_power": 0.0},
    ],
    "prodigy": [
        {},
        {"lr": 0.5, "betas": (0.8, 0.99), "beta3": 0.9, "d0": 1e-3, "d_coef": 0.5, "growth_rate": 1.1},
        {"use_bias_correction": True, "safeguard_warmup": True, "weight_decay": 0.1},
        {"weight_decay": 0.05, "decouple": False, "eps": 1e-6},
    ],
}
GRADIENT_LIVE: list[tuple[str, dict[str, Any], dict[int, dict[str, Any]]]] = [
    ("asgd", {"lr": 2e-3, "t0": 10.0}, {30: {"lr": 1e-3}, 60: {"lambd": 0.01}}),
    ("lion", {"lr": 1e-3}, {40: {"lr": 3e-4, "betas": (0.8, 0.9)}}),
    ("schedule_free_adamw", {"lr": 0.01}, {30: {"lr": 0.02}, 60: {"betas": (0.8, 0.999)}}),
    ("prodigy", {}, {40: {"lr": 0.5, "d_coef": 2.0}}),
]


def _reference_class(name: str):
    """The reference optimizer class of one of ours (imported here: the packages are optional)."""
    spec = OPTIMIZERS[name]
    if spec.package == "torch":
        return getattr(torch.optim, spec.torch_class)
    module = __import__(spec.module, fromlist=[spec.torch_class])
    return getattr(module, spec.torch_class)


def _reference_kwargs(name: str, h: dict[str, Any]) -> dict[str, Any]:
    """Our resolved values as the reference's arguments (tuples, None for eps1 and growth_rate inf)."""
    values = _torch_kwargs(resolve_hyperparameters(name, h))
    for key in ("etas", "step_sizes", "eps") if name in ("rprop", "adafactor") else ():
        if key in values:
            values[key] = tuple(values[key])
    if name == "adafactor" and values["eps"][0] == float(np.finfo(np.float64).eps):
        values["eps"] = (None, values["eps"][1])  # torch's default, resolved to the same number
    if name == "prodigy" and values["growth_rate"] is None:
        values["growth_rate"] = float("inf")
    if OPTIMIZERS[name].package in ("torch", "schedulefree"):
        values["foreach"] = False  # the single-tensor code path (foreach gives the same numbers)
    return values


def _aux_now(name: str, opt: Any, p: torch.Tensor, t: int) -> dict[str, list[float] | float | None]:
    """The auxiliary columns after step t, read from the reference without disturbing it."""
    if name == "asgd":
        state = opt.state[p]
        return {"ax": None if t == 0 else state["ax"].tolist()}
    if name.startswith("schedule_free"):
        saved = p.detach().clone()
        opt.eval()
        point = p.detach().tolist()
        with torch.no_grad():
            p.copy_(saved)
        opt.param_groups[0]["train_mode"] = True
        return {"eval": point}
    if name == "prodigy":
        return {"d": opt.param_groups[0]["d"]}
    return {}


def run_reference(
    name: str, h: dict[str, Any], surface: str, start: tuple[float, float], changes: dict[int, dict[str, Any]]
) -> dict[str, list[Any]]:
    """Positions (and aux columns) at SURFACE_RECORDED steps of the reference optimizer on a surface."""
    s = SURFACES[surface].build()
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = _reference_class(name)([p], **_reference_kwargs(name, h))
    if name.startswith("schedule_free"):
        opt.train()
    out: dict[str, list[Any]] = {"position": []}
    for t in range(0, SURFACE_STEPS + 1):
        if t > 0:
            for key, value in changes.get(t - 1, {}).items():
                opt.param_groups[0][key] = tuple(value) if isinstance(value, list | tuple) else value
            _, grad = s.value_and_grad(p.detach().numpy()[None, :].copy())
            p.grad = torch.tensor(grad[0], dtype=torch.float64)
            opt.step()
        if t in SURFACE_RECORDED:
            pos = p.detach().tolist()
            assert all(np.isfinite(pos)), (name, h, surface, start, t, pos)
            out["position"].append(pos)
            for key, value in _aux_now(name, opt, p, t).items():
                out.setdefault(key, []).append(value)
    return out


def surface_trajectories() -> list[dict[str, Any]]:
    cases = []
    for spec in GRADIENT_ONLY:
        for h in GRADIENT_CASES[spec.name]:
            for surface in SURFACE_NAMES:
                for start in SURFACE_STARTS[surface]:
                    cases.append(
                        {
                            "optimizer": spec.name,
                            "hyperparameters": _jsonable(h),
                            "surface": surface,
                            "start": list(start),
                            **run_reference(spec.name, h, surface, start, {}),
                        }
                    )
    return cases


def gradient_live_changes() -> list[dict[str, Any]]:
    return [
        {
            "optimizer": name,
            "hyperparameters": _jsonable(h),
            "changes": {str(k): _jsonable(v) for k, v in changes.items()},
            "surface": "rosenbrock",
            "start": list(SURFACE_STARTS["rosenbrock"][0]),
            **run_reference(name, h, "rosenbrock", SURFACE_STARTS["rosenbrock"][0], changes),
        }
        for name, h, changes in GRADIENT_LIVE
    ]


def reference_versions() -> dict[str, str]:
    """The installed version of every reference package (the fixture says what generated it)."""
    from importlib.metadata import version

    return {pkg: version(pkg) for pkg in sorted({spec.package for spec in OPTIMIZERS.values()})}


def build() -> dict[str, Any]:
    return {
        "torch_version": torch.__version__,
        "steps": STEPS,
        "recorded_steps": RECORDED,
        "trajectories": trajectories(),
        "live_changes": live_changes(),
        "schedules": schedules(),
        "clipping": clipping(),
        "reference_versions": reference_versions(),
        "surface_steps": SURFACE_STEPS,
        "surface_recorded_steps": SURFACE_RECORDED,
        "surface_trajectories": surface_trajectories(),
        "gradient_live_changes": gradient_live_changes(),
    }


# --------------------------------------------------------------------------- L-BFGS (closure, evaluations)

LBFGS_OUT = Path(__file__).parent / "data" / "lbfgs_reference.json"
LBFGS_STEPS = 100
LBFGS_SURFACES = {  # surface -> starts (its default start first)
    "rosenbrock": [(-1.5, 2.0), (0.0, 0.5)],
    "beale": [(1.0, 1.5), (-1.0, -1.0)],
    "himmelblau": [(-0.3, -0.9), (4.0, 4.0)],
}
LBFGS_VARIANTS: list[dict[str, Any]] = [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"lr": 0.05, "max_iter": 1},
    {"lr": 0.02, "max_iter": 2, "history_size": 3},
    {"lr": 0.1, "max_iter": 3, "max_eval": 2, "history_size": 5, "tolerance_change": 1e-12},
    {"line_search_fn": "strong_wolfe", "max_iter": 1, "history_size": 2},
    {"line_search_fn": "strong_wolfe", "lr": 0.5, "max_iter": 2, "max_eval": 5, "tolerance_grad": 1e-12},
]


def run_lbfgs(surface: str, h: dict[str, Any], start: tuple[float, float]) -> dict[str, list[Any]]:
    """torch.optim.LBFGS stepped with a closure; the closure takes f and its gradient from ``app.ml``'s
    NumPy surface (the very numbers the tests use), so only the optimizer's arithmetic can differ."""
    from app.ml.surfaces import get_surface

    value_and_grad = get_surface(surface).value_and_grad
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], **resolve_hyperparameters("lbfgs", h))

    def closure() -> torch.Tensor:
        f, g = value_and_grad(p.detach().numpy()[None, :].copy())
        p.grad = torch.tensor(g[0], dtype=torch.float64)
        return torch.tensor(float(f[0]), dtype=torch.float64)

    positions, evaluations = [], []
    for _ in range(LBFGS_STEPS):
        before = opt.state[p].get("func_evals", 0)
        opt.step(closure)
        positions.append(p.detach().tolist())
        evaluations.append(opt.state[p]["func_evals"] - before)
    return {"positions": positions, "evaluations": evaluations}


def lbfgs_cases() -> list[dict[str, Any]]:
    return [
        {"surface": surface, "hyperparameters": h, "start": list(start), **run_lbfgs(surface, h, start)}
        for surface, starts in LBFGS_SURFACES.items()
        for h in LBFGS_VARIANTS
        for start in starts
    ]


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(), separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1000:.0f} kB)")
    reference = {"torch_version": torch.__version__, "steps": LBFGS_STEPS, "cases": lbfgs_cases()}
    LBFGS_OUT.write_text(json.dumps(reference, separators=(",", ":")) + "\n")
    print(f"wrote {LBFGS_OUT} ({LBFGS_OUT.stat().st_size / 1000:.0f} kB)")
