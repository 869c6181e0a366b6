"""What a training reports as Keras would print it (issue 11): running logs, sorted epoch logs, measured
time, the insurance slide rows' ŷ and binary cross-entropy, and the view of restored best weights."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from app.ml.datasets import INSURANCE_ROWS, make_dataset
from app.ml.nets import binary_cross_entropy, predicted_labels
from app.ml.regularizers import EarlyStoppingConfig
from app.ml.training import EpochRecord, IterationRecord, TrainConfig, TrainData, Training, fit_logs


def _insurance(n: int | None = None) -> TrainData:
    return TrainData.from_dataset(make_dataset("insurance", n), val_fraction=0.2, seed=0)


def test_binary_cross_entropy_of_the_slides_confident_wrong_prediction_is_4_6() -> None:
    assert binary_cross_entropy(1, 0.01) == pytest.approx(-math.log(0.01)) == pytest.approx(4.605, abs=5e-4)
    assert binary_cross_entropy(0, 0.99) == pytest.approx(4.605, abs=5e-4)  # the same mistake the other way
    assert binary_cross_entropy(1, 0.99) == pytest.approx(0.01005, abs=1e-5)  # sure and right costs little
    row = binary_cross_entropy(np.array([1, 0, 1]), np.array([0.8, 0.3, 0.5]))
    np.testing.assert_allclose(row, [-math.log(0.8), -math.log(0.7), math.log(2)])
    # Keras clips ŷ to [1e-7, 1 - 1e-7]: a certain wrong answer costs ln(1e7) = 16.12, not infinity
    assert binary_cross_entropy(np.array([1, 0]), np.array([0.0, 1.0])) == pytest.approx(
        [16.118, 16.118], abs=1e-3
    )


def test_insurance_defaults_to_the_slides_700_training_rows_in_22_batches() -> None:
    data = _insurance()
    assert data.n_train == 700 and len(data.y_val) == 175
    assert Training(TrainConfig(batch_size=32), data).ipe == 22


def test_running_logs_are_the_size_weighted_means_over_the_epochs_batches_so_far() -> None:
    training = Training(TrainConfig(hidden=(4,), epochs=1), _insurance())
    initial = training.params.copy()
    its = [e for e in training.advance(22) if isinstance(e, IterationRecord)]
    # the first batch's logs: its own loss and accuracy, on the weights before its update (as Keras' fit)
    first = its[0]
    idx = first.batch_indices
    logits = training.net.forward(initial, training.X[idx]).logits
    assert first.logs["loss"] == pytest.approx(first.batch_loss)
    assert first.logs["accuracy"] == pytest.approx(
        np.mean(predicted_labels("binary", logits) == training.y[idx, 0])
    )
    assert list(first.logs) == ["accuracy", "loss"]
    # the last: the mean over the epoch's 700 rows, weighted by batch size (21 batches of 32, one of 28)
    sizes = [r.batch_stop - r.batch_start for r in its]
    assert sizes[-1] == 28
    expected = sum(r.batch_loss * s for r, s in zip(its, sizes, strict=True)) / 700
    assert its[-1].logs["loss"] == pytest.approx(expected)


def test_epoch_logs_are_sorted_as_keras_prints_them_and_the_loss_is_the_epochs_loss() -> None:
    data = _insurance()
    events = list(Training(TrainConfig(hidden=(4,), epochs=2), data))
    epoch = next(e for e in events if isinstance(e, EpochRecord))
    assert list(epoch.logs) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert epoch.logs["loss"] == epoch.train_loss
    assert (
        epoch.logs["val_loss"] == epoch.val_loss
        and epoch.logs["val_accuracy"] == epoch.val_metrics["accuracy"]
    )
    regression = fit_logs({"loss": 1.0, "r2": 0.5, "rmse": 1.0}, 2.0, {"rmse": 1.4, "r2": 0.1})
    assert list(regression) == ["loss", "r2", "rmse", "val_loss", "val_r2", "val_rmse"]


def test_time_per_step_is_the_measured_compute_time_of_the_epoch() -> None:
    ticks = itertools.count()
    training = Training(TrainConfig(hidden=(4,), epochs=1), _insurance(), clock=lambda: float(next(ticks)))
    events = training.advance(22)
    its = [e for e in events if isinstance(e, IterationRecord)]
    epoch = next(e for e in events if isinstance(e, EpochRecord))
    # the fake clock moves 1 s per reading: each update is read twice (start, end), the evaluation once more
    assert [r.seconds for r in its[:3]] == [1.0, 2.0, 3.0]
    assert its[-1].seconds == 22.0 and epoch.seconds == 23.0


def test_each_epoch_reports_the_slide_rows_prediction_and_loss() -> None:
    data = _insurance()
    assert len(data.y_slide) == len(INSURANCE_ROWS) == 13
    training = Training(TrainConfig(hidden=(4,), epochs=3), data)
    epochs = [e for e in training if isinstance(e, EpochRecord)]
    rows = epochs[-1].slide_rows
    y = np.array([r[2] for r in INSURANCE_ROWS])
    np.testing.assert_allclose(rows.y_hat, training.net.predict(training.params, data.X_slide))
    np.testing.assert_allclose(rows.loss, -(y * np.log(rows.y_hat) + (1 - y) * np.log(1 - rows.y_hat)))
    assert epochs[0].slide_rows.y_hat.tolist() != rows.y_hat.tolist()
    assert TrainData.from_dataset(make_dataset("circle", 50)).X_slide is None  # no slide table there


def test_restored_best_weights_come_with_their_own_grid_weights_and_slide_rows() -> None:
    es = EarlyStoppingConfig(monitor="val_loss", patience=3, restore_best_weights=True)
    training = Training(
        TrainConfig(hidden=(8, 8), hyperparameters={"lr": 0.05}, epochs=200, early_stopping=es, every=1),
        _insurance(),
    )
    events = list(training)
    end = events[-1]
    assert end.reason == "early_stop" and end.restored_best_weights and end.best_epoch < end.epoch
    best = next(e for e in events if isinstance(e, EpochRecord) and e.epoch == end.best_epoch)
    np.testing.assert_allclose(end.decision_grid.values, best.decision_grid.values)
    np.testing.assert_allclose(end.slide_rows.y_hat, best.slide_rows.y_hat)
    for (w, b), (w_best, b_best) in zip(end.weights, best.weights, strict=True):
        np.testing.assert_array_equal(w, w_best)
        np.testing.assert_array_equal(b, b_best)
