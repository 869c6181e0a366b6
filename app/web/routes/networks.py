"""REST for small networks (docs/networks.md): datasets, training traces, code export, loss landscape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from app.config import Settings, get_settings
from app.ml.datasets import DATASETS
from app.ml.errors import ConfigError
from app.web import networks
from app.web.responses import FastJSONResponse
from app.web.routes.api import ERROR_422, ok
from app.web.schemas import DatasetPreviewRequest, LandscapeRequest, NetworkRequest

router = APIRouter(prefix="/api/v1", tags=["networks"], default_response_class=FastJSONResponse)
SettingsDep = Annotated[Settings, Depends(get_settings)]


DATASET_EXAMPLE = {
    "name": "insurance",
    "title": "Insurance (course slide)",
    "task": "binary",
    "features": ["age", "affordability"],
    "note": "The slide's 13 people, then generated ones.",
    "default_n": 13,
}


@router.get(
    "/datasets",
    summary="List the datasets for network training",
    responses=ok("Every dataset.", [DATASET_EXAMPLE]),
)
def list_datasets() -> Any:
    return [
        {
            "name": s.name,
            "title": s.title,
            "task": s.task,
            "features": list(s.features),
            "note": s.note,
            "default_n": s.default_n,
        }
        for s in DATASETS.values()
    ]


@router.post(
    "/datasets/preview",
    summary="Validate a dataset (e.g. a CSV upload) and return its rows",
    responses={
        **ok(
            "The dataset's rows and features.",
            {
                "dataset": {
                    "name": "insurance",
                    "features": ["age", "affordability"],
                    "x": [[22, 1]],
                    "y": [0],
                }
            },
        ),
        **ERROR_422,
    },
)
def preview_dataset(body: DatasetPreviewRequest, settings: SettingsDep) -> Any:
    return {"dataset": networks.dataset_json(networks.load_dataset(body.dataset, settings))}


@router.post(
    "/traces/network",
    summary="Train a small network and return every iteration and epoch",
    responses={
        **ok(
            "The stream's payloads: `started`, then iterations and epochs, then `done`.",
            {
                "started": {"iterations_per_epoch": 22, "epochs": 10},
                "epochs": [{"epoch": 1, "iteration": 22, "train": {"loss": 0.61}, "val": {"loss": 0.63}}],
                "done": {"reason": "max_epochs", "epoch": 10},
            },
        ),
        **ERROR_422,
    },
)
def network_trace(body: NetworkRequest, settings: SettingsDep) -> Any:
    """The stream's payloads for this config, concatenated: same config and seed, same bytes."""
    data, training = networks.make_training(body, settings)
    return networks.trace_json(data, training)


@router.post(
    "/networks/code",
    summary="The configuration as runnable Keras and PyTorch code",
    responses={
        **ok("Runnable scripts.", {"keras": "import keras\n...", "pytorch": "import torch\n..."}),
        **ERROR_422,
    },
)
def network_code(body: NetworkRequest, settings: SettingsDep) -> Any:
    return networks.code_json(body, settings)


@router.post(
    "/networks/landscape",
    summary="The loss on a 2-D slice through the trained weights",
    responses={
        **ok(
            "The loss grid over (alpha, beta) and the training path projected onto the plane.",
            {
                "alpha": [-1.0, 0.0, 1.0],
                "beta": [-1.0, 0.0, 1.0],
                "loss": [[0.9, 0.7, 0.9], [0.6, 0.2, 0.6], [0.9, 0.7, 0.9]],
            },
        ),
        **ERROR_422,
    },
)
def network_landscape(body: LandscapeRequest, settings: SettingsDep) -> Any:
    """Filter-normalised random directions (Li et al., 2018); the training path projected onto the plane."""
    try:
        return networks.landscape_json(body, settings)
    except ConfigError as error:
        if error.field not in ("n", "span", "seed"):
            error.field = f"config.{error.field}" if error.field else "config"
        raise
