"""Network requests to core calls and core records to wire dicts (docs/networks.md); no maths here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.config import Settings
from app.ml.datasets import DATASETS, Dataset, make_dataset, parse_csv
from app.ml.errors import ConfigError
from app.ml.export import keras_code, pytorch_code
from app.ml.landscape import loss_slice
from app.ml.nets import LOSSES
from app.ml.optimizers import max_evaluations
from app.ml.regularizers import EarlyStoppingConfig
from app.ml.training import (
    DecisionGrid,
    EpochRecord,
    IterationRecord,
    SlideRows,
    TrainConfig,
    TrainData,
    TrainEnd,
    TrainEvent,
    Training,
)
from app.web.cost import (
    NetworkShape,
    check_network_price,
    check_step_price,
    landscape_price,
    network_price,
    step_price,
)
from app.web.errors import field_loc, reroot
from app.web.schemas import CsvDataset, LandscapeRequest, NetworkRequest, RegistryDataset
from app.web.serialize import jsonable

MAX_ROWS_SHOWN = 2_000
"""Rows of each split sent to the browser for plotting (batch indices refer to these)."""


@dataclass(frozen=True)
class PreparedData:
    """A dataset as loaded, and as the network sees it (split and standardised)."""

    name: str
    title: str
    dataset: Dataset
    train: TrainData


def load_dataset(spec: RegistryDataset | CsvDataset, settings: Settings) -> PreparedData:
    """The registry dataset or the uploaded CSV, split and standardised; errors name ``dataset.*``."""
    try:
        if isinstance(spec, CsvDataset):
            dataset = parse_csv(
                spec.csv, spec.features, spec.target, settings.max_dataset_rows, settings.max_upload_bytes
            )
            name, title = "upload", "Uploaded CSV"
        else:
            dataset = make_dataset(spec.name, spec.n, spec.noise, spec.seed)
            name, title = spec.name, DATASETS[spec.name].title
    except ConfigError as error:
        field = {"file": "csv", "target_column": "target", "feature_columns": "features"}.get(
            error.field.split(".")[0], error.field
        )
        raise reroot(
            error, ("dataset",), path=field_loc("", field if field != "dataset" else "name")[1:]
        ) from None
    train = TrainData.from_dataset(dataset, spec.val_fraction, spec.seed)
    return PreparedData(name, title, dataset, train)


def _request_field(field: str, request: NetworkRequest) -> str:
    """The core's name of a refused setting as the request's field path (``loc`` names a real field)."""
    head = field.partition(".")[0]
    if head in ("data", "n_inputs"):  # too many columns, or rows the network cannot use
        return "dataset.features" if head == "n_inputs" else "dataset"
    if head == "n_classes":
        return "dataset.target"
    if head == "activations" and isinstance(request.activations, str):
        return "activations"
    return field


def new_training(config: TrainConfig, data: TrainData, request: NetworkRequest) -> Training:
    """``Training(config, data)``; a refusal names the request's field, e.g. ``schedule.params.T_max``."""
    try:
        return Training(config, data)
    except ConfigError as error:
        raise reroot(error, path=field_loc("", _request_field(error.field, request))[1:]) from None


def train_config(request: NetworkRequest, record: str = "full") -> TrainConfig:
    """The core's config from the request (lists become tuples, early stopping its dataclass)."""

    def layered(value: float | list[float]) -> float | tuple[float, ...]:
        return tuple(value) if isinstance(value, list) else value

    early = request.early_stopping
    return TrainConfig(
        hidden=tuple(request.hidden),
        activations=request.activations
        if isinstance(request.activations, str)
        else tuple(request.activations),
        optimizer=request.optimizer,
        hyperparameters=request.hyperparameters,
        schedule=request.schedule.value(),
        schedule_unit=request.schedule_unit,
        batch_size=request.batch_size,
        epochs=request.epochs,
        l1=layered(request.l1),
        l2=layered(request.l2),
        dropout=layered(request.dropout),
        early_stopping=None if early is None else EarlyStoppingConfig(**early.model_dump()),
        seed=request.seed,
        record=record,
        every=request.every,
        grid_size=request.grid_size,
        sharpness=request.sharpness,
    )


