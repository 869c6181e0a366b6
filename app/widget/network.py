"""The network playground in a notebook cell: app.ml's Training, drawn live by netplot.js's figures.

The keyword arguments are the fields of the REST API's network trace (``POST /api/v1/traces/network``),
checked by the same schema and limits, so a widget trains exactly the network the API and the web view would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pydantic

from app.config import Settings
from app.ml.errors import ConfigError
from app.ml.training import EpochRecord, IterationRecord, TrainEnd
from app.web.errors import InputError
from app.web.networks import (
    end_json,
    epoch_json,
    iterations_json,
    make_training,
    split_events,
    started_json,
)
from app.web.schemas import NetworkRequest
from app.web.serialize import dumps
from app.widget.live import LiveWidget

RUN_ID = "network"
"""The one run of a network widget (the key of ``traces`` and of the learning-rate control)."""


def network_request(dataset: str | dict[str, Any], options: dict[str, Any]) -> NetworkRequest:
    """The API's request model; a refusal is a ConfigError naming the argument (``dataset.n``,
    ``hidden.0``)."""
    body = {"dataset": {"name": dataset} if isinstance(dataset, str) else dataset, **options}
    try:
        return NetworkRequest.model_validate(body)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{field}: {first['msg']}", field) from None


class NetworkPlayground(LiveWidget):
    """``NetworkPlayground(dataset="circle", hidden=[8], optimizer="adam", epochs=50)``: the network diagram
    with dropped neurons, the decision boundary and the loss curves, drawn live; ``.traces["network"]`` holds
    the epochs as NumPy columns and ``.iterations`` every update's batch loss."""

    kind = "network"

    def __init__(
        self,
        dataset: str | dict[str, Any] = "circle",
        *,
        speed: float = 60.0,
        lang: str = "en",
        **options: Any,
    ) -> None:
        request = network_request(dataset, options)
        try:
            data, self._training = make_training(request, Settings(), stream=True)
        except InputError as error:
            field = ".".join(str(part) for part in error.loc if part != "body")
            raise ConfigError(error.message, field) from None
        self._events: list[Any] = []
        super().__init__(
            speed=speed, lang=lang, setup=orjson.loads(dumps(started_json(data, self._training)))
        )

    # ------------------------------------------------------------------ LiveWidget
    @property
    def finished(self) -> bool:
        return self._training.finished

    def _advance(self, n: int) -> dict[str, Any] | None:
        events = self._training.advance(n)
        if not events:
            return None
        self._events.extend(events)
        return _network_message(events)

    def _history(self) -> dict[str, Any]:
        return {**_network_message(self._events), "replay": True}

    def _set_lr(self, run: str, value: float) -> None:
        if run != RUN_ID:
            raise ConfigError(f"no run with id {run!r}; runs: {RUN_ID}", "run")
        self._training.set_hyperparameters({"lr": value})

    # ------------------------------------------------------------------ data
    @property
    def traces(self) -> dict[str, dict[str, np.ndarray]]:
        """Per epoch: epoch, global_step, train_loss, val_loss (NaN without a validation split), lr, and
        ``train_<metric>`` / ``val_<metric>`` (accuracy, or rmse and r2), as the REST trace's epochs."""
        with self._lock:
            epochs = [e for e in self._events if isinstance(e, EpochRecord)]
        cols: dict[str, Any] = {
            "epoch": np.array([e.epoch for e in epochs], dtype=np.int64),
            "global_step": np.array([e.global_step for e in epochs], dtype=np.int64),
            "train_loss": np.array([e.train_loss for e in epochs], dtype=np.float64),
            "val_loss": np.array([np.nan if e.val_loss is None else e.val_loss for e in epochs]),
            "lr": np.array([e.lr for e in epochs], dtype=np.float64),
        }
        for split in ("train", "val"):
            names = sorted({k for e in epochs for k in getattr(e, f"{split}_metrics")})
            for name in names:
                values = [getattr(e, f"{split}_metrics").get(name, np.nan) for e in epochs]
                cols[f"{split}_{name}"] = np.array(values, dtype=np.float64)
        return {RUN_ID: cols}

    @property
    def iterations(self) -> dict[str, np.ndarray]:
        """Per update: epoch, iteration (within the epoch), global_step, batch_loss, lr."""
        with self._lock:
            records = [e for e in self._events if isinstance(e, IterationRecord)]
        return {
            "epoch": np.array([r.epoch for r in records], dtype=np.int64),
            "iteration": np.array([r.iteration for r in records], dtype=np.int64),
            "global_step": np.array([r.global_step for r in records], dtype=np.int64),
            "batch_loss": np.array([r.batch_loss for r in records], dtype=np.float64),
            "lr": np.array([r.lr for r in records], dtype=np.float64),
        }


def _network_message(events: list[Any]) -> dict[str, Any]:
    """Iterations, epochs and the end as the network stream words them (docs/networks.md)."""
    iterations, epochs, ends = split_events(events)
    end: TrainEnd | None = ends[-1] if ends else None
    message = {
        "type": "network",
        "iterations": iterations_json(iterations),
        "epochs": [epoch_json(e) for e in epochs],
        "end": None if end is None else end_json(end),
    }
    return orjson.loads(dumps(message))
