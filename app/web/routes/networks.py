"""REST for small networks (docs/networks.md): datasets, training traces, code export, loss landscape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.config import Settings
from app.web import examples, jobs, replies, serialize
from app.web.bodies import json_body
from app.web.compute import ComputePool
from app.web.deps import ComputeDep, SettingsDep
from app.web.openapi import ERROR_422, ok
from app.web.responses import FastJSONResponse
from app.web.schemas import DatasetPreviewRequest, LandscapeRequest, NetworkRequest

router = APIRouter(tags=["networks"], default_response_class=FastJSONResponse)


@router.get(
    "/datasets",
    summary="List the datasets for network training",
    responses=ok("Every dataset.", replies.DatasetEntry, [examples.DATASET], many=True),
)
def list_datasets() -> Any:
    return serialize.datasets_json()


@router.post(
    "/datasets/preview",
    summary="Validate a dataset (e.g. a CSV upload) and return its rows",
    responses={
        **ok(
            "The dataset's summary and rows (original units) of both splits.",
            replies.DatasetPreview,
            {"dataset": examples.DATASET_DETAIL},
        ),
        **ERROR_422,
    },
    openapi_extra=json_body(DatasetPreviewRequest),
)
async def preview_dataset(request: Request, settings: SettingsDep, pool: ComputeDep) -> Response:
    return await _job("preview", request, settings, pool)


@router.post(
    "/traces/network",
    summary="Train a small network and return every iteration and epoch",
    responses={
        **ok(
            "The stream's payloads: `started`'s fields, then `iterations` (columns), `epochs` (records), "
            "`end` and `summary`.",
            replies.NetworkTrace,
            examples.NETWORK_TRACE,
        ),
        **ERROR_422,
    },
    openapi_extra=json_body(NetworkRequest),
)
async def network_trace(request: Request, settings: SettingsDep, pool: ComputeDep) -> Response:
    """The stream's payloads for this config, concatenated: same config and seed, same bytes."""
    return await _job("trace", request, settings, pool)


@router.post(
    "/networks/code",
    summary="The configuration as runnable Keras and PyTorch code",
    responses={
        **ok("Runnable scripts.", replies.NetworkCode, examples.CODE),
        **ERROR_422,
    },
    openapi_extra=json_body(NetworkRequest),
)
async def network_code(request: Request, settings: SettingsDep, pool: ComputeDep) -> Response:
    return await _job("code", request, settings, pool)


@router.post(
    "/networks/landscape",
    summary="The loss on a 2-D slice through the trained weights",
    responses={
        **ok(
            "The loss grid over (alphas, betas) and the training path projected onto the plane.",
            replies.Landscape,
            examples.LANDSCAPE,
        ),
        **ERROR_422,
    },
    openapi_extra=json_body(LandscapeRequest),
)
async def network_landscape(request: Request, settings: SettingsDep, pool: ComputeDep) -> Response:
    """Filter-normalised random directions (Li et al., 2018); the training path projected onto the plane."""
    return await _job("landscape", request, settings, pool)


async def _job(kind: str, request: Request, settings: Settings, pool: ComputePool) -> Response:
    """Parse, validate, price and compute in the compute pool; the event loop only moves the bytes."""
    outcome = await pool.run(jobs.network_job, kind, await request.body(), settings)
    return Response(outcome.content, status_code=outcome.status, media_type=outcome.media_type)
