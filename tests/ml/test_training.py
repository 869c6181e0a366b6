"""Training: Keras' epoch/iteration arithmetic, shuffles, accuracy on toy sets, the shared optimizer code,
torch agreement, divergence, live controls, record levels, grids, and code export."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest

import app.ml.training as training_module
from app.ml.datasets import make_dataset
from app.ml.errors import ConfigError
from app.ml.export import keras_code, pytorch_code
from app.ml.optimizers import make_optimizer, resolve_hyperparameters
from app.ml.regularizers import EarlyStoppingConfig
from app.ml.schedules import Schedule
from app.ml.training import (
    EpochRecord,
    IterationRecord,
    TrainConfig,
    TrainData,
    TrainEnd,
    Training,
    confusion_matrix,
    iterations_per_epoch,
    train,
)

try:
    import torch
except ImportError:  # pragma: no cover - torch is optional
    torch = None


def _data(n: int, name: str = "circle", val: float = 0.0, seed: int = 0) -> TrainData:
    return TrainData.from_dataset(make_dataset(name, n, seed=seed), val_fraction=val, seed=seed)


@pytest.mark.parametrize(
    ("n", "batch", "expected"),
    [(700, 32, 22), (1000, 500, 2), (1000, 20, 50), (13, 1, 13), (13, 13, 1), (13, 100, 1)],
)
def test_iterations_per_epoch_is_keras_arithmetic(n: int, batch: int, expected: int) -> None:
    assert iterations_per_epoch(n, batch) == expected
    events = list(train(TrainConfig(hidden=(4,), batch_size=batch, epochs=1), _data(n)))
    its = [e for e in events if isinstance(e, IterationRecord)]
    assert len(its) == expected and [e.iteration for e in its] == list(range(1, expected + 1))
    assert all(e.iterations_per_epoch == expected for e in its)


def test_700_rows_at_batch_32_are_21_full_batches_and_one_of_28() -> None:
    events = list(train(TrainConfig(hidden=(4,), batch_size=32, epochs=3), _data(700)))
    its = [e for e in events if isinstance(e, IterationRecord)]
    sizes = [len(e.batch_indices) for e in its[:22]]
    assert sizes == [32] * 21 + [28]
    assert its[-1].global_step == 66 and its[21].batch_start == 672 and its[21].batch_stop == 700
    orders = []
    for epoch in (1, 2, 3):
        seen = np.concatenate([e.batch_indices for e in its if e.epoch == epoch])
        assert sorted(seen.tolist()) == list(range(700)), "every sample exactly once per epoch"
        orders.append(seen.tolist())
    assert orders[0] != orders[1] != orders[2], "a fresh shuffle every epoch"
    again = [
        e.batch_indices.tolist()
        for e in train(TrainConfig(hidden=(4,), epochs=3), _data(700))
        if isinstance(e, IterationRecord)
    ]
    assert again == [e.batch_indices.tolist() for e in its], "shuffles are seeded"


@pytest.mark.parametrize("name", ["two_gaussians", "circle"])
def test_a_2_16_1_network_separates_the_toy_sets(name: str) -> None:
    config = TrainConfig(
        hidden=(16,), optimizer="adam", hyperparameters={"lr": 0.02}, epochs=40, record="epochs"
    )
    events = list(train(config, _data(400, name, val=0.25)))
    last = [e for e in events if isinstance(e, EpochRecord)][-1]
    assert last.val_metrics["accuracy"] >= 0.95 and last.train_metrics["accuracy"] >= 0.95
    assert events[-1].reason == "done" and events[-1].epoch == 40


def test_regression_fits_the_wave() -> None:
    config = TrainConfig(
        hidden=(16, 16),
        activations="tanh",
        optimizer="adam",
        hyperparameters={"lr": 0.02},
        epochs=150,
        record="epochs",
    )
    last = [e for e in train(config, _data(200, "wave", val=0.2)) if isinstance(e, EpochRecord)][-1]
    assert last.val_metrics["r2"] > 0.9 and last.val_metrics["rmse"] < 0.3


def test_training_uses_the_surface_optimizers(monkeypatch) -> None:
    calls = []

    def spy(name, hp, schedule=None, shapes=None):
        calls.append(name)
        return make_optimizer(name, hp, schedule, shapes)

    monkeypatch.setattr(training_module, "make_optimizer", spy)
    data = _data(64)
    training = Training(
        TrainConfig(hidden=(8,), optimizer="rmsprop", batch_size=64, epochs=5, record="none"), data
    )
    list(training)
    assert calls == ["rmsprop"]
    # the same updates by hand: make_optimizer on the flat vector, full batch
    net = training.net
    params = net.init(0)
    opt = make_optimizer("rmsprop", resolve_hyperparameters("rmsprop", {}))
    state = opt.init(params)
    for _ in range(5):
        _, grad = net.loss_and_grad(params, training.X, training.y)
        updates, state = opt.update(grad, state, params)
        params = params + updates
    np.testing.assert_allclose(training.params, params, rtol=1e-12, atol=1e-14)


def torch_twin(net, params):
    """The tanh-relu MLP of the torch tests as ``torch.nn.Sequential`` with our weights (transposed: ours
    are (in, out)); returns it and its Linear layers."""
    layers, linears = [], []
    for i, (w, b) in enumerate(net.views(params)):
        linear = torch.nn.Linear(*w.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b.copy()))
        linears.append(linear)
        layers += [linear] + ([torch.nn.Tanh()] if i == 0 else [torch.nn.ReLU()] if i == 1 else [])
    return torch.nn.Sequential(*layers), linears


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_full_batch_sgd_matches_torch() -> None:
    data = _data(12, "xor", seed=3)
    hp = {"lr": 0.3, "momentum": 0.9}
    training = Training(
        TrainConfig(
            hidden=(5, 3),
            activations=("tanh", "relu"),
            optimizer="sgd",
            hyperparameters=hp,
            batch_size=12,
            epochs=4,
            record="none",
            seed=2,
        ),
        data,
    )
    start = training.params.copy()
    list(training)
    model, linears = torch_twin(training.net, start)
    opt = torch.optim.SGD(model.parameters(), **hp)
    x = torch.from_numpy(training.X)
    y = torch.from_numpy(training.y)
    for _ in range(4):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        opt.step()
    ours = training.net.views(training.params)
    for (w, b), linear in zip(ours, linears, strict=True):
        np.testing.assert_allclose(w.T, linear.weight.detach().numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(b, linear.bias.detach().numpy(), rtol=0, atol=1e-10)


def _assert_all_finite(value, where: str = "") -> None:
    """Every number inside a record (dataclasses, dicts, tuples, arrays) is finite."""
    if value is None or isinstance(value, str | bool):
        return
    if hasattr(value, "__dataclass_fields__"):
        for f in fields(value):
            _assert_all_finite(getattr(value, f.name), f"{where}.{f.name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _assert_all_finite(item, f"{where}.{key}")
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            _assert_all_finite(item, f"{where}.{i}")
    else:
        assert np.isfinite(np.asarray(value, dtype=float)).all(), where


def test_a_huge_learning_rate_ends_diverged_without_nan_anywhere() -> None:
    config = TrainConfig(hidden=(16,), optimizer="sgd", hyperparameters={"lr": 1000.0}, epochs=200, every=1)
    training = Training(config, _data(100, "wave", val=0.2))
    events = list(training)
    end = events[-1]
    assert isinstance(end, TrainEnd) and end.reason == "diverged" and "learning rate" in end.detail
    assert end.epoch < 200
    for event in events[:-1]:
        _assert_all_finite(event)
    assert np.isfinite(training.params).all()


def test_a_live_learning_rate_change_takes_effect_at_the_next_update() -> None:
    training = Training(
        TrainConfig(hidden=(4,), optimizer="sgd", hyperparameters={"lr": 0.1}, epochs=5), _data(64)
    )
    first = [e for e in training.advance(3) if isinstance(e, IterationRecord)]
    training.set_hyperparameters({"lr": 0.02})
    later = [e for e in training.advance(2) if isinstance(e, IterationRecord)]
    assert [e.lr for e in first] == [0.1] * 3 and [e.lr for e in later] == [0.02] * 2
    with pytest.raises(ConfigError) as info:
        training.set_hyperparameters({"lr": -1})
    assert info.value.field == "hyperparameters.lr"
    end = training.stop()
    assert end[0].reason == "stopped" and training.finished and training.advance(5) == []


def test_a_schedule_steps_per_epoch_or_per_iteration() -> None:
    common = {
        "hidden": (4,),
        "optimizer": "sgd",
        "hyperparameters": {"lr": 0.1},
        "schedule": Schedule("exponential", {"gamma": 0.5}),
        "batch_size": 16,
        "epochs": 2,
    }
    per_epoch = [e.lr for e in train(TrainConfig(**common), _data(64)) if isinstance(e, IterationRecord)]
    assert per_epoch == [0.1] * 4 + [0.05] * 4
    per_it = [
        e.lr
        for e in train(TrainConfig(**common, schedule_unit="iteration"), _data(64))
        if isinstance(e, IterationRecord)
    ]
    assert per_it == pytest.approx([0.1 * 0.5**t for t in range(8)])


def test_record_levels() -> None:
    kinds = {}
    for level in ("full", "epochs", "none"):
        events = list(train(TrainConfig(hidden=(4,), epochs=3, record=level), _data(64)))
        kinds[level] = [type(e).__name__ for e in events]
    assert kinds["full"].count("IterationRecord") == 6 and kinds["full"].count("EpochRecord") == 3
    assert kinds["epochs"] == ["EpochRecord"] * 3 + ["TrainEnd"]
    assert kinds["none"] == ["TrainEnd"]


def test_epoch_records_carry_grids_and_weights_at_intervals() -> None:
    config = TrainConfig(hidden=(8, 8), epochs=7, every=3, grid_size=20, record="epochs")
    epochs = [e for e in train(config, _data(100, "blobs", val=0.2)) if isinstance(e, EpochRecord)]
    with_grid = [e.epoch for e in epochs if e.decision_grid is not None]
    assert with_grid == [1, 3, 6, 7] and [e.epoch for e in epochs if e.weights is not None] == with_grid
    grid = epochs[-1].decision_grid
    assert grid.values.shape == (20, 20, 3) and np.allclose(grid.values.sum(axis=2), 1)
    assert len(epochs[-1].weight_norms) == 3 and [w.shape for w, _ in epochs[-1].weights] == [
        (2, 8),
        (8, 8),
        (8, 3),
    ]
    wave = next(iter(train(TrainConfig(epochs=1, record="epochs"), _data(50, "wave"))))
    assert wave.decision_grid.values.shape == (40,) and wave.decision_grid.y.size == 0


def test_confusion_matrix() -> None:
    m = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    training = Training(TrainConfig(epochs=2), _data(80, val=0.25))
    list(training)
    assert training.confusion_matrix("val").sum() == 20 and training.confusion_matrix("train").sum() == 60


def test_config_errors_name_the_field() -> None:
    data = _data(32)
    for config, field in [
        (TrainConfig(batch_size=0), "batch_size"),
        (TrainConfig(epochs=0), "epochs"),
        (TrainConfig(record="some"), "record"),
        (TrainConfig(hidden=(64,)), "hidden.0"),
        (TrainConfig(optimizer="adamax", hyperparameters={"lr": "x"}), "hyperparameters.lr"),
        (TrainConfig(schedule=Schedule("step", {"gamma": 5})), "schedule.params.gamma"),
        (TrainConfig(dropout=0.95), "dropout"),
    ]:
        with pytest.raises(ConfigError) as info:
            Training(config, data)
        assert info.value.field == field, (config, info.value.field)


# --------------------------------------------------------------------------- export

EXPORT_CONFIG = TrainConfig(
    hidden=(8, 4),
    activations=("leaky_relu", "tanh"),
    optimizer="adam",
    hyperparameters={"lr": 0.01},
    dropout=(0.2, 0.0),
    l1=0.001,
    l2=(0.0, 0.01, 0.0),
    batch_size=16,
    epochs=2,
    schedule=Schedule("step", {"step_size": 1, "gamma": 0.5}),
    early_stopping=EarlyStoppingConfig(patience=3, restore_best_weights=True),
)


def test_keras_code_reproduces_the_configuration() -> None:
    src = keras_code(EXPORT_CONFIG, _data(40, val=0.25))
    compile(src, "keras_export", "exec")
    for part in (
        "batch_size=16, epochs=2, validation_data=(x_val, y_val)",
        "layers.Dropout(0.2)",
        "L1L2(l1=0.001, l2=0.01)",
        "keras.optimizers.Adam(learning_rate=0.01",
        'EarlyStopping(monitor="val_loss"',
        "restore_best_weights=True",
        'activation="sigmoid"',
    ):
        assert part in src, part


@pytest.mark.parametrize("dataset", ["circle", "blobs", "wave"])
def test_pytorch_code_compiles_and_runs_a_couple_of_epochs(dataset: str, capsys) -> None:
    src = pytorch_code(EXPORT_CONFIG, _data(40, dataset, val=0.25))
    code = compile(src, "pytorch_export", "exec")
    assert "nn.Sequential" in src and "torch.optim.Adam(" in src and "DataLoader(" in src
    if torch is None:
        pytest.skip("torch is not installed")
    exec(code, {"__name__": "export_test"})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Epoch 1/2 2/2 - loss: ") and "val_loss" in lines[0]
    loss = float(lines[-1].split("loss: ")[1].split()[0])
    assert math.isfinite(loss)


# ------------------------------------------------------------------ optimizers that evaluate the function

EVALUATING_CONFIGS = {
    "lbfgs": {"hyperparameters": {"lr": 0.5, "max_iter": 4}, "batch_size": 1000},
    "sam": {"hyperparameters": {"lr": 0.05, "rho": 0.1, "momentum": 0.5}, "batch_size": 8},
    "polyak": {"hyperparameters": {"lr": 0.5, "c": 2.0}, "batch_size": 8},
}


@pytest.mark.parametrize("name", list(EVALUATING_CONFIGS))
def test_evaluating_optimizers_train_a_network_and_count_evaluations(name: str) -> None:
    config = TrainConfig(hidden=(6,), optimizer=name, epochs=3, l2=0.01, **EVALUATING_CONFIGS[name])
    events = list(Training(config, _data(40)))
    iterations = [e for e in events if isinstance(e, IterationRecord)]
    epochs = [e for e in events if isinstance(e, EpochRecord)]
    counts = {r.evaluations for r in iterations}
    assert counts == {2} if name == "sam" else (counts == {1} if name == "polyak" else max(counts) > 1)
    assert epochs[-1].train_loss < epochs[0].train_loss * 1.5 and math.isfinite(epochs[-1].train_loss)


def test_lbfgs_on_a_network_needs_the_full_batch() -> None:
    with pytest.raises(ConfigError) as info:
        Training(TrainConfig(hidden=(4,), optimizer="lbfgs", batch_size=8, epochs=1), _data(40))
    assert info.value.field == "batch_size" and "full batch" in info.value.message


def test_newton_is_refused_on_networks() -> None:
    with pytest.raises(ConfigError) as info:
        Training(TrainConfig(hidden=(4,), optimizer="newton", epochs=1), _data(40))
    assert info.value.field == "optimizer" and "Hessian" in info.value.message


def test_lbfgs_on_a_network_is_one_lbfgs_step_on_the_whole_training_objective() -> None:
    """One full-batch update equals the torch port on the flat weights (up to the shuffled row order
    of the batch sums)."""
    from app.ml.evaluating import LbfgsLane, LbfgsSettings, lbfgs_step

    config = TrainConfig(
        hidden=(3,), optimizer="lbfgs", hyperparameters={"max_iter": 5}, batch_size=1000, epochs=1
    )
    training = Training(config, _data(30))
    start = training.params.copy()
    training.advance(1)
    net, X, y = training.net, training.X, training.y

    def value_and_grad(point):
        loss, grad = net.loss_and_grad(point, X, y, None)
        return loss, grad

    loss, grad = value_and_grad(start)
    settings = LbfgsSettings(1.0, 5, None, 1e-7, 1e-9, 100, None)
    expected, _, used, _ = lbfgs_step(start, loss, grad, LbfgsLane(), settings, value_and_grad)
    np.testing.assert_allclose(training.params, expected, rtol=1e-12, atol=1e-14)
    assert used == 5


@pytest.mark.parametrize("name", ["lbfgs", "sam", "polyak"])
def test_pytorch_code_for_evaluating_optimizers_runs(name: str, capsys) -> None:
    config = TrainConfig(hidden=(4,), optimizer=name, epochs=2, **EVALUATING_CONFIGS[name])
    src = pytorch_code(config, _data(40, val=0.25))
    code = compile(src, "pytorch_export", "exec")
    if name == "lbfgs":
        assert "optimizer.step(closure)" in src and "torch.optim.LBFGS(" in src
    keras = keras_code(config, _data(40, val=0.25))
    compile(keras, "keras_export", "exec")
    assert "keras.optimizers.SGD(" in keras and "Keras" in keras and "rho=" not in keras.split("SGD(")[1][:80]
    if torch is None:
        pytest.skip("torch is not installed")
    exec(code, {"__name__": "export_test"})
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("Epoch 2/2") and math.isfinite(float(lines[-1].split("loss: ")[1].split()[0]))
