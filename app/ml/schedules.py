"""Learning-rate schedules (step index -> lr) and their registry, matching ``torch.optim.lr_scheduler``.

A schedule maps ``t`` (0-based: the lr used by the t-th update) to a learning rate.  The
values equal those torch produces when ``scheduler.step()`` is called once after each
``optimizer.step()``; we use the closed forms (torch's chainable forms agree up to rounding).
``base_lr`` may be a ``(K, 1)`` array so a sweep shares one schedule shape.

Adding a schedule = one ``ScheduleSpec`` below: its parameters, its texts, ``build`` (the function of
``t``) and ``code`` (the same closed form as Python source, for the exported Keras/PyTorch scripts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from app.ml.errors import UnknownNameError
from app.ml.params import Param, resolve

ScheduleFn = Callable[[int], float | np.ndarray]
"""A learning rate as a function of the update index (optax: a schedule)."""
LR = float | np.ndarray


@dataclass(frozen=True)
class Schedule:
    """Which schedule a run follows, as the wire says it: ``{"name": "cosine", "params": {"T_max": 200}}``."""

    name: str = "constant"
    params: Mapping[str, float] = field(default_factory=dict)

    def build(self, base_lr: LR) -> ScheduleFn:
        """The function ``t -> lr``; errors name ``schedule.name`` or ``schedule.params.<key>``."""
        return _make(self.name, base_lr, self.params, "schedule.name", "schedule.params")

    def resolved(self) -> dict[str, float]:
        """The parameters with defaults filled in (validated as :meth:`build` does)."""
        return _spec(self.name, "schedule.name").resolve(self.params, "schedule.params")


@dataclass(frozen=True)
class ScheduleSpec:
    """A registry entry: texts, parameters, ``build(lr, p) -> (t -> lr)`` and ``code(lr, p) -> source``.

    ``code`` gives the closed form as a Python expression in ``t`` (None for a constant rate).
    """

    name: str
    title: str
    params: tuple[Param, ...]
    formula: str
    latex: str
    torch: str
    note: str
    build: Callable[[LR, Mapping[str, float]], ScheduleFn] = field(repr=False, compare=False)
    code: Callable[[float, Mapping[str, float]], str | None] = field(repr=False, compare=False)

    def resolve(self, given: Mapping[str, float] | None, field: str = "params") -> dict[str, float]:
        """Defaults filled in; unknown, non-numeric, non-finite or out-of-range values are refused."""
        return resolve(self.params, given, field, what=f"parameter of schedule {self.name!r}")


def _cosine(base_lr: LR, t: int, t_max: int, eta_min: float) -> LR:
    """CosineAnnealingLR closed form; periodic beyond T_max as torch's chainable form is."""
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2


def _linear(base_lr: LR, t: int, start: float, total: int) -> LR:
    """LinearLR closed form with end_factor = 1."""
    return base_lr * (start + (1.0 - start) * min(t, total) / total)


def _warmup_cosine(lr: LR, p: Mapping[str, float]) -> ScheduleFn:
    warm = p["total_iters"]

    def schedule(t: int) -> LR:
        if t < warm:
            return _linear(lr, t, p["start_factor"], warm)
        return _cosine(lr, t - warm, p["T_max"], p["eta_min"])

    return schedule


_COSINE_CODE = "{eta} + ({lr} - {eta}) * (1 + math.cos(math.pi * ({t}) / {T})) / 2"
_LINEAR_CODE = "{lr} * ({f} + (1 - {f}) * min(t, {n}) / {n})"


def _cosine_code(lr: float, p: Mapping[str, float], t: str = "t") -> str:
    return _COSINE_CODE.format(eta=repr(p["eta_min"]), lr=repr(lr), t=t, T=p["T_max"])


def _linear_code(lr: float, p: Mapping[str, float]) -> str:
    return _LINEAR_CODE.format(lr=repr(lr), f=repr(p["start_factor"]), n=p["total_iters"])


def _warmup_cosine_code(lr: float, p: Mapping[str, float]) -> str:
    after = _cosine_code(lr, p, t=f"t - {p['total_iters']}")
    return f"({_linear_code(lr, p)}) if t < {p['total_iters']} else ({after})"


