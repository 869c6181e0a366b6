"""Named optimizers assembled from transforms, and their registry of hyperparameter specs.

Every optimizer is ``torch.optim``'s algorithm with torch's hyperparameter names and
defaults (float64); ``make_optimizer`` only picks transforms and wires them with
``chain()`` (optax ``alias.py`` style).  The chain for a name never depends on the values,
so a transformation rebuilt with new values can take over the state mid-run.

Adding an optimizer = its transform in :mod:`app.ml.transforms` (if new) + one ``OptimizerSpec`` below
(its hyperparameters, texts, chain, torch class and Keras name) + its Turkish texts in
``app/i18n/tr.registry.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.ml import evaluating as ev
from app.ml import transforms as tx
from app.ml import transforms_extra as tx_extra
from app.ml.errors import ConfigError, UnknownNameError
from app.ml.params import Param, resolve
from app.ml.schedules import ScheduleFn

_BETA_MAX = 0.9999  # betas and momentum live in [0, 1); the bound is inclusive, so just below 1


Chain = Callable[..., list[tx.GradientTransformation]]
"""Resolved hyperparameters -> the transforms before the learning rate (optax ``alias.py`` style).

An ``own_lr`` spec's chain gets ``lr`` as a number, ``(K, 1)`` array or schedule and applies it itself; a
``per_tensor`` spec's chain also gets ``shapes``, the tensors packed in the flat vector (None: one vector).
"""

TORCH_VERSION = "2.13"
"""The torch release the torch.optim fixtures were generated with (tests/ml/make_torch_reference.py)."""


@dataclass(frozen=True)
class AuxColumn:
    """A per-step value an optimizer adds to every record of its runs (see docs/api.md, "aux columns").

    ``kind`` "point" is a position (wire columns ``name_x``, ``name_y``), "scalar" one number; ``null``
    says when the value is null (undefined) on the wire, "" if it never is.
    """

    name: str
    kind: str
    description: str
    null: str = ""

    def width(self, dim: int) -> int:
        """How many numbers a record holds for it on a surface of ``dim`` coordinates."""
        return dim if self.kind == "point" else 1


Stepper = Callable[[Mapping[str, Any], Any], ev.EvaluatingTransformation]
"""(resolved hyperparameters, lr or schedule) -> an optimizer that evaluates the function itself."""


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: what the learner reads, torch's names, and how to build it.

    ``chain`` never looks at values to decide *which* transforms to use, so the state structure is
    the same for every value (live changes keep the state). ``torch_class`` is the ``torch.optim``
    class the PyTorch export uses; ``keras`` the ``keras.optimizers`` class of the Keras export (the
    closest one when Keras has no equivalent, which the export then says).

    ``package``/``version``/``module`` name the reference (torch.optim, or a pip package such as
    lion-pytorch); ``own_lr``: the chain applies the learning rate itself (it is more than a final
    multiplier); ``per_tensor``: the rule needs each tensor's shape (Adafactor); ``aux``: the per-step
    auxiliary columns its records carry; ``not_on_surfaces``: why it is not offered on 2-D surfaces
    ("" = it is), for rules that degenerate on a 2-vector.

    An optimizer that needs more than one gradient (the loss, extra evaluations, the Hessian) has a
    ``stepper`` instead of a chain (:mod:`app.ml.evaluating`); ``max_evaluations`` bounds the
    function-and-gradient evaluations of one of its steps (the price of a request).
    """

    name: str
    title: str
    torch: str  # the reference's constructor call with its defaults
    hyperparameters: tuple[Param, ...]
    update_rule: str
    note: str
    chain: Chain = field(repr=False, compare=False)
    torch_class: str
    keras: str
    package: str = "torch"
    version: str = TORCH_VERSION
    module: str = "torch.optim"
    own_lr: bool = False
    per_tensor: bool = False
    aux: tuple[AuxColumn, ...] = ()
    not_on_surfaces: str = ""
    stepper: Stepper | None = field(default=None, repr=False, compare=False)
    max_evaluations: Callable[[Mapping[str, Any]], int] = field(
        default=lambda h: 1, repr=False, compare=False
    )

    @property
    def reference(self) -> str:
        """The reference implementation: ``module.Class (package version)``; a rule without a class
        (Newton, Polyak) has its ``torch`` text instead."""
        if not self.torch_class:
            return self.torch
        return f"{self.module}.{self.torch_class} ({self.package} {self.version})"

    @property
    def evaluating(self) -> bool:
        """True for the optimizers that evaluate the function themselves (no gradient chain)."""
        return self.stepper is not None


def _lr(default: float) -> Param:
    return Param("lr", default, 0.0, 1e3, "learning rate: how far each update moves", log_scale=True)


