"""Transforms of the gradient-only optimizers beyond the classic set: Rprop, ASGD, Adafactor, Lion,
Schedule-Free SGD/AdamW and Prodigy, each mirroring its reference implementation in float64.

The references: ``torch.optim.Rprop``, ``ASGD``, ``Adafactor`` (``_single_tensor_*``, torch 2.13),
lion-pytorch 0.2.5 ``Lion``, schedulefree 1.4.1 ``SGDScheduleFree`` / ``AdamWScheduleFree`` and
prodigyopt 1.1.2 ``Prodigy``.  Same conventions as :mod:`app.ml.transforms` (params ``(P,)`` or ``(K, P)``,
hyperparameters scalars or ``(K, 1)`` arrays, state structure independent of the values).

Most use the learning rate inside the rule (Rprop: the first step size; ASGD: its decaying eta;
Adafactor: ``min(lr, 1/sqrt(t))``; schedule-free: the weights of its average; Prodigy: ``d * lr``; Lion:
in its decoupled decay), so each takes ``lr`` itself (a number, ``(K, 1)`` array or schedule
``count -> lr``) and returns the whole move: the reference's new point ``a(p)`` as ``a(p) - p``, which the
caller's ``p + update`` turns back into ``a(p)`` (to the bit while the step is smaller than |p|).

torch's CPU kernels fuse ``a + alpha * b`` (``add``/``sub`` with alpha, ``addcmul``, ``lerp``, the norm's
accumulation) into one fused multiply-add; :func:`fma` does the same here, so that the chaotic
trajectories (Adafactor, Lion near a sign change) stay on torch's to the last bit rather than drifting
apart from a first 1-ulp difference.

Each optimizer that knows more than its point exposes it through ``aux`` (see
:class:`app.ml.transforms.GradientTransformation`): ASGD its average ``ax``, schedule-free its eval point
``eval``, Prodigy its step-size estimate ``d``.

For the ledger (:mod:`app.ml.ledger`) each notes ``scale`` where its step has a per-coordinate (or
per-run) size: ``lr * scale`` is how far a unit of its direction moves a coordinate (Rprop's step sizes,
ASGD's eta, Adafactor's and Schedule-Free AdamW's RMS-scaled rates, Prodigy's ``d lr / (sqrt(v) + d eps)``,
Lion's lr itself); Schedule-Free SGD, like plain SGD, has none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from app.ml.transforms import Aux, GradientTransformation, _const, _flag, _hyper, _note, _run_shape

Shapes = Sequence[tuple[int, ...]] | None
"""The tensors packed in the last axis, in order (a network's W and b per layer); None: one vector."""


def _lr_source(lr: Any) -> Any:
    """A schedule stays callable; a number or (K, 1) array becomes a float or float64 array."""
    return lr if callable(lr) else _hyper(lr)


def _lr_now(lr: Any, count: int) -> Any:
    return _hyper(lr(count)) if callable(lr) else lr


def _maximum(a: Any, b: Any) -> Any:
    return max(a, b) if isinstance(a, float) and isinstance(b, float) else np.maximum(a, b)


def _minimum(a: Any, b: Any) -> Any:
    return min(a, b) if isinstance(a, float) and isinstance(b, float) else np.minimum(a, b)


_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's split of a double into two 26-bit halves


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = _SPLIT * a
    hi = t - (t - a)
    return hi, a - hi


def fma(a: Any, b: Any, c: Any) -> np.ndarray:
    """``a * b + c`` rounded once, as the fused multiply-add torch's CPU kernels use (NumPy has none).

    Dekker's exact product ``a b = p + e`` and Knuth's exact sum ``p + c = s + t`` give ``s + (t + e)``:
    the correctly rounded result unless the exact value lies within about 2^-53 ulp of a rounding
    midpoint. Where the splitting overflows (|a|, |b| > 2^996) the plain ``a * b + c`` is used.
    """
    a, b, c = (
        np.asarray(a, dtype=np.float64),
        np.asarray(b, dtype=np.float64),
        np.asarray(c, dtype=np.float64),
    )
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    z = s - p
    t = (p - (s - z)) + (c - z)
    out = s + (t + e)
    return np.where(np.isfinite(out), out, p + c)


def torch_lerp(start: np.ndarray, end: np.ndarray, weight: Any) -> np.ndarray:
    """``torch.lerp`` as its CPU kernel computes it: ``fma(w, end - start, start)`` for ``|w| < 0.5``, else
    ``fma(w - 1, end - start, end)`` (schedule-free's first weight is 1, Adafactor's early ones above 0.5)."""
    diff = end - start
    if isinstance(weight, float):
        if abs(weight) < 0.5:
            return fma(weight, diff, start)
        return fma(weight - 1.0, diff, end)
    weight = np.asarray(weight)
    return np.where(np.abs(weight) < 0.5, fma(weight, diff, start), fma(weight - 1.0, diff, end))


def _norm(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """The 2-norm over ``axes`` (kept as size 1); up to 16 values with torch's CPU accumulation,
    ``acc = fma(x_i, x_i, acc)`` in order, so a surface's 2 coordinates match torch to the bit.

    torch blocks longer reductions its own way, so there (a network's tensors) a plain sum is used and the
    last bits may differ.
    """
    axes = tuple(sorted(x % a.ndim for x in axes))
    count = math.prod(a.shape[x] for x in axes)
    if count > 16:
        return np.sqrt(np.sum(a * a, axis=axes, keepdims=True))
    keep = [x for x in range(a.ndim) if x not in axes]
    flat = np.transpose(a, (*keep, *axes)).reshape(*(a.shape[x] for x in keep), count)
    acc = flat[..., 0] * flat[..., 0]
    for i in range(1, count):
        acc = fma(flat[..., i], flat[..., i], acc)
    return np.sqrt(acc).reshape(tuple(1 if x in axes else n for x, n in enumerate(a.shape)))


# --------------------------------------------------------------------------- Rprop


class ScaleByRpropState(NamedTuple):
    prev: np.ndarray
    step_size: np.ndarray


def rprop(lr: Any, etas: Any, step_sizes: Any) -> GradientTransformation:
    """``torch.optim.Rprop``: per-coordinate step sizes grown by etaplus while the gradient keeps its sign
    and cut by etaminus when it flips (that step then skips the coordinate); the move is ``-sign(g) step``.

    ``lr`` is only the first step size (read at init, as torch does), so a later change of lr does nothing.
    """
    etaminus, etaplus = (_const(e) for e in etas)
    low, high = (_const(s) for s in step_sizes)
    first = _lr_source(lr)

    def init(params: np.ndarray) -> ScaleByRpropState:
        lr0 = _lr_now(first, 0)
        return ScaleByRpropState(np.zeros_like(params), np.broadcast_to(lr0, params.shape).astype(np.float64))

    def update(grads: np.ndarray, state: ScaleByRpropState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        sign = np.sign(grads * state.prev)
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1.0))
        step = np.minimum(np.maximum(state.step_size * factor, low), high)  # torch clamp_(min, max)
        kept = np.where(factor == etaminus, 0.0, grads)
        _note(scale=step / _lr_now(first, 0))  # the step sizes, relative to lr (the first one)
        return -(np.sign(kept) * step), ScaleByRpropState(kept, step)

    return GradientTransformation(init, update)


# --------------------------------------------------------------------------- ASGD


class ScaleByAsgdState(NamedTuple):
    count: int
    eta: Any  # the step size of the next update
    mu: Any  # the averaging weight of the next update
    ax: np.ndarray


def asgd(lr: Any, lambd: Any, alpha: Any, t0: Any, weight_decay: Any) -> GradientTransformation:
    """``torch.optim.ASGD``: ``p <- p (1 - lambd eta) - eta g`` with ``eta_t = lr / (1 + lambd lr t)^alpha``
    and the average ``ax += mu (p - ax)``, ``mu_t = 1 / max(1, t - t0)`` (``ax = p`` until step t0).

    eta starts at lr (read at init); later values use the lr in effect after each step, as torch's.
    """
    source = _lr_source(lr)
    lambd, alpha, t0, wd = _hyper(lambd), _hyper(alpha), _hyper(t0), _hyper(weight_decay)

    def init(params: np.ndarray) -> ScaleByAsgdState:
        return ScaleByAsgdState(0, _lr_now(source, 0), 1.0, np.zeros_like(params))

    def update(grads: np.ndarray, state: ScaleByAsgdState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        t = state.count + 1
        eta = state.eta
        if not (isinstance(wd, float) and wd == 0.0):
            grads = fma(wd, params, grads)
        new = fma(-eta, grads, params * (1.0 - lambd * eta))
        moved = new - params
        new = params + moved  # the point the caller will hold
        mu = state.mu
        if isinstance(mu, float) and mu == 1.0:
            ax = new
        else:
            ax = np.where(np.asarray(mu) == 1.0, new, state.ax + (new - state.ax) * mu)
        lr_t = _lr_now(source, state.count)
        next_eta = lr_t / ((1.0 + lambd * lr_t * t) ** alpha)
        next_mu = 1.0 / _maximum(1.0, t - t0)
        _note(eta=eta, mu=mu, scale=eta / _lr_now(source, state.count))
        return moved, ScaleByAsgdState(t, next_eta, next_mu, ax)

    def aux(state: ScaleByAsgdState, params: np.ndarray) -> Aux:
        if state.count == 0:
            return {"ax": np.full_like(params, np.nan)}  # no average before the first step
        return {"ax": state.ax}

    return GradientTransformation(init, update, aux=aux)


# --------------------------------------------------------------------------- Adafactor


class ScaleByAdafactorState(NamedTuple):
    count: int
    moments: tuple[Any, ...]  # per tensor: the variance (vector) or (row_var, col_var) (matrix)


def _segments(params: np.ndarray, shapes: Shapes) -> list[tuple[slice, tuple[int, ...]]]:
    if shapes is None:
        return [(slice(0, params.shape[-1]), (params.shape[-1],))]
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append((slice(start, start + size), tuple(shape)))
        start += size
    if start != params.shape[-1]:
        raise ValueError(f"the tensor shapes hold {start} values, the parameters {params.shape[-1]}")
    return out


def adafactor(
    lr: Any, beta2_decay: Any, eps: Any, d: Any, weight_decay: Any, shapes: Shapes = None
) -> GradientTransformation:
    """``torch.optim.Adafactor``: per tensor, ``alpha = max(eps2, RMS(p)) min(lr, 1/sqrt(t))``; the second
    moment is the EMA of g^2 with weight ``t^beta2_decay`` (factored into row and column means for a
    matrix); ``u = g / sqrt(max(v, eps1^2))`` and the move ``-alpha u / max(1, RMS(u) / d)``.

    ``shapes`` tells which tensors share the flat vector (a network's layers), since both RMS values and
    the factoring are per tensor; None is one vector per run (a surface: the vector case).
    """
    source = _lr_source(lr)
    decay, clip, wd = _hyper(beta2_decay), _hyper(d), _hyper(weight_decay)
    eps1, eps2 = (_hyper(e) for e in eps)

    def init(params: np.ndarray) -> ScaleByAdafactorState:
        lead = params.shape[:-1]
        moments: list[Any] = []
        for _, shape in _segments(params, shapes):
            if len(shape) == 1:
                moments.append(np.zeros((*lead, *shape)))
            else:
                rows, cols = shape[:-1], (*shape[:-2], 1, shape[-1])
                moments.append((np.zeros((*lead, *rows, 1)), np.zeros((*lead, *cols))))
        return ScaleByAdafactorState(0, tuple(moments))

    def update(grads: np.ndarray, state: ScaleByAdafactorState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        t = state.count + 1
        step = float(t)
        w = step**decay
        lr_t = _lr_now(source, state.count)
        rho = _minimum(lr_t, 1.0 / (step**0.5))
        lead = params.shape[:-1]
        moved = np.empty_like(params)
        scale = np.empty_like(params)  # the per-coordinate rate alpha / (denominator * sqrt(v))
        moments = []
        for (where, shape), moment in zip(_segments(params, shapes), state.moments, strict=True):
            p = params[..., where].reshape(*lead, *shape)
            g = grads[..., where].reshape(*lead, *shape)
            axes = tuple(range(-len(shape), 0))
            numel = math.prod(shape)
            alpha = np.maximum(eps2, _norm(p, axes) / (numel**0.5)) * rho
            if len(shape) == 1:
                variance = torch_lerp(moment, g * g, w)
                estimate = variance
                moments.append(variance)
            else:
                row = torch_lerp(moment[0], _norm(g, (-1,)) ** 2 / shape[-1], w)
                col = torch_lerp(moment[1], _norm(g, (-2,)) ** 2 / shape[-2], w)
                estimate = row * col / np.maximum(np.mean(row, axis=-2, keepdims=True), eps1)
                moments.append((row, col))
            inv_rms = 1.0 / np.sqrt(np.maximum(estimate, eps1 * eps1))
            u = inv_rms * g
            denom = np.maximum(1.0, _norm(u, axes) / ((numel**0.5) * clip))
            scale[..., where] = np.broadcast_to(alpha / denom * inv_rms, (*lead, *shape)).reshape(
                *lead, numel
            )
            decayed = p if isinstance(wd, float) and wd == 0.0 else p * (1.0 - lr_t * wd)
            new = fma(-alpha / denom, u, decayed)
            moved[..., where] = (new - p).reshape(*lead, numel)
        _note(relative_step=rho, scale=scale / lr_t)
        return moved, ScaleByAdafactorState(t, tuple(moments))

    return GradientTransformation(init, update)


# --------------------------------------------------------------------------- Lion


class LionState(NamedTuple):
    count: int
    exp_avg: np.ndarray


def lion(lr: Any, b1: Any, b2: Any, weight_decay: Any) -> GradientTransformation:
    """lion-pytorch ``Lion``: ``p <- p (1 - lr wd) - lr sign(b1 m + (1 - b1) g)``, then
    ``m <- b2 m + (1 - b2) g``."""
    source = _lr_source(lr)
    b1c, w1, b2c, w2 = _const(b1), _const(1.0 - _hyper(b1)), _const(b2), _const(1.0 - _hyper(b2))
    wd = _hyper(weight_decay)

    def init(params: np.ndarray) -> LionState:
        return LionState(0, np.zeros_like(params))

    def update(grads: np.ndarray, state: LionState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        lr_t = _lr_now(source, state.count)
        m = state.exp_avg
        direction = np.sign(fma(w1, grads, m * b1c))
        decayed = params * (1.0 - lr_t * wd)
        new = fma(-lr_t, direction, decayed)
        _note(scale=1.0)  # every coordinate moves by lr (plus the decay)
        return new - params, LionState(state.count + 1, fma(w2, grads, m * b2c))

    return GradientTransformation(init, update)


# --------------------------------------------------------------------------- Schedule-Free


class ScheduleFreeState(NamedTuple):
    count: int
    z: np.ndarray
    exp_avg_sq: np.ndarray  # used by the AdamW variant only
    weight_sum: Any
    lr_max: Any


def schedule_free(
    lr: Any,
    beta1: Any,
    weight_decay: Any,
    warmup_steps: Any,
    r: Any,
    weight_lr_power: Any,
    beta2: Any = None,
    eps: Any = 1e-8,
) -> GradientTransformation:
    """schedulefree ``SGDScheduleFree`` (``beta2`` None) or ``AdamWScheduleFree``: the params are y, where
    the gradient is taken; z takes plain (SGD) or RMS-scaled (AdamW) steps, x is the weighted average of z
    with weights ``(k+1)^r lr_max^weight_lr_power``, and ``y = (1 - beta1) z + beta1 x``.

    As the reference: ``y <- lerp(y, z, c) + lr (beta1 (1 - c) - 1) g``, ``z <- z - lr g`` with
    ``c = weight / weight_sum``; ``aux["eval"]`` is ``optimizer.eval()``'s point ``lerp(y, z, 1 - 1/beta1)``.
    """
    source = _lr_source(lr)
    b1, wd, r, power = _hyper(beta1), _hyper(weight_decay), _hyper(r), _hyper(weight_lr_power)
    warmup = warmup_steps if np.ndim(warmup_steps) == 0 else np.asarray(warmup_steps, dtype=np.float64)
    adamw = beta2 is not None
    b2 = _hyper(beta2) if adamw else 0.0
    eps = _const(eps)
    to_eval = 1.0 - 1.0 / b1

    def init(params: np.ndarray) -> ScheduleFreeState:
        return ScheduleFreeState(0, params.copy(), np.zeros_like(params), 0.0, -1.0)

    def update(grads: np.ndarray, state: ScheduleFreeState, y: np.ndarray) -> tuple[np.ndarray, Any]:
        k = state.count
        if isinstance(warmup, int):
            sched = (k + 1) / warmup if k < warmup else 1.0
        else:
            sched = np.where(k < warmup, (k + 1) / np.maximum(warmup, 1.0), 1.0)
        lr_t = _lr_now(source, k) * sched
        lr_max = _maximum(lr_t, state.lr_max)
        weight = ((k + 1) ** r) * (lr_max**power)
        weight_sum = state.weight_sum + weight
        if isinstance(weight_sum, float):
            ckp1 = weight / weight_sum if weight_sum != 0.0 else 0.0
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ckp1 = np.where(weight_sum != 0.0, weight / weight_sum, 0.0)
        v = state.exp_avg_sq
        _note(warmup=sched, ckp1=ckp1)
        if adamw:
            v = fma((1.0 - b2) * grads, grads, v * b2)
            denom = np.sqrt(v / (1.0 - b2 ** (k + 1))) + eps
            _note(denominator=denom, scale=sched / denom)
            grads = grads / denom
        if not (isinstance(wd, float) and wd == 0.0):
            grads = fma(wd, y, grads)
        new_y = fma(lr_t * (b1 * (1.0 - ckp1) - 1.0), grads, torch_lerp(y, state.z, ckp1))
        z = fma(-lr_t, grads, state.z)
        return new_y - y, ScheduleFreeState(k + 1, z, v, weight_sum, lr_max)

    def aux(state: ScheduleFreeState, y: np.ndarray) -> Aux:
        return {"eval": torch_lerp(y, state.z, to_eval)}

    return GradientTransformation(init, update, aux=aux)


# --------------------------------------------------------------------------- Prodigy


class ProdigyState(NamedTuple):
    count: int  # updates done (the schedule index)
    k: np.ndarray  # the reference's k per run: a step without any gradient does not advance it
    d: np.ndarray
    d_max: np.ndarray
    d_numerator: np.ndarray
    s: np.ndarray
    p0: np.ndarray
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def _pick(flag: Any, yes: Any, no: Any) -> Any:
    if flag is True:
        return yes
    if flag is False:
        return no
    return np.where(flag, yes, no)


def _py_max(a: Any, b: Any) -> Any:
    """Python's ``max(a, b)`` elementwise: ``a`` unless ``b > a`` (a NaN ``b`` keeps ``a``)."""
    return np.where(b > a, b, a)


def _py_min(a: Any, b: Any) -> Any:
    return np.where(b < a, b, a)


def _or_default(value: Any, default: Any) -> Any:
    """None (or NaN rows of per-run values where some runs gave None) means the reference's default."""
    if value is None:
        return default
    if np.ndim(value) == 0:
        return float(value)
    arr = np.asarray(value, dtype=np.float64)
    return np.where(np.isnan(arr), default, arr)


def prodigy(
    lr: Any,
    betas: Any,
    beta3: Any,
    eps: Any,
    weight_decay: Any,
    decouple: Any,
    use_bias_correction: Any,
    safeguard_warmup: Any,
    d0: Any,
    d_coef: Any,
    growth_rate: Any,
) -> GradientTransformation:
    """prodigyopt ``Prodigy`` (one parameter group): Adam whose step size ``d lr`` is estimated from
    ``d_hat = d_coef sum_t (d/d0) dlr <g_t, p0 - p_t> / ||s||_1``; d never shrinks and grows at most by
    ``growth_rate`` a step.  ``beta3`` None is ``sqrt(beta2)``, ``growth_rate`` None is unbounded.

    d and its sums are per run (shape ``(K, 1)``); ``aux["d"]`` is the estimate after each step (d0 at 0).
    """
    source = _lr_source(lr)
    b1, b2 = (_hyper(b) for b in betas)
    b3 = _or_default(beta3, math.sqrt(b2) if isinstance(b2, float) else np.sqrt(b2))
    growth = _or_default(growth_rate, math.inf)
    eps, decay, coef, d0 = _hyper(eps), _hyper(weight_decay), _hyper(d_coef), _hyper(d0)
    decouple, bias_corr, safeguard = _flag(decouple), _flag(use_bias_correction), _flag(safeguard_warmup)
    use_m = b1 > 0 if isinstance(b1, float) else np.asarray(b1) > 0
    no_decay = isinstance(decay, float) and decay == 0.0

    def init(params: np.ndarray) -> ProdigyState:
        shape = _run_shape(params)
        start = np.broadcast_to(np.asarray(d0, dtype=np.float64), shape).copy()
        zeros = np.zeros_like(params)
        return ProdigyState(
            0, np.zeros(shape), start, start, np.zeros(shape), zeros, params.copy(), zeros, zeros
        )

    def update(grads: np.ndarray, state: ProdigyState, params: np.ndarray) -> tuple[np.ndarray, Any]:
        k, d = state.k, state.d
        lr_t = _lr_now(source, state.count)
        bc = _pick(bias_corr, ((1 - b2 ** (k + 1)) ** 0.5) / (1 - b1 ** (k + 1)), 1.0)
        dlr = d * lr_t * bc
        d_numerator = state.d_numerator * b3
        if not no_decay:
            grads = _pick(decouple, grads, fma(decay, params, grads))
        ratio = d / d0
        delta = ratio * dlr * np.sum(grads * (state.p0 - params), axis=-1, keepdims=True)
        m = _pick(use_m, fma(d * (1 - b1), grads, state.exp_avg * b1), state.exp_avg)
        v = fma((d * d * (1 - b2)) * grads, grads, state.exp_avg_sq * b2)
        s = fma(_pick(safeguard, ratio * d, ratio * dlr), grads, state.s * b3)
        d_denom = np.sum(np.abs(s), axis=-1, keepdims=True)
        moving = d_denom != 0  # the reference returns before the step when no gradient was seen
        with np.errstate(divide="ignore", invalid="ignore"):
            numerator = d_numerator + delta
            d_hat = coef * numerator / d_denom
        new_d = np.where(d == d0, _py_max(d, d_hat), d)
        d_max = _py_max(state.d_max, d_hat)
        new_d = _py_min(d_max, new_d * growth)
        denom = np.sqrt(v) + new_d * eps
        p = params if no_decay else _pick(decouple, fma(-decay * dlr, params, params), params)
        step = _pick(use_m, ((-dlr) * m) / denom, ((-dlr * new_d) * grads) / denom)  # addcdiv
        moved = np.where(moving, (p + step) - params, 0.0)
        rate = dlr * _pick(use_m, d, new_d) / denom  # per unit of the gradient's EMA m / d (or of g)
        _note(d_hat=d_hat, denominator=denom, scale=np.where(moving, rate / lr_t, 0.0))
        return moved, ProdigyState(
            state.count + 1,
            np.where(moving, k + 1, k),
            np.where(moving, new_d, d),
            np.where(moving, d_max, state.d_max),
            np.where(moving, numerator, state.d_numerator),
            s,
            state.p0,
            m,
            v,
        )

    def aux(state: ProdigyState, params: np.ndarray) -> Aux:
        return {"d": state.d}

    return GradientTransformation(init, update, aux=aux)
