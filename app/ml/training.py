"""Training a network by mini-batch gradient descent: the Training that advances it, its records and ends.

Keras arithmetic: an epoch is one pass over the training rows in a fresh seeded shuffle, cut into
``ceil(n_train / batch_size)`` iterations; the last batch holds the remainder (700 rows at batch 32:
21 batches of 32 and one of 28 = 22 iterations).  ``batch_size = 1`` is SGD, ``batch_size >= n`` is
full-batch gradient descent.  Each iteration draws dropout masks, computes the batch loss and the
gradient (data loss + L2), and applies ONE update of the same optimizer chain that descends the
surfaces (:func:`app.ml.optimizers.make_optimizer` on the flat parameter vector), then L1's proximal
(soft-threshold) step, which sets weights to exactly 0 (:mod:`app.ml.regularizers` says why).

A schedule's step ``t`` is the epoch index (``schedule_unit="epoch"``, the default: torch's
``scheduler.step()`` once per epoch, Keras' LearningRateScheduler) or the update index
(``"iteration"``).

Optimizers that evaluate the function (:mod:`app.ml.evaluating`) get the training objective on the
current batch as their oracle: data loss plus the L1/L2 penalties, with this iteration's dropout masks
held fixed, so every evaluation of one update sees the same function. L-BFGS needs that function to be
the whole training set (its line search and curvature pairs compare values across evaluations), so it
is refused unless ``batch_size`` covers every training row; Newton is refused outright (it needs the
exact Hessian, a P × P matrix these networks do not compute); Polyak's f* defaults to 0, the least
value of every loss here.

What an epoch reports: ``train_loss`` is the size-weighted mean of the epoch's batch losses (with
dropout active), exactly the "loss" Keras prints; ``val_loss`` and all metrics are computed after the
epoch in evaluation mode (no dropout) on the whole split, so the accuracy matches the drawn decision
boundary.  Losses are data losses; the L1/L2 penalties are reported apart.  No NaN or infinity ever
leaves: a non-finite loss or parameter ends the run as ``diverged`` and keeps the last finite state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.ml.datasets import Dataset, Standardizer, train_val_split
from app.ml.errors import ConfigError
from app.ml.evaluating import EvaluatingTransformation, Problem
from app.ml.nets import Network, binary_cross_entropy, predicted_labels
from app.ml.optimizers import check_schedule, get_optimizer, make_optimizer, resolve_hyperparameters
from app.ml.regularizers import (
    Dropout,
    EarlyStopping,
    EarlyStoppingConfig,
    WeightPenalty,
    collapsed,
    dropout_rates,
    zero_weights,
)
from app.ml.schedules import Schedule
from app.ml.sharpness import top_eigenvalue

RECORD_LEVELS = ("full", "epochs", "none")
END_REASONS = ("done", "early_stop", "diverged", "stopped")
MAX_EPOCHS = 100_000
MAX_BATCH = 100_000
SHARPNESS_PRODUCTS = 20  # Hessian-vector products per epoch for the sharpness (each ≈ 2 passes)
SHARPNESS_TOL = 1e-4  # relative change of the Rayleigh quotient at which power iteration stops


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class TrainData:
    """Training (and optional validation) rows as the network sees them, plus the scaler that made them."""

    X_train: np.ndarray
    y_train: np.ndarray
    task: str
    n_classes: int = 0
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    scaler: Standardizer | None = None  # maps original feature units to the network's inputs
    X_slide: np.ndarray | None = None  # a course slide's table rows (scaled), reported row by row
    y_slide: np.ndarray | None = None

    @classmethod
    def from_dataset(
        cls, data: Dataset, val_fraction: float = 0.2, seed: int = 0, standardize: bool = True
    ) -> TrainData:
        """Split (seeded) and standardise with statistics of the training rows only."""
        X_tr, y_tr, X_va, y_va = train_val_split(data.X, data.y, val_fraction, seed)
        scaler = Standardizer.fit(X_tr) if standardize else None
        if scaler is not None:
            X_tr, X_va = scaler.transform(X_tr), scaler.transform(X_va)
        has_val = len(y_va) > 0
        k = data.slide_rows if data.task == "binary" else 0
        X_slide = data.X[:k] if scaler is None else scaler.transform(data.X[:k])
        return cls(
            X_tr,
            y_tr,
            data.task,
            data.n_classes,
            X_va if has_val else None,
            y_va if has_val else None,
            scaler,
            X_slide if k else None,
            data.y[:k] if k else None,
        )

    @property
    def n_train(self) -> int:
        return len(self.y_train)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (the names match the Keras/torch arguments they map to)."""

    hidden: tuple[int, ...] = (16,)
    activations: str | tuple[str, ...] = "relu"
    optimizer: str = "adam"
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    schedule: Schedule = field(default_factory=Schedule)
    schedule_unit: str = "epoch"  # "epoch" | "iteration"
    batch_size: int = 32
    epochs: int = 100
    l1: float | tuple[float, ...] = 0.0
    l2: float | tuple[float, ...] = 0.0
    dropout: float | tuple[float, ...] = 0.0
    early_stopping: EarlyStoppingConfig | None = None
    seed: int = 0
    record: str = "full"  # "full" | "epochs" | "none"
    every: int = 10  # decision grid and weights every this many epochs (and at epochs 1 and last)
    grid_size: int = 40
    sharpness: bool = False  # λmax of the training-loss Hessian at every epoch's end (edge of stability)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class IterationRecord:
    """One update. ``batch_indices`` are training-row indices (a view of the epoch's shuffled order)."""

    epoch: int  # 1-based
    iteration: int  # 1-based within the epoch
    iterations_per_epoch: int
    global_step: int  # updates done so far, this one included
    batch_loss: float  # data loss of the batch before the update (dropout active)
    batch_start: int  # the batch is order[batch_start:batch_stop] of the epoch's shuffle
    batch_stop: int
    batch_indices: np.ndarray
    dropout_masks: tuple[np.ndarray | None, ...]  # per hidden layer, True = kept; None where p = 0
    lr: float  # learning rate this update used
    evaluations: int = 1  # function-and-gradient evaluations of the update (L-BFGS: many, SAM: 2)
    logs: dict[str, float] = field(default_factory=dict)  # Keras' running logs of the epoch so far
    seconds: float = 0.0  # measured compute time of the epoch so far (its updates)


