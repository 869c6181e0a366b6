"""Named optimizers assembled from transforms, and their registry of hyperparameter specs.

Every optimizer is ``torch.optim``'s algorithm with torch's hyperparameter names and
defaults (float64); ``make_optimizer`` only picks transforms and wires them with
``chain()`` (optax ``alias.py`` style).  The chain for a name never depends on the values,
so a transformation rebuilt with new values can take over the state mid-run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.ml import transforms as tx
from app.ml.errors import ConfigError, UnknownNameError
from app.ml.schedules import Schedule

_BETA_MAX = 0.9999  # betas and momentum live in [0, 1); the bound is inclusive, so just below 1


@dataclass(frozen=True)
class HyperParam:
    name: str
    default: float | bool | tuple[float, float]
    kind: str  # "float" | "bool" | "pair"
    minimum: float | None
    maximum: float | None
    description: str
    log_scale: bool = False


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    title: str
    torch: str
    hyperparameters: tuple[HyperParam, ...]
    update_rule: str
    note: str


def _lr(default: float) -> HyperParam:
    return HyperParam(
        "lr", default, "float", 0.0, 1e3, "learning rate: how far each update moves", log_scale=True
    )


def _eps(default: float) -> HyperParam:
    return HyperParam(
        "eps", default, "float", 1e-16, 1.0, "small number added to the denominator", log_scale=True
    )


def _wd(default: float = 0.0) -> HyperParam:
    return HyperParam("weight_decay", default, "float", 0.0, 10.0, "L2 pull of the weights towards zero")


def _momentum(default: float) -> HyperParam:
    return HyperParam(
        "momentum", default, "float", 0.0, _BETA_MAX, "fraction of the previous step kept (heavy ball)"
    )


def _betas() -> HyperParam:
    return HyperParam(
        "betas",
        (0.9, 0.999),
        "pair",
        0.0,
        _BETA_MAX,
        "decay of the running averages of the gradient and of its square",
    )


_DAMPENING = HyperParam(
    "dampening", 0.0, "float", 0.0, 1.0, "fraction of the new gradient left out of momentum"
)
_NESTEROV = HyperParam("nesterov", False, "bool", None, None, "look ahead along the momentum (Nesterov)")
_ALPHA = HyperParam("alpha", 0.99, "float", 0.0, 1.0, "decay of the running average of squared gradients")
_CENTERED = HyperParam(
    "centered", False, "bool", None, None, "divide by the variance instead of the mean square"
)
_AMSGRAD = HyperParam("amsgrad", False, "bool", None, None, "use the largest squared average seen so far")
_DECOUPLED = HyperParam(
    "decoupled_weight_decay", False, "bool", None, None, "shrink the weights directly (AdamW style)"
)


def _with_defaults(params: tuple[HyperParam, ...], **defaults: Any) -> tuple[HyperParam, ...]:
    """The same hyperparameters with some defaults replaced (for presets)."""
    return tuple(
        HyperParam(
            p.name, defaults.get(p.name, p.default), p.kind, p.minimum, p.maximum, p.description, p.log_scale
        )
        for p in params
    )


_SGD_PARAMS = (_lr(1e-3), _momentum(0.0), _DAMPENING, _wd(), _NESTEROV)
_SGD_TORCH = "torch.optim.SGD(params, lr=0.001, momentum={m}, dampening=0, weight_decay=0, nesterov={n})"
_SGD_RULE = (
    r"g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1};\ "
    r"b_1 = g_1,\ b_t = \mu b_{t-1} + (1-\tau) g_t;\ "
    r"\theta_t = \theta_{t-1} - \eta\,(\text{nesterov}\ ?\ g_t + \mu b_t : b_t)"
)
_RMS_PARAMS = (_lr(1e-2), _ALPHA, _eps(1e-8), _wd(), _momentum(0.0), _CENTERED)
_RMS_TORCH = (
    "torch.optim.RMSprop(params, lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum={m}, centered={c})"
)
_RMS_RULE = (
    r"v_t = \alpha v_{t-1} + (1-\alpha) g_t^2;\ \tilde v_t = v_t - \bar g_t^2\ (\text{centered});\ "
    r"b_t = \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon);\ \theta_t = \theta_{t-1} - \eta\, b_t"
)
_ADAM_PARAMS = (_lr(1e-3), _betas(), _eps(1e-8), _wd(), _AMSGRAD)
_ADAM_TORCH = (
    "torch.optim.{cls}(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay={wd}, amsgrad={a})"
)
_ADAM_RULE = (
    r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t;\ v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2;\ "
    r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,"
    r"\frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}"
)

OPTIMIZERS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec(
            "sgd",
            "SGD",
            _SGD_TORCH.format(m=0, n=False),
            _SGD_PARAMS,
            _SGD_RULE,
            "Plain gradient descent: step = slope x learning rate. Too small crawls, too large diverges.",
        ),
        OptimizerSpec(
            "momentum",
            "SGD with momentum",
            _SGD_TORCH.format(m=0.9, n=False) + "  # preset of torch.optim.SGD: momentum=0.9",
            _with_defaults(_SGD_PARAMS, momentum=0.9),
            _SGD_RULE,
            "A heavy ball: builds up speed along consistent slopes and rolls through narrow valleys.",
        ),
        OptimizerSpec(
            "nesterov",
            "Nesterov momentum",
            _SGD_TORCH.format(m=0.9, n=True) + "  # preset of torch.optim.SGD: momentum=0.9, nesterov=True",
            _with_defaults(_SGD_PARAMS, momentum=0.9, nesterov=True),
            _SGD_RULE,
            "Momentum that looks ahead before stepping: overshoots less than the heavy ball.",
        ),
        OptimizerSpec(
            "adagrad",
            "Adagrad",
            "torch.optim.Adagrad(params, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, "
            "eps=1e-10)",
            (
                _lr(1e-2),
                HyperParam(
                    "lr_decay", 0.0, "float", 0.0, 10.0, "shrinks the learning rate as 1/(1 + t*decay)"
                ),
                _wd(),
                HyperParam(
                    "initial_accumulator_value", 0.0, "float", 0.0, 100.0, "starting sum of squared gradients"
                ),
                _eps(1e-10),
            ),
            r"s_t = s_{t-1} + g_t^2;\ \theta_t = \theta_{t-1} - \frac{\eta}{1 + (t-1)\delta}\,"
            r"\frac{g_t}{\sqrt{s_t} + \epsilon}",
            "Per-coordinate step sizes from the whole gradient history: steep directions slow down for good.",
        ),
        OptimizerSpec(
            "adadelta",
            "Adadelta",
            "torch.optim.Adadelta(params, lr=1.0, rho=0.9, eps=1e-06, weight_decay=0)",
            (
                _lr(1.0),
                HyperParam("rho", 0.9, "float", 0.0, 1.0, "decay of the running averages"),
                _eps(1e-6),
                _wd(),
            ),
            r"v_t = \rho v_{t-1} + (1-\rho) g_t^2;\ "
            r"\Delta_t = \frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}} g_t;\ "
            r"u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2;\ \theta_t = \theta_{t-1} - \eta\,\Delta_t",
            "Adagrad with a forgetting window and units fixed by the ratio of two averages; lr=1 works.",
        ),
        OptimizerSpec(
            "rmsprop",
            "RMSprop",
            _RMS_TORCH.format(m=0, c=False),
            _RMS_PARAMS,
            _RMS_RULE,
            "Divides by a running RMS of the gradient: equal progress in steep and flat directions.",
        ),
        OptimizerSpec(
            "rmsprop_centered",
            "RMSprop (centered)",
            _RMS_TORCH.format(m=0, c=True) + "  # preset of torch.optim.RMSprop: centered=True",
            _with_defaults(_RMS_PARAMS, centered=True),
            _RMS_RULE,
            "Normalises by the gradient's variance rather than its mean square.",
        ),
        OptimizerSpec(
            "rmsprop_momentum",
            "RMSprop with momentum",
            _RMS_TORCH.format(m=0.9, c=False) + "  # preset of torch.optim.RMSprop: momentum=0.9",
            _with_defaults(_RMS_PARAMS, momentum=0.9),
            _RMS_RULE,
            "RMS-scaled steps accumulated in a momentum buffer.",
        ),
        OptimizerSpec(
            "adam",
            "Adam",
            _ADAM_TORCH.format(cls="Adam", wd=0, a=False),
            _ADAM_PARAMS,
            _ADAM_RULE,
            "Momentum plus RMS scaling with bias correction: the default choice for networks.",
        ),
        OptimizerSpec(
            "adamw",
            "AdamW",
            _ADAM_TORCH.format(cls="AdamW", wd=0.01, a=False),
            _with_defaults(_ADAM_PARAMS, weight_decay=1e-2),
            r"\theta_{t-1} \leftarrow \theta_{t-1}(1 - \eta\lambda);\ " + _ADAM_RULE,
            "Adam with weight decay applied to the weights directly, not mixed into the gradient.",
        ),
        OptimizerSpec(
            "amsgrad",
            "AMSGrad",
            _ADAM_TORCH.format(cls="Adam", wd=0, a=True) + "  # preset of torch.optim.Adam: amsgrad=True",
            _with_defaults(_ADAM_PARAMS, amsgrad=True),
            _ADAM_RULE.replace(r"\sqrt{v_t}", r"\sqrt{\max_{s\le t} v_s}"),
            "Adam that never lets the denominator shrink: steps cannot suddenly grow.",
        ),
        OptimizerSpec(
            "nadam",
            "NAdam",
            "torch.optim.NAdam(params, lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, "
            "momentum_decay=0.004, decoupled_weight_decay=False)",
            (
                _lr(2e-3),
                _betas(),
                _eps(1e-8),
                _wd(),
                HyperParam("momentum_decay", 4e-3, "float", 0.0, 1.0, "how fast the momentum warms up"),
                _DECOUPLED,
            ),
            r"\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi});\ "
            r"\theta_t = \theta_{t-1} - \eta\left(\frac{1-\mu_t}{1-\prod_{i\le t}\mu_i} g_t"
            r" + \frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i} m_t\right)"
            r" / \left(\sqrt{v_t/(1-\beta_2^t)}+\epsilon\right)",
            "Adam with Nesterov's look-ahead momentum.",
        ),
        OptimizerSpec(
            "radam",
            "RAdam",
            "torch.optim.RAdam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, "
            "decoupled_weight_decay=False)",
            (_lr(1e-3), _betas(), _eps(1e-8), _wd(), _DECOUPLED),
            r"\rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t};\ "
            r"\theta_t = \theta_{t-1} - \eta\,\hat m_t"
            r"\cdot(\rho_t > 5\ ?\ r_t \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon} : 1)",
            "Adam that behaves like momentum SGD until its variance estimate is trustworthy.",
        ),
        OptimizerSpec(
            "adamax",
            "Adamax",
            "torch.optim.Adamax(params, lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0)",
            (_lr(2e-3), _betas(), _eps(1e-8), _wd()),
            r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon);\ "
            r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\frac{m_t}{u_t}",
            "Adam with the infinity norm: the step is bounded by the learning rate.",
        ),
    )
}


# --------------------------------------------------------------------------- validation


def _check_number(key: str, value: Any, param: HyperParam) -> None:
    """Refuse non-numbers, non-finite numbers and values outside the inclusive bounds."""
    field = f"hyperparameters.{key}"
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nesting
        raise ConfigError(f"{key} must be a number, got {value!r}", field) from None
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise ConfigError(f"{key} must be a number, got {value!r}", field)
    if arr.ndim != 0:
        raise ConfigError(f"{key} must be a single number, got {value!r}", field)
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{key} must be finite, got {value!r}", field)
    low, high = param.minimum, param.maximum
    if low is not None and high is not None and (np.any(arr < low) or np.any(arr > high)):
        raise ConfigError(f"{key} must be between {param.minimum} and {param.maximum}, got {value!r}", field)


def _check_value(key: str, value: Any, param: HyperParam) -> Any:
    """One run's value for ``param`` as a Python bool, float or pair of floats; anything else refused."""
    field = f"hyperparameters.{key}"
    if param.kind == "bool":
        if not isinstance(value, bool | np.bool_):
            raise ConfigError(f"{key} must be true or false, got {value!r}", field)
        return bool(value)
    if param.kind == "pair":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ConfigError(f"{key} must be a pair of numbers, got {value!r}", field)
        for component in value:
            _check_number(key, component, param)
        return tuple(float(c) for c in value)
    _check_number(key, value, param)
    return float(value)


