"""REST API v1: registries (surfaces, optimizers, schedules) and whole step traces."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from app.config import Settings, get_settings
from app.ml.errors import UnknownNameError
from app.ml.surfaces import SURFACES, grid
from app.web import serialize
from app.web.errors import InputError
from app.web.responses import FastJSONResponse
from app.web.schemas import TraceRequest
from app.web.service import build_surface, compute_trace

router = APIRouter(prefix="/api/v1", tags=["api"], default_response_class=FastJSONResponse)
SettingsDep = Annotated[Settings, Depends(get_settings)]

FORMATS = {"json": "application/json", "csv": "text/csv", "ndjson": "application/x-ndjson"}
ERROR_422 = {
    422: {
        "description": "Invalid input: `detail` lists each bad field (`loc`), the reason (`msg`) and, for "
        "unknown names, the valid ones (`ctx.valid`).",
        "content": {
            "application/json": {
                "example": {
                    "detail": [
                        {
                            "loc": ["body", "runs", 0, "optimizer"],
                            "msg": "unknown optimizer 'adamm'; valid: adadelta, adagrad, adam, …",
                            "type": "unknown_name",
                            "ctx": {"valid": ["adadelta", "adagrad", "adam"]},
                        }
                    ]
                }
            }
        },
    }
}
RESERVED_QUERY = {"grid", "expression", "view"}


@router.get("/surfaces", summary="List the loss surfaces")
def list_surfaces() -> Any:
    """Every built-in surface with its formula, view box, default start, known minima and parameters."""
    return serialize.surfaces_json()


@router.get(
    "/surfaces/{name}", summary="One surface, optionally with a grid for plotting", responses=ERROR_422
)
def get_surface_detail(
    name: str,
    request: Request,
    settings: SettingsDep,
    grid_n: Annotated[
        int | None, Query(alias="grid", ge=2, description="Points per axis of a grid for contour/3-D plots.")
    ] = None,
    expression: Annotated[
        str | None, Query(max_length=10_000, description="For name=custom: the expression in x and y.")
    ] = None,
    view: Annotated[
        str | None, Query(description="For name=custom: 'xmin,xmax,ymin,ymax'.", examples=["-3,3,-3,3"])
    ] = None,
) -> Any:
    """Surface parameters go in the query string, e.g. `/surfaces/elongated?condition_number=50&angle=30`."""
    if name != "custom" and name not in SURFACES:
        raise UnknownNameError("surface", name, [*SURFACES, "custom"], field="name")
    params = {}
    for key, raw in request.query_params.items():
        if key in RESERVED_QUERY:
            continue
        try:
            params[key] = float(raw)
        except ValueError:
            raise InputError(("query", key), f"{key} must be a number, got {raw!r}") from None
    view_box = _parse_view(view)
    surface = build_surface(name, params, expression, view_box, settings, root="query")
    body = serialize.surface_json(surface)
    if grid_n is not None:
        if grid_n > settings.max_grid:
            raise InputError(
                ("query", "grid"), f"grid must be at most {settings.max_grid}", "less_than_equal"
            )
        body["grid"] = serialize.grid_json(grid(surface, grid_n, max_n=settings.max_grid))
    return body


def _parse_view(view: str | None) -> list[float] | None:
    if view is None:
        return None
    try:
        box = [float(v) for v in view.split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or not all(abs(v) < 1e12 for v in box):
        raise InputError(("query", "view"), "view must be four finite numbers: xmin,xmax,ymin,ymax")
    return box


@router.get("/optimizers", summary="List the optimizers and their hyperparameters")
def list_optimizers() -> Any:
    """torch.optim names and defaults, bounds, one-line meanings and the update rule of each optimizer."""
    return serialize.optimizers_json()


@router.get("/schedules", summary="List the learning-rate schedules")
def list_schedules() -> Any:
    return serialize.schedules_json()


@router.post(
    "/traces",
    summary="Run optimizers on a surface and return every step",
    responses={
        **ERROR_422,
        200: {
            "description": "The trace of every run: columns per run, the end reason and summary figures.",
            "content": {
                "text/csv": {"example": "run,optimizer,step,x,y,loss,...\nadam,adam,0,-1.5,2.0,..."},
                "application/x-ndjson": {"example": '{"type":"step","run":"adam","step":0,"x":-1.5,...}'},
            },
        },
    },
)
def post_trace(
    body: TraceRequest,
    request: Request,
    settings: SettingsDep,
    format: Annotated[
        Literal["json", "csv", "ndjson"] | None,
        Query(description="Output format; overrides the Accept header."),
    ] = None,
) -> Response:
    """Same config and seed give the same trace, byte for byte."""
    chosen = format or _format_from_accept(request.headers.get("accept", ""))
    result = compute_trace(body, settings)
    payload = serialize.trace_json(result, body.steps, body.seed, body.noise, body.tolerance)
    if chosen == "csv":
        return PlainTextResponse(serialize.trace_csv(payload), media_type="text/csv")
    if chosen == "ndjson":
        return Response(serialize.trace_ndjson(payload), media_type=FORMATS["ndjson"])
    return FastJSONResponse(payload)


def _format_from_accept(accept: str) -> str:
    for name, media in FORMATS.items():
        if media in accept:
            return name
    return "json"