def make_training(
    request: NetworkRequest, settings: Settings, stream: bool = False
) -> tuple[PreparedData, Training]:
    """Validate the whole config (limits, names, layers) and set up the run."""
    data = load_dataset(request.dataset, settings)
    check_network_limits(request, settings, len(data.train.y_train), stream)
    shape = network_shape(request, data)
    if stream:
        check_step_price(step_price(shape), settings)
    else:
        check_network_price(network_price(shape), settings)
    return data, new_training(train_config(request), data.train, request)


def network_shape(request: NetworkRequest, data: PreparedData) -> NetworkShape:
    """What the price of training this request on this data depends on."""
    tr, ds = data.train, data.dataset
    outputs = ds.n_classes if ds.task == "multiclass" else 1
    return NetworkShape(
        sizes=(tr.X_train.shape[1], *request.hidden, outputs),
        n_train=len(tr.y_train),
        n_val=0 if tr.y_val is None else len(tr.y_val),
        batch_size=request.batch_size,
        epochs=request.epochs,
        every=request.every,
        grid_size=request.grid_size,
        sharpness=request.sharpness,
        evaluations=max_evaluations(request.optimizer, request.hyperparameters),
    )


# ---------------------------------------------------------------------------------------------- wire


def _rows(X: np.ndarray | None, y: np.ndarray | None, scaler: Any) -> dict[str, list[Any]]:
    if X is None or y is None:
        return {"x": [], "y": []}
    original = scaler.inverse(X) if scaler is not None else X
    return {"x": original[:MAX_ROWS_SHOWN].tolist(), "y": y[:MAX_ROWS_SHOWN].tolist()}


def dataset_json(data: PreparedData) -> dict[str, Any]:
    """Summary and rows (original units) of both splits; batch indices index ``train``."""
    ds, tr = data.dataset, data.train
    lo, hi = ds.X.min(axis=0), ds.X.max(axis=0)
    return {
        "name": data.name,
        "title": data.title,
        "task": ds.task,
        "features": list(ds.feature_names),
        "target": ds.target_name,
        "classes": ds.n_classes,
        "n_train": len(tr.y_train),
        "n_val": 0 if tr.y_val is None else len(tr.y_val),
        "box": [float(v) for pair in zip(lo, hi, strict=True) for v in pair],
        "train": _rows(tr.X_train, tr.y_train, tr.scaler),
        "val": _rows(tr.X_val, tr.y_val, tr.scaler),
        "slide_rows": None
        if tr.y_slide is None
        else {"x": ds.X[: len(tr.y_slide)].tolist(), "y": tr.y_slide.tolist()},
    }


def network_json(training: Training) -> dict[str, Any]:
    net = training.net
    loss = LOSSES[net.task]
    return {
        "layers": list(net.sizes),
        "activations": list(net.activation_names),
        "task": net.task,
        "output": loss.output,
        "loss": loss.name,
        "n_params": int(net.size),
    }


def started_json(data: PreparedData, training: Training) -> dict[str, Any]:
    """Everything a view needs before the first iteration."""
    return {
        "kind": "network",
        "epochs": training.max_epochs,
        "batch_size": training.batch_size,
        "iterations_per_epoch": training.ipe,
        "network": network_json(training),
        "hyperparameters": {k: jsonable(v) for k, v in training.hyperparameters.items()},
        "dataset": dataset_json(data),
    }


def iterations_json(records: list[IterationRecord]) -> dict[str, list[Any]]:
    """Iteration records as columns.

    Every example of a batch gets its own dropout mask (as in Keras); ``masks`` holds, per hidden layer,
    the mask the batch's first example saw (0/1 per neuron, null where p = 0) — the network the diagram
    draws — and ``kept`` the fraction of units kept over the whole batch, per hidden layer.
    """
    return {
        "epoch": [r.epoch for r in records],
        "iteration": [r.iteration for r in records],
        "global_step": [r.global_step for r in records],
        "batch_loss": [r.batch_loss for r in records],
        "lr": [r.lr for r in records],
        "evaluations": [r.evaluations for r in records],
        "batch": [r.batch_indices.tolist() for r in records],
        "masks": [
            [None if m is None else m[0].astype(np.int8).tolist() for m in r.dropout_masks] for r in records
        ],
        "kept": [[None if m is None else float(m.mean()) for m in r.dropout_masks] for r in records],
        "logs": [r.logs for r in records],
        "seconds": [r.seconds for r in records],
    }


