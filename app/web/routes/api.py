"""REST API v1: registries (surfaces, optimizers, schedules) and whole step traces."""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app import __version__
from app.config import Settings
from app.ml.errors import UnknownNameError
from app.ml.surfaces import SURFACES
from app.web import examples, jobs, replies, serialize
from app.web.bodies import json_body
from app.web.cache import TraceCache
from app.web.commands import PROTOCOL_VERSION
from app.web.compute import ComputePool
from app.web.deps import ComputeDep, SettingsDep, TraceCacheDep
from app.web.errors import InputError
from app.web.openapi import ERROR_422, ok
from app.web.responses import FastJSONResponse
from app.web.schemas import TraceRequest

router = APIRouter(tags=["api"], default_response_class=FastJSONResponse)
SURFACE_MAX_AGE_S = 3_600
"""How long a surface description or grid may be reused (an hour: a new release changes it at most)."""
RESERVED_QUERY = {"grid", "expression", "view", "x", "y"}


@router.get(
    "/surfaces",
    summary="List the loss surfaces",
    responses=ok("Every surface.", replies.SurfaceEntry, [examples.SURFACE_ENTRY], many=True),
)
def list_surfaces() -> Any:
    """Every built-in surface with its formula, view box, default start, known minima and parameters."""
    return serialize.surfaces_json()