def _check_torch_rules(name: str, values: dict[str, Any]) -> None:
    """torch.optim's own constructor checks that bounds alone do not express."""
    if "nesterov" in values and np.any(
        np.asarray(values["nesterov"])
        & ((np.asarray(values["momentum"]) <= 0) | (np.asarray(values["dampening"]) != 0))
    ):
        raise ConfigError(
            "Nesterov momentum requires a momentum > 0 and zero dampening (as torch.optim.SGD)",
            "hyperparameters.nesterov",
        )


def resolve_hyperparameters(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``given`` for optimizer ``name`` and fill in torch's defaults."""
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS, field="optimizer")
    params = {p.name: p for p in OPTIMIZERS[name].hyperparameters}
    values: dict[str, Any] = {p.name: p.default for p in params.values()}
    for key, value in given.items():
        if key not in params:
            raise UnknownNameError("hyperparameter", key, params, field=f"hyperparameters.{key}")
        values[key] = _check_value(key, value, params[key])
    _check_torch_rules(name, values)
    return values


# --------------------------------------------------------------------------- assembly


def _weight_decay_split(h: Mapping[str, Any]) -> tuple[Any, Any]:
    """(coupled, decoupled) weight decay from ``weight_decay`` and ``decoupled_weight_decay``.

    Resolved once at build time so a per-run flag costs no ``np.where`` per step; the unused
    side is an exact zero, and ``g + 0 * p == g``.
    """
    wd, flag = h["weight_decay"], h.get("decoupled_weight_decay", False)
    if np.ndim(flag) == 0:
        return (0.0, wd) if flag else (wd, 0.0)
    flag = np.asarray(flag, dtype=bool)
    return np.where(flag, 0.0, wd), np.where(flag, wd, 0.0)


