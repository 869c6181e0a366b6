"""The notebook widget's kernel side: its traces are the REST trace of the same config, its controls step,
pause and change the learning rate like the web app's, and bad input is refused naming the argument."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

if importlib.util.find_spec("anywidget") is None:
    if os.environ.get("CI") or os.environ.get("GDP_REQUIRE_NOTEBOOK"):
        pytest.fail("anywidget is not installed; CI must test the notebook widget", pytrace=False)
    pytest.skip("anywidget not installed (pip install -e '.[notebook]')", allow_module_level=True)

from app.ml import ConfigError, Descent, RunSpec, UnknownNameError, collect, get_surface
from app.widget import NetworkPlayground, Playground
from app.widget.live import MAX_SLICE

RUNS = [
    {"optimizer": "sgd", "hyperparameters": {"lr": 0.01}},
    {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.1}},
]


def recording(widget: Playground) -> list[dict]:
    """The custom messages the widget sends to its front end, in order."""
    sent: list[dict] = []
    widget.send = lambda content, buffers=None: sent.append(content)
    return sent


def test_traces_equal_the_rest_trace_of_the_same_config(client) -> None:
    widget = Playground("himmelblau", RUNS, steps=200)
    widget.run()
    body = {"surface": "himmelblau", "steps": 200, "runs": [{"id": "sgd", **RUNS[0]}, RUNS[1]]}
    rest = {r["id"]: r for r in client.post("/api/v1/traces", json=body).json()["runs"]}
    traces = widget.traces
    assert list(traces) == ["sgd", "adam"] == list(rest)
    for run_id, cols in traces.items():
        wire = rest[run_id]["trace"]
        assert set(cols) - {"end"} == set(wire)
        for name, values in wire.items():
            expected = np.asarray(values, dtype=np.float64)  # null (the step-0 update) -> NaN, as the widget
            np.testing.assert_array_equal(cols[name], expected, err_msg=f"{run_id}.{name}")
        assert np.isnan(cols["update_x"][0]) and cols["step"].dtype == np.int64
        assert cols["end"] == rest[run_id]["end"]["reason"]


def test_traces_equal_a_descent_of_the_same_config_step_for_step() -> None:
    widget = Playground("rosenbrock", ["adam", "momentum"], steps=120, start=(-1.5, 2.0))
    sent = recording(widget)
    for _ in range(4):
        widget.step(7)  # slices as the Step button makes them, not one run to the end
    widget.run()
    specs = [RunSpec("adam", "adam"), RunSpec("momentum", "momentum")]
    reference = collect(Descent(get_surface("rosenbrock"), specs, 120, start=(-1.5, 2.0)))
    for run_id, trace in reference.items():
        cols = widget.traces[run_id]
        np.testing.assert_array_equal(cols["step"], trace.steps)
        np.testing.assert_array_equal(np.column_stack([cols["x"], cols["y"]]), trace.position)
        np.testing.assert_array_equal(cols["loss"], trace.loss)
    streamed = [v for m in sent if m["type"] == "steps" for v in m["runs"]["adam"]["loss"]]
    np.testing.assert_array_equal(streamed, reference["adam"].loss)  # the front end got every step once


def test_step_sends_the_steps_and_sync_replays_the_history() -> None:
    widget = Playground("himmelblau", ["sgd"], steps=50)
    sent = recording(widget)
    widget.step(3)
    assert sent[-1]["type"] == "steps" and sent[-1]["runs"]["sgd"]["step"] == [0, 1, 2]
    widget.step(2)
    assert sent[-1]["runs"]["sgd"]["step"] == [3, 4]
    widget._on_front_end(widget, {"type": "sync"}, [])
    assert sent[-1]["replay"] is True and sent[-1]["runs"]["sgd"]["step"] == [0, 1, 2, 3, 4]
    assert sent[-1]["ends"] == {}


def test_play_steps_in_the_background_until_the_end() -> None:
    widget = Playground("himmelblau", ["adam"], steps=40, speed=10_000)
    sent = recording(widget)
    widget._on_front_end(widget, {"type": "play"}, [])  # the widget's Play button
    assert widget.wait(timeout=20), "the stepping thread did not finish 40 steps in 20 s"
    assert not widget.playing and widget.status == "done"
    assert widget.traces["adam"]["step"][-1] == 40 and widget.traces["adam"]["end"] == "max_steps"
    assert len([m for m in sent if m["type"] == "steps"]) >= 1


def test_pause_stops_the_background_stepping() -> None:
    widget = Playground("himmelblau", ["adam"], steps=100_000, speed=60)
    widget.play()
    widget.pause()
    assert widget.wait(timeout=5)
    steps = len(widget.traces.get("adam", {}).get("step", []))
    assert steps < 100_000 and not widget.playing


def test_a_learning_rate_change_applies_from_the_next_step() -> None:
    widget = Playground("himmelblau", [{"optimizer": "sgd", "hyperparameters": {"lr": 0.001}}], steps=20)
    sent = recording(widget)
    widget.step(5)
    widget._on_front_end(widget, {"type": "lr", "run": "sgd", "value": 0.02}, [])  # the run's lr box
    assert sent[-1] == {"type": "lr", "run": "sgd", "value": 0.02}
    widget.run()
    lr = widget.traces["sgd"]["lr"]
    assert lr[:5].tolist() == [0.001] * 5 and set(lr[5:].tolist()) == {0.02}


def test_a_bad_command_from_the_front_end_answers_with_an_error_message() -> None:
    widget = Playground("himmelblau", ["sgd"], steps=20)
    sent = recording(widget)
    widget._on_front_end(widget, {"type": "lr", "run": "sgd", "value": -1}, [])
    assert sent[-1]["type"] == "error" and sent[-1]["field"] == "lr"
    widget._on_front_end(widget, {"type": "lr", "run": "nope", "value": 0.1}, [])
    assert sent[-1]["type"] == "error" and "no run with id 'nope'" in sent[-1]["message"]


def test_the_front_end_gets_plotly_from_the_plotly_package() -> None:
    widget = Playground("himmelblau", ["sgd"], steps=5)
    sent = recording(widget)
    widget._on_front_end(widget, {"type": "plotly"}, [])
    assert sent[-1]["type"] == "plotly" and "plotly.js v" in sent[-1]["source"][:200]


def test_the_setup_describes_surface_grid_and_runs_as_the_api_does(client) -> None:
    widget = Playground("himmelblau", RUNS, steps=10)
    setup = widget.setup
    api = client.get("/api/v1/surfaces/himmelblau", params={"grid": 120}).json()
    assert setup["surface"]["grid"]["z"] == api["grid"]["z"]
    assert setup["surface"]["minima"] == api["minima"] and setup["surface"]["view"] == api["view"]
    assert [r["id"] for r in setup["runs"]] == ["sgd", "adam"]
    assert setup["runs"][1]["hyperparameters"]["betas"] == [0.9, 0.999]


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"surface": "himmelblu"}, "", "unknown surface 'himmelblu'"),
        ({"optimizers": ["adamm"]}, "optimizers.0.optimizer", "unknown optimizer 'adamm'"),
        ({"optimizers": "adam"}, "optimizers", "non-empty list"),
        ({"optimizers": []}, "optimizers", "non-empty list"),
        ({"optimizers": [{"optimizer": "sgd", "lr": 0.1}]}, "optimizers.0", "unknown run field(s): lr"),
        (
            {"optimizers": [{"optimizer": "sgd", "hyperparameters": {"lr": -1}}]},
            "optimizers.0.hyperparameters.lr",
            "lr",
        ),
        ({"steps": -1}, "steps", "steps must be ≥ 0"),
        ({"steps": 1.5}, "steps", "integer"),
        ({"speed": 0}, "speed", "speed must be a finite number > 0"),
        ({"lang": "de"}, "lang", "'en' or 'tr'"),
        ({"start": (1.0,)}, "start", "2 coordinate(s)"),
    ],
)
def test_bad_input_raises_an_error_naming_the_argument(kwargs: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Playground(**kwargs)
    assert words in str(caught.value)
    if field:
        assert caught.value.field == field
    if "surface" in kwargs:
        assert isinstance(caught.value, UnknownNameError) and "himmelblau" in caught.value.valid


def test_step_refuses_a_count_that_is_not_a_positive_integer() -> None:
    widget = Playground("himmelblau", ["sgd"], steps=5)
    for n in (0, -2, 1.5, True):
        with pytest.raises(ConfigError, match="n must be an integer ≥ 1"):
            widget.step(n)


def test_a_long_step_is_sent_in_bounded_slices() -> None:
    widget = Playground("bowl", [{"optimizer": "sgd", "hyperparameters": {"lr": 1e-6}}], steps=3 * MAX_SLICE)
    sent = recording(widget)
    widget.step(2 * MAX_SLICE + 5)
    sizes = [len(m["runs"]["sgd"]["step"]) for m in sent if m["type"] == "steps"]
    assert sizes == [MAX_SLICE, MAX_SLICE, 5]


def test_network_traces_equal_the_rest_network_trace(client) -> None:
    config = {"hidden": [6], "optimizer": "adam", "epochs": 8, "dropout": 0.2, "l2": 0.001, "every": 4}
    widget = NetworkPlayground("circle", **config)
    sent = recording(widget)
    widget.step(13)  # slices that end inside an epoch
    widget.run()
    rest = client.post("/api/v1/traces/network", json={"dataset": {"name": "circle"}, **config}).json()
    epochs = widget.traces["network"]
    assert epochs["epoch"].tolist() == [e["epoch"] for e in rest["epochs"]]
    np.testing.assert_array_equal(epochs["train_loss"], [e["train_loss"] for e in rest["epochs"]])
    np.testing.assert_array_equal(epochs["val_loss"], [e["val_loss"] for e in rest["epochs"]])
    np.testing.assert_array_equal(
        epochs["val_accuracy"], [e["val_metrics"]["accuracy"] for e in rest["epochs"]]
    )
    np.testing.assert_array_equal(widget.iterations["batch_loss"], rest["iterations"]["batch_loss"])
    streamed = [v for m in sent if m["type"] == "network" for v in m["iterations"]["batch_loss"]]
    assert streamed == rest["iterations"]["batch_loss"]  # the front end got every update once
    assert sent[-1]["end"]["reason"] == rest["end"]["reason"]


def test_a_network_learning_rate_change_applies_from_the_next_update() -> None:
    widget = NetworkPlayground("circle", hidden=[4], epochs=3)
    recording(widget)
    widget.step(4)
    widget.set_lr("network", 0.05)
    widget.run()
    lr = widget.iterations["lr"].tolist()
    assert lr[:4] == [0.01] * 4 and set(lr[4:]) == {0.05}
    with pytest.raises(ConfigError, match="no run with id 'adam'"):
        widget.set_lr("adam", 0.1)


@pytest.mark.parametrize(
    ("dataset", "options", "field"),
    [
        ("circlez", {}, "dataset.name"),
        ("circle", {"hidden": [0]}, "hidden.0"),
        ("circle", {"epochs": 0}, "epochs"),
        ("circle", {"optimizer": "adamm"}, "optimizer"),
        ("circle", {"batchsize": 8}, "batchsize"),
    ],
)
def test_bad_network_input_raises_an_error_naming_the_argument(
    dataset: str, options: dict, field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        NetworkPlayground(dataset, **options)
    assert caught.value.field == field, str(caught.value)


def test_the_widget_speaks_turkish_when_asked() -> None:
    widget = Playground("himmelblau", ["sgd"], steps=5, lang="tr")
    assert widget.lang == "tr" and widget.messages["common.play"] != "Play"
