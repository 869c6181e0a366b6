"""Regularizers: dropout masks and their statistics, Keras' early-stopping rule, L1 versus L2."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.datasets import make_dataset
from app.ml.errors import ConfigError
from app.ml.nets import Network
from app.ml.regularizers import (
    Dropout,
    EarlyStopping,
    EarlyStoppingConfig,
    WeightPenalty,
    collapsed,
    dropout_rates,
    soft_threshold,
    zero_weights,
)
from app.ml.training import EpochRecord, TrainConfig, TrainData, Training


def test_dropout_keeps_a_fraction_one_minus_p_over_many_draws() -> None:
    dropout = Dropout((0.5, 0.25, 0.0), (32, 32, 8), seed=0)
    kept = [[], []]
    for _ in range(200):
        masks = dropout.masks(32)
        assert masks[2] is None
        for i in range(2):
            assert masks[i].dtype == bool and masks[i].shape == (32, 32)
            kept[i].append(masks[i].mean())
    assert np.mean(kept[0]) == pytest.approx(0.5, abs=0.01)
    assert np.mean(kept[1]) == pytest.approx(0.75, abs=0.01)


def test_inverted_scaling_keeps_the_expected_activation() -> None:
    dropout = Dropout((0.4,), (32,), seed=1)
    activation = np.random.default_rng(0).uniform(0, 2, size=(64, 32))
    means = [(activation * dropout.multipliers(dropout.masks(64))[0]).mean() for _ in range(300)]
    assert np.mean(means) == pytest.approx(activation.mean(), rel=0.01)
    kept = dropout.multipliers(dropout.masks(64))[0]
    assert set(np.unique(kept)) <= {0.0, 1 / 0.6}


def test_masks_are_seeded() -> None:
    a, b, c = Dropout((0.5,), (8,), seed=3), Dropout((0.5,), (8,), seed=3), Dropout((0.5,), (8,), seed=4)
    first = a.masks(4)[0]
    np.testing.assert_array_equal(first, b.masks(4)[0])
    assert not np.array_equal(first, c.masks(4)[0])


def test_no_dropout_at_evaluation() -> None:
    data = TrainData.from_dataset(make_dataset("circle", 100), seed=0)
    training = Training(TrainConfig(hidden=(16, 16), dropout=0.5, epochs=2, record="full"), data)
    events = list(training)
    assert any(
        m is not None
        for e in events
        if not isinstance(e, EpochRecord) and hasattr(e, "dropout_masks")
        for m in e.dropout_masks
    )
    grid1, grid2 = training.decision_grid(), training.decision_grid()
    np.testing.assert_array_equal(grid1.values, grid2.values)
    np.testing.assert_array_equal(
        training.net.evaluate(training.params, training.X_val, training.y_val)[1],
        training.net.forward(training.params, training.X_val, None).logits,
    )


def test_dropout_rate_validation() -> None:
    assert dropout_rates(0.2, 3) == (0.2, 0.2, 0.2)
    with pytest.raises(ConfigError) as info:
        dropout_rates(1.0, 2)
    assert info.value.field == "dropout"
    with pytest.raises(ConfigError) as info:
        dropout_rates((0.1, -0.1), 2)
    assert info.value.field == "dropout.1"
    with pytest.raises(ConfigError) as info:
        dropout_rates((0.1,), 2)
    assert info.value.field == "dropout"


# --------------------------------------------------------------------------- early stopping


def _run(values, **config):
    """Feed a val-loss sequence; weights at epoch e are [e]. Returns (stop epoch or None, rule)."""
    rule = EarlyStopping(EarlyStoppingConfig(**config))
    for epoch, value in enumerate(values, start=1):
        if rule.update(epoch, value, np.array([float(epoch)])):
            return epoch, rule
    return None, rule


def test_early_stopping_stops_after_patience_epochs_without_improvement() -> None:
    stopped, rule = _run([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], patience=2, restore_best_weights=True)
    assert stopped == 5 and rule.best_epoch == 3 and rule.best == 0.7
    assert rule.best_weights.tolist() == [3.0]
    assert "epoch 3" in rule.reason()


def test_patience_zero_stops_at_the_first_epoch_that_does_not_improve() -> None:
    assert _run([1.0, 0.9, 0.95, 0.5], patience=0)[0] == 3


def test_early_stopping_never_stops_at_the_first_epoch() -> None:
    assert _run([1.0, 2.0], patience=0)[0] == 2


def test_min_delta_counts_small_gains_as_no_improvement() -> None:
    stopped, rule = _run([1.0, 0.95, 0.93, 0.5], patience=2, min_delta=0.1)
    assert stopped == 3 and rule.best_epoch == 1
    stopped, rule = _run([1.0, 0.85, 0.7, 0.55], patience=1, min_delta=0.1)
    assert stopped is None and rule.best_epoch == 4


def test_mode_max_and_auto_for_accuracy() -> None:
    stopped, rule = _run([0.5, 0.7, 0.6, 0.65], monitor="val_accuracy", patience=2)
    assert rule.mode == "max" and stopped == 4 and rule.best_epoch == 2


def test_baseline_keeps_waiting_until_it_is_beaten() -> None:
    # Keras: an improving epoch never stops, but wait is reset only when the baseline is beaten too
    stopped, rule = _run([1.0, 0.9, 0.8, 0.85], patience=2, baseline=0.5)
    assert stopped == 4 and rule.best_epoch == 3
    assert _run([1.0, 0.9, 0.8, 0.85], patience=2)[0] is None


def test_early_stopping_in_training_restores_the_weights_of_the_best_epoch() -> None:
    data = TrainData.from_dataset(make_dataset("circle", 60, noise=0.5, seed=1), val_fraction=0.5, seed=1)
    config = TrainConfig(
        hidden=(32, 32),
        optimizer="adam",
        hyperparameters={"lr": 0.05},
        epochs=500,
        batch_size=8,
        every=1,
        early_stopping=EarlyStoppingConfig(patience=5, restore_best_weights=True),
    )
    training = Training(config, data)
    events = list(training)
    end = events[-1]
    assert end.reason == "early_stop" and end.restored_best_weights
    epochs = {e.epoch: e for e in events if isinstance(e, EpochRecord)}
    assert end.epoch < 500 and end.epoch - end.best_epoch == 5
    best = epochs[end.best_epoch]
    assert best.val_loss == min(e.val_loss for e in epochs.values())
    np.testing.assert_array_equal(
        training.params, np.concatenate([a.ravel() for wb in best.weights for a in wb])
    )
    assert f"epoch {end.best_epoch}" in end.detail


def test_early_stopping_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        EarlyStopping(EarlyStoppingConfig(monitor="val_precision"))
    assert info.value.field == "early_stopping.monitor"
    with pytest.raises(ConfigError) as info:
        EarlyStopping(EarlyStoppingConfig(patience=-1))
    assert info.value.field == "early_stopping.patience"
    data = TrainData.from_dataset(make_dataset("circle", 40), val_fraction=0.0)
    with pytest.raises(ConfigError) as info:
        Training(TrainConfig(early_stopping=EarlyStoppingConfig()), data)
    assert info.value.field == "early_stopping.monitor"


# --------------------------------------------------------------------------- L1 / L2


def test_penalties_apply_to_weights_not_biases() -> None:
    net = Network(2, (3,))
    params = np.ones(net.size)
    l1, l2 = WeightPenalty(net, l1=0.1, l2=(0.0, 0.5)).values(params)
    assert l1 == pytest.approx(0.1 * (6 + 3)) and l2 == pytest.approx(0.5 * 3)
    grad = WeightPenalty(net, l2=1.0).add_grad(params, np.zeros(net.size))
    assert (grad[net.weight_mask] == 2.0).all() and (grad[~net.weight_mask] == 0).all()
    with pytest.raises(ConfigError) as info:
        WeightPenalty(net, l1=(0.1, 0.1, 0.1))
    assert info.value.field == "l1"


def test_soft_threshold_is_the_closed_form_minimiser_of_the_l1_proximal_problem() -> None:
    rng = np.random.default_rng(4)
    v, t = rng.normal(size=200), 0.3
    w = soft_threshold(v, t)
    expected = np.where(v > t, v - t, np.where(v < -t, v + t, 0.0))
    np.testing.assert_array_equal(w, expected)
    # and it is the argmin of t|w| + (w - v)^2 / 2, checked against a dense grid per entry
    grid = np.linspace(-4, 4, 80_001)
    for vi, wi in zip(v[:20], w[:20], strict=True):
        best = grid[np.argmin(t * np.abs(grid) + (grid - vi) ** 2 / 2)]
        assert abs(best - wi) < 1e-4, (vi, wi, best)


def test_the_l1_proximal_step_thresholds_weights_by_lr_times_l1_and_leaves_biases() -> None:
    net = Network(2, (3,))
    params = np.linspace(-0.05, 0.05, net.size)
    before = params.copy()
    out = WeightPenalty(net, l1=(0.2, 0.0)).prox(params, lr=0.1)
    assert out is params
    first = slice(0, 6)  # layer 0's W (2 x 3): threshold 0.02
    np.testing.assert_allclose(params[first], soft_threshold(before[first], 0.02), rtol=1e-12, atol=1e-15)
    assert (params[~net.weight_mask] == before[~net.weight_mask]).all()  # biases untouched
    assert (params[net.layer_slices(1)[0]] == before[net.layer_slices(1)[0]]).all()  # l1 = 0 there
    assert zero_weights(net, params) == int((np.abs(before[first]) <= 0.02).sum()) > 0
    assert WeightPenalty(net, l2=0.5).prox(params.copy(), 0.1).tolist() == params.tolist()


def test_the_l1_gradient_is_not_added_to_the_data_gradient() -> None:
    net = Network(2, (3,))
    grad = WeightPenalty(net, l1=1.0).add_grad(np.ones(net.size), np.zeros(net.size))
    assert (grad == 0).all()


def test_collapse_means_the_same_prediction_for_every_row() -> None:
    assert collapsed(np.full((50, 1), 0.37) + 1e-5 * np.arange(50)[:, None] / 50)
    assert not collapsed(np.linspace(0.3, 0.7, 50)[:, None])
    assert not collapsed(np.array([[0.5]]))


def _trained(optimizer="adam", lr=0.01, **reg):
    data = TrainData.from_dataset(make_dataset("two_gaussians", 200), val_fraction=0.0)
    config = TrainConfig(
        hidden=(16,), optimizer=optimizer, hyperparameters={"lr": lr}, epochs=60, record="epochs", **reg
    )
    training = Training(config, data)
    return training, [e for e in training if isinstance(e, EpochRecord)]


def test_l1_drives_more_weights_to_zero_than_l2() -> None:
    # plain gradient descent: the proximal step's threshold lr * l1 and L2's shrinkage 2 lr l2 compare
    (l1_run, l1_epochs), (l2_run, l2_epochs) = (_trained("sgd", 0.3, **{k: 0.01}) for k in ("l1", "l2"))
    near_zero = [int((np.abs(t.params[t.net.weight_mask]) < 1e-2).sum()) for t in (l1_run, l2_run)]
    assert near_zero[0] > 2 * near_zero[1], near_zero
    exact = [zero_weights(t.net, t.params) for t in (l1_run, l2_run)]
    assert exact[0] > 0 == exact[1], exact
    assert l1_epochs[-1].zero_weights == exact[0] and l2_epochs[-1].zero_weights == 0
    assert l1_epochs[-1].l1_penalty > 0 and l1_epochs[-1].l2_penalty == 0
    assert l2_epochs[-1].l2_penalty > 0 and l2_epochs[-1].l1_penalty == 0


def test_penalties_are_reported_apart_from_the_data_loss() -> None:
    training, epochs = _trained(l2=0.01)
    last = epochs[-1]
    w = [w for w, _ in training.net.views(training.params)]
    assert last.l2_penalty == pytest.approx(0.01 * sum(float((x**2).sum()) for x in w))
    assert last.train_loss < 0.1 < last.train_loss + last.l2_penalty + 1
