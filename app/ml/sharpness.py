"""Sharpness of a network's training loss: exact Hessian-vector products and the top eigenvalue.

Cohen et al. (2021, "Gradient descent on neural networks typically occurs at the edge of stability")
track the *sharpness* — the largest eigenvalue λmax of the Hessian of the training loss — during
full-batch gradient descent: it rises until it reaches 2 / lr (the value above which gradient descent
on a quadratic with that curvature diverges) and then hovers there.

Method, and why it is exact:

- ``hessian_vector_product`` is Pearlmutter's R-operator (1994): the directional derivative of the
  backward pass along ``v``, propagated analytically through every layer (forward-over-reverse). It
  is exact to rounding — no finite differences — for every activation and loss of :mod:`app.ml.nets`;
  ReLU and leaky ReLU have zero second derivative away from their kink (at exactly 0 the network's
  own subgradient convention is kept).  One product costs about two forward+backward passes.
- ``top_eigenvalue`` is power iteration on those products, warm-started from the previous direction
  when given (so during training a few iterations per epoch suffice).  Power iteration converges to
  the eigenvalue of largest *magnitude*; if that one is negative, the iteration is repeated on
  ``H - λ I`` (shifted by it) to reach the largest *algebraic* eigenvalue, which is the sharpness.
  It stops when the Rayleigh quotient changes by less than ``tol`` (relative) or after
  ``max_iter`` products; the result says how many it used and whether it converged.  The accuracy
  is that of the Rayleigh quotient: with a converged vector it is within ``tol`` relative of
  ``np.linalg.eigvalsh`` of the full Hessian (tested on tiny networks, where the full Hessian is
  built column by column from the same products).

The loss is the mean data loss over the rows given, in evaluation mode (no dropout), plus the L2
penalty's curvature ``2·l2`` on the weights when a penalty vector is given (L1 has no curvature away
from zero and is left out, as is the kink of ReLU).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.ml.nets import Network

Array = np.ndarray


def _second_derivative(name: str, a: Array) -> Array | None:
    """``f''(z)`` of a hidden activation from its output ``a`` (None where it is zero everywhere)."""
    if name == "tanh":
        return -2.0 * a * (1.0 - a * a)
    if name == "sigmoid":
        return a * (1.0 - a) * (1.0 - 2.0 * a)
    return None  # relu, leaky_relu, linear: piecewise linear


def _loss_hessian_times(task: str, logits: Array, r_logits: Array) -> Array:
    """``(d²loss/dz²) · R(z)`` for the mean loss of :mod:`app.ml.nets` (per row, from the logits)."""
    n = logits.shape[0]
    if task == "regression":
        return r_logits * (2.0 / logits.size)
    if task == "binary":
        p = 0.5 + 0.5 * np.tanh(0.5 * logits)
        return p * (1.0 - p) * r_logits * (1.0 / n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    return (p * r_logits - p * np.sum(p * r_logits, axis=1, keepdims=True)) * (1.0 / n)


def hessian_vector_product(
    net: Network, params: Array, X: Array, y: Array, v: Array, l2_vec: Array | None = None
) -> Array:
    """``H v`` of the mean data loss at ``params`` on rows ``X, y`` (``y`` as from ``net.targets``)."""
    cache = net.forward(params, X)
    views = cache.views
    dirs = net.views(np.asarray(v, dtype=np.float64))
    # R-forward: directional derivatives of every layer's input, pre-activation and the logits.
    r_inputs: list[Array] = [np.zeros_like(X)]
    r_pre: list[Array] = []
    for i, act in enumerate(net.activations):
        (w, _), (dw, db) = views[i], dirs[i]
        rz = r_inputs[i] @ w + cache.inputs[i] @ dw + db
        r_pre.append(rz)
        r_inputs.append(act.der(cache.pre[i], cache.post[i]) * rz)
    (w, _), (dw, db) = views[-1], dirs[-1]
    r_logits = r_inputs[-1] @ w + cache.inputs[-1] @ dw + db
    # Backward and R-backward together, layer by layer from the output.
    _, dz = net.loss.value_and_grad(cache.logits, y)
    r_dz = _loss_hessian_times(net.task, cache.logits, r_logits)
    out = np.empty(net.size)
    for layer in range(net.n_layers - 1, -1, -1):
        w_slice, b_slice = net.layer_slices(layer)
        w = views[layer][0]
        out[w_slice] = (r_inputs[layer].T @ dz + cache.inputs[layer].T @ r_dz).reshape(-1)
        out[b_slice] = r_dz.sum(axis=0)
        if layer:
            h = layer - 1
            da = dz @ w.T
            r_da = r_dz @ w.T + dz @ dirs[layer][0].T
            der = net.activations[h].der(cache.pre[h], cache.post[h])
            second = _second_derivative(net.activation_names[h], cache.post[h])
            r_dz = r_da * der
            if second is not None:
                r_dz += da * second * r_pre[h]
            dz = da * der
    if l2_vec is not None:
        out += 2.0 * l2_vec * v
    return out


@dataclass(frozen=True)
class Sharpness:
    """The top Hessian eigenvalue, its unit eigenvector, products used and whether it converged."""

    value: float
    vector: Array
    iterations: int
    converged: bool


def _power(
    matvec: Callable[[Array], Array], start: Array, shift: float, max_iter: int, tol: float
) -> tuple[float, Array, int, bool]:
    v = start / np.linalg.norm(start)
    estimate = math.nan
    for i in range(1, max_iter + 1):
        hv = matvec(v) - shift * v
        rayleigh = float(v @ hv)
        norm = float(np.linalg.norm(hv))
        if norm == 0.0 or not math.isfinite(norm):
            return rayleigh + shift, v, i, norm == 0.0
        v_next = hv / norm
        if math.isfinite(estimate) and abs(rayleigh - estimate) <= tol * max(abs(rayleigh), 1e-300):
            return rayleigh + shift, v_next, i, True
        estimate, v = rayleigh, v_next
    return estimate + shift, v, max_iter, False


def largest_eigenvalue(
    matvec: Callable[[Array], Array],
    start: Array,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
) -> Sharpness:
    """The largest algebraic eigenvalue of the symmetric operator ``matvec`` by (shifted) power iteration."""
    value, vector, used, converged = _power(matvec, start, 0.0, max_iter, tol)
    if value < 0.0:  # largest magnitude is negative: shift by it to find the largest algebraic one
        fresh = np.random.default_rng(seed).standard_normal(start.shape)
        shifted, vector, more, converged = _power(matvec, fresh, value, max_iter, tol)
        value, used = shifted, used + more
    return Sharpness(float(value), vector, used, converged)


def top_eigenvalue(
    net: Network,
    params: Array,
    X: Array,
    y: Array,
    *,
    start: Array | None = None,
    l2_vec: Array | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
) -> Sharpness:
    """λmax of the loss Hessian on rows ``X, y`` (see the module docstring for the method)."""
    if start is None or not np.any(start):
        start = np.random.default_rng(seed).standard_normal(net.size)
    return largest_eigenvalue(
        lambda u: hessian_vector_product(net, params, X, y, u, l2_vec),
        start,
        max_iter=max_iter,
        tol=tol,
        seed=seed + 1,
    )
