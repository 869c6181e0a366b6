"""Pure gradient transformations (optax-style ``init``/``update`` pairs) and ``chain()``.

Each transformation is a pair of pure functions: ``init(params) -> state`` and
``update(grads, state, params) -> (updates, new_state)``; the caller applies
``new_params = params + updates``.  The arithmetic of every transform mirrors the
``_single_tensor_*`` implementation of the matching ``torch.optim`` class in float64,
so a chain assembled in :mod:`app.ml.optimizers` reproduces torch's trajectory.

Shapes: ``params`` is one float64 array, ``(P,)`` for one run or ``(K, P)`` for K runs
advanced together.  Hyperparameters are Python scalars or ``(K, 1)`` arrays (one value per
run); boolean flags are Python bools or ``(K, 1)`` bool arrays.  Plain scalars take a fast
Python branch (Python-float bias corrections, no ``np.where``) because the app steps tiny
arrays and the NumPy call count per step is the cost.

State structure depends only on which transform it is, never on hyperparameter values,
so the app may swap in a transformation rebuilt with new values between steps and keep
the state (torch: editing ``param_groups[0][...]`` between ``step()`` calls).
States are never mutated in place: every update returns fresh arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, NamedTuple

import numpy as np

Hyper = float | np.ndarray
Flag = bool | np.ndarray
ScheduleFn = Callable[[int], float | np.ndarray]


Aux = dict[str, np.ndarray]
"""Per-step auxiliary values of an optimizer, by name: ``(..., d)`` points or ``(..., 1)`` scalars per run;
NaN where a value is not defined yet (an average before its first step)."""


class GradientTransformation(NamedTuple):
    """A pair of pure functions; ``update`` returns updates that are *added* to the params.

    ``stages`` is set by :func:`chain` (the transforms it applies in order) so the ledger
    (:mod:`app.ml.ledger`) can show what each one did; a single transform has none.

    ``aux(state, params)``, when given (pass it by keyword), reads what the optimizer knows beyond the
    params after an update (schedule-free's eval point, ASGD's average, Prodigy's d) for the trace's
    auxiliary columns; an entry named ``eval`` is the point the optimizer's eval mode gives, where a
    network is evaluated. Both default to nothing, so ``GradientTransformation(init, update)`` is a leaf.
    """

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray], tuple[np.ndarray, Any]]
    stages: tuple[GradientTransformation, ...] = ()
    aux: Callable[[Any, np.ndarray], Aux] | None = None


_NOTES: ContextVar[dict[str, Any] | None] = ContextVar("transform_notes", default=None)
"""Where transforms note the intermediate numbers of an update (bias corrections, denominators)
while the ledger explains one; None (nothing is kept) the rest of the time."""


def noting() -> Any:
    """Collect the notes of the updates run inside ``with noting() as notes:`` into the dict ``notes``."""
    return _Noting()


class _Noting:
    def __enter__(self) -> dict[str, Any]:
        self.notes: dict[str, Any] = {}
        self.token = _NOTES.set(self.notes)
        return self.notes

    def __exit__(self, *exc: object) -> None:
        _NOTES.reset(self.token)


def _note(**values: Any) -> None:
    """Keep intermediate numbers of this update for the ledger (a no-op unless one is explaining)."""
    notes = _NOTES.get()
    if notes is not None:
        notes.update(values)


class EmptyState(NamedTuple):
    """State of a stateless transform."""


class CountState(NamedTuple):
    """Number of updates done so far (the lr schedule index)."""

    count: int


class TraceState(NamedTuple):
    """SGD momentum buffer plus a per-run marker: has the buffer been created yet?"""

    momentum_buffer: np.ndarray
    started: np.ndarray  # bool, shape params.shape[:-1] + (1,)


class ScaleByAdamState(NamedTuple):
    count: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray  # always present so toggling amsgrad never changes the structure


class ScaleByRmsState(NamedTuple):
    square_avg: np.ndarray
    grad_avg: np.ndarray  # used when centered
    momentum_buffer: np.ndarray  # used when momentum > 0


class ScaleByAdagradState(NamedTuple):
    count: int
    sum: np.ndarray


class ScaleByAdadeltaState(NamedTuple):
    square_avg: np.ndarray
    acc_delta: np.ndarray


class ScaleByNadamState(NamedTuple):
    count: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    mu_product: float | np.ndarray


class ScaleByRadamState(NamedTuple):
    count: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


class ScaleByAdamaxState(NamedTuple):
    count: int
    exp_avg: np.ndarray
    exp_inf: np.ndarray


class NoiseState(NamedTuple):
    rng: np.random.Generator


# --------------------------------------------------------------------------- helpers


def _hyper(value: Any) -> Hyper:
    """A scalar becomes a Python float (for Python-side arithmetic); anything else a float64 array."""
    if np.ndim(value) == 0:
        return float(value)
    return np.asarray(value, dtype=np.float64)


def _const(value: Any) -> np.ndarray:
    """A float64 array (0-d for a scalar) to multiply arrays with.

    NumPy multiplies an array by a 0-d array about 40 % faster than by a Python float
    (no scalar conversion per call), with the identical IEEE result.
    """
    return np.asarray(value, dtype=np.float64)


def _flag(value: Any) -> Flag:
    """A scalar becomes a Python bool (fast path); anything else a bool array."""
    if np.ndim(value) == 0:
        return bool(value)
    return np.asarray(value, dtype=bool)


def _sqrt(x: Hyper) -> Hyper:
    return math.sqrt(x) if isinstance(x, float) else np.sqrt(x)


def _run_shape(params: np.ndarray) -> tuple[int, ...]:
    """Shape of a per-run marker: ``(1,)`` for one run, ``(K, 1)`` for K runs."""
    return (*params.shape[:-1], 1)


_ALL_STARTED: dict[tuple[int, ...], np.ndarray] = {}


def _all_started(shape: tuple[int, ...]) -> np.ndarray:
    """A shared read-only all-True marker, so "every run has a buffer" is an identity check."""
    marker = _ALL_STARTED.get(shape)
    if marker is None:
        marker = np.ones(shape, dtype=bool)
        marker.flags.writeable = False
        _ALL_STARTED[shape] = marker
    return marker


def _lerp(start: np.ndarray, end: np.ndarray, weight: Hyper) -> np.ndarray:
    """``torch.lerp`` in the form torch's CPU kernel uses for ``|weight| < 0.5``."""
    return start + weight * (end - start)


def _ema_sq(avg: np.ndarray, grad: np.ndarray, decay: Hyper, one_minus_decay: Hyper) -> np.ndarray:
    """``avg.mul_(decay).addcmul_(grad, grad, value=1 - decay)`` with torch's operation order."""
    return avg * decay + one_minus_decay * grad * grad


# --------------------------------------------------------------------------- composition


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transforms in sequence; the state is the tuple of their states (optax ``chain``)."""
    inits = tuple(t.init for t in transforms)
    updates = tuple(t.update for t in transforms)

    def init(params: np.ndarray) -> tuple[Any, ...]:
        return tuple(fn(params) for fn in inits)

    def update(grads: np.ndarray, state: tuple[Any, ...], params: np.ndarray) -> tuple[np.ndarray, Any]:
        new_state = []
        for fn, sub in zip(updates, state, strict=True):
            grads, sub = fn(grads, sub, params)
            new_state.append(sub)
        return grads, tuple(new_state)

    readers = [(i, t.aux) for i, t in enumerate(transforms) if t.aux is not None]
    if not readers:
        return GradientTransformation(init, update, tuple(transforms))

    def aux(state: tuple[Any, ...], params: np.ndarray) -> Aux:
        out: Aux = {}
        for i, read in readers:
            out.update(read(state[i], params))
        return out

    return GradientTransformation(init, update, tuple(transforms), aux=aux)


def _empty_init(params: np.ndarray) -> EmptyState:
    return EmptyState()


def _identity(grads: np.ndarray, state: Any, params: np.ndarray) -> tuple[np.ndarray, Any]:
    return grads, state


# --------------------------------------------------------------------------- small transforms


def add_decayed_weights(weight_decay: Any = 0.0) -> GradientTransformation:
    """``g + weight_decay * p``: torch's coupled L2 (``grad.add(param, alpha=weight_decay)``).

    Placed after the scaling transform and before the learning rate it becomes torch's
    decoupled decay ``p *= 1 - lr * weight_decay`` (AdamW, ``decoupled_weight_decay=True``).
    """
    if np.ndim(weight_decay) == 0 and float(weight_decay) == 0.0:
        return GradientTransformation(_empty_init, _identity)  # torch skips the term when it is 0
    wd = _const(weight_decay)

    def update(grads: np.ndarray, state: EmptyState, params: np.ndarray) -> tuple[np.ndarray, EmptyState]:
        return grads + wd * params, state

    return GradientTransformation(_empty_init, update)


def scale_by_learning_rate(learning_rate: Any) -> GradientTransformation:
    """Multiply by ``-lr``; ``lr`` is a number, a ``(K, 1)`` array, or a schedule ``count -> lr``.

    The count in the state is the index of the update (0-based), matching a torch
    ``lr_scheduler`` stepped once after each ``optimizer.step()``.
    """
    if callable(learning_rate):
        schedule = learning_rate

        def update(grads: np.ndarray, state: CountState, params: np.ndarray) -> tuple[np.ndarray, CountState]:
            return -schedule(state.count) * grads, CountState(state.count + 1)

    else:
        neg_lr = _const(-_hyper(learning_rate))

        def update(grads: np.ndarray, state: CountState, params: np.ndarray) -> tuple[np.ndarray, CountState]:
            return neg_lr * grads, CountState(state.count + 1)

    return GradientTransformation(lambda params: CountState(0), update)


def trace(momentum: Any = 0.0, dampening: Any = 0.0, nesterov: Any = False) -> GradientTransformation:
    """Momentum exactly as ``torch.optim.SGD`` does it.

    torch creates the buffer on the first step with momentum != 0 as a plain copy of the
    gradient (no dampening), afterwards ``buf = momentum * buf + (1 - dampening) * g``;
    Nesterov returns ``g + momentum * buf``, else ``buf``.  ``momentum == 0`` means no
    buffer at all: the gradient passes through and any existing buffer is left untouched.
    ``started`` records per run whether the buffer exists.
    """
    mom, nest = _hyper(momentum), _flag(nesterov)
    mom_c, keep = _const(mom), _const(1.0 - _hyper(dampening))

    def init(params: np.ndarray) -> TraceState:
        return TraceState(np.zeros_like(params), np.zeros(_run_shape(params), dtype=bool))

    def momentum_out(grads: np.ndarray, buf: np.ndarray) -> np.ndarray:
        if nest is False:
            return buf
        if nest is True:
            return grads + mom_c * buf
        return np.where(nest, grads + mom_c * buf, buf)

    def update(grads: np.ndarray, state: TraceState, params: np.ndarray) -> tuple[np.ndarray, TraceState]:
        started = state.started
        if isinstance(mom, float):
            if mom == 0.0:
                return grads, state
            buf = state.momentum_buffer * mom_c + keep * grads
            all_started = _all_started(started.shape)
            if started is not all_started:
                if not started.all():
                    buf = np.where(started, buf, grads)
                started = all_started
            return momentum_out(grads, buf), TraceState(buf, started)
        active = mom != 0.0
        buf = np.where(started, state.momentum_buffer * mom_c + keep * grads, grads)
        buf = np.where(active, buf, state.momentum_buffer)
        out = np.where(active, momentum_out(grads, buf), grads)
        return out, TraceState(buf, started | active)

    return GradientTransformation(init, update)


def scale_by_adam(
    b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8, amsgrad: Any = False
) -> GradientTransformation:
    """``m_hat / (sqrt(v) / sqrt(1 - b2^t) + eps)`` with ``m_hat = m / (1 - b1^t)``: torch Adam.

    torch puts eps *after* dividing sqrt(v) by sqrt(bias_correction2) and folds
    1/bias_correction1 into the step size; AMSGrad uses the running max of v (the max buffer
    only advances on steps where amsgrad is on).
    """
    b1, b2, ams = _hyper(b1), _hyper(b2), _flag(amsgrad)
    w1, w2, b2_c, eps = _const(1.0 - b1), _const(1.0 - b2), _const(b2), _const(eps)

    def init(params: np.ndarray) -> ScaleByAdamState:
        zeros = np.zeros_like(params)
        return ScaleByAdamState(0, zeros, zeros, zeros)

    def update(grads: np.ndarray, state: ScaleByAdamState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        t = state.count + 1
        m = _lerp(state.exp_avg, grads, w1)
        v = _ema_sq(state.exp_avg_sq, grads, b2_c, w2)
        if ams is False:
            v_max, v_used = state.max_exp_avg_sq, v
        elif ams is True:
            v_max = v_used = np.maximum(state.max_exp_avg_sq, v)
        else:
            v_max = np.where(ams, np.maximum(state.max_exp_avg_sq, v), state.max_exp_avg_sq)
            v_used = np.where(ams, v_max, v)
        bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
        denom = np.sqrt(v_used) / _sqrt(bc2) + eps
        _note(bias_correction1=bc1, bias_correction2=bc2, m_hat=m / bc1, denominator=denom, scale=1.0 / denom)
        return m / denom / bc1, ScaleByAdamState(t, m, v, v_max)

    return GradientTransformation(init, update)


def scale_by_rms(
    alpha: Any = 0.99, eps: Any = 1e-8, centered: Any = False, momentum: Any = 0.0
) -> GradientTransformation:
    """torch RMSprop without lr: ``g / (sqrt(E[g^2] - E[g]^2 if centered) + eps)``, then momentum.

    The momentum buffer starts at zero (not at the first value as in SGD) and holds
    ``momentum * buf + g / avg``; lr multiplies the whole buffer afterwards, as in torch.
    """
    mom, cen = _hyper(momentum), _flag(centered)
    alpha, eps, mom_c, w = _const(alpha), _const(eps), _const(mom), _const(1.0 - _hyper(alpha))

    def init(params: np.ndarray) -> ScaleByRmsState:
        zeros = np.zeros_like(params)
        return ScaleByRmsState(zeros, zeros, zeros)

    def update(grads: np.ndarray, state: ScaleByRmsState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        sq = _ema_sq(state.square_avg, grads, alpha, w)
        ga = state.grad_avg
        if cen is False:
            avg = np.sqrt(sq) + eps
        elif cen is True:
            ga = _lerp(ga, grads, w)
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            ga = np.where(cen, _lerp(ga, grads, w), ga)
            avg = np.where(cen, np.sqrt(sq - ga * ga), np.sqrt(sq)) + eps
        scaled = grads / avg
        _note(denominator=avg, scale=1.0 / avg)
        buf = state.momentum_buffer
        if isinstance(mom, float):
            if mom > 0.0:
                buf = buf * mom_c + scaled
                scaled = buf
        else:
            active = mom > 0.0
            buf = np.where(active, buf * mom_c + scaled, buf)
            scaled = np.where(active, buf, scaled)
        return scaled, ScaleByRmsState(sq, ga, buf)

    return GradientTransformation(init, update)


def scale_by_adagrad(
    lr_decay: Any = 0.0, initial_accumulator_value: Any = 0.0, eps: Any = 1e-10
) -> GradientTransformation:
    """torch Adagrad without lr: ``sum += g^2``; ``g / (sqrt(sum) + eps) / (1 + (t - 1) * lr_decay)``.

    The accumulator starts at ``initial_accumulator_value`` (read at init only, as torch does).
    """
    decay, init_acc, eps = _hyper(lr_decay), _hyper(initial_accumulator_value), _const(eps)

    def init(params: np.ndarray) -> ScaleByAdagradState:
        return ScaleByAdagradState(0, np.broadcast_to(init_acc, params.shape).astype(np.float64))

    def update(grads: np.ndarray, state: ScaleByAdagradState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        t = state.count + 1
        acc = state.sum + grads * grads
        denom = np.sqrt(acc) + eps
        _note(denominator=denom, scale=1.0 / denom)
        scaled = grads / denom
        if not (isinstance(decay, float) and decay == 0.0):
            scaled = scaled / (1.0 + (t - 1) * decay)
        return scaled, ScaleByAdagradState(t, acc)

    return GradientTransformation(init, update)


def scale_by_adadelta(rho: Any = 0.9, eps: Any = 1e-6) -> GradientTransformation:
    """torch Adadelta without lr: ``delta = sqrt(acc + eps) / sqrt(E[g^2] + eps) * g``.

    eps sits inside both square roots; ``acc`` averages delta^2 *before* lr is applied.
    """
    rho, eps, w = _const(rho), _const(eps), _const(1.0 - _hyper(rho))

    def init(params: np.ndarray) -> ScaleByAdadeltaState:
        zeros = np.zeros_like(params)
        return ScaleByAdadeltaState(zeros, zeros)

    def update(grads: np.ndarray, state: ScaleByAdadeltaState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        sq = _ema_sq(state.square_avg, grads, rho, w)
        ratio = np.sqrt(state.acc_delta + eps) / np.sqrt(sq + eps)
        _note(scale=ratio)
        delta = ratio * grads
        acc = _ema_sq(state.acc_delta, delta, rho, w)
        return delta, ScaleByAdadeltaState(sq, acc)

    return GradientTransformation(init, update)


def scale_by_nadam(
    b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8, momentum_decay: Any = 4e-3
) -> GradientTransformation:
    """torch NAdam without lr (Dozat's Nesterov Adam with momentum schedule).

    ``mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay))``; ``mu_product`` is the running
    product of mu_t; ``denom = sqrt(v / (1 - b2^t)) + eps`` (division inside the root);
    output ``(1 - mu_t) / (1 - prod) * g / denom + mu_{t+1} / (1 - prod * mu_{t+1}) * m / denom``.
    """
    b1, b2, md = _hyper(b1), _hyper(b2), _hyper(momentum_decay)
    w1, w2, b2_c, eps = _const(1.0 - b1), _const(1.0 - b2), _const(b2), _const(eps)

    def init(params: np.ndarray) -> ScaleByNadamState:
        zeros = np.zeros_like(params)
        return ScaleByNadamState(0, zeros, zeros, 1.0)

    def update(grads: np.ndarray, state: ScaleByNadamState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        t = state.count + 1
        bc2 = 1.0 - b2**t
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * md))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * md))
        mu_product = state.mu_product * mu
        m = _lerp(state.exp_avg, grads, w1)
        v = _ema_sq(state.exp_avg_sq, grads, b2_c, w2)
        denom = np.sqrt(v / bc2) + eps
        coef_g = (1.0 - mu) / (1.0 - mu_product)
        coef_m = mu_next / (1.0 - mu_product * mu_next)
        _note(mu=mu, mu_next=mu_next, gradient_weight=coef_g, momentum_weight=coef_m, denominator=denom)
        _note(scale=1.0 / denom)
        out = (coef_g * grads + coef_m * m) / denom
        return out, ScaleByNadamState(t, m, v, mu_product)

    return GradientTransformation(init, update)


def scale_by_radam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8) -> GradientTransformation:
    """torch RAdam without lr: rectified Adam.

    ``rho_t = rho_inf - 2 t b2^t / (1 - b2^t)``; if ``rho_t > 5`` the step is
    ``m_hat * sqrt(1 - b2^t) / (sqrt(v) + eps) * r_t`` (eps *outside* the bias correction,
    unlike Adam), otherwise plain momentum ``m_hat``.
    """
    b1, b2 = _hyper(b1), _hyper(b2)
    w1, w2, b2_c, eps = _const(1.0 - b1), _const(1.0 - b2), _const(b2), _const(eps)
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def init(params: np.ndarray) -> ScaleByRadamState:
        zeros = np.zeros_like(params)
        return ScaleByRadamState(0, zeros, zeros)

    def update(grads: np.ndarray, state: ScaleByRadamState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        t = state.count + 1
        m = _lerp(state.exp_avg, grads, w1)
        v = _ema_sq(state.exp_avg_sq, grads, b2_c, w2)
        bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
        m_hat = m / bc1
        rho_t = rho_inf - 2.0 * t * b2**t / bc2
        _note(bias_correction1=bc1, bias_correction2=bc2, m_hat=m_hat, rho=rho_t)
        new_state = ScaleByRadamState(t, m, v)
        if isinstance(rho_t, float) and rho_t <= 5.0:
            return m_hat, new_state
        adaptive = _sqrt(bc2) / (np.sqrt(v) + eps)
        if isinstance(rho_t, float):
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            _note(rectification=rect, scale=adaptive * rect)
            return m_hat * adaptive * rect, new_state
        with np.errstate(invalid="ignore", divide="ignore"):  # masked out below where rho_t <= 5
            rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return np.where(rho_t > 5.0, m_hat * adaptive * rect, m_hat), new_state

    return GradientTransformation(init, update)


def scale_by_adamax(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8) -> GradientTransformation:
    """torch Adamax without lr: ``u = max(b2 * u, |g| + eps)``; output ``m / u / (1 - b1^t)``."""
    b1 = _hyper(b1)
    w1, b2, eps = _const(1.0 - b1), _const(b2), _const(eps)

    def init(params: np.ndarray) -> ScaleByAdamaxState:
        zeros = np.zeros_like(params)
        return ScaleByAdamaxState(0, zeros, zeros)

    def update(grads: np.ndarray, state: ScaleByAdamaxState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        t = state.count + 1
        m = _lerp(state.exp_avg, grads, w1)
        u = np.maximum(state.exp_inf * b2, np.abs(grads) + eps)
        _note(bias_correction1=1.0 - b1**t, denominator=u, scale=1.0 / u)
        return m / u / (1.0 - b1**t), ScaleByAdamaxState(t, m, u)

    return GradientTransformation(init, update)


# --------------------------------------------------------------------------- clipping and noise


def vector_norm(a: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """Euclidean norm over the last axis that is finite whenever every entry is finite.

    ``sqrt(sum(a * a))`` overflows to inf once an entry passes about 1.3e154 (exp(360) on a custom
    surface is 2e156) although the norm itself is representable; that inf then reads as a diverged
    run or clips a gradient to zero. Two columns use ``np.hypot``, which never overflows; other
    widths are divided by their largest magnitude first (the LAPACK ``dnrm2`` idea). Inf and NaN
    entries still give inf and NaN.
    """
    if a.shape[-1] == 2:
        norm = np.hypot(a[..., 0], a[..., 1])
    elif a.shape[-1] == 1:
        norm = np.abs(a[..., 0])
    else:
        scale = np.max(np.abs(a), axis=-1, keepdims=True) if a.shape[-1] else np.zeros((*a.shape[:-1], 1))
        safe = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        scaled = a / safe
        norm = safe[..., 0] * np.sqrt(np.sum(scaled * scaled, axis=-1))
    return norm[..., None] if keepdims else norm


def clip_by_norm(max_norm: Any) -> GradientTransformation:
    """``torch.nn.utils.clip_grad_norm_``: ``g * min(1, max_norm / (||g|| + 1e-6))``.

    The norm is taken over the last axis, i.e. separately for each run of a (K, P) group, with
    :func:`vector_norm` so a huge but finite gradient is scaled down to ``max_norm``, not to zero.
    """
    limit = _hyper(max_norm)

    def update(grads: np.ndarray, state: EmptyState, params: np.ndarray) -> tuple[np.ndarray, EmptyState]:
        norm = vector_norm(grads, keepdims=True)
        return grads * np.minimum(limit / (norm + 1e-6), 1.0), state

    return GradientTransformation(_empty_init, update)


def clip_by_value(clip_value: Any) -> GradientTransformation:
    """``torch.nn.utils.clip_grad_value_``: clamp each component to ``[-clip_value, clip_value]``."""
    limit = _hyper(clip_value)

    def update(grads: np.ndarray, state: EmptyState, params: np.ndarray) -> tuple[np.ndarray, EmptyState]:
        return np.clip(grads, -limit, limit), state

    return GradientTransformation(_empty_init, update)


def add_gradient_noise(std: Any, seed: int = 0) -> GradientTransformation:
    """Add ``N(0, std^2)`` noise to each gradient component: a stand-in for mini-batch noise.

    A full-batch gradient of a surface has no sampling noise; adding Gaussian noise shows
    what stochastic (mini-batch) gradients do to a path.  The ``Generator(PCG64(seed))``
    lives in the state and is copied before drawing, so the update stays pure and the same
    seed always gives the same trace.  ``std`` may be a ``(K, 1)`` array.
    """
    sigma = _hyper(std)

    def init(params: np.ndarray) -> NoiseState:
        return NoiseState(np.random.Generator(np.random.PCG64(seed)))

    def update(grads: np.ndarray, state: NoiseState, params: np.ndarray) -> tuple[np.ndarray, NoiseState]:
        bits = np.random.PCG64()
        bits.state = state.rng.bit_generator.state
        rng = np.random.Generator(bits)
        return grads + sigma * rng.standard_normal(grads.shape), NoiseState(rng)

    return GradientTransformation(init, update)
