"""REST for small networks (docs/networks.md): datasets, training traces, code export, loss landscape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from app.config import Settings, get_settings
from app.ml.datasets import DATASETS
from app.ml.errors import ConfigError
from app.web import networks
from app.web.responses import FastJSONResponse
from app.web.routes.api import ERROR_422
from app.web.schemas import DatasetPreviewRequest, LandscapeRequest, NetworkRequest

router = APIRouter(prefix="/api/v1", tags=["networks"], default_response_class=FastJSONResponse)
SettingsDep = Annotated[Settings, Depends(get_settings)]


@router.get("/datasets", summary="List the datasets for network training")
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
    responses=ERROR_422,
)
def preview_dataset(body: DatasetPreviewRequest, settings: SettingsDep) -> Any:
    return {"dataset": networks.dataset_json(networks.load_dataset(body.dataset, settings))}


@router.post(
    "/traces/network",
    summary="Train a small network and return every iteration and epoch",
    responses=ERROR_422,
)
def network_trace(body: NetworkRequest, settings: SettingsDep) -> Any:
    """The stream's payloads for this config, concatenated: same config and seed, same bytes."""
    data, training = networks.make_training(body, settings)
    return networks.trace_json(data, training)


@router.post(
    "/networks/code", summary="The configuration as runnable Keras and PyTorch code", responses=ERROR_422
)
def network_code(body: NetworkRequest, settings: SettingsDep) -> Any:
    return networks.code_json(body, settings)


@router.post(
    "/networks/landscape", summary="The loss on a 2-D slice through the trained weights", responses=ERROR_422
)
def network_landscape(body: LandscapeRequest, settings: SettingsDep) -> Any:
    """Filter-normalised random directions (Li et al., 2018); the training path projected onto the plane."""
    try:
        return networks.landscape_json(body, settings)
    except ConfigError as error:
        if error.field not in ("n", "span", "seed"):
            error.field = f"config.{error.field}" if error.field else "config"
        raise
