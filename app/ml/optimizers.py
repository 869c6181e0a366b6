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
from app.ml.errors import ConfigError, UnknownNameError
from app.ml.params import Param, resolve
from app.ml.schedules import ScheduleFn

_BETA_MAX = 0.9999  # betas and momentum live in [0, 1); the bound is inclusive, so just below 1


Chain = Callable[[Mapping[str, Any]], list[tx.GradientTransformation]]
"""Resolved hyperparameters -> the transforms before the learning rate (optax ``alias.py`` style)."""

Stepper = Callable[[Mapping[str, Any], Any], ev.EvaluatingTransformation]
"""(resolved hyperparameters, lr or schedule) -> an optimizer that evaluates the function itself."""


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: what the learner reads, torch's names, and how to build it.

    ``chain`` never looks at values to decide *which* transforms to use, so the state structure is
    the same for every value (live changes keep the state). ``torch_class`` is the ``torch.optim``
    class the PyTorch export uses; ``keras`` the ``keras.optimizers`` class of the Keras export (the
    closest one when Keras has no equivalent, which the export then says).

    An optimizer that needs more than one gradient (the loss, extra evaluations, the Hessian) has a
    ``stepper`` instead of a chain (:mod:`app.ml.evaluating`); ``max_evaluations`` bounds the
    function-and-gradient evaluations of one of its steps (the price of a request).
    """

    name: str
    title: str
    torch: str
    hyperparameters: tuple[Param, ...]
    update_rule: str
    note: str
    chain: Chain = field(repr=False, compare=False)
    torch_class: str
    keras: str
    stepper: Stepper | None = field(default=None, repr=False, compare=False)
    max_evaluations: Callable[[Mapping[str, Any]], int] = field(
        default=lambda h: 1, repr=False, compare=False
    )

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
    name: str, hyperparameters: Mapping[str, Any], schedule: ScheduleFn | None = None
) -> tx.GradientTransformation | ev.EvaluatingTransformation:
    """The chain for ``name``; lr comes from ``schedule(step)`` if given, else ``hyperparameters['lr']``.

    ``hyperparameters`` must be resolved (see :func:`resolve_hyperparameters`); values may be
    ``(K, 1)`` arrays for K runs stepped together.  Weight decay before the scaling is
    torch's coupled L2; after it (AdamW, decoupled flag) it becomes ``p *= 1 - lr * wd``.
    """
    spec = get_optimizer(name)
    lr = schedule if schedule is not None else hyperparameters["lr"]
    if spec.stepper is not None:
        return spec.stepper(hyperparameters, lr)
    return tx.chain(*spec.chain(hyperparameters), tx.scale_by_learning_rate(lr))