def _eps(default: float) -> Param:
    return Param("eps", default, 1e-16, 1.0, "small number added to the denominator", log_scale=True)


def _wd(default: float = 0.0) -> Param:
    return Param("weight_decay", default, 0.0, 10.0, "L2 pull of the weights towards zero")


def _momentum(default: float) -> Param:
    return Param("momentum", default, 0.0, _BETA_MAX, "fraction of the previous step kept (heavy ball)")


def _betas() -> Param:
    return Param(
        "betas",
        (0.9, 0.999),
        0.0,
        _BETA_MAX,
        "decay of the running averages of the gradient and of its square",
        kind="pair",
    )


def _flag(name: str, description: str) -> Param:
    return Param(name, False, description=description, kind="bool")


_RHO = "Adadelta: decay of the running averages; SAM: radius of the neighbourhood it looks around"
_DAMPENING = Param("dampening", 0.0, 0.0, 1.0, "fraction of the new gradient left out of momentum")
_NESTEROV = _flag("nesterov", "look ahead along the momentum (Nesterov)")
_ALPHA = Param("alpha", 0.99, 0.0, 1.0, "decay of the running average of squared gradients")
_CENTERED = _flag("centered", "divide by the variance instead of the mean square")
_AMSGRAD = _flag("amsgrad", "use the largest squared average seen so far")
_DECOUPLED = _flag("decoupled_weight_decay", "shrink the weights directly (AdamW style)")


def _with_defaults(params: tuple[Param, ...], **defaults: Any) -> tuple[Param, ...]:
    """The same hyperparameters with some defaults replaced (for presets)."""
    return tuple(p.with_default(defaults[p.name]) if p.name in defaults else p for p in params)


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

# --------------------------------------------------------------------------- chains


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


