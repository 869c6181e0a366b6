"""Optimizers that evaluate the function, not just follow one gradient: L-BFGS, SAM, Newton, Polyak.

A first-order transform (:mod:`app.ml.transforms`) sees only the gradient at the current point. These
need more, so they are a second kind of transform, ``EvaluatingTransformation``, whose ``update`` also
gets the loss there and a :class:`Problem`: an oracle ``value_and_grad(points)`` for its own lanes
(a surface, or a network's training loss on the current batch), the exact Hessian where one exists,
and the known minimum value f*. Besides the updates it returns how many function-and-gradient
evaluations the step used, counted as torch counts closure calls (the evaluation at the starting point
is the first, so a first-order step is 1), and the other points it evaluated, so a trace can show them.

Lanes (runs advanced together) are independent. SAM, Newton and Polyak are vectorised over lanes like
the first-order transforms. L-BFGS is run per lane: its line search and stopping tests branch on each
run's own numbers, so a lane costs one Python loop of up to ``max_iter`` iterations (and up to
``max_eval`` oracle calls on one point) per step; a masked vectorised version would pay every lane's
worst case and obscure the port of torch's code, which is the point of having it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from app.ml import transforms as tx
from app.ml.errors import ConfigError

ValueAndGrad = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
Hessian = Callable[[np.ndarray], np.ndarray]

LINE_SEARCH_FNS = (None, "strong_wolfe")


@dataclass(frozen=True)
class Problem:
    """What an evaluating optimizer may ask of the function it minimises (``points``: (K, P))."""

    value_and_grad: ValueAndGrad
    hessian: Hessian | None = None
    f_star: float | None = None


class Evaluated(NamedTuple):
    """One step of an evaluating optimizer for its K lanes."""

    params: np.ndarray  # (K, P) the new point (not params + updates, which would round a second time)
    updates: np.ndarray  # (K, P) the move, new point − old
    state: Any
    evaluations: np.ndarray  # (K,) int: function-and-gradient evaluations of the step (torch's count)
    points: tuple[np.ndarray, ...] | None  # per lane, (n, P) points evaluated besides the start


class EvaluatingTransformation(NamedTuple):
    """``update(loss, grads, state, params, problem) -> Evaluated``; ``init(params) -> state``."""

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, np.ndarray, Any, np.ndarray, Problem], Evaluated]


def _lane(value: Any, lane: int) -> Any:
    """One lane's value of a hyperparameter that is a scalar or a (K, 1) array."""
    if np.ndim(value) == 0:
        return value
    item = np.asarray(value)[lane, 0]
    return item.item() if isinstance(item, np.generic) else item


def _learning_rate(learning_rate: Any) -> Callable[[int], Any]:
    return learning_rate if callable(learning_rate) else (lambda count, lr=learning_rate: lr)


# --------------------------------------------------------------------------------------------- L-BFGS