def _grid_json(grid: DecisionGrid | None) -> dict[str, Any] | None:
    return (
        None if grid is None else {"x": grid.x.tolist(), "y": grid.y.tolist(), "values": grid.values.tolist()}
    )


def _weights_json(weights: tuple[tuple[np.ndarray, np.ndarray], ...] | None) -> list[dict] | None:
    return None if weights is None else [{"W": w.tolist(), "b": b.tolist()} for w, b in weights]


def _slide_json(rows: SlideRows | None) -> dict[str, list[float]] | None:
    return None if rows is None else {"y_hat": rows.y_hat.tolist(), "loss": rows.loss.tolist()}


def epoch_json(record: EpochRecord) -> dict[str, Any]:
    return {
        "epoch": record.epoch,
        "global_step": record.global_step,
        "train_loss": record.train_loss,
        "val_loss": record.val_loss,
        "train_metrics": record.train_metrics,
        "val_metrics": record.val_metrics,
        "l1_penalty": record.l1_penalty,
        "l2_penalty": record.l2_penalty,
        "weight_norms": list(record.weight_norms),
        "zero_weights": record.zero_weights,
        "collapsed": record.collapsed,
        "lr": record.lr,
        "sharpness": record.sharpness,
        "decision_grid": _grid_json(record.decision_grid),
        "weights": _weights_json(record.weights),
        "logs": record.logs,
        "seconds": record.seconds,
        "slide_rows": _slide_json(record.slide_rows),
    }


def end_json(end: TrainEnd) -> dict[str, Any]:
    return {
        "reason": end.reason,
        "epoch": end.epoch,
        "global_step": end.global_step,
        "detail": end.detail,
        "best_epoch": end.best_epoch,
        "restored_best_weights": end.restored_best_weights,
        "decision_grid": _grid_json(end.decision_grid),
        "weights": _weights_json(end.weights),
        "slide_rows": _slide_json(end.slide_rows),
    }


def summary_json(training: Training, last_epoch: EpochRecord | None) -> dict[str, Any]:
    """The figures a results line needs, with confusion matrices for classifiers."""
    end = training.end
    summary: dict[str, Any] = {
        "epochs": training.epoch,
        "global_step": training.global_step,
        "train_loss": None if last_epoch is None else last_epoch.train_loss,
        "val_loss": None if last_epoch is None else last_epoch.val_loss,
        "train_metrics": {} if last_epoch is None else last_epoch.train_metrics,
        "val_metrics": {} if last_epoch is None else last_epoch.val_metrics,
        "best_epoch": None if end is None else end.best_epoch,
        "confusion_matrix": None,
    }
    if training.net.task != "regression" and end is not None and end.reason != "diverged":
        splits = ["train", "val"] if training.data.X_val is not None else ["train"]
        summary["confusion_matrix"] = {s: training.confusion_matrix(s).tolist() for s in splits}
    return summary


def split_events(
    events: list[TrainEvent],
) -> tuple[list[IterationRecord], list[EpochRecord], list[TrainEnd]]:
    iterations = [e for e in events if isinstance(e, IterationRecord)]
    epochs = [e for e in events if isinstance(e, EpochRecord)]
    ends = [e for e in events if isinstance(e, TrainEnd)]
    return iterations, epochs, ends


def trace_json(data: PreparedData, training: Training) -> dict[str, Any]:
    """Train to the end and return the stream's payloads concatenated (docs/networks.md)."""
    iterations, epochs, ends = split_events(list(training))
    return {
        **started_json(data, training),
        "iterations": iterations_json(iterations),
        "epochs": [epoch_json(r) for r in epochs],
        "end": end_json(ends[-1]) if ends else None,
        "summary": summary_json(training, epochs[-1] if epochs else None),
    }


