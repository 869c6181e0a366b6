"""The REST computations as jobs for the compute pool: raw body in, rendered bytes (or a 422) out.

A job parses, validates, prices and computes, all away from the event loop; it takes and returns only
picklable values, so the same function runs in a worker process or a thread (app/web/compute.py).
Expected failures come back as an ``Outcome`` with status 422 in FastAPI's error shape, never as an
exception that would have to cross the process boundary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from app.config import Settings
from app.ml.errors import ConfigError
from app.ml.insurance_bce import insurance_rows, slide_table
from app.ml.surfaces import curvature, get_surface, grid
from app.web import maps, networks, serialize
from app.web.errors import InputError, error_bytes, error_details, reroot
from app.web.schemas import (
    DatasetPreviewRequest,
    LandscapeRequest,
    MapRequest,
    NetworkRequest,
    TraceRequest,
)
from app.web.service import build_surface, compute_trace, make_descent

JSON = "application/json"
CROSS_ENTROPY_SURFACE = "insurance_bce"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What a route sends: a status, the body bytes and their media type (plus a cache key for traces)."""

    status: int
    content: bytes
    media_type: str = JSON
    key: bytes | None = None


def error_outcome(error: Exception, root: tuple[str | int, ...]) -> Outcome:
    """A 422 for a ConfigError, InputError or ValidationError, its fields under ``root``."""
    if not isinstance(error, (ValidationError, InputError, ConfigError)):
        raise error
    return Outcome(422, error_bytes({"detail": error_details(error, root)}))


def parse_json(raw: bytes, root: tuple[str | int, ...]) -> Any:
    """JSON text to Python values; bad UTF-8, bad syntax and nesting past orjson's limit are a 422."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # orjson refuses lone surrogate escapes ("\udcff"), which JSON allows: ask the stdlib
    try:
        return json.loads(raw)
    except UnicodeDecodeError as error:
        message = f"the body is not UTF-8 JSON text (byte {error.start} cannot be decoded)"
    except RecursionError:
        message = "the JSON body is nested too deeply"
    except ValueError as error:
        message = f"the body is not valid JSON: {error}"
    raise InputError(("body",), message, "json_invalid")


def _validated(model: type[BaseModel], raw: bytes | Any, root: tuple[str | int, ...]) -> Any:
    data = parse_json(raw, root) if isinstance(raw, bytes) else raw
    return model.model_validate(data)


class JobFailed(Exception):
    """An unexpected failure inside a job, as plain text: the original exception may not survive pickling
    back from a worker process (and a result that cannot be unpickled would break the whole pool)."""


def _guarded(root: tuple[str | int, ...], work: Callable[[], Outcome]) -> Outcome:
    try:
        return work()
    except (ValidationError, InputError, ConfigError) as error:
        return error_outcome(error, root)
    except Exception as error:
        logger.exception("a compute job failed")
        raise JobFailed(f"{type(error).__name__}: {error}") from None


# ------------------------------------------------------------------------------------------- surfaces


def prepare_trace(raw: bytes | Any, settings: Settings, fmt: str, root: tuple[str | int, ...]) -> Outcome:
    """Validate and price a trace request; status 200 carries its canonical config as ``key``."""

    def work() -> Outcome:
        request = _validated(TraceRequest, raw, root)
        make_descent(request, settings, price_as=fmt, search=False)  # limits, price, names: before any work
        key = orjson.dumps(request.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return Outcome(200, b"", key=key)

    return _guarded(root, work)


def render_trace(canonical: bytes, settings: Settings, fmt: str) -> Outcome:
    """The trace of an already validated and priced config (its canonical JSON), in one format."""

    def work() -> Outcome:
        request = TraceRequest.model_validate_json(canonical)
        content = serialize.render_trace(compute_trace(request, settings), request, fmt)
        return Outcome(200, content, serialize.MEDIA_TYPES[fmt])

    return _guarded(("body",), work)


def surface_grid(
    name: str, params: dict[str, float], expression: str | None, view: list[float] | None, n: int | None,
    settings: Settings,
) -> Outcome:  # fmt: skip
    """A surface's description, with an n × n grid for plotting when asked for."""

    def work() -> Outcome:
        surface = build_surface(name, params, expression, view, settings, root="query")
        body = serialize.surface_json(surface)
        if n is not None:
            body["grid"] = serialize.grid_json(grid(surface, n, max_n=settings.max_grid))
        return Outcome(200, serialize.dumps(body))

    return _guarded(("query",), work)


def surface_curvature(
    name: str, params: dict[str, float], expression: str | None, point: list[float], settings: Settings
) -> Outcome:
    """The exact Hessian of a surface at a point, its eigenvalues and eigenvectors, and 2 / λmax."""

    def work() -> Outcome:
        surface = build_surface(name, params, expression, None, settings, root="query")
        return Outcome(200, serialize.dumps(serialize.curvature_json(surface, curvature(surface, point))))

    return _guarded(("query",), work)


def cross_entropy_table(params: dict[str, float], w: float, b: float) -> Outcome:
    """The insurance table at (w, b) of the insurance_bce surface with these parameters."""

    def work() -> Outcome:
        surface = get_surface(CROSS_ENTROPY_SURFACE, params)
        p = surface.params
        rows = insurance_rows(p["rows"], p["val_fraction"], p["seed"])
        return Outcome(
            200, serialize.dumps(serialize.cross_entropy_json(surface, rows, slide_table(rows, w, b)))
        )

    return _guarded(("query",), work)


# ------------------------------------------------------------------------------------------- networks


def network_job(kind: str, raw: bytes, settings: Settings) -> Outcome:
    """One of the network endpoints: ``preview``, ``trace``, ``code`` or ``landscape``."""
    root: tuple[str | int, ...] = ("body",)

    def work() -> Outcome:
        if kind == "preview":
            preview = _validated(DatasetPreviewRequest, raw, root)
            data = networks.load_dataset(preview.dataset, settings)
            return Outcome(200, serialize.dumps({"dataset": networks.dataset_json(data)}))
        if kind == "landscape":
            landscape = _validated(LandscapeRequest, raw, root)
            try:
                return Outcome(200, serialize.dumps(networks.landscape_json(landscape, settings)))
            except ConfigError as error:
                if error.field in ("n", "span", "seed"):
                    raise
                raise reroot(error, ("config",)) from None
        request = _validated(NetworkRequest, raw, root)
        if kind == "code":
            return Outcome(200, serialize.dumps(networks.code_json(request, settings)))
        data, training = networks.make_training(request, settings)
        return Outcome(200, serialize.dumps(networks.trace_json(data, training)))

    return _guarded(root, work)


# ------------------------------------------------------------------------------------- convergence maps


def map_job(raw: bytes, settings: Settings) -> Outcome:
    """POST /api/v1/maps: validate, price, run every lane of every panel, and serialise."""
    root: tuple[str | int, ...] = ("body",)

    def work() -> Outcome:
        request = _validated(MapRequest, raw, root)
        return Outcome(200, serialize.dumps(maps.map_json(request, settings)))

    return _guarded(root, work)


def map_band(canonical: bytes, settings: Settings, start: int, stop: int) -> dict[str, Any]:
    """Rows start..stop of every panel of an already validated map (its canonical JSON): one band of a
    streamed map, computed in the compute pool so the lanes never hold the server's GIL."""
    request = MapRequest.model_validate_json(canonical)
    _, panels = maps.make_panels(request, settings)
    return {panel.id: panel.plan.rows(start, stop) for panel in panels}