# --------------------------------------------------------------------------- registry

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
            chain=_sgd,
            torch_class="SGD",
            keras="SGD",
        ),
        OptimizerSpec(
            "momentum",
            "SGD with momentum",
            _SGD_TORCH.format(m=0.9, n=False) + "  # preset of torch.optim.SGD: momentum=0.9",
            _with_defaults(_SGD_PARAMS, momentum=0.9),
            _SGD_RULE,
            "A heavy ball: builds up speed along consistent slopes and rolls through narrow valleys.",
            chain=_sgd,
            torch_class="SGD",
            keras="SGD",
        ),
        OptimizerSpec(
            "nesterov",
            "Nesterov momentum",
            _SGD_TORCH.format(m=0.9, n=True) + "  # preset of torch.optim.SGD: momentum=0.9, nesterov=True",
            _with_defaults(_SGD_PARAMS, momentum=0.9, nesterov=True),
            _SGD_RULE,
            "Momentum that looks ahead before stepping: overshoots less than the heavy ball.",
            chain=_sgd,
            torch_class="SGD",
            keras="SGD",
        ),
        OptimizerSpec(
            "adagrad",
            "Adagrad",
            "torch.optim.Adagrad(params, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, "
            "eps=1e-10)",
            (
                _lr(1e-2),
                Param("lr_decay", 0.0, 0.0, 10.0, "shrinks the learning rate as 1/(1 + t*decay)"),
                _wd(),
                Param("initial_accumulator_value", 0.0, 0.0, 100.0, "starting sum of squared gradients"),
                _eps(1e-10),
            ),
            r"s_t = s_{t-1} + g_t^2;\ \theta_t = \theta_{t-1} - \frac{\eta}{1 + (t-1)\delta}\,"
            r"\frac{g_t}{\sqrt{s_t} + \epsilon}",
            "Per-coordinate step sizes from the whole gradient history: steep directions slow down for good.",
            chain=_adagrad,
            torch_class="Adagrad",
            keras="Adagrad",
        ),
        OptimizerSpec(
            "adadelta",
            "Adadelta",
            "torch.optim.Adadelta(params, lr=1.0, rho=0.9, eps=1e-06, weight_decay=0)",
            (
                _lr(1.0),
                Param("rho", 0.9, 0.0, 1.0, _RHO),
                _eps(1e-6),
                _wd(),
            ),
            r"v_t = \rho v_{t-1} + (1-\rho) g_t^2;\ "
            r"\Delta_t = \frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}} g_t;\ "
            r"u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2;\ \theta_t = \theta_{t-1} - \eta\,\Delta_t",
            "Adagrad with a forgetting window and units fixed by the ratio of two averages; lr=1 works.",
            chain=_adadelta,
            torch_class="Adadelta",
            keras="Adadelta",
        ),
        OptimizerSpec(
            "rmsprop",
            "RMSprop",
            _RMS_TORCH.format(m=0, c=False),
            _RMS_PARAMS,
            _RMS_RULE,
            "Divides by a running RMS of the gradient: equal progress in steep and flat directions.",
            chain=_rmsprop,
            torch_class="RMSprop",
            keras="RMSprop",
        ),
        OptimizerSpec(
            "rmsprop_centered",
            "RMSprop (centered)",
            _RMS_TORCH.format(m=0, c=True) + "  # preset of torch.optim.RMSprop: centered=True",
            _with_defaults(_RMS_PARAMS, centered=True),
            _RMS_RULE,
            "Normalises by the gradient's variance rather than its mean square.",
            chain=_rmsprop,
            torch_class="RMSprop",
            keras="RMSprop",
        ),
        OptimizerSpec(
            "rmsprop_momentum",
            "RMSprop with momentum",
            _RMS_TORCH.format(m=0.9, c=False) + "  # preset of torch.optim.RMSprop: momentum=0.9",
            _with_defaults(_RMS_PARAMS, momentum=0.9),
            _RMS_RULE,
            "RMS-scaled steps accumulated in a momentum buffer.",
            chain=_rmsprop,
            torch_class="RMSprop",
            keras="RMSprop",
        ),
        OptimizerSpec(
            "adam",
            "Adam",
            _ADAM_TORCH.format(cls="Adam", wd=0, a=False),
            _ADAM_PARAMS,
            _ADAM_RULE,
            "Momentum plus RMS scaling with bias correction: the default choice for networks.",
            chain=_adam,
            torch_class="Adam",
            keras="Adam",
        ),
        OptimizerSpec(
            "adamw",
            "AdamW",
            _ADAM_TORCH.format(cls="AdamW", wd=0.01, a=False),
            _with_defaults(_ADAM_PARAMS, weight_decay=1e-2),
            r"\theta_{t-1} \leftarrow \theta_{t-1}(1 - \eta\lambda);\ " + _ADAM_RULE,
            "Adam with weight decay applied to the weights directly, not mixed into the gradient.",
            chain=_adamw,
            torch_class="AdamW",
            keras="AdamW",
        ),
        OptimizerSpec(
            "amsgrad",
            "AMSGrad",
            _ADAM_TORCH.format(cls="Adam", wd=0, a=True) + "  # preset of torch.optim.Adam: amsgrad=True",
            _with_defaults(_ADAM_PARAMS, amsgrad=True),
            _ADAM_RULE.replace(r"\sqrt{v_t}", r"\sqrt{\max_{s\le t} v_s}"),
            "Adam that never lets the denominator shrink: steps cannot suddenly grow.",
            chain=_adam,
            torch_class="Adam",
            keras="Adam",
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
                Param("momentum_decay", 4e-3, 0.0, 1.0, "how fast the momentum warms up"),
                _DECOUPLED,
            ),
            r"\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi});\ "
            r"\theta_t = \theta_{t-1} - \eta\left(\frac{1-\mu_t}{1-\prod_{i\le t}\mu_i} g_t"
            r" + \frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i} m_t\right)"
            r" / \left(\sqrt{v_t/(1-\beta_2^t)}+\epsilon\right)",
            "Adam with Nesterov's look-ahead momentum.",
            chain=_nadam,
            torch_class="NAdam",
            keras="Nadam",
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
            chain=_radam,
            torch_class="RAdam",
            keras="Adam",
        ),
        OptimizerSpec(
            "adamax",
            "Adamax",
            "torch.optim.Adamax(params, lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0)",
            (_lr(2e-3), _betas(), _eps(1e-8), _wd()),
            r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon);\ "
            r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\frac{m_t}{u_t}",
            "Adam with the infinity norm: the step is bounded by the learning rate.",
            chain=_adamax,
            torch_class="Adamax",
            keras="Adamax",
        ),
    )
}


# --------------------------------------------------------------------------- gradient-only optimizers
# Rprop, ASGD, Adafactor (torch.optim) and Lion, Schedule-Free SGD/AdamW, Prodigy (their pip packages):
# transforms in app/ml/transforms_extra.py; each applies lr itself (own_lr), as its reference does.


def _int(name: str, default: int, maximum: int, description: str) -> Param:
    return Param(name, default, 0, maximum, description, kind="int")


def _pair(name: str, default: tuple[float, float], low: float, high: float, description: str) -> Param:
    return Param(name, default, low, high, description, kind="pair")