def code_json(request: NetworkRequest, settings: Settings) -> dict[str, str]:
    data = load_dataset(request.dataset, settings)
    config = train_config(request)
    new_training(config, data.train, request)  # validates the config exactly as training would
    return {"keras": keras_code(config, data.train), "pytorch": pytorch_code(config, data.train)}


def landscape_json(request: LandscapeRequest, settings: Settings) -> dict[str, Any]:
    """Train to the end keeping each epoch's weights, then slice the loss around the last finite point.

    The centre is the final weights when their loss is finite. A run that diverged keeps its last
    finite weights, but those are often already so large that the loss over the training set
    overflows; then the centre is the latest epoch snapshot with a finite loss, else the initial
    weights, and ``centre`` says which. Every number in the answer is finite (docs/networks.md).
    """
    data = load_dataset(request.config.dataset, settings)
    check_network_limits(request.config, settings, len(data.train.y_train))
    check_network_price(landscape_price(network_shape(request.config, data), request.n), settings)
    base = train_config(request.config, record="epochs")
    config = TrainConfig(**{**base.__dict__, "every": base.epochs})
    training = new_training(config, data.train, request.config)
    snapshots: list[tuple[int, np.ndarray]] = [(0, training.params.copy())]  # epoch 0: the initial weights
    while not training.finished:
        for event in training.advance_epochs(1):
            if isinstance(event, EpochRecord):
                snapshots.append((event.epoch, training.eval_params.copy()))
    X, y = data.train.X_train, data.train.y_train
    targets = training.net.targets(y)

    def loss_at(weights: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(training.net.evaluate(weights, X, targets)[0])

    losses = [(epoch, weights, loss_at(weights)) for epoch, weights in snapshots]
    finite = [(epoch, weights, loss) for epoch, weights, loss in losses if math.isfinite(loss)]
    final_loss = loss_at(training.eval_params)
    if math.isfinite(final_loss):
        centre, centre_json = training.eval_params, {"weights": "final", "epoch": training.epoch}
    elif finite:
        epoch, centre, final_loss = finite[-1]
        centre_json = {"weights": "initial" if epoch == 0 else "epoch", "epoch": epoch}
    else:
        raise ConfigError("the loss is not finite even at the initial weights, so there is nothing to slice")
    path = [(e, w, loss) for e, w, loss in finite if 1 <= e <= centre_json["epoch"]]  # recorded epochs
    sliced = loss_slice(
        training.net, centre, X, y, n=request.n, span=request.span, seed=request.seed,
        path=[w for _, w, _ in path],
    )  # fmt: skip
    projected = sliced.path if sliced.path is not None else np.empty((0, 2))
    diverged = training.end is not None and training.end.reason == "diverged"
    return {
        "alphas": sliced.alphas.tolist(),
        "betas": sliced.betas.tolist(),
        "loss": sliced.loss.tolist(),
        "span": sliced.span,
        "path": {
            "alpha": projected[:, 0].tolist(),
            "beta": projected[:, 1].tolist(),
            "loss": [loss for _, _, loss in path],
            "epoch": [e for e, _, _ in path],
            "residual": [] if sliced.path_residual is None else sliced.path_residual.tolist(),
        },
        "final_loss": final_loss,
        "centre": centre_json,
        "diverged": diverged,
        "end": None if training.end is None else end_json(training.end),
    }


def check_network_limits(
    request: NetworkRequest, settings: Settings, n_train: int, stream: bool = False
) -> None:
    """Epochs per run, and (for whole traces) total iterations, within the Settings."""
    if request.epochs > settings.max_epochs:
        raise ConfigError(f"at most {settings.max_epochs} epochs per run", "epochs")
    per_epoch = -(-n_train // request.batch_size)
    if not stream and per_epoch * request.epochs > settings.max_network_iterations:
        raise ConfigError(
            f"{request.epochs} epochs × {per_epoch} iterations is more than the"
            f" {settings.max_network_iterations:,} iterations one request may train; stream it instead",
            "epochs",
        )
