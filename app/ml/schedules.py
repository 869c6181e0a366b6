"""Learning-rate schedules (step index -> lr) and their registry, matching ``torch.optim.lr_scheduler``.

A schedule maps ``t`` (0-based: the lr used by the t-th update) to a learning rate.  The
values equal those torch produces when ``scheduler.step()`` is called once after each
``optimizer.step()``; we use the closed forms (torch's chainable forms agree up to rounding).
``base_lr`` may be a ``(K, 1)`` array so a sweep shares one schedule shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from app.ml.errors import ConfigError, UnknownNameError

Schedule = Callable[[int], float | np.ndarray]


@dataclass(frozen=True)
class ScheduleParam:
    name: str
    default: float
    minimum: float
    maximum: float
    description: str
    kind: str = "float"  # "float" | "int"


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    title: str
    params: tuple[ScheduleParam, ...]
    formula: str
    latex: str
    torch: str
    note: str


_GAMMA = ScheduleParam("gamma", 0.5, 0.0, 1.0, "factor the learning rate is multiplied by at each decay")
_STEP_SIZE = ScheduleParam("step_size", 30, 1, 100_000, "number of updates between two decays", "int")
_T_MAX = ScheduleParam(
    "T_max", 100, 1, 100_000, "updates from the full lr down to eta_min (half a cosine)", "int"
)
_ETA_MIN = ScheduleParam("eta_min", 0.0, 0.0, 1e3, "smallest learning rate the cosine reaches")
_START = ScheduleParam(
    "start_factor", 0.1, 1e-6, 1.0, "fraction of the learning rate used by the first update"
)
_WARMUP = ScheduleParam("total_iters", 10, 1, 100_000, "updates spent warming up to the full lr", "int")

SCHEDULES: dict[str, ScheduleSpec] = {
    spec.name: spec
    for spec in (
        ScheduleSpec(
            "constant",
            "Constant",
            (),
            "lr_t = lr",
            r"\eta_t = \eta",
            "no scheduler",
            "The same step size for every update: the plain gradient-descent baseline.",
        ),
        ScheduleSpec(
            "step",
            "Step decay",
            (_STEP_SIZE, ScheduleParam("gamma", 0.1, 0.0, 1.0, _GAMMA.description)),
            "lr_t = lr * gamma ** floor(t / step_size)",
            r"\eta_t = \eta\,\gamma^{\lfloor t / s \rfloor}",
            "torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=0.1)",
            "Big steps first, then smaller ones in jumps: the classic 'divide by 10 every N epochs'.",
        ),
        ScheduleSpec(
            "exponential",
            "Exponential decay",
            (ScheduleParam("gamma", 0.99, 0.0, 1.0, _GAMMA.description),),
            "lr_t = lr * gamma ** t",
            r"\eta_t = \eta\,\gamma^{t}",
            "torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)",
            "Shrinks the step a little every update; too small a gamma stops the descent early.",
        ),
        ScheduleSpec(
            "cosine",
            "Cosine annealing",
            (_T_MAX, _ETA_MIN),
            "lr_t = eta_min + (lr - eta_min) * (1 + cos(pi * t / T_max)) / 2",
            r"\eta_t = \eta_{min} + \tfrac12(\eta - \eta_{min})\left(1 + \cos\tfrac{\pi t}{T_{max}}\right)",
            "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min=0.0)",
            "Smooth decay to eta_min at T_max; beyond T_max it rises again (torch's cosine is periodic).",
        ),
        ScheduleSpec(
            "warmup",
            "Linear warm-up",
            (_START, _WARMUP),
            "lr_t = lr * (start_factor + (1 - start_factor) * min(t, total_iters) / total_iters)",
            r"\eta_t = \eta\left(f_0 + (1 - f_0)\,\tfrac{\min(t, T_w)}{T_w}\right)",
            "torch.optim.lr_scheduler.LinearLR(optimizer, start_factor, end_factor=1.0, total_iters)",
            "Starts gently and ramps up to the full lr: avoids wild first steps of adaptive methods.",
        ),
        ScheduleSpec(
            "warmup_cosine",
            "Warm-up then cosine",
            (_START, _WARMUP, _T_MAX, _ETA_MIN),
            "lr_t = warmup(t) for t < total_iters, else cosine(t - total_iters)",
            r"\eta_t = \begin{cases} \eta\left(f_0 + (1-f_0)\tfrac{t}{T_w}\right) & t < T_w \\ "
            r"\eta_{min} + \tfrac12(\eta - \eta_{min})\left(1 + \cos\tfrac{\pi (t - T_w)}{T_{max}}\right)"
            r" & t \ge T_w \end{cases}",
            "torch.optim.lr_scheduler.SequentialLR(optimizer, [LinearLR(optimizer, start_factor, "
            "total_iters=total_iters), CosineAnnealingLR(optimizer, T_max, eta_min)], "
            "milestones=[total_iters])",
            "The recipe of modern training runs: warm up, then anneal smoothly.",
        ),
    )
}


def _resolve(spec: ScheduleSpec, given: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults filled in; unknown, non-numeric, non-finite or out-of-range values are refused."""
    known = {p.name: p for p in spec.params}
    values: dict[str, float] = {p.name: p.default for p in spec.params}
    for key, raw in (given or {}).items():
        if key not in known:
            raise UnknownNameError(f"parameter of schedule {spec.name!r}", key, known, field=f"params.{key}")
        param = known[key]
        if isinstance(raw, bool) or not isinstance(raw, int | float | np.integer | np.floating):
            raise ConfigError(f"{key} must be a number, got {type(raw).__name__}", field=f"params.{key}")
        value = float(raw)
        if not math.isfinite(value) or not param.minimum <= value <= param.maximum:
            raise ConfigError(
                f"{key} must be between {param.minimum} and {param.maximum}, got {raw}", field=f"params.{key}"
            )
        if param.kind == "int":
            if value != int(value):
                raise ConfigError(f"{key} must be a whole number, got {raw}", field=f"params.{key}")
            value = int(value)
        values[key] = value
    return values