_GAMMA = Param("gamma", 0.5, 0.0, 1.0, "factor the learning rate is multiplied by at each decay")
_STEP_SIZE = Param("step_size", 30, 1, 100_000, "number of updates between two decays", "int")
_T_MAX = Param("T_max", 100, 1, 100_000, "updates from the full lr down to eta_min (half a cosine)", "int")
_ETA_MIN = Param("eta_min", 0.0, 0.0, 1e3, "smallest learning rate the cosine reaches")
_START = Param("start_factor", 0.1, 1e-6, 1.0, "fraction of the learning rate used by the first update")
_WARMUP = Param("total_iters", 10, 1, 100_000, "updates spent warming up to the full lr", "int")

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
            lambda lr, p: lambda t: lr,
            lambda lr, p: None,
        ),
        ScheduleSpec(
            "step",
            "Step decay",
            (_STEP_SIZE, _GAMMA.with_default(0.1)),
            "lr_t = lr * gamma ** floor(t / step_size)",
            r"\eta_t = \eta\,\gamma^{\lfloor t / s \rfloor}",
            "torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=0.1)",
            "Big steps first, then smaller ones in jumps: the classic 'divide by 10 every N epochs'.",
            lambda lr, p: lambda t: lr * p["gamma"] ** (t // p["step_size"]),
            lambda lr, p: f"{lr!r} * {p['gamma']!r} ** (t // {p['step_size']})",
        ),
        ScheduleSpec(
            "exponential",
            "Exponential decay",
            (_GAMMA.with_default(0.99),),
            "lr_t = lr * gamma ** t",
            r"\eta_t = \eta\,\gamma^{t}",
            "torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)",
            "Shrinks the step a little every update; too small a gamma stops the descent early.",
            lambda lr, p: lambda t: lr * p["gamma"] ** t,
            lambda lr, p: f"{lr!r} * {p['gamma']!r} ** t",
        ),
        ScheduleSpec(
            "cosine",
            "Cosine annealing",
            (_T_MAX, _ETA_MIN),
            "lr_t = eta_min + (lr - eta_min) * (1 + cos(pi * t / T_max)) / 2",
            r"\eta_t = \eta_{min} + \tfrac12(\eta - \eta_{min})\left(1 + \cos\tfrac{\pi t}{T_{max}}\right)",
            "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min=0.0)",
            "Smooth decay to eta_min at T_max; beyond T_max it rises again (torch's cosine is periodic).",
            lambda lr, p: lambda t: _cosine(lr, t, p["T_max"], p["eta_min"]),
            _cosine_code,
        ),
        ScheduleSpec(
            "warmup",
            "Linear warm-up",
            (_START, _WARMUP),
            "lr_t = lr * (start_factor + (1 - start_factor) * min(t, total_iters) / total_iters)",
            r"\eta_t = \eta\left(f_0 + (1 - f_0)\,\tfrac{\min(t, T_w)}{T_w}\right)",
            "torch.optim.lr_scheduler.LinearLR(optimizer, start_factor, end_factor=1.0, total_iters)",
            "Starts gently and ramps up to the full lr: avoids wild first steps of adaptive methods.",
            lambda lr, p: lambda t: _linear(lr, t, p["start_factor"], p["total_iters"]),
            _linear_code,
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
            _warmup_cosine,
            _warmup_cosine_code,
        ),
    )
}


def _spec(name: str, field: str) -> ScheduleSpec:
    if name not in SCHEDULES:
        raise UnknownNameError("schedule", name, SCHEDULES, field=field)
    return SCHEDULES[name]


def _make(
    name: str, base_lr: LR, params: Mapping[str, float] | None, name_field: str, params_field: str
) -> ScheduleFn:
    spec = _spec(name, name_field)
    values = spec.resolve(params, params_field)
    lr = float(base_lr) if np.ndim(base_lr) == 0 else np.asarray(base_lr, dtype=np.float64)
    return spec.build(lr, values)


def make_schedule(name: str, base_lr: LR, params: Mapping[str, float] | None = None) -> ScheduleFn:
    """Build the schedule ``t -> lr`` named ``name`` around ``base_lr`` (a number or ``(K, 1)`` array).

    Errors name ``schedule`` or ``params.<key>``; :meth:`Schedule.build` is the same with the fields
    of a run (``schedule.name``, ``schedule.params.<key>``).
    """
    return _make(name, base_lr, params, "schedule", "params")