def _sgd(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    return [
        tx.add_decayed_weights(h["weight_decay"]),
        tx.trace(h["momentum"], h["dampening"], h["nesterov"]),
    ]


def _rmsprop(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    return [
        tx.add_decayed_weights(h["weight_decay"]),
        tx.scale_by_rms(h["alpha"], h["eps"], h["centered"], h["momentum"]),
    ]


def _adam(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    b1, b2 = h["betas"]
    return [tx.add_decayed_weights(h["weight_decay"]), tx.scale_by_adam(b1, b2, h["eps"], h["amsgrad"])]


def _adamw(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    b1, b2 = h["betas"]
    return [tx.scale_by_adam(b1, b2, h["eps"], h["amsgrad"]), tx.add_decayed_weights(h["weight_decay"])]


def _adagrad(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    return [
        tx.add_decayed_weights(h["weight_decay"]),
        tx.scale_by_adagrad(h["lr_decay"], h["initial_accumulator_value"], h["eps"]),
    ]


def _adadelta(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    return [tx.add_decayed_weights(h["weight_decay"]), tx.scale_by_adadelta(h["rho"], h["eps"])]


def _nadam(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    coupled, decoupled = _weight_decay_split(h)
    b1, b2 = h["betas"]
    return [
        tx.add_decayed_weights(coupled),
        tx.scale_by_nadam(b1, b2, h["eps"], h["momentum_decay"]),
        tx.add_decayed_weights(decoupled),
    ]


def _radam(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    coupled, decoupled = _weight_decay_split(h)
    b1, b2 = h["betas"]
    return [
        tx.add_decayed_weights(coupled),
        tx.scale_by_radam(b1, b2, h["eps"]),
        tx.add_decayed_weights(decoupled),
    ]


def _adamax(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    b1, b2 = h["betas"]
    return [tx.add_decayed_weights(h["weight_decay"]), tx.scale_by_adamax(b1, b2, h["eps"])]


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], list[tx.GradientTransformation]]] = {
    "sgd": _sgd,
    "momentum": _sgd,
    "nesterov": _sgd,
    "adagrad": _adagrad,
    "adadelta": _adadelta,
    "rmsprop": _rmsprop,
    "rmsprop_centered": _rmsprop,
    "rmsprop_momentum": _rmsprop,
    "adam": _adam,
    "adamw": _adamw,
    "amsgrad": _adam,
    "nadam": _nadam,
    "radam": _radam,
    "adamax": _adamax,
}


def make_optimizer(
    name: str, hyperparameters: Mapping[str, Any], schedule: Schedule | None = None
) -> tx.GradientTransformation:
    """The chain for ``name``; lr comes from ``schedule(step)`` if given, else ``hyperparameters['lr']``.

    ``hyperparameters`` must be resolved (see :func:`resolve_hyperparameters`); values may be
    ``(K, 1)`` arrays for K runs stepped together.  Weight decay before the scaling is
    torch's coupled L2; after it (AdamW, decoupled flag) it becomes ``p *= 1 - lr * wd``.
    """
    if name not in _BUILDERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS, field="optimizer")
    lr = schedule if schedule is not None else hyperparameters["lr"]
    return tx.chain(*_BUILDERS[name](hyperparameters), tx.scale_by_learning_rate(lr))