_WARMUP = _int("warmup_steps", 0, 1_000_000, "steps of linear learning-rate warmup built into the rule")
_R = Param("r", 0.0, 0.0, 10.0, "polynomial weighting of the average: step k weighs (k+1)^r")
_WLP = Param("weight_lr_power", 2.0, 0.0, 10.0, "the average weighs each step by lr_max to this power")
_SF_RULE = (
    r"c_{t} = \frac{w_t}{\sum_{i\le t} w_i},\ w_t = t^r\,\eta_{\max}^{p};\ "
    r"y_t = (1-c_t)\,y_{t-1} + c_t z_{t-1} + \eta\,(\beta_1(1-c_t) - 1)\,{g};\ z_t = z_{t-1} - \eta\,{g};\ "
    r"x_t = y_t + (1 - 1/\beta_1)(z_t - y_t)\ \text{(eval point)}"
)
_EVAL = AuxColumn(
    "eval",
    "point",
    "the point optimizer.eval() gives (the weighted average x); the trace's position is y, where the "
    "gradient is taken (train mode)",
)

_SCHEDULE_FREE: dict[str, Any] = {
    "package": "schedulefree",
    "version": "1.4.1",
    "module": "schedulefree",
    "own_lr": True,
    "aux": (_EVAL,),
}