@dataclass(frozen=True, slots=True)
class DecisionGrid:
    """Model output over the data's box in original feature units.

    2 inputs: ``values[i, j]`` at ``(x[j], y[i])``; binary: P(class 1), multiclass: ``(n, n, C)``
    class probabilities, regression: the prediction. 1 input: ``y`` is empty and ``values`` is ``(n,)``.
    """

    x: np.ndarray
    y: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, slots=True)
class SlideRows:
    """The slide table's rows under the current weights: each row's ŷ = P(y = 1) and its BCE loss."""

    y_hat: np.ndarray
    loss: np.ndarray


@dataclass(frozen=True, slots=True)
class EpochRecord:
    epoch: int  # 1-based
    global_step: int
    train_loss: float  # mean of the epoch's batch losses, as Keras prints "loss"
    val_loss: float | None
    train_metrics: dict[str, float]  # accuracy, or rmse and r2; evaluation mode, whole training split
    val_metrics: dict[str, float]
    l1_penalty: float
    l2_penalty: float
    weight_norms: tuple[float, ...]  # Frobenius norm of each layer's W
    lr: float  # learning rate of the epoch's last update
    decision_grid: DecisionGrid | None
    weights: tuple[tuple[np.ndarray, np.ndarray], ...] | None  # (W, b) per layer, copies
    logs: dict[str, float] = field(default_factory=dict)  # what Keras' fit logs and prints (see fit_logs)
    seconds: float = 0.0  # measured compute time of the epoch: its updates and its evaluation
    slide_rows: SlideRows | None = None
    sharpness: float | None = None  # λmax of the training loss's Hessian when asked for (see sharpness.py)
    zero_weights: int = 0  # weights (not biases) exactly 0, what L1's proximal step produces
    collapsed: bool = False  # the same prediction for every training row (regularizers.collapsed)


@dataclass(frozen=True, slots=True)
class TrainEnd:
    """How the run ended: ``done`` (max epochs), ``early_stop``, ``diverged`` or ``stopped`` (by the user)."""

    reason: str
    epoch: int  # last completed epoch
    global_step: int
    detail: str
    best_epoch: int | None = None  # early stopping: the epoch whose monitor value was best
    restored_best_weights: bool = False
    # when the best weights were restored: the model as it now is (the last epoch record shows the stop epoch)
    decision_grid: DecisionGrid | None = None
    weights: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    slide_rows: SlideRows | None = None


