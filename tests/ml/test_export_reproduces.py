"""The exported PyTorch script reproduces the playground's run: per-epoch losses equal to ≤ 1e-9 relative.

Each test trains with :class:`app.ml.training.Training`, runs the exported script with torch (skipped
cleanly when torch is not installed) and compares the per-epoch train and validation losses. Tiny nets
and a few epochs keep it fast; every optimizer a network can train with is covered, with dropout, L1
and L2 and a schedule, plus each schedule, each task and early stopping with restored weights.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.ml.datasets import make_dataset
from app.ml.errors import ConfigError
from app.ml.export import pytorch_code
from app.ml.optimizers import OPTIMIZERS
from app.ml.regularizers import EarlyStoppingConfig
from app.ml.schedules import SCHEDULES, Schedule
from app.ml.training import EpochRecord, TrainConfig, TrainData, TrainEnd, Training

torch = pytest.importorskip("torch")

TOLERANCE = 1e-9
NETWORK_OPTIMIZERS = [name for name in OPTIMIZERS if name != "newton"]  # newton is refused on networks
LEARNING_RATES = {"adadelta": 1.0, "lbfgs": 0.5, "polyak": 0.5}
SPECIAL = {"lbfgs": {"batch_size": 1000, "hyperparameters": {"lr": 0.5, "max_iter": 4}}}


def _data(name: str = "circle", n: int = 48) -> TrainData:
    return TrainData.from_dataset(make_dataset(name, n, seed=1), val_fraction=0.25, seed=1)


def _run_script(config: TrainConfig, data: TrainData) -> dict:
    """The exported script executed in this process (its ``history`` and ``end``)."""
    torch.set_num_threads(1)
    namespace: dict = {"__name__": "export_test"}
    exec(compile(pytorch_code(config, data), "pytorch_export", "exec"), namespace)
    return {"epochs": namespace["history"], "end": namespace["end"]}


def _worst(config: TrainConfig, data: TrainData, script: dict) -> float:
    """The largest relative difference of the per-epoch train and validation losses."""
    training = Training(config, data)
    events = list(training)
    epochs = [e for e in events if isinstance(e, EpochRecord)]
    assert [e["epoch"] for e in script["epochs"]] == [e.epoch for e in epochs]
    worst = 0.0
    for ours, theirs in zip(epochs, script["epochs"], strict=True):
        for mine, other in ((ours.train_loss, theirs["loss"]), (ours.val_loss, theirs["val_loss"])):
            worst = max(worst, abs(mine - other) / abs(mine))
    end = events[-1]
    assert isinstance(end, TrainEnd) and end.reason == script["end"]["reason"]
    if end.restored_best_weights:
        assert script["end"]["best_epoch"] == end.best_epoch and script["end"]["restored"]
        val = training.net.evaluate(training.params, training.X_val, training.y_val)[0]
        worst = max(worst, abs(val - script["end"]["val_loss_after_restore"]) / val)
    return worst


def _config(name: str, **changes) -> TrainConfig:
    base = {
        "hidden": (6, 4),
        "activations": ("relu", "tanh"),
        "optimizer": name,
        "hyperparameters": {"lr": LEARNING_RATES.get(name, 0.02)},
        "dropout": (0.2, 0.0),
        "l1": 0.001,
        "l2": (0.0, 0.01, 0.001),
        "batch_size": 10,
        "epochs": 4,
        "schedule": Schedule("step", {"step_size": 2, "gamma": 0.5}),
        "record": "epochs",
        **SPECIAL.get(name, {}),
    }
    config = TrainConfig(**{**base, **changes})
    try:
        Training(config, _data())
    except ConfigError as error:  # rprop and others read lr once: they refuse a schedule
        if "schedule" not in error.field:
            raise
        config = TrainConfig(**{**base, **changes, "schedule": Schedule()})
    return config


@pytest.mark.parametrize("name", NETWORK_OPTIMIZERS)
def test_every_optimizer_reproduces_the_losses(name: str) -> None:
    config, data = _config(name), _data()
    assert _worst(config, data, _run_script(config, data)) <= TOLERANCE


@pytest.mark.parametrize("schedule", [s for s in SCHEDULES if s != "constant"])
@pytest.mark.parametrize("unit", ["epoch", "iteration"])
def test_every_schedule_reproduces_the_losses(schedule: str, unit: str) -> None:
    params = {"warmup": {"total_iters": 3}, "warmup_cosine": {"total_iters": 3, "T_max": 5}}.get(schedule, {})
    config = _config("adam", schedule=Schedule(schedule, params), schedule_unit=unit, epochs=3)
    data = _data()
    assert _worst(config, data, _run_script(config, data)) <= TOLERANCE


@pytest.mark.parametrize(
    ("dataset", "activations"), [("blobs", ("sigmoid", "leaky_relu")), ("wave", ("linear", "tanh"))]
)
def test_every_task_reproduces_the_losses(dataset: str, activations: tuple[str, str]) -> None:
    config, data = _config("rmsprop", activations=activations), _data(dataset)
    assert _worst(config, data, _run_script(config, data)) <= TOLERANCE


@pytest.mark.parametrize("monitor", ["val_loss", "val_accuracy", "loss"])
def test_early_stopping_and_restored_weights_are_reproduced(monitor: str) -> None:
    stop = EarlyStoppingConfig(monitor=monitor, patience=1, restore_best_weights=True, min_delta=0.002)
    config = _config("sgd", hyperparameters={"lr": 0.5, "momentum": 0.9}, epochs=30, early_stopping=stop)
    data = _data()
    script = _run_script(config, data)
    assert script["end"]["reason"] == "early_stop", "the configuration must stop early to test it"
    assert _worst(config, data, script) <= TOLERANCE


def test_the_script_run_from_the_command_line_writes_its_losses(tmp_path: Path) -> None:
    config, data = _config("adamw", epochs=2), _data()
    script, out = tmp_path / "export.py", tmp_path / "losses.json"
    script.write_text(pytorch_code(config, data))
    subprocess.run([sys.executable, str(script), str(out)], check=True, capture_output=True, timeout=120)
    assert _worst(config, data, json.loads(out.read_text())) <= TOLERANCE