def _rprop(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    return [tx_extra.rprop(h["lr"], h["etas"], h["step_sizes"])]


def _asgd(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    return [tx_extra.asgd(h["lr"], h["lambd"], h["alpha"], h["t0"], h["weight_decay"])]


def _adafactor(h: Mapping[str, Any], shapes: tx_extra.Shapes = None) -> list[tx.GradientTransformation]:
    return [tx_extra.adafactor(h["lr"], h["beta2_decay"], h["eps"], h["d"], h["weight_decay"], shapes)]


def _lion(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    b1, b2 = h["betas"]
    return [tx_extra.lion(h["lr"], b1, b2, h["weight_decay"])]


def _schedule_free_sgd(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    sf = (h["weight_decay"], h["warmup_steps"], h["r"], h["weight_lr_power"])
    return [tx_extra.schedule_free(h["lr"], h["momentum"], *sf)]


def _schedule_free_adamw(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    b1, b2 = h["betas"]
    sf = (h["weight_decay"], h["warmup_steps"], h["r"], h["weight_lr_power"])
    return [tx_extra.schedule_free(h["lr"], b1, *sf, beta2=b2, eps=h["eps"])]


def _prodigy(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    keys = ("betas", "beta3", "eps", "weight_decay", "decouple", "use_bias_correction", "safeguard_warmup")
    rest = ("d0", "d_coef", "growth_rate")
    return [tx_extra.prodigy(h["lr"], *(h[k] for k in keys), *(h[k] for k in rest))]


GRADIENT_ONLY: tuple[OptimizerSpec, ...] = (
    OptimizerSpec(
        "rprop",
        "Rprop",
        "torch.optim.Rprop(params, lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-06, 50))",
        (
            _lr(1e-2),
            _pair(
                "etas",
                (0.5, 1.2),
                0.0,
                10.0,
                "(etaminus, etaplus): step-size factors on a sign flip / no flip",
            ),
            _pair("step_sizes", (1e-6, 50.0), 0.0, 1e3, "(smallest, largest) step size allowed"),
        ),
        r"s_t = \mathrm{clip}(s_{t-1}\cdot(\eta_+\ \text{if}\ g_t g_{t-1} > 0,\ \eta_-\ \text{if} < 0,"
        r"\ 1),\ s_{\min}, s_{\max});\ g_t \leftarrow 0\ \text{on a flip};\ "
        r"\theta_t = \theta_{t-1} - s_t\,\mathrm{sign}(g_t),\ s_0 = \eta",
        "Only the gradient's sign counts: each coordinate's step grows while the sign holds and halves "
        "when it flips. lr is just the first step size (changing it later does nothing, as in torch).",
        chain=_rprop,
        torch_class="Rprop",
        keras="SGD",
        own_lr=True,
    ),
    OptimizerSpec(
        "asgd",
        "ASGD (averaged SGD)",
        "torch.optim.ASGD(params, lr=0.01, lambd=0.0001, alpha=0.75, t0=1000000.0, weight_decay=0)",
        (
            _lr(1e-2),
            Param("lambd", 1e-4, 0.0, 10.0, "decay term: shrinks the step size and the weights"),
            Param("alpha", 0.75, 0.0, 10.0, "power of the step-size decay"),
            Param("t0", 1e6, 0.0, 1e9, "step at which averaging starts (before it the average is the point)"),
            _wd(),
        ),
        r"\theta_t = \theta_{t-1}(1 - \lambda\eta_{t-1}) - \eta_{t-1} g_t;\ "
        r"\eta_t = \frac{\eta}{(1 + \lambda\eta t)^{\alpha}};\ "
        r"\bar\theta_t = \bar\theta_{t-1} + \mu_{t-1}(\theta_t - \bar\theta_{t-1}),\ "
        r"\mu_t = 1/\max(1, t - t_0)",
        "SGD with a slowly shrinking step that also keeps the running average of its points from step t0 "
        "on; the average (drawn as a second path) settles where the noisy iterate only circles.",
        chain=_asgd,
        torch_class="ASGD",
        keras="SGD",
        own_lr=True,
        aux=(
            AuxColumn(
                "ax",
                "point",
                "the averaged point (torch's state 'ax'); equal to the point until step t0",
                "at step 0 (nothing averaged yet)",
            ),
        ),
    ),
    OptimizerSpec(
        "adafactor",
        "Adafactor",
        "torch.optim.Adafactor(params, lr=0.01, beta2_decay=-0.8, eps=(None, 0.001), d=1.0, "
        "weight_decay=0.0)",
        (
            _lr(1e-2),
            Param("beta2_decay", -0.8, -10.0, 0.0, "the second moment averages with weight t^beta2_decay"),
            _pair(
                "eps",
                (float(np.finfo(np.float64).eps), 1e-3),
                0.0,
                1.0,
                "(eps1, eps2): floor of the second moment; floor of the weights' RMS in the step size "
                "(torch's None for eps1 is the float64 machine epsilon shown)",
            ),
            Param("d", 1.0, 1.0, 1e3, "clipping threshold of the update's RMS"),
            _wd(),
        ),
        r"v_t = v_{t-1} + t^{c}(g_t^2 - v_{t-1})\ (\text{matrices: row} \times \text{column means});\ "
        r"u_t = g_t/\sqrt{\max(v_t, \epsilon_1^2)};\ "
        r"\theta_t = \theta_{t-1} - \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\min(\eta, t^{-1/2})"
        r"\,\frac{u_t}{\max(1, \mathrm{RMS}(u_t)/d)}",
        "Adam-like scaling with a memory-light second moment (row and column means of each weight "
        "matrix) and steps relative to the weights' size. On a surface it is the vector case.",
        chain=_adafactor,
        torch_class="Adafactor",
        keras="Adafactor",
        own_lr=True,
        per_tensor=True,
    ),
    OptimizerSpec(
        "lion",
        "Lion",
        "lion_pytorch.Lion(params, lr=0.0001, betas=(0.9, 0.99), weight_decay=0.0)",
        (
            _lr(1e-4),
            Param(
                "betas",
                (0.9, 0.99),
                0.0,
                1.0,
                "weight of the momentum in the step's sign, and its decay",
                kind="pair",
            ),
            _wd(),
        ),
        r"c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t;\ "
        r"\theta_t = \theta_{t-1}(1 - \eta\lambda) - \eta\,\mathrm{sign}(c_t);\ "
        r"m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t",
        "Evolved sign momentum (found by program search): every coordinate moves by exactly lr, so it "
        "needs a 3-10x smaller lr than AdamW.",
        chain=_lion,
        torch_class="Lion",
        keras="Lion",
        own_lr=True,
        package="lion-pytorch",
        version="0.2.5",
        module="lion_pytorch",
    ),
    OptimizerSpec(
        "schedule_free_sgd",
        "Schedule-Free SGD",
        "schedulefree.SGDScheduleFree(params, lr=1.0, momentum=0.9, weight_decay=0, warmup_steps=0, r=0.0, "
        "weight_lr_power=2)",
        (
            _lr(1.0),
            Param("momentum", 0.9, 0.0, _BETA_MAX, "interpolation between the average x and the SGD point z"),
            _wd(),
            _WARMUP,
            _R,
            _WLP,
        ),
        _SF_RULE.replace("{g}", "g_t").replace(r"\beta_1", r"\mu"),
        "No schedule needed: SGD steps on z, the gradient is taken at y between z and the running average "
        "x, and x (the eval point, drawn too) is what you evaluate.",
        chain=_schedule_free_sgd,
        torch_class="SGDScheduleFree",
        keras="SGD",
        **_SCHEDULE_FREE,
    ),
    OptimizerSpec(
        "schedule_free_adamw",
        "Schedule-Free AdamW",
        "schedulefree.AdamWScheduleFree(params, lr=0.0025, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, "
        "warmup_steps=0, r=0.0, weight_lr_power=2.0)",
        (_lr(2.5e-3), _betas(), _eps(1e-8), _wd(), _WARMUP, _R, _WLP),
        _SF_RULE.replace("{g}", r"\frac{g_t}{\sqrt{v_t/(1-\beta_2^t)}+\epsilon}"),
        "Schedule-Free with Adam's RMS scaling: the AlgoPerf self-tuning winner. The gradient is taken "
        "at y; x, the eval point, is drawn as a second path.",
        chain=_schedule_free_adamw,
        torch_class="AdamWScheduleFree",
        keras="AdamW",
        **_SCHEDULE_FREE,
    ),
    OptimizerSpec(
        "prodigy",
        "Prodigy",
        "prodigyopt.Prodigy(params, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-08, weight_decay=0, "
        "decouple=True, use_bias_correction=False, safeguard_warmup=False, d0=1e-06, d_coef=1.0, "
        "growth_rate=inf)",
        (
            _lr(1.0),
            _betas(),
            Param(
                "beta3",
                None,
                0.0,
                _BETA_MAX,
                "decay of the sums behind the d estimate; null: sqrt(beta2)",
            ),
            _eps(1e-8),
            _wd(),
            Param("decouple", True, description="decoupled (AdamW-style) weight decay", kind="bool"),
            _flag("use_bias_correction", "Adam's bias correction on the step size"),
            _flag("safeguard_warmup", "leave lr out of the d estimate's denominator (safer warm-up)"),
            Param("d0", 1e-6, 1e-12, 1e3, "initial estimate of the distance to the solution", log_scale=True),
            Param("d_coef", 1.0, 0.0, 100.0, "multiplies the d estimate: the preferred knob to tune"),
            Param(
                "growth_rate",
                None,
                0.0,
                1e6,
                "largest growth factor of d per step; null: unbounded (the reference's inf)",
            ),
        ),
        r"\hat d_t = d_{coef}\frac{\sum_{i\le t} \beta_3^{t-i}\frac{d_{i-1}}{d_0} d_{i-1}\eta\,"
        r"\langle g_i, \theta_0 - \theta_{i-1}\rangle}{\lVert s_t\rVert_1};\ "
        r"d_t = \min(\max_{i\le t}\hat d_i,\ r\,d_{t-1});\ "
        r"\theta_t = \theta_{t-1} - d_{t-1}\eta\,\frac{m_t}{\sqrt{v_t} + d_t\epsilon}",
        "Adam that estimates its own step size d (the distance to the solution) from the gradients: lr "
        "stays 1. d is drawn over the steps.",
        chain=_prodigy,
        torch_class="Prodigy",
        keras="Adam",
        package="prodigyopt",
        version="1.1.2",
        module="prodigyopt",
        own_lr=True,
        aux=(AuxColumn("d", "scalar", "Prodigy's step-size estimate d after the step (d0 at step 0)"),),
    ),
)
OPTIMIZERS.update((spec.name, spec) for spec in GRADIENT_ONLY)


def _check_gradient_only_rules(values: dict[str, Any]) -> None:
    """The references' constructor checks (and what their formulas need) that bounds do not express."""
    if "etas" in values:
        etaminus, etaplus = (np.asarray(e) for e in values["etas"])
        if np.any((etaminus <= 0) | (etaminus >= 1) | (etaplus <= 1)):
            raise ConfigError(
                "etas must satisfy 0 < etaminus < 1 < etaplus (as torch.optim.Rprop)", "hyperparameters.etas"
            )
    if "weight_lr_power" in values:  # schedule-free: eval() divides by beta1 / momentum
        key = "momentum" if "momentum" in values else "betas"
        first = values[key] if key == "momentum" else values[key][0]
        if np.any(np.asarray(first) <= 0):
            raise ConfigError(
                f"{key} must be > 0 for schedule-free (its eval point divides by it)",
                f"hyperparameters.{key}",
            )
    if "d0" in values:
        for key in ("lr", "d0"):
            if np.any(np.asarray(values[key]) <= 0):
                raise ConfigError(f"{key} must be > 0 (as prodigyopt.Prodigy)", f"hyperparameters.{key}")


# --------------------------------------------------------------------------- evaluating optimizers
# L-BFGS, SAM, Newton and Polyak need the loss, further evaluations or the Hessian (app/ml/evaluating.py);
# they take no gradient chain, so noise and clipping (first-order gradient transforms) do not apply.


def _no_chain(h: Mapping[str, Any]) -> list[tx.GradientTransformation]:
    raise ConfigError("this optimizer evaluates the function itself and has no gradient chain", "optimizer")


def _evaluating(
    name: str,
    title: str,
    torch: str,
    hyperparameters: tuple[Param, ...],
    update_rule: str,
    note: str,
    *,
    build: Callable[..., ev.EvaluatingTransformation],
    torch_class: str = "",
    keras: str = "",
    max_evaluations: Callable[[Mapping[str, Any]], int] = lambda h: 1,
) -> OptimizerSpec:
    """A registry entry whose ``stepper`` calls ``build(lr, **the other hyperparameters)`` (torch's names
    are the builders' keywords); ``torch_class`` and ``keras`` stay empty where neither has one."""

    def stepper(h: Mapping[str, Any], lr: Any) -> ev.EvaluatingTransformation:
        return build(lr, **{key: value for key, value in h.items() if key != "lr"})

    return OptimizerSpec(
        name,
        title,
        torch,
        hyperparameters,
        update_rule,
        note,
        chain=_no_chain,
        torch_class=torch_class,
        keras=keras,
        stepper=stepper,
        max_evaluations=max_evaluations,
    )


def _lbfgs_evaluations(h: Mapping[str, Any]) -> int:
    """torch's count is bounded by max_eval (with a line search the last search may pass it by its own
    max_ls) and by max_iter + 1 without one."""
    budget = h["max_eval"] if h["max_eval"] is not None else h["max_iter"] * 5 // 4
    return int(max(np.max(budget), np.max(h["max_iter"]))) + 1


_LINE_SEARCH = Param(
    "line_search_fn",
    None,
    description="null: fixed steps of lr; strong_wolfe: a line search for each direction",
    kind="choice",
    choices=ev.LINE_SEARCH_FNS,
)
_LBFGS_PARAMS = (
    _lr(1.0),
    Param("max_iter", 20, 1, 100, "iterations per optimizer step", kind="int"),
    Param("max_eval", None, 1, 250, "function evaluations per step (null: max_iter * 5 // 4)", kind="int"),
    Param(
        "tolerance_grad",
        1e-7,
        1e-16,
        1.0,
        "stop when the largest gradient component is this small",
        log_scale=True,
    ),
    Param(
        "tolerance_change", 1e-9, 1e-16, 1.0, "stop when the loss or the step changes less", log_scale=True
    ),
    Param("history_size", 100, 1, 1000, "pairs of steps and gradient changes remembered", kind="int"),
    _LINE_SEARCH,
)
_SAM_PARAMS = (
    *_SGD_PARAMS,
    Param("rho", 0.05, 0.0, 10.0, _RHO),
    _flag("adaptive", "scale the neighbourhood by the weights (ASAM)"),
)

OPTIMIZERS.update(
    {
        spec.name: spec
        for spec in (
            _evaluating(
                "lbfgs",
                "L-BFGS",
                "torch.optim.LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-07, "
                "tolerance_change=1e-09, history_size=100, line_search_fn=None)",
                _LBFGS_PARAMS,
                r"d_k = -H_k g_k\ \text{(two-loop recursion over the last } m \text{ pairs } "
                r"s_i = \theta_{i+1} - \theta_i,\ y_i = g_{i+1} - g_i,\ "
                r"H_0 = \tfrac{s^\top y}{y^\top y} I);\ "
                r"\theta_{k+1} = \theta_k + t_k d_k,\ t_k = \eta\ \text{or strong Wolfe};\ "
                r"\text{up to max\_iter such iterations per step}",
                "A quasi-Newton method: it builds a picture of the curvature from the last steps and "
                "evaluates the function several times per step. Each dot is one evaluation.",
                torch_class="LBFGS",
                build=ev.lbfgs,
                max_evaluations=_lbfgs_evaluations,
            ),
            _evaluating(
                "sam",
                "SAM (sharpness-aware)",
                "SAM(params, torch.optim.SGD, rho=0.05, adaptive=False, lr=0.001, momentum=0)"
                "  # davda54/sam (Foret et al. 2021, arXiv:2010.01412) around torch.optim.SGD",
                _SAM_PARAMS,
                r"\epsilon_t = \rho\,\frac{w \odot g_t}{\lVert \sqrt{w} \odot g_t\rVert + 10^{-12}}"
                r"\ (w = 1, \text{adaptive: } w = \theta^2);\ "
                r"\tilde g_t = \nabla f(\theta_{t-1} + \epsilon_t);\ "
                r"\theta_t = \mathrm{SGD}(\theta_{t-1}, \tilde g_t)",
                "Looks a small distance uphill first and steps with the gradient found there: it prefers "
                "wide, flat minima. Two evaluations per step; the dot is the looked-at point.",
                torch_class="SGD",
                keras="SGD",
                build=ev.sam,
                max_evaluations=lambda h: 2,
            ),
            _evaluating(
                "newton",
                "Newton (damped)",
                "no torch.optim class: theta -= lr * torch.linalg.solve(H + damping * I, g) with the exact "
                "Hessian (torch.autograd.functional.hessian)",
                (
                    _lr(1.0),
                    Param("damping", 0.0, 0.0, 1e6, "added to the Hessian's diagonal: shorter, safer steps"),
                ),
                r"\theta_t = \theta_{t-1} - \eta\,(\nabla^2 f(\theta_{t-1}) + \lambda I)^{-1}"
                r" \nabla f(\theta_{t-1})",
                "Jumps to the bottom of the local quadratic model using the exact curvature: one step on "
                "a bowl, but it is just as happy to jump onto a saddle point.",
                build=ev.newton,
            ),
            _evaluating(
                "polyak",
                "Polyak step size",
                "no torch.optim class: lr_t = min((f(x) - f_star) / (c * |g|^2), lr)"
                "  # SPS_max, Loizou et al. 2021 (arXiv:2002.10542); c=1 without the cap is Polyak 1987",
                (
                    _lr(1.0),
                    Param(
                        "c",
                        1.0,
                        1e-3,
                        1e3,
                        "divides the Polyak step size (SPS: 0.5 in theory)",
                        log_scale=True,
                    ),
                    Param(
                        "f_star",
                        None,
                        -1e12,
                        1e12,
                        "the minimum value f*; null: the surface's known minimum value",
                    ),
                ),
                r"\eta_t = \min\left(\frac{f(\theta_{t-1}) - f^*}{c\,\lVert g_t\rVert^2},\ "
                r"\eta_{\max}\right);\ "
                r"\theta_t = \theta_{t-1} - \eta_t g_t",
                "Knows how far down the minimum is and picks the step that would reach it if the slope "
                "stayed the same: large steps far away, small ones close to the bottom.",
                build=ev.polyak,
            ),
        )
    }
)


# --------------------------------------------------------------------------- validation


def _check_torch_rules(values: dict[str, Any]) -> None:
    """torch.optim's own constructor checks that bounds alone do not express."""
    if "nesterov" in values and np.any(
        np.asarray(values["nesterov"])
        & ((np.asarray(values["momentum"]) <= 0) | (np.asarray(values["dampening"]) != 0))
    ):
        raise ConfigError(
            "Nesterov momentum requires a momentum > 0 and zero dampening (as torch.optim.SGD)",
            "hyperparameters.nesterov",
        )


def get_optimizer(name: str) -> OptimizerSpec:
    """The registry entry ``name``; an unknown name is an error listing the valid ones."""
    spec = OPTIMIZERS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise UnknownNameError("optimizer", str(name), OPTIMIZERS, field="optimizer")
    return spec


def resolve_hyperparameters(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``given`` for optimizer ``name`` and fill in torch's defaults."""
    values = resolve(get_optimizer(name).hyperparameters, given, "hyperparameters", what="hyperparameter")
    _check_torch_rules(values)
    _check_gradient_only_rules(values)
    return values


def max_evaluations(name: str, given: Mapping[str, Any]) -> int:
    """The most function-and-gradient evaluations one step of ``name`` may use (the price of a request);
    1 for a first-order optimizer, and 1 when the values do not resolve (the run refuses them later)."""
    try:
        spec = get_optimizer(name)
        return spec.max_evaluations(resolve_hyperparameters(name, given)) if spec.evaluating else 1
    except ConfigError:
        return 1


# --------------------------------------------------------------------------- assembly


def make_optimizer(
    name: str,
    hyperparameters: Mapping[str, Any],
    schedule: ScheduleFn | None = None,
    shapes: tx_extra.Shapes = None,
) -> tx.GradientTransformation | ev.EvaluatingTransformation:
    """The chain for ``name``; lr comes from ``schedule(step)`` if given, else ``hyperparameters['lr']``.

    ``hyperparameters`` must be resolved (see :func:`resolve_hyperparameters`); values may be
    ``(K, 1)`` arrays for K runs stepped together.  Weight decay before the scaling is
    torch's coupled L2; after it (AdamW, decoupled flag) it becomes ``p *= 1 - lr * wd``.
    ``shapes`` lists the tensors packed in the flat vector (a network's layers) for per-tensor rules.
    """
    spec = get_optimizer(name)
    lr = schedule if schedule is not None else hyperparameters["lr"]
    if spec.stepper is not None:
        return spec.stepper(hyperparameters, lr)
    if spec.own_lr:
        h = {**hyperparameters, "lr": lr}
        return tx.chain(*(spec.chain(h, shapes) if spec.per_tensor else spec.chain(h)))
    return tx.chain(*spec.chain(hyperparameters), tx.scale_by_learning_rate(lr))


def check_schedule(name: str, schedule_name: str, field: str = "schedule") -> None:
    """Refuse a learning-rate schedule that the optimizer would ignore (Rprop reads lr only at its start)."""
    if name == "rprop" and schedule_name != "constant":
        raise ConfigError(
            "rprop reads lr only as its first step size (as torch.optim.Rprop), so a schedule would change "
            "nothing; use the constant schedule",
            field,
        )