TrainEvent = IterationRecord | EpochRecord | TrainEnd


# --------------------------------------------------------------------------- helpers


def iterations_per_epoch(n_train: int, batch_size: int) -> int:
    """Keras' count: ``ceil(n / batch_size)``, the last batch partial (700 / 32 → 22)."""
    return -(-n_train // batch_size)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``m[i, j]`` = rows of true class i predicted as j (rows: truth, columns: prediction)."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, dtype=np.intp), np.asarray(y_pred, dtype=np.intp)), 1)
    return m


def metrics(task: str, logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy for classification; rmse and r2 for regression (``y`` as from ``Network.targets``)."""
    if task == "regression":
        resid = logits - y
        ss_res = float(np.vdot(resid, resid))
        centred = y - y.mean()
        ss_tot = float(np.vdot(centred, centred))
        return {"rmse": math.sqrt(ss_res / y.size), "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0}
    labels = predicted_labels(task, logits)
    return {"accuracy": float(np.mean(labels == y.reshape(-1)))}


KERAS_METRICS = {"binary": ("accuracy",), "multiclass": ("accuracy",), "regression": ("r2", "rmse")}
"""The metrics the exported Keras code compiles (app.ml.export), by the names Keras logs them under."""


class RunningLogs:
    """Keras' running epoch logs: the loss and the compiled metrics over the epoch's batches so far.

    As Keras' fit computes them: from the training-mode forward pass of each batch (dropout active, the
    weights before that batch's update), weighted by batch size. ``loss`` is the mean batch loss,
    ``accuracy`` the share of rows predicted right; regression's ``rmse`` and ``r2`` accumulate the
    squared residuals and the target's sums (keras.metrics.RootMeanSquaredError and R2Score).
    """

    def __init__(self, task: str) -> None:
        self.task = task
        self.sums = np.zeros(5)  # rows, loss × rows, correct | Σ residual², Σ y, Σ y²

    def reset(self) -> None:
        self.sums[:] = 0.0

    def add(self, loss: float, logits: np.ndarray, y: np.ndarray) -> None:
        rows = len(y)
        s = self.sums
        s[0] += rows
        s[1] += loss * rows
        if self.task == "regression":
            resid = logits - y
            s[2] += float(np.vdot(resid, resid))
            s[3] += float(y.sum())
            s[4] += float(np.vdot(y, y))
        else:
            s[2] += float(np.sum(predicted_labels(self.task, logits) == y.reshape(-1)))

    def result(self) -> dict[str, float]:
        """``{"accuracy", "loss"}`` or ``{"loss", "r2", "rmse"}``, in Keras' (alphabetical) order."""
        rows, loss_sum, a, sum_y, sum_y2 = self.sums
        n = max(rows, 1.0)
        if self.task != "regression":
            return {"accuracy": float(a / n), "loss": float(loss_sum / n)}
        ss_tot = sum_y2 - sum_y * sum_y / n
        r2 = 1.0 - a / ss_tot if ss_tot > 0 else 0.0
        return {"loss": float(loss_sum / n), "r2": float(r2), "rmse": math.sqrt(a / n)}


def fit_logs(
    running: Mapping[str, float], val_loss: float | None, val_metrics: Mapping[str, float]
) -> dict[str, float]:
    """An epoch's logs as Keras' fit returns and prints them: the running training logs, then ``val_*``.

    Keras sorts the logs by name (``python_utils.pythonify_logs``), so a classifier prints ``accuracy``,
    ``loss``, ``val_accuracy``, ``val_loss``.
    """
    logs = dict(running)
    if val_loss is not None:
        logs["val_loss"] = val_loss
        logs.update({f"val_{k}": v for k, v in val_metrics.items()})
    return dict(sorted(logs.items()))


def _check_int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ConfigError(
            f"{name} must be a whole number from {low:,} to {high:,}, got {value!r}",
            name,
            key="whole_number",
            params={"name": name, "low": low, "high": high},
        )
    return int(value)


def _check_data(data: TrainData) -> None:
    for name in ("X_train", "X_val"):
        X = getattr(data, name)
        y = getattr(data, "y" + name[1:])
        if X is None:
            continue
        if X.ndim != 2 or len(X) != len(y):
            raise ConfigError(f"{name} must be (rows, features) with one target per row", "data")
        if not np.isfinite(X).all():
            raise ConfigError(f"{name} holds non-finite values", "data")
    if data.n_train < 1:
        raise ConfigError("the training split is empty", "data")


# --------------------------------------------------------------------------- the run


class Training:
    """A training run advanced iteration by iteration, with live control between iterations.

    The REST path iterates it to the end; a stream calls ``advance(n)`` at the learner's pace and may
    change hyperparameters (a new learning rate takes effect at the next update, optimizer state
    kept) or ``stop()`` it.
    """

    def __init__(
        self, config: TrainConfig, data: TrainData, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.config = config
        self.clock = clock  # times the computation of each update and evaluation (Keras' "2ms/step")
        self.data = data
        _check_data(data)
        self.batch_size = _check_int(config.batch_size, "batch_size", 1, MAX_BATCH)
        self.max_epochs = _check_int(config.epochs, "epochs", 1, MAX_EPOCHS)
        self.every = _check_int(config.every, "every", 1, MAX_EPOCHS)
        self.grid_size = _check_int(config.grid_size, "grid_size", 5, 200)
        if config.record not in RECORD_LEVELS:
            raise ConfigError(f"record must be one of {', '.join(RECORD_LEVELS)}", "record")
        if config.schedule_unit not in ("epoch", "iteration"):
            raise ConfigError("schedule_unit must be epoch or iteration", "schedule_unit")
        self.net = Network(
            data.X_train.shape[1], config.hidden, config.activations, data.task, max(data.n_classes, 2)
        )
        self.penalty = WeightPenalty(self.net, config.l1, config.l2)
        rates = dropout_rates(config.dropout, len(self.net.hidden))
        self.dropout = Dropout(rates, self.net.hidden, seed=config.seed + 2)
        self.hyperparameters = self._resolve(config.hyperparameters)
        check_schedule(config.optimizer, config.schedule.name)
        self.early = EarlyStopping(config.early_stopping) if config.early_stopping is not None else None
        monitor = config.early_stopping.monitor if config.early_stopping else ""
        if monitor.startswith("val_") and data.X_val is None:
            raise ConfigError(f"{monitor} needs a validation split", "early_stopping.monitor")
        if monitor and data.task == "regression" and "accuracy" in monitor:
            raise ConfigError(
                "accuracy is for classification; monitor loss, rmse or r2", "early_stopping.monitor"
            )
        if monitor and data.task != "regression" and ("rmse" in monitor or "r2" in monitor):
            raise ConfigError(
                "rmse and r2 are for regression; monitor loss or accuracy", "early_stopping.monitor"
            )

        self.X, self.y = data.X_train, self.net.targets(data.y_train)
        self.X_val = data.X_val
        self.y_val = None if data.y_val is None else self.net.targets(data.y_val)
        self.n_train = len(self.y)
        self._check_evaluating()
        self.ipe = iterations_per_epoch(self.n_train, self.batch_size)
        self.params = self.net.init(config.seed)
        self._shuffle = np.random.default_rng(config.seed + 1)
        self._build()
        lanes = self.params[None] if isinstance(self.transform, EvaluatingTransformation) else self.params
        self.opt_state = self.transform.init(lanes)  # an evaluating optimizer sees one lane, (1, P)
        self._grid_inputs = self._make_grid()
        self.epoch = 0  # completed epochs
        self.iteration = 0  # completed iterations of the current epoch
        self.global_step = 0
        self._order = np.arange(self.n_train)
        self._loss_sum = 0.0
        self._running = RunningLogs(data.task)
        self._seconds = 0.0  # compute time of the epoch in progress
        self.end: TrainEnd | None = None
        self._records = config.record
        self._sharpness_direction: np.ndarray | None = None

    # ------------------------------------------------------------------ optimizer
    def _resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """torch's defaults filled in; Polyak's unknown f* is 0 here (no loss of these networks is below)."""
        resolved = resolve_hyperparameters(self.config.optimizer, given)
        if resolved.get("f_star", 0.0) is None:
            resolved["f_star"] = 0.0
        return resolved

    def _check_evaluating(self) -> None:
        """Where an optimizer that evaluates the function makes sense on a network (module docstring)."""
        name = self.config.optimizer
        if not get_optimizer(name).evaluating:
            return
        if name == "newton":
            raise ConfigError(
                "newton needs the exact Hessian of the loss, which a network here does not compute (it has"
                " one row and column per weight); on networks use lbfgs, a quasi-Newton method",
                "optimizer",
            )
        if name == "lbfgs" and self.batch_size < self.n_train:
            raise ConfigError(
                f"lbfgs needs the full batch: its line search and curvature pairs compare the loss of one"
                f" function, so batch_size must be at least the {self.n_train} training rows",
                "batch_size",
            )

    def _build(self) -> None:
        """The optimizer chain from the current hyperparameters (same state structure on every rebuild)."""
        c = self.config
        lr = self.hyperparameters["lr"]
        base = None if c.schedule.name == "constant" else c.schedule.build(lr)
        if base is not None and c.schedule_unit == "epoch":
            ipe = self.ipe
            self.schedule = lambda t: base(t // ipe)
        else:
            self.schedule = base
        self.transform = make_optimizer(c.optimizer, self.hyperparameters, self.schedule, self.net.shapes)

    @property
    def eval_params(self) -> np.ndarray:
        """The weights every evaluation uses: the optimizer's eval point where it has one (schedule-free's
        x, what ``optimizer.eval()`` gives), else the trained weights (also after restoring the best ones)."""
        read = getattr(self.transform, "aux", None)  # an evaluating optimizer has none
        if read is None or (self.end is not None and self.end.restored_best_weights):
            return self.params
        return read(self.opt_state, self.params).get("eval", self.params)

    def lr(self) -> float:
        """Learning rate the next update uses."""
        if self.schedule is None:
            return float(self.hyperparameters["lr"])
        return float(self.schedule(self.global_step))

    def set_hyperparameters(self, changes: Mapping[str, Any]) -> None:
        """Live change (validated); the next update uses it and the optimizer state is kept."""
        self.hyperparameters = self._resolve({**self.hyperparameters, **changes})
        self._build()

    # ------------------------------------------------------------------ stepping
    @property
    def finished(self) -> bool:
        return self.end is not None

    def advance(self, n_iterations: int = 1) -> list[TrainEvent]:
        """Up to ``n_iterations`` updates; epoch records and the end event come as they happen."""
        events: list[TrainEvent] = []
        with np.errstate(all="ignore"):
            for _ in range(n_iterations):
                if self.end is not None:
                    break
                self._iterate(events)
        return events

    def advance_epochs(self, n_epochs: int = 1) -> list[TrainEvent]:
        """Train to the end of the current epoch and ``n_epochs - 1`` more (or to the end of the run)."""
        events: list[TrainEvent] = []
        target = self.epoch + n_epochs
        with np.errstate(all="ignore"):
            while self.end is None and self.epoch < target:
                self._iterate(events)
        return events

    def stop(self) -> list[TrainEvent]:
        """End the run now as ``stopped`` (a partial epoch is dropped from the epoch records)."""
        if self.end is not None:
            return []
        self.end = TrainEnd("stopped", self.epoch, self.global_step, "stopped by the user")
        return [self.end]

    def __iter__(self) -> Iterator[TrainEvent]:
        while self.end is None:
            yield from self.advance_epochs(1)

    def _iterate(self, events: list[TrainEvent]) -> None:
        """One update, then the epoch's record and checks when it completes the epoch."""
        started = self.clock()
        if self.iteration == 0:
            self._order = self._shuffle.permutation(self.n_train)
            self._loss_sum = 0.0
            self._running.reset()
            self._seconds = 0.0
        start = self.iteration * self.batch_size
        stop = min(start + self.batch_size, self.n_train)
        idx = self._order[start:stop]
        params = self.params
        masks = self.dropout.masks(stop - start) if self.dropout.active else None
        mult = self.dropout.multipliers(masks) if masks is not None else None
        cache = self.net.forward(params, self.X[idx], mult)
        loss, grad = self.net.backward(params, cache, self.y[idx])
        if self.penalty.active:
            self.penalty.add_grad(params, grad)
        lr = self.lr() if self._records == "full" or self.penalty.has_l1 else 0.0
        evaluations = 1
        if isinstance(self.transform, EvaluatingTransformation):
            new, state, evaluations = self._evaluating_update(loss, grad, idx, mult)
        else:
            updates, state = self.transform.update(grad, self.opt_state, params)
            new = params + updates
        new = self.penalty.prox(new, lr)
        if not (math.isfinite(loss) and math.isfinite(float(np.add.reduce(new)))):
            self._diverge(
                events,
                f"the batch loss or the weights became non-finite at iteration "
                f"{self.iteration + 1} of epoch {self.epoch + 1}: the learning rate is too high",
            )
            return
        self.params, self.opt_state = new, state
        self.iteration += 1
        self.global_step += 1
        self._loss_sum += loss * (stop - start)
        self._running.add(loss, cache.logits, self.y[idx])
        self._seconds += self.clock() - started
        if self._records == "full":
            events.append(
                IterationRecord(
                    self.epoch + 1,
                    self.iteration,
                    self.ipe,
                    self.global_step,
                    loss,
                    start,
                    stop,
                    idx,
                    tuple(masks) if masks is not None else (None,) * len(self.net.hidden),
                    lr,
                    evaluations,
                    self._running.result(),
                    self._seconds,
                )
            )
        if self.iteration == self.ipe:
            self.iteration = 0
            self.epoch += 1
            self._end_epoch(events)

    def _evaluating_update(
        self, loss: float, grad: np.ndarray, idx: np.ndarray, mult: Any
    ) -> tuple[np.ndarray, Any, int]:
        """One update of an optimizer that evaluates the function: the batch objective as its oracle."""
        X, y = self.X[idx], self.y[idx]

        def value_and_grad(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            values, grads = np.empty(len(points)), np.empty_like(points)
            for k, point in enumerate(points):
                data_loss, g = self.net.loss_and_grad(point, X, y, mult)
                if self.penalty.has_l2:  # the smooth part; L1 is the proximal step after the update
                    self.penalty.add_grad(point, g)
                    data_loss += self.penalty.values(point)[1]
                values[k], grads[k] = data_loss, g
            return values, grads

        objective = loss + (self.penalty.values(self.params)[1] if self.penalty.has_l2 else 0.0)
        problem = Problem(value_and_grad)
        out = self.transform.update(
            np.array([objective]), grad[None], self.opt_state, self.params[None], problem
        )
        return out.params[0], out.state, int(out.evaluations[0])

    def _diverge(self, events: list[TrainEvent], detail: str) -> None:
        self.end = TrainEnd("diverged", self.epoch, self.global_step, detail)
        events.append(self.end)

    def _end_epoch(self, events: list[TrainEvent]) -> None:
        started = self.clock()
        epoch, params, net = self.epoch, self.eval_params, self.net
        train_loss = self._loss_sum / self.n_train
        val_loss, val_metrics = None, {}
        if self.X_val is not None and len(self.X_val):
            val_loss, logits = net.evaluate(params, self.X_val, self.y_val)
            val_metrics = metrics(net.task, logits, self.y_val)
        monitor = self.config.early_stopping.monitor if self.early else ""
        train_metrics: dict[str, float] = {}
        constant = False
        if self._records != "none" or (monitor and not monitor.startswith("val_") and monitor != "loss"):
            train_logits = net.evaluate(params, self.X, self.y)[1]
            train_metrics = metrics(net.task, train_logits, self.y)
            constant = collapsed(net.loss.predict(train_logits))
        values = [train_loss, *train_metrics.values(), *val_metrics.values()]
        if val_loss is not None:
            values.append(val_loss)
        if not all(math.isfinite(v) for v in values):
            self.epoch -= 1
            self._diverge(
                events,
                f"the loss became non-finite at the end of epoch {epoch}: the learning rate is too high",
            )
            return
        stop = False
        if self.early is not None:
            current = {"loss": train_loss, "val_loss": val_loss}
            current.update(train_metrics)
            current.update({f"val_{k}": v for k, v in val_metrics.items()})
            stop = self.early.update(epoch, float(current[monitor]), params)
        last = stop or epoch >= self.max_epochs
        if self._records != "none":
            snapshot = epoch == 1 or last or epoch % self.every == 0
            l1, l2 = self.penalty.values(params)
            logs = fit_logs(self._running.result(), val_loss, val_metrics)
            seconds = self._seconds + self.clock() - started
            events.append(
                EpochRecord(
                    epoch,
                    self.global_step,
                    train_loss,
                    val_loss,
                    train_metrics,
                    val_metrics,
                    l1,
                    l2,
                    tuple(float(np.linalg.norm(w)) for w, _ in net.views(params)),
                    self.lr() if self.global_step == 0 else self._last_lr(),
                    self.decision_grid() if snapshot else None,
                    self._weights() if snapshot else None,
                    logs,
                    seconds,
                    self.slide_rows(),
                    self._sharpness() if self.config.sharpness else None,
                    zero_weights(net, params),
                    constant,
                )
            )
        if stop:
            early = self.early
            restored = bool(
                self.config.early_stopping.restore_best_weights and early.best_weights is not None
            )
            if restored:
                self.params = early.best_weights.copy()
            self.end = TrainEnd(
                "early_stop",
                epoch,
                self.global_step,
                early.reason() + ("; restored the weights of that epoch" if restored else ""),
                early.best_epoch,
                restored,
                self.decision_grid() if restored else None,
                self._weights() if restored else None,
                self.slide_rows() if restored else None,
            )
            events.append(self.end)
        elif epoch >= self.max_epochs:
            self.end = TrainEnd(
                "done", epoch, self.global_step, f"trained the {self.max_epochs} epoch(s) asked for"
            )
            events.append(self.end)

    def _sharpness(self) -> float | None:
        """λmax of the whole training split's loss (eval mode, L2 curvature included), warm-started.

        ``SHARPNESS_PRODUCTS`` Hessian-vector products at most per epoch: warm-started from the last
        epoch's direction the estimate follows the training (Cohen et al. track it the same way).
        """
        found = top_eigenvalue(
            self.net,
            self.params,
            self.X,
            self.y,
            start=self._sharpness_direction,
            l2_vec=self.penalty.l2_vec if self.penalty.has_l2 else None,
            max_iter=SHARPNESS_PRODUCTS,
            tol=SHARPNESS_TOL,
            seed=self.config.seed,
        )
        self._sharpness_direction = found.vector
        return found.value if math.isfinite(found.value) else None

    def _last_lr(self) -> float:
        if self.schedule is None:
            return float(self.hyperparameters["lr"])
        return float(self.schedule(self.global_step - 1))

    # ------------------------------------------------------------------ views of the model
    def _make_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Grid axes (original units) and the network inputs there, over the data's box plus 5 %."""
        d = self.data
        if d.X_train.shape[1] not in (1, 2):
            return None
        X = d.X_train if d.X_val is None else np.concatenate([d.X_train, d.X_val])
        raw = d.scaler.inverse(X) if d.scaler is not None else X
        lo, hi = raw.min(axis=0), raw.max(axis=0)
        pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
        axes = [np.linspace(a - p, b + p, self.grid_size) for a, b, p in zip(lo, hi, pad, strict=True)]
        if len(axes) == 1:
            points = axes[0][:, None]
            ys = np.empty(0)
        else:
            gx, gy = np.meshgrid(axes[0], axes[1])
            points = np.stack([gx.ravel(), gy.ravel()], axis=1)
            ys = axes[1]
        inputs = d.scaler.transform(points) if d.scaler is not None else points
        return axes[0], ys, inputs

    def _weights(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        return tuple((w.copy(), b.copy()) for w, b in self.net.views(self.params))

    def slide_rows(self) -> SlideRows | None:
        """ŷ and the binary cross-entropy of each slide-table row under the current weights (or None)."""
        if self.data.X_slide is None:
            return None
        y_hat = self.net.predict(self.params, self.data.X_slide)
        return SlideRows(y_hat, binary_cross_entropy(self.data.y_slide, y_hat))

    def decision_grid(self) -> DecisionGrid | None:
        """The model's output over the data's box (None unless there are 1 or 2 input features)."""
        if self._grid_inputs is None:
            return None
        xs, ys, inputs = self._grid_inputs
        out = self.net.predict(self.eval_params, inputs)
        if len(ys):
            out = out.reshape(len(ys), len(xs), -1) if out.ndim == 2 else out.reshape(len(ys), len(xs))
        return DecisionGrid(xs, ys, out)

    def confusion_matrix(self, split: str = "val") -> np.ndarray:
        """Confusion matrix of the current weights on ``"train"`` or ``"val"`` (classification only)."""
        if self.net.task == "regression":
            raise ConfigError("a confusion matrix needs a classification task", "split")
        X, y = (self.X, self.y) if split == "train" else (self.X_val, self.y_val)
        if X is None:
            raise ConfigError("there is no validation split", "split")
        labels = predicted_labels(self.net.task, self.net.forward(self.eval_params, X).logits)
        return confusion_matrix(y.reshape(-1), labels, self.net.n_classes)


def train(config: TrainConfig, data: TrainData) -> Iterator[TrainEvent]:
    """Iteration records, epoch records and the end event of a whole run, in order."""
    yield from Training(config, data)
