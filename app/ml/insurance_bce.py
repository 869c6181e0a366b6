"""The insurance data as a loss surface: logistic regression ŷ = σ(w·age_scaled + b), its BCE over (w, b).

The course's network slides compute ``error = −(y log ŷ + (1 − y) log(1 − ŷ))`` on the insurance table;
its gradient-descent slides walk down a surface. A model with two parameters joins them: its mean
binary cross-entropy over the training rows IS a 2-D loss surface, with an exact gradient

    ∂L/∂w = mean((ŷ − y) · x),   ∂L/∂b = mean(ŷ − y),   x = age_scaled,

and, because it is convex, one minimum, found here by Newton's method (:func:`bce_minimum`).

Mini-batches make the descent stochastic, as Keras trains: an epoch is a fresh seeded shuffle of the
training rows cut into ``ceil(n_train / batch_size)`` batches (app/ml/training.py's arithmetic: 700 rows at
batch 32 → 22 iterations), and step t of a descent uses batch t (epoch ``t // iterations``, batch
``t % iterations`` of it). Each batch has a loss surface of its own, with its own minimum, or none when
its rows are separable by age (a batch of one row always is: its loss falls towards 0 forever).
Pure NumPy; the prepared rows are cached per (rows, val_fraction, seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.ml.datasets import INSURANCE_ROWS, make_dataset
from app.ml.nets import binary_cross_entropy_rows, sigmoid
from app.ml.training import TrainData, iterations_per_epoch

CHUNK_VALUES = 1 << 20
"""Logits evaluated at once (points × rows): a 400 × 400 grid over 700 rows runs in chunks of ~8 MB."""
SLIDE_Y_HAT = 0.01
"""The slide's case: a row with y = 1 given ŷ = 0.01 (error = 4.6)."""
NEWTON_STEPS = 50
NEWTON_TOLERANCE = 1e-12


@dataclass(frozen=True)
class InsuranceRows:
    """The training rows the model sees: standardised ages ``x``, labels ``y``, and the age scaler."""

    x: np.ndarray  # (n_train,) age_scaled of the training rows
    y: np.ndarray  # (n_train,) have_insurance, float 0/1
    age_mean: float
    age_std: float

    @property
    def n_train(self) -> int:
        return len(self.y)

    def scale(self, age: np.ndarray | float) -> np.ndarray:
        """Ages in years to the model's input (the training rows' mean and std)."""
        return (np.asarray(age, dtype=np.float64) - self.age_mean) / self.age_std


@lru_cache(maxsize=32)
def insurance_rows(rows: int = 875, val_fraction: float = 0.2, seed: int = 0) -> InsuranceRows:
    """The seeded insurance set (the slide's 13 rows first), split and standardised as /network does.

    The split and the scaler are :meth:`TrainData.from_dataset`'s, so 875 rows with 0.2 held out leave
    the 700 training rows of the slide's ``700 / 32 = 22``.
    """
    data = TrainData.from_dataset(make_dataset("insurance", rows, 0.1, seed), val_fraction, seed)
    assert data.scaler is not None
    x = np.ascontiguousarray(data.X_train[:, 0])
    y = data.y_train.astype(np.float64)
    x.flags.writeable = False
    y.flags.writeable = False
    return InsuranceRows(x, y, float(data.scaler.mean[0]), float(data.scaler.std[0]))