def _cosine(base_lr: float | np.ndarray, t: int, t_max: int, eta_min: float) -> float | np.ndarray:
    """CosineAnnealingLR closed form; periodic beyond T_max as torch's chainable form is."""
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2


def _linear(base_lr: float | np.ndarray, t: int, start: float, total: int) -> float | np.ndarray:
    """LinearLR closed form with end_factor = 1."""
    return base_lr * (start + (1.0 - start) * min(t, total) / total)


def make_schedule(
    name: str, base_lr: float | np.ndarray, params: Mapping[str, float] | None = None
) -> Schedule:
    """Build the schedule ``t -> lr`` named ``name`` around ``base_lr`` (a number or ``(K, 1)`` array)."""
    if name not in SCHEDULES:
        raise UnknownNameError("schedule", name, SCHEDULES, field="schedule")
    p = _resolve(SCHEDULES[name], params)
    lr = float(base_lr) if np.ndim(base_lr) == 0 else np.asarray(base_lr, dtype=np.float64)

    if name == "constant":
        return lambda t: lr
    if name == "step":
        return lambda t: lr * p["gamma"] ** (t // p["step_size"])
    if name == "exponential":
        return lambda t: lr * p["gamma"] ** t
    if name == "cosine":
        return lambda t: _cosine(lr, t, p["T_max"], p["eta_min"])
    if name == "warmup":
        return lambda t: _linear(lr, t, p["start_factor"], p["total_iters"])

    def warmup_cosine(t: int) -> float | np.ndarray:
        warm = p["total_iters"]
        if t < warm:
            return _linear(lr, t, p["start_factor"], warm)
        return _cosine(lr, t - warm, p["T_max"], p["eta_min"])

    return warmup_cosine