@router.get(
    "/surfaces/{name}",
    summary="One surface, optionally with a grid for plotting",
    responses={
        **ok(
            "The surface; with `grid=n`, also `grid: {n, x, y, z, z_min, z_max}` on an n × n grid.",
            replies.SurfaceDetail,
            examples.SURFACE_DETAIL,
        ),
        **ERROR_422,
    },
)
async def get_surface_detail(
    name: str,
    request: Request,
    settings: SettingsDep,
    pool: ComputeDep,
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
    params = _surface_params(name, request, expression)
    view_box = _parse_view(view)
    if grid_n is not None and grid_n > settings.max_grid:
        raise InputError(("query", "grid"), f"grid must be at most {settings.max_grid}", "less_than_equal")
    outcome = await pool.run(jobs.surface_grid, name, params, expression, view_box, grid_n, settings)
    # A surface and its grid depend on the query alone: a returning learner's browser (or a CDN) keeps it.
    headers = {"Cache-Control": f"public, max-age={SURFACE_MAX_AGE_S}"} if outcome.status == 200 else None
    return Response(
        outcome.content, status_code=outcome.status, media_type=outcome.media_type, headers=headers
    )


def _surface_params(name: str, request: Request, expression: str | None) -> dict[str, float]:
    """The surface parameters of the query string (every key not reserved), as numbers."""
    if name != "custom" and name not in SURFACES:
        raise UnknownNameError("surface", name, [*SURFACES, "custom"], field="name")
    params = _query_params(request, RESERVED_QUERY)
    if params and (name == "custom" or expression is not None):
        raise InputError(
            ("query", next(iter(params))),
            "a custom expression takes no surface parameters (write the numbers into the expression)",
        )
    return params


Coordinate = Annotated[float, Query(description="A coordinate of the point (finite).", allow_inf_nan=False)]


@router.get(
    "/surfaces/{name}/curvature",
    summary="The exact Hessian at a point: eigenvalues, eigenvectors and 2/λmax",
    responses={
        **ok("The curvature at the point.", replies.Curvature, examples.CURVATURE),
        **ERROR_422,
    },
)
async def get_curvature(
    name: str,
    request: Request,
    settings: SettingsDep,
    pool: ComputeDep,
    x: Coordinate,
    y: Coordinate | None = None,
    expression: Annotated[
        str | None, Query(max_length=10_000, description="For name=custom: the expression in x and y.")
    ] = None,
) -> Any:
    """Analytic for the built-in surfaces, forward over forward mode for an expression (no differences).

    Gradient descent on the local quadratic model is stable along every direction exactly when the
    learning rate is below `two_over_lambda_max` (null when no direction curves upwards). Surface
    parameters go in the query string as for `GET /surfaces/{name}`; `y` is needed on 2-D surfaces.
    """
    params = _surface_params(name, request, expression)
    point = [x] if y is None else [x, y]
    outcome = await pool.run(jobs.surface_curvature, name, params, expression, point, settings)
    headers = {"Cache-Control": f"public, max-age={SURFACE_MAX_AGE_S}"} if outcome.status == 200 else None
    return Response(
        outcome.content, status_code=outcome.status, media_type=outcome.media_type, headers=headers
    )


def _query_params(request: Request, reserved: set[str]) -> dict[str, float]:
    """Surface parameters from the query string (every key not in ``reserved``), as numbers."""
    params = {}
    for key, raw in request.query_params.items():
        if key in reserved:
            continue
        try:
            params[key] = float(raw)
        except ValueError:
            raise InputError(("query", key), f"{key} must be a number, got {raw!r}") from None
    return params


CoordinateQuery = Query(ge=-1e6, le=1e6, allow_inf_nan=False)


@router.get(
    "/cross-entropy",
    summary="The insurance table at one (w, b): ŷ and the cross-entropy of each row",
    responses={
        **ok(
            "The slide's 13 rows with ŷ = σ(w·age_scaled + b) and each row's loss, their mean, and the"
            " height of the insurance_bce surface at (w, b).",
            replies.CrossEntropyTable,
            examples.CROSS_ENTROPY,
        ),
        **ERROR_422,
    },
)
async def get_cross_entropy(
    request: Request,
    pool: ComputeDep,
    w: Annotated[float, CoordinateQuery],
    b: Annotated[float, CoordinateQuery],
) -> Any:
    """The /cross-entropy view's table. Parameters of the `insurance_bce` surface (`rows`, `val_fraction`,
    `batch_size`, `seed`, `batch`) go in the query string too, e.g. `?w=3&b=-1.25&batch_size=32`."""
    params = _query_params(request, {"w", "b"})
    outcome = await pool.run(jobs.cross_entropy_table, params, w, b)
    headers = {"Cache-Control": f"public, max-age={SURFACE_MAX_AGE_S}"} if outcome.status == 200 else None
    return Response(
        outcome.content, status_code=outcome.status, media_type=outcome.media_type, headers=headers
    )


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


@router.get(
    "/version",
    summary="Versions of the app, the API and the stream protocol",
    responses=ok("Versions.", replies.Version, examples.VERSION),
)
def version() -> Any:
    return {"app": __version__, "api": "v1", "protocol": PROTOCOL_VERSION, "numpy": np.__version__}


@router.get(
    "/optimizers",
    summary="List the optimizers and their hyperparameters",
    responses=ok("Every optimizer.", replies.OptimizerEntry, [examples.OPTIMIZER], many=True),
)
def list_optimizers() -> Any:
    """torch.optim names and defaults, bounds, one-line meanings and the update rule of each optimizer."""
    return serialize.optimizers_json()


@router.get(
    "/schedules",
    summary="List the learning-rate schedules",
    responses=ok("Every schedule.", replies.ScheduleEntry, [examples.SCHEDULE], many=True),
)
def list_schedules() -> Any:
    return serialize.schedules_json()


TRACE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_422,
    **ok(
        "The trace of every run: columns per run, the end reason and summary figures.",
        replies.Trace,
        examples.TRACE,
        **{
            "text/csv": {"example": "run,optimizer,step,x,y,loss,...\nadam,adam,0,-1.5,2.0,..."},
            "application/x-ndjson": {"example": '{"type":"step","run":"adam","step":0,"x":-1.5,...}'},
        },
    ),
    304: {"description": "Not modified: the `If-None-Match` ETag matches (GET permalinks)."},
}
FormatQuery = Annotated[
    Literal["json", "csv", "ndjson"] | None, Query(description="Output format; overrides the Accept header.")
]