def bce_value_and_grad(
    points: np.ndarray, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean BCE of ``σ(w x + b)`` against ``y`` at points ``(..., 2)`` = (w, b), and its exact gradient.

    ``weights`` counts how often each (x, y) row occurs (see :func:`distinct_rows`); the mean is over
    ``weights.sum()`` rows then. Ages are whole years, so 700 rows hold fewer than 100 distinct ones.
    """
    points = np.asarray(points, dtype=np.float64)
    flat = points.reshape(-1, 2)
    loss = np.empty(len(flat))
    grad = np.empty((len(flat), 2))
    share = np.full(len(y), 1.0 / len(y)) if weights is None else weights / weights.sum()
    wx = share * x
    step = max(1, CHUNK_VALUES // max(len(y), 1))
    for start in range(0, len(flat), step):
        p = flat[start : start + step]
        z = p[:, 0:1] * x + p[:, 1:2]  # (chunk, rows)
        residual = sigmoid(z) - y  # ŷ − y
        loss[start : start + step] = binary_cross_entropy_rows(z, y) @ share
        grad[start : start + step, 0] = residual @ wx
        grad[start : start + step, 1] = residual @ share
    return loss.reshape(points.shape[:-1]), grad.reshape(points.shape)


def bce_hessian(
    points: np.ndarray, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """The exact Hessian of the mean BCE over (w, b): ``mean(ŷ(1 − ŷ) [[x², x], [x, 1]])``; y drops out."""
    points = np.asarray(points, dtype=np.float64)
    flat = points.reshape(-1, 2)
    share = np.full(len(x), 1.0 / len(x)) if weights is None else weights / weights.sum()
    z = flat[:, 0:1] * x + flat[:, 1:2]
    p = sigmoid(z)
    h = p * (1.0 - p) * share  # (points, rows)
    out = np.empty((len(flat), 2, 2))
    out[:, 0, 0] = h @ (x * x)
    out[:, 0, 1] = out[:, 1, 0] = h @ x
    out[:, 1, 1] = h.sum(axis=1)
    return out.reshape(*points.shape[:-1], 2, 2)


def distinct_rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (x, y) rows and how often each occurs: the same loss, a fraction of the work."""
    pairs, counts = np.unique(np.stack([x, y], axis=1), axis=0, return_counts=True)
    return pairs[:, 0].copy(), pairs[:, 1].copy(), counts.astype(np.float64)


def bce_minimum(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """The (w, b) of least BCE by Newton's method, or None when there is no finite minimum.

    The loss is convex; its Hessian is ``mean(ŷ(1 − ŷ) [x², x; x, 1])``. There is no finite minimum
    when the rows are separable by age (one class only, or every insured row older, or younger, than
    every uninsured one: the loss keeps falling as |w| grows), and no single one when all ages are equal
    (a line of minima). Otherwise Newton from (0, 0), halving a step that would raise the loss, reaches
    the minimum to ~1e-12 in fewer than 10 steps on the insurance data.
    """
    ones, zeros = x[y == 1], x[y == 0]
    if not len(ones) or not len(zeros) or np.ptp(x) == 0:
        return None
    if ones.min() > zeros.max() or ones.max() < zeros.min():
        return None
    x, y, weights = distinct_rows(x, y)
    share = weights / weights.sum()
    theta = np.zeros(2)
    loss, grad = bce_value_and_grad(theta, x, y, weights)
    for _ in range(NEWTON_STEPS):
        p = sigmoid(theta[0] * x + theta[1])
        h = p * (1.0 - p)
        h *= share
        hessian = np.array([[h @ (x * x), h @ x], [h @ x, h.sum()]])
        move = np.linalg.solve(hessian, grad)
        size = 1.0
        while size > 1e-8:
            trial = theta - size * move
            trial_loss, trial_grad = bce_value_and_grad(trial, x, y, weights)
            if trial_loss <= loss:
                break
            size *= 0.5
        theta, loss, grad = trial, trial_loss, trial_grad
        if float(np.abs(grad).max()) < NEWTON_TOLERANCE:
            break
    return float(theta[0]), float(theta[1])


def batch_rows(n_train: int, batch_size: int, batch: int, seed: int = 0) -> np.ndarray:
    """Training-row indices of mini-batch number ``batch`` (0-based over all epochs), Keras-style.

    Epoch ``e = batch // iterations`` shuffles the rows with its own seeded generator, so any batch is
    found without replaying the ones before it; batch ``i = batch % iterations`` of that epoch is
    ``order[i·batch_size : (i+1)·batch_size]``, the last one holding the remainder.
    """
    size = min(batch_size, n_train)
    per_epoch = iterations_per_epoch(n_train, size)
    epoch, i = divmod(int(batch), per_epoch)
    return _epoch_order(n_train, epoch, seed)[i * size : (i + 1) * size]


@lru_cache(maxsize=8)
def _epoch_order(n_train: int, epoch: int, seed: int) -> np.ndarray:
    """The shuffle of one epoch, kept while a descent walks through its batches (read-only)."""
    order = np.random.default_rng([seed, epoch]).permutation(n_train)
    order.flags.writeable = False
    return order


def batched_value_and_grad(rows: InsuranceRows, batch_size: int, seed: int):
    """``(points, steps) -> (loss, grad)``: each lane's loss and gradient on the batch its step uses."""

    def value_and_grad(points: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first = int(steps[0])
        if len(steps) == 1 or bool((steps == first).all()):  # the usual case: runs that started together
            idx = batch_rows(rows.n_train, batch_size, first, seed)
            return bce_value_and_grad(points, rows.x[idx], rows.y[idx])
        loss = np.empty(len(points))
        grad = np.empty_like(points)
        for t in np.unique(steps):
            lanes = steps == t
            idx = batch_rows(rows.n_train, batch_size, int(t), seed)
            loss[lanes], grad[lanes] = bce_value_and_grad(points[lanes], rows.x[idx], rows.y[idx])
        return loss, grad

    return value_and_grad


@dataclass(frozen=True)
class SlideTable:
    """The slide's 13 rows at one (w, b): each row's logit, ŷ and loss; their mean; the worst row."""

    w: float
    b: float
    age: np.ndarray
    affordability: np.ndarray
    have_insurance: np.ndarray
    age_scaled: np.ndarray
    z: np.ndarray
    y_hat: np.ndarray
    loss: np.ndarray

    @property
    def mean_loss(self) -> float:
        return float(self.loss.mean())

    @property
    def worst(self) -> int:
        return int(np.argmax(self.loss))


def slide_table(rows: InsuranceRows, w: float, b: float) -> SlideTable:
    """The course's table with the model's ŷ = σ(w·age_scaled + b) and loss per row at (w, b)."""
    table = np.array(INSURANCE_ROWS, dtype=np.float64)
    age_scaled = rows.scale(table[:, 0])
    z = w * age_scaled + b
    y = table[:, 2]
    return SlideTable(
        w, b, table[:, 0], table[:, 1], y, age_scaled, z, sigmoid(z), binary_cross_entropy_rows(z, y)
    )


def slide_case_loss(y_hat: float = SLIDE_Y_HAT) -> float:
    """The loss of a y = 1 row given ``y_hat``: the slide's ``−ln 0.01 = 4.605``."""
    return float(binary_cross_entropy_rows(np.array(np.log(y_hat / (1.0 - y_hat))), 1.0))