_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's splitting constant for float64


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knuth's TwoSum: s = fl(a + b) and the exact rounding error, a + b = s + e."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's TwoProduct: p = fl(a b) and the exact error, a b = p + e (no FMA needed)."""
    p = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


SMALL = 16
"""Vectors up to this size (a surface's point) take the same arithmetic on Python floats: ten times faster
than NumPy's per-call overhead on two numbers, and the same IEEE double results."""


def _fma(a: float, b: float, c: float) -> float:
    """:func:`fused_multiply_add` for one triple of Python floats (the same operations, in order)."""
    p = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    low = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    th = c + p
    bb = th - c
    tl = (c - (th - bb)) + (p - bb)
    v = tl + low
    bb = v - tl
    err = (tl - (v - bb)) + (low - bb)
    if err != 0 and not struct.unpack("<q", struct.pack("<d", v))[0] & 1:
        v = math.nextafter(v, math.inf if err > 0 else -math.inf)
    return th + v


def fused_multiply_add(a: Any, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a·b + c rounded once, as torch's ``c.add_(b, alpha=a)`` computes it on the CPU (an FMA).

    NumPy has no FMA, and ``c + a * b`` rounds twice, which moves an L-BFGS path by an ulp per update
    and, through the line search's branches, by far more after 100 steps. This is Boldo and Melquiond's
    emulation (IEEE Trans. Comput. 2008): exact product and sum, the low parts added with rounding to
    odd, then one rounding to nearest; it equals the true FMA for all finite float64 inputs that do not
    overflow.
    """
    if np.size(c) <= SMALL:
        a = float(a)
        return np.array(
            [_fma(a, bi, ci) for bi, ci in zip(np.ravel(b).tolist(), np.ravel(c).tolist(), strict=True)]
        )
    a, b, c = np.broadcast_arrays(np.float64(a), np.asarray(b, np.float64), np.asarray(c, np.float64))
    uh, ul = _two_product(a, b)
    th, tl = _two_sum(c, uh)
    v, err = _two_sum(tl, ul)
    even = (v.view(np.int64) & 1) == 0
    v = np.where((err != 0) & even, np.nextafter(v, np.where(err > 0, np.inf, -np.inf)), v)
    return th + v


class LbfgsLane(NamedTuple):
    """torch.optim.LBFGS's ``state`` for one lane (tensors as float64 arrays, lists as tuples)."""

    func_evals: int = 0
    n_iter: int = 0
    d: np.ndarray | None = None
    t: float | None = None
    old_dirs: tuple[np.ndarray, ...] = ()
    old_stps: tuple[np.ndarray, ...] = ()
    ro: tuple[float, ...] = ()
    H_diag: float = 1.0
    prev_flat_grad: np.ndarray | None = None
    prev_loss: float | None = None


class LbfgsState(NamedTuple):
    count: int
    lanes: tuple[LbfgsLane, ...]


def _cubic_interpolate(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """torch's ``_cubic_interpolate`` (minFunc ``polyinterp``): the cubic's minimiser, clamped to bounds."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(
    obj_func: Callable[[float], tuple[float, np.ndarray]],
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, np.ndarray, float, int]:
    """torch's ``_strong_wolfe`` line by line: bracket, then zoom; returns (f, g, t, evaluations)."""
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = obj_func(t)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(t)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = (
                    max(bracket) - eps
                    if abs(t - max(bracket)) < abs(t - min(bracket))
                    else min(bracket) + eps
                )
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(t)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


@dataclass(frozen=True)
class LbfgsSettings:
    """One lane's hyperparameters (torch's names); ``max_eval`` None means ``max_iter * 5 // 4``."""

    lr: float
    max_iter: int
    max_eval: int | None
    tolerance_grad: float
    tolerance_change: float
    history_size: int
    line_search_fn: str | None


def lbfgs_step(
    x: np.ndarray,
    loss: float,
    flat_grad: np.ndarray,
    state: LbfgsLane,
    h: LbfgsSettings,
    value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
) -> tuple[np.ndarray, LbfgsLane, int, list[np.ndarray]]:
    """One ``torch.optim.LBFGS.step(closure)`` from ``x`` (where loss and gradient are already known).

    Returns the new point, the new state, the closure calls torch would count (the one at ``x``
    included) and the points evaluated on the way. Python floats stand where torch calls ``.item()``
    or compares 0-d tensors, so every branch is taken as torch takes it.
    """
    max_eval = h.max_eval if h.max_eval is not None else h.max_iter * 5 // 4
    evaluated: list[np.ndarray] = []

    def evaluate(point: np.ndarray) -> tuple[float, np.ndarray]:
        evaluated.append(point)
        f, g = value_and_grad(point)
        return f, g

    current_evals = 1
    func_evals = state.func_evals + 1
    if float(np.max(np.abs(flat_grad))) <= h.tolerance_grad:
        return x, state._replace(func_evals=func_evals), current_evals, evaluated

    d, t, H_diag = state.d, state.t, state.H_diag
    old_dirs, old_stps, ro = list(state.old_dirs), list(state.old_stps), list(state.ro)
    prev_flat_grad, prev_loss = state.prev_flat_grad, state.prev_loss
    global_iter = state.n_iter
    n_iter = 0
    while n_iter < h.max_iter:
        n_iter += 1
        global_iter += 1
        if global_iter == 1:
            d = -flat_grad
            old_dirs, old_stps, ro, H_diag = [], [], [], 1.0
        else:
            y = flat_grad - prev_flat_grad
            s = d * t
            ys = float(y @ s)
            if ys > 1e-10:
                if len(old_dirs) == h.history_size:
                    old_dirs.pop(0)
                    old_stps.pop(0)
                    ro.pop(0)
                old_dirs.append(y)
                old_stps.append(s)
                ro.append(1.0 / ys)
                H_diag = ys / float(y @ y)
            num_old = len(old_dirs)
            al = [0.0] * num_old
            q = -flat_grad
            for i in range(num_old - 1, -1, -1):
                al[i] = float(old_stps[i] @ q) * ro[i]
                q = fused_multiply_add(-al[i], old_dirs[i], q)
            r = q * H_diag
            for i in range(num_old):
                be_i = float(old_dirs[i] @ r) * ro[i]
                r = fused_multiply_add(al[i] - be_i, old_stps[i], r)
            d = r
        prev_flat_grad = flat_grad
        prev_loss = loss
        t = min(1.0, 1.0 / float(np.sum(np.abs(flat_grad)))) * h.lr if global_iter == 1 else h.lr
        gtd = float(flat_grad @ d)
        if gtd > -h.tolerance_change:
            break
        ls_func_evals = 0
        if h.line_search_fn is not None:
            loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                lambda step, start=x, direction=d: evaluate(fused_multiply_add(step, direction, start)),
                t,
                d,
                loss,
                flat_grad,
                gtd,
                max_ls=max_eval - current_evals,
            )
            x = fused_multiply_add(t, d, x)
            opt_cond = float(np.max(np.abs(flat_grad))) <= h.tolerance_grad
        else:
            x = fused_multiply_add(t, d, x)
            opt_cond = False
            if n_iter != h.max_iter:
                loss, flat_grad = evaluate(x)
                opt_cond = float(np.max(np.abs(flat_grad))) <= h.tolerance_grad
                ls_func_evals = 1
        current_evals += ls_func_evals
        func_evals += ls_func_evals
        if n_iter == h.max_iter or current_evals >= max_eval or opt_cond:
            break
        if float(np.max(np.abs(d * t))) <= h.tolerance_change:
            break
        if abs(loss - prev_loss) < h.tolerance_change:
            break
    new_state = LbfgsLane(
        func_evals,
        global_iter,
        d,
        t,
        tuple(old_dirs),
        tuple(old_stps),
        tuple(ro),
        H_diag,
        prev_flat_grad,
        prev_loss,
    )
    return x, new_state, current_evals, evaluated


def lbfgs(
    learning_rate: Any,
    max_iter: Any = 20,
    max_eval: Any = None,
    tolerance_grad: Any = 1e-7,
    tolerance_change: Any = 1e-9,
    history_size: Any = 100,
    line_search_fn: Any = None,
) -> EvaluatingTransformation:
    """``torch.optim.LBFGS`` stepped with a closure, one lane at a time (see the module docstring).

    ``learning_rate`` may be a schedule ``count -> lr`` (torch's schedulers edit the group's lr between
    steps); hyperparameters are scalars or (K, 1) arrays, ``line_search_fn`` None or "strong_wolfe".
    """
    lr_at = _learning_rate(learning_rate)

    def settings(lr: Any, lane: int) -> LbfgsSettings:
        budget = _lane(max_eval, lane)
        return LbfgsSettings(
            float(_lane(lr, lane)),
            int(_lane(max_iter, lane)),
            None if budget is None else int(budget),
            float(_lane(tolerance_grad, lane)),
            float(_lane(tolerance_change, lane)),
            int(_lane(history_size, lane)),
            _lane(line_search_fn, lane),
        )

    def init(params: np.ndarray) -> LbfgsState:
        return LbfgsState(0, tuple(LbfgsLane() for _ in range(params.shape[0])))

    def update(
        loss: np.ndarray, grads: np.ndarray, state: LbfgsState, params: np.ndarray, problem: Problem
    ) -> Evaluated:
        lr = lr_at(state.count)

        def one(point: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = problem.value_and_grad(point[None, :])
            return float(f[0]), g[0]

        lanes, moved, counts, points = [], np.empty_like(params), np.empty(len(params), np.int64), []
        for k in range(len(params)):
            x, lane, used, seen = lbfgs_step(
                params[k], float(loss[k]), grads[k], state.lanes[k], settings(lr, k), one
            )
            lanes.append(lane)
            moved[k] = x
            counts[k] = used
            points.append(np.array(seen).reshape(len(seen), params.shape[1]))
        return Evaluated(
            moved, moved - params, LbfgsState(state.count + 1, tuple(lanes)), counts, tuple(points)
        )

    return EvaluatingTransformation(init, update)


# ----------------------------------------------------------------------------------------------- SAM


class SamState(NamedTuple):
    base: Any  # the base optimizer's (torch SGD's) state


def sam(
    learning_rate: Any,
    rho: Any = 0.05,
    adaptive: Any = False,
    momentum: Any = 0.0,
    dampening: Any = 0.0,
    weight_decay: Any = 0.0,
    nesterov: Any = False,
) -> EvaluatingTransformation:
    """Sharpness-aware minimisation (Foret et al. 2021) as davda54/sam's ``SAM`` around ``torch.optim.SGD``.

    ``first_step``: e = rho · (adaptive ? x² : 1) · g / (‖(adaptive ? |x| : 1) · g‖ + 1e-12) and the
    gradient is taken again at x + e (the second evaluation); ``second_step``: the base SGD step from x
    with that gradient (weight decay uses x, as the base optimizer sees the restored weights).
    """
    base = tx.chain(
        tx.add_decayed_weights(weight_decay),
        tx.trace(momentum, dampening, nesterov),
        tx.scale_by_learning_rate(learning_rate),
    )

    def init(params: np.ndarray) -> SamState:
        return SamState(base.init(params))

    def update(
        loss: np.ndarray, grads: np.ndarray, state: SamState, params: np.ndarray, problem: Problem
    ) -> Evaluated:
        grad_norm = tx.vector_norm(np.where(adaptive, np.abs(params), 1.0) * grads, keepdims=True)
        scale = rho / (grad_norm + 1e-12)
        e_w = np.where(adaptive, params * params, 1.0) * grads * scale
        perturbed = params + e_w
        _, sharp_grads = problem.value_and_grad(perturbed)
        updates, base_state = base.update(sharp_grads, state.base, params)
        points = tuple(perturbed[k : k + 1] for k in range(len(params)))
        return Evaluated(
            params + updates, updates, SamState(base_state), np.full(len(params), 2, np.int64), points
        )

    return EvaluatingTransformation(init, update)


# -------------------------------------------------------------------------------------------- Newton

SINGULAR_RCOND = 1e-12
"""Eigenvalues of H + damping·I below this fraction of the largest magnitude count as zero."""


def newton(learning_rate: Any, damping: Any = 0.0) -> EvaluatingTransformation:
    """Damped Newton: Δ = −lr (H + damping·I)⁻¹ g with the exact Hessian H at the current point.

    H is used as it is, indefinite or not (no eigenvalue flipping or clamping), so the step heads for
    the nearest stationary point of the local quadratic model, a saddle as readily as a minimum; a
    positive damping shortens the step and bends it towards −g. A singular H + damping·I is inverted
    by its pseudo-inverse (eigenvalues below ``SINGULAR_RCOND`` · the largest magnitude count as zero),
    so the step along a flat direction is zero instead of infinite.
    """
    lr_at = _learning_rate(learning_rate)

    def update(
        loss: np.ndarray, grads: np.ndarray, state: tx.CountState, params: np.ndarray, problem: Problem
    ) -> Evaluated:
        if problem.hessian is None:
            raise ConfigError("newton needs the exact Hessian, which this problem does not have", "optimizer")
        eye = np.eye(params.shape[-1])
        damping_term = np.asarray(damping, dtype=np.float64)[..., None] * eye  # (K, 1, 1) or a scalar
        system = problem.hessian(params) + damping_term
        inverse = np.linalg.pinv(system, rcond=SINGULAR_RCOND, hermitian=True)
        direction = np.einsum("kij,kj->ki", inverse, grads)
        updates = -np.asarray(lr_at(state.count)) * direction
        return Evaluated(
            params + updates, updates, tx.CountState(state.count + 1), np.ones(len(params), np.int64), None
        )

    return EvaluatingTransformation(lambda params: tx.CountState(0), update)


# -------------------------------------------------------------------------------------------- Polyak


def polyak(learning_rate: Any, c: Any = 1.0, f_star: Any = None) -> EvaluatingTransformation:
    """Polyak's step size, capped (SPS_max, Loizou et al. 2021): η_t = min((f(x) − f*) / (c‖g‖²), lr).

    With c = 1 and no cap this is Polyak (1987). f* is the ``f_star`` hyperparameter if given, else the
    problem's known minimum value. A zero gradient gives a zero step; f(x) < f* (a wrong f*) gives a
    zero step size rather than an ascent.
    """
    lr_at = _learning_rate(learning_rate)

    def update(
        loss: np.ndarray, grads: np.ndarray, state: tx.CountState, params: np.ndarray, problem: Problem
    ) -> Evaluated:
        target = problem.f_star if f_star is None else f_star
        if target is None:
            raise ConfigError(
                "polyak needs f_star, the minimum value of the function", "hyperparameters.f_star"
            )
        squared = tx.vector_norm(grads, keepdims=True) ** 2
        gap = np.maximum(loss[:, None] - np.asarray(target, dtype=np.float64), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(squared > 0, gap / (c * squared), 0.0)
        step = np.minimum(step, lr_at(state.count))
        updates = -step * grads
        return Evaluated(
            params + updates, updates, tx.CountState(state.count + 1), np.ones(len(params), np.int64), None
        )

    return EvaluatingTransformation(lambda params: tx.CountState(0), update)
