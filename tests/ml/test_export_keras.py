"""The exported Keras script against the playground's run, when Keras 3 is installed (skipped otherwise).

Keras is not a dependency; to run these: ``pip install --target /tmp/keras keras==3.15`` and
``KERAS_BACKEND=torch PYTHONPATH=/tmp/keras pytest tests/ml/test_export_keras.py``. Where Keras' optimizer
has torch's formulas the losses agree to Keras' own float32 floor (~1e-8, docs/networks.md); Adam's
other ε placement allows ~1e-6 over a few epochs.
"""

from __future__ import annotations

import pytest

from app.ml.export import keras_code
from app.ml.schedules import Schedule
from tests.ml.test_export_reproduces import _config, _data, _worst

keras = pytest.importorskip("keras")

ALLOWED = {"sgd": 1e-6, "adadelta": 1e-6, "adamax": 1e-6, "adagrad": 1e-4, "adam": 1e-5, "amsgrad": 1e-5}
"""The relative difference each optimizer's Keras formulas allow over 4 epochs at a constant rate."""


@pytest.mark.parametrize("name", list(ALLOWED))
def test_keras_script_follows_the_run_to_what_its_formulas_allow(name: str) -> None:
    keras.backend.set_floatx("float64")
    config, data = _config(name, epochs=4, schedule=Schedule()), _data()
    namespace: dict = {"__name__": "export_test"}
    exec(compile(keras_code(config, data), "keras_export", "exec"), namespace)
    script = {"epochs": namespace["history"], "end": namespace["end"]}
    assert _worst(config, data, script) <= ALLOWED[name]
