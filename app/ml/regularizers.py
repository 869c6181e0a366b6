"""Regularization of networks: L1/L2 weight penalties, inverted dropout masks, and early stopping.

- **L1 / L2** follow Keras' ``kernel_regularizer=L1L2(l1, l2)``: ``l1 * sum|W|`` and ``l2 * sum W^2``
  (no 1/2), on the weight matrices only, never on the biases (a bias shifts a unit and does not
  make the model more complex; Keras and most courses leave it unpenalised).  Strength is one number
  for every dense layer or one per dense layer (output layer included).  The penalties are reported
  apart from the data loss, so a learner sees both.
- **How each penalty acts**: L2 is smooth, so its gradient ``2 l2 w`` joins the data gradient before
  the optimizer update.  L1 is applied as a **proximal step** after the update (proximal gradient
  descent, ISTA): every weight is soft-thresholded, ``w <- sign(w) max(|w| - lr l1, 0)``, which is
  the exact minimiser of ``l1 |w| + (w - w_update)^2 / (2 lr)``.  A weight whose update cannot carry
  it past ``lr l1`` lands on exactly 0 and stays there, which is what "L1 makes weights zero" means.
  Adding the subgradient ``l1 sign(w)`` instead (Keras' and torch's autograd way) only makes weights
  jitter around 0 by about ``lr l1`` and never reach it.  The threshold uses the plain learning rate,
  not an adaptive optimizer's per-weight step (Adam's) -- the simple proximal rule most courses use.
- **Dropout** is inverted dropout on hidden layers: each unit is kept with probability ``1 - p``
  and kept units are scaled by ``1 / (1 - p)``, so the expected activation is unchanged and nothing
  needs rescaling at evaluation, where no dropout is applied.  Masks come from a seeded Generator,
  one per iteration.
- **EarlyStopping** has the semantics of ``keras.callbacks.EarlyStopping``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.ml.errors import ConfigError
from app.ml.nets import Network

MAX_PENALTY = 10.0
MAX_DROPOUT = 0.9


def _per_layer(value: float | Sequence[float], count: int, field: str, high: float) -> tuple[float, ...]:
    """One number for every layer, or one per layer; each finite and within ``[0, high]``."""
    values = [value] * count if isinstance(value, int | float) else list(value)
    if len(values) != count:
        raise ConfigError(f"give one {field} value or one per layer ({count}), got {len(values)}", field)
    out = []
    for i, v in enumerate(values):
        if (
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or not math.isfinite(v)
            or not 0 <= v <= high
        ):
            where = field if isinstance(value, int | float) else f"{field}.{i}"
            raise ConfigError(
                f"{field} must be a number between 0 and {high}, got {v!r}",
                where,
                key="range",
                params={"name": field, "low": 0, "high": high},
            )
        out.append(float(v))
    return tuple(out)


class WeightPenalty:
    """L1 and L2 penalties on a network's weights, precomputed as per-parameter strength vectors."""

    def __init__(self, net: Network, l1: float | Sequence[float] = 0.0, l2: float | Sequence[float] = 0.0):
        self.l1 = _per_layer(l1, net.n_layers, "l1", MAX_PENALTY)
        self.l2 = _per_layer(l2, net.n_layers, "l2", MAX_PENALTY)
        self.l1_vec = np.zeros(net.size)
        self.l2_vec = np.zeros(net.size)
        for layer in range(net.n_layers):
            w, _ = net.layer_slices(layer)
            self.l1_vec[w] = self.l1[layer]
            self.l2_vec[w] = self.l2[layer]
        self.has_l1 = any(self.l1)
        self.has_l2 = any(self.l2)
        self.active = self.has_l1 or self.has_l2

    def values(self, params: np.ndarray) -> tuple[float, float]:
        """``(l1 penalty, l2 penalty)`` at ``params``."""
        l1 = float(np.dot(self.l1_vec, np.abs(params))) if self.has_l1 else 0.0
        l2 = float(np.dot(self.l2_vec, params * params)) if self.has_l2 else 0.0
        return l1, l2

    def add_grad(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """``grad`` plus the smooth penalty's gradient (L2: ``2 l2 w``), in place; returns ``grad``.

        L1 is not differentiable at 0 and is applied by :meth:`prox` after the update instead.
        """
        if self.has_l2:
            grad += (2.0 * self.l2_vec) * params
        return grad

    def prox(self, params: np.ndarray, lr: float) -> np.ndarray:
        """The L1 proximal step after an update of learning rate ``lr``, in place; returns ``params``."""
        if self.has_l1:
            params[:] = soft_threshold(params, lr * self.l1_vec)
        return params


def soft_threshold(w: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """``sign(w) max(|w| - t, 0)``: the proximal operator of ``t |w|`` (ISTA's shrinkage step)."""
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)


def zero_weights(net: Network, params: np.ndarray) -> int:
    """How many weights (biases not counted, as they are not penalised) are exactly 0."""
    return int(np.count_nonzero(params[net.weight_mask] == 0.0))


COLLAPSE_SPREAD = 1e-3


def collapsed(predictions: np.ndarray) -> bool:
    """True when the model predicts (nearly) the same for every row: its output spread over the rows
    (max - min of each output column, probabilities for classification) is below ``COLLAPSE_SPREAD``.

    A penalty too strong for the data shrinks every weight towards 0; the output is then the
    output bias alone, a constant, and a balanced binary task sits at the loss ln 2 = 0.693.
    """
    if len(predictions) < 2:
        return False
    spread = np.ptp(predictions, axis=0)
    return bool(np.all(spread < COLLAPSE_SPREAD))


# --------------------------------------------------------------------------- dropout


def dropout_rates(value: float | Sequence[float], n_hidden: int) -> tuple[float, ...]:
    """Validated dropout rate ``p`` of each hidden layer (``0 <= p <= 0.9``; 1 would cut the layer off)."""
    return _per_layer(value, n_hidden, "dropout", MAX_DROPOUT) if n_hidden else ()


class Dropout:
    """Draws inverted-dropout masks from one seeded Generator; a rate of 0 draws nothing (mask None)."""

    def __init__(self, rates: Sequence[float], widths: Sequence[int], seed: int = 0) -> None:
        self.rates = tuple(rates)
        self.widths = tuple(widths)
        self.scales = tuple(1.0 / (1.0 - p) for p in self.rates)
        self.rng = np.random.default_rng(seed)
        self.active = any(self.rates)

    def masks(self, batch: int) -> list[np.ndarray | None]:
        """One bool mask ``(batch, units)`` per hidden layer: True = kept (each with probability 1 - p)."""
        return [
            self.rng.random((batch, width)) >= p if p > 0 else None
            for p, width in zip(self.rates, self.widths, strict=True)
        ]

    def multipliers(self, masks: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
        """``mask / (1 - p)``: what the forward pass multiplies each hidden activation by."""
        return [None if m is None else m * s for m, s in zip(masks, self.scales, strict=True)]


# --------------------------------------------------------------------------- early stopping


@dataclass(frozen=True)
class EarlyStoppingConfig:
    """The arguments of ``keras.callbacks.EarlyStopping``, same names and defaults."""

    monitor: str = "val_loss"
    mode: str = "auto"  # "min" | "max" | "auto" (max when the name contains "acc" or is r2)
    patience: int = 0
    min_delta: float = 0.0
    restore_best_weights: bool = False
    baseline: float | None = None
    start_from_epoch: int = 0


MONITORS = ("val_loss", "loss", "val_accuracy", "accuracy", "val_rmse", "rmse", "val_r2", "r2")


def resolve_mode(config: EarlyStoppingConfig) -> str:
    if config.mode not in ("min", "max", "auto"):
        raise ConfigError(f"mode must be min, max or auto, got {config.mode!r}", "early_stopping.mode")
    if config.mode != "auto":
        return config.mode
    return "max" if "acc" in config.monitor or config.monitor.endswith("r2") else "min"


class EarlyStopping:
    """Keras' rule: stop once ``patience`` epochs in a row failed to improve by more than ``min_delta``.

    An epoch improves when ``value < best - min_delta`` (mode min) or ``value > best + min_delta``
    (mode max).  Every epoch without improvement adds one to ``wait``; an improvement sets it back
    to 0.  Training stops at the first epoch (never the first one) where ``wait >= patience``; with
    ``restore_best_weights`` the weights of the best epoch are restored then (only when it stops
    early, as in Keras; epoch 1's weights count as best until something beats them).  Epochs are
    1-based here (Keras counts internally from 0 and prints from 1).
    """

    def __init__(self, config: EarlyStoppingConfig) -> None:
        if config.monitor not in MONITORS:
            raise ConfigError(
                f"early stopping can monitor {', '.join(MONITORS)}; got {config.monitor!r}",
                "early_stopping.monitor",
            )
        if isinstance(config.patience, bool) or not isinstance(config.patience, int) or config.patience < 0:
            raise ConfigError("patience must be a whole number ≥ 0", "early_stopping.patience")
        if not (math.isfinite(config.min_delta) and config.min_delta >= 0):
            raise ConfigError("min_delta must be a finite number ≥ 0", "early_stopping.min_delta")
        self.config = config
        self.mode = resolve_mode(config)
        self.min_delta = abs(config.min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.best_weights: np.ndarray | None = None
        self.wait = 0
        self.stopped_epoch = 0

    def improved(self, current: float, reference: float) -> bool:
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def update(self, epoch: int, value: float, weights: np.ndarray) -> bool:
        """Account for the end of ``epoch`` (1-based); True when training must stop now."""
        if epoch <= self.config.start_from_epoch:
            return False
        if self.config.restore_best_weights and self.best_weights is None:
            self.best_weights = weights.copy()
        self.wait += 1
        if self.improved(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.config.restore_best_weights:
                self.best_weights = weights.copy()
            if self.config.baseline is None or self.improved(value, self.config.baseline):
                self.wait = 0
            return False
        if self.wait >= self.config.patience and epoch > 1:
            self.stopped_epoch = epoch
            return True
        return False

    def reason(self) -> str:
        """Why it stopped, in words."""
        c = self.config
        delta = f" by more than {c.min_delta:g}" if c.min_delta else ""
        return (
            f"{c.monitor} did not improve{delta} for {self.wait} epoch(s) (patience {c.patience}); "
            f"best {c.monitor} {self.best:.6g} at epoch {self.best_epoch}"
        )