@router.post(
    "/traces",
    summary="Run optimizers on a surface and return every step",
    responses=TRACE_RESPONSES,
    openapi_extra=json_body(TraceRequest),
)
async def post_trace(
    request: Request,
    settings: SettingsDep,
    pool: ComputeDep,
    cache: TraceCacheDep,
    format: FormatQuery = None,
) -> Response:
    """Same config and seed give the same trace, byte for byte."""
    serving = Serving(settings, pool, cache)
    return await _trace_response(await request.body(), ("body",), request, serving, format, cacheable=False)


@router.get("/traces", summary="A trace by permalink (cacheable)", responses=TRACE_RESPONSES)
async def get_trace(
    request: Request,
    settings: SettingsDep,
    pool: ComputeDep,
    cache: TraceCacheDep,
    config: Annotated[
        str,
        Query(
            max_length=20_000,
            description="The POST body as base64url-encoded JSON (no padding needed): "
            "`base64.urlsafe_b64encode(json.dumps(config).encode()).rstrip(b'=')`.",
            examples=["eyJzdXJmYWNlIjoicGFyYWJvbGEiLCJydW5zIjpbeyJvcHRpbWl6ZXIiOiJzZ2QifV19"],
        ),
    ],
    format: FormatQuery = None,
) -> Response:
    """The same trace as `POST /api/v1/traces` for that body, with an ETag and Cache-Control."""
    serving = Serving(settings, pool, cache)
    return await _trace_response(
        decode_config(config), ("query", "config"), request, serving, format, cacheable=True
    )


class Serving(NamedTuple):
    """What a trace request is served with: the app's settings, compute pool and trace cache."""

    settings: Settings
    pool: ComputePool
    cache: TraceCache


async def _trace_response(
    raw: bytes | Any,
    root: tuple[str, ...],
    request: Request,
    serving: Serving,
    fmt: str | None,
    cacheable: bool,
) -> Response:
    """Validate and price in the pool, then serve from the LRU (computing once, in the pool too);
    GET permalinks answer 304 to a matching ETag."""
    chosen = fmt or _format_from_accept(request.headers.get("accept", ""))
    settings, pool, cache = serving
    prepared = await pool.run(jobs.prepare_trace, raw, settings, chosen, root)
    if prepared.key is None:
        return Response(prepared.content, status_code=prepared.status, media_type=prepared.media_type)
    key = prepared.key
    etag = f'"{__version__}-{hashlib.sha256(key).hexdigest()[:32]}-{chosen}"'
    headers = {"ETag": etag}
    if cacheable:
        headers["Cache-Control"] = f"public, max-age={settings.trace_max_age_s}"
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)

    async def render() -> bytes:
        outcome = await pool.run(jobs.render_trace, key, settings, chosen)
        if outcome.status != 200:
            raise Refused(outcome)
        return outcome.content

    try:
        content = await cache.get_or_compute((key, chosen), render)
    except Refused as refused:
        return refused.response()
    return Response(content, media_type=serialize.MEDIA_TYPES[chosen], headers=headers)


class Refused(Exception):
    """A job answered with an error: not cached, sent as it is."""

    def __init__(self, outcome: jobs.Outcome) -> None:
        super().__init__(outcome.status)
        self.outcome = outcome

    def response(self) -> Response:
        o = self.outcome
        return Response(o.content, status_code=o.status, media_type=o.media_type)


def decode_config(encoded: str) -> Any:
    """base64url JSON -> the config's values (validated by the job); a failure is a 422 under query.config."""
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        raise InputError(
            ("query", "config"), "config must be base64url-encoded JSON of a trace request"
        ) from None


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _format_from_accept(accept: str) -> str:
    for name, media in serialize.MEDIA_TYPES.items():
        if media.split(";")[0] in accept:
            return name
    return "json"
