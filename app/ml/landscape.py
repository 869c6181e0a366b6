"""Loss landscapes of a trained network: the loss on a random 2-D slice through its weights (Li et al., 2018).

A slice is ``L(theta* + a d1 + b d2)`` over a grid of ``(a, b)``, with ``d1, d2`` random Gaussian
directions that are *filter-normalised*: for every output unit of every layer (a column of our
``W``, a row of torch's weight, which Li et al. call a filter) the direction's weights are rescaled
to the norm of that unit's trained weights.  This removes the scale invariance of ReLU networks, so
slices of different networks can be compared.  Bias entries of the directions are zero (Li et al.'s
``ignore='biasbn'``), so the slice moves the weights only.  The loss is the data loss, without
dropout and without the L1/L2 penalties.

Every cell of the grid is finite: when the loss overflows somewhere on the slice (weights of a
run that diverged are huge, and so are directions scaled to them), the span is halved until it
does not, and the span actually used is returned; if even a tiny neighbourhood overflows, the slice
is refused rather than filled with stand-in numbers.

A training path (weight snapshots) is drawn on the plane by least-squares projection of
``theta_t - theta*`` onto ``(d1, d2)``.  Random directions in a space of hundreds of dimensions are
nearly orthogonal to the path, so the projected path is short; the residual says how much of each
snapshot lies off the plane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.ml.errors import ConfigError
from app.ml.nets import Network
from app.ml.transforms import vector_norm

MAX_HALVINGS = 20
"""How often the span may be halved (to about a millionth) to find a neighbourhood of finite loss."""


@dataclass(frozen=True)
class LossSlice:
    span: float  # half-width actually used: the requested one unless the loss overflowed inside it
    alphas: np.ndarray  # (n,) coordinates along d1
    betas: np.ndarray  # (n,) along d2; empty for a 1-D slice
    loss: np.ndarray  # (n, n) with loss[i, j] at (alphas[j], betas[i]); (n,) for 1-D
    directions: np.ndarray  # (k, P)
    path: np.ndarray | None  # (T, k) coordinates of the snapshots on the plane
    path_residual: np.ndarray | None  # (T,) distance of each snapshot from the plane


def filter_normalised_direction(net: Network, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian direction with each unit's incoming weights scaled to that unit's weight norm; biases 0."""
    d = np.zeros(net.size)
    for (dw, _), (w, _) in zip(net.views(d), net.views(weights), strict=True):
        dw[...] = rng.normal(size=dw.shape)
        # vector_norm: the weights of a diverged run may be huge, and their squares overflow
        scale = vector_norm(w.T) / np.maximum(vector_norm(dw.T), 1e-12)
        dw *= scale
    return d


def loss_slice(
    net: Network,
    weights: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    directions: int = 2,
    n: int = 41,
    span: float = 1.0,
    seed: int = 0,
    path: Sequence[np.ndarray] | None = None,
) -> LossSlice:
    """The loss on an ``n``-point (per axis) grid over ``[-span, span]`` along 1 or 2 directions."""
    if directions not in (1, 2):
        raise ConfigError("a loss slice has 1 or 2 directions", "directions")
    if not 3 <= n <= 101:
        raise ConfigError(f"n must be from 3 to 101, got {n}", "n")
    if not 0 < span <= 10:
        raise ConfigError(f"span must be in (0, 10], got {span}", "span")
    rng = np.random.default_rng(seed)
    dirs = np.stack([filter_normalised_direction(net, weights, rng) for _ in range(directions)])
    target = net.targets(y)
    requested = span
    for _ in range(MAX_HALVINGS + 1):
        coords = np.linspace(-span, span, n)
        loss = _grid(net, weights, dirs, X, target, coords)
        if np.isfinite(loss).all():
            break
        span /= 2.0
    else:
        raise ConfigError(
            f"the loss is not finite anywhere near these weights (tried spans from {requested:g}"
            f" down to {2.0 * span:.3g}): the weights are too large to slice",
            "span",
        )
    betas = coords if directions == 2 else np.empty(0)
    projected, residual = None, None
    if path is not None and len(path):
        offsets = np.stack([np.asarray(p, dtype=np.float64) for p in path]) - weights
        projected, *_ = np.linalg.lstsq(dirs.T, offsets.T, rcond=None)
        projected = projected.T
        residual = np.linalg.norm(offsets - projected @ dirs, axis=1)
    return LossSlice(span, coords, betas, loss, dirs, projected, residual)


def _grid(
    net: Network, weights: np.ndarray, dirs: np.ndarray, X: np.ndarray, target: np.ndarray, coords: np.ndarray
) -> np.ndarray:
    """The loss at ``weights + a d1 (+ b d2)`` for every coordinate (pair); may hold inf or NaN."""
    with np.errstate(all="ignore"):
        if len(dirs) == 1:
            return np.array([net.evaluate(weights + a * dirs[0], X, target)[0] for a in coords])
        rows = [
            [net.evaluate(weights + a * dirs[0] + b * dirs[1], X, target)[0] for a in coords] for b in coords
        ]
        return np.array(rows)
