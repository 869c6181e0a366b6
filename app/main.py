"""create_app(): the FastAPI application with its routers, static files, templates and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline

from app import __version__, i18n
from app.config import STATIC_DIR, TEMPLATES_DIR, Settings, get_settings
from app.ml.errors import ConfigError
from app.web import routes
from app.web.assets import EXTRA_FILES, AssetIndex, Assets, DynamicGZip
from app.web.assets import install as install_assets
from app.web.bodies import BodyLimit
from app.web.cache import TraceCache
from app.web.compute import Busy, ComputePool
from app.web.errors import (
    InputError,
    handle_config_error,
    handle_input_error,
    handle_validation_error,
)
from app.web.openapi import complete
from app.web.security import SecurityHeaders
from app.web.ticker import Ticker


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the compute workers with the server, so the first request does not wait for them."""
    app.state.compute.warm_up()
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build a fresh app with these settings (default: from the environment, GDP_*)."""
    app = FastAPIOffline(  # Swagger UI and ReDoc from files shipped with the package: /docs works offline
        lifespan=_lifespan,
        title="Gradient-descent playground",
        version=__version__,
        description="Optimizers on loss surfaces, step by step: REST traces (JSON, CSV, NDJSON).",
    )
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    i18n.install(app.state.templates)
    assets = AssetIndex(STATIC_DIR, EXTRA_FILES)  # /static/<build>/… URLs, immutable and gzipped
    install_assets(app.state.templates, assets)
    app.add_exception_handler(ConfigError, handle_config_error)
    app.add_exception_handler(InputError, handle_input_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    if settings is None:
        settings = get_settings()
    app.state.settings = settings  # routes read it through app.web.deps.SettingsDep
    app.state.streams = set()
    app.state.ticker = Ticker(settings.stream_frame_s)  # one beat for every paced stream
    app.state.compute = ComputePool(settings.compute_mode, settings.compute_workers, settings.compute_queue)
    app.add_exception_handler(Busy, handle_busy)
    app.state.trace_cache = TraceCache(settings.trace_cache_entries, settings.trace_cache_bytes)
    app.add_middleware(SecurityHeaders, embed_frame_ancestors=settings.embed_frame_ancestors)
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"], allow_headers=["*"]
    )
    app.add_middleware(DynamicGZip)  # pages and API; skips /static, /healthz and WebSockets
    app.include_router(routes.router)
    app.mount("/static", Assets(assets), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _document_bodies(app)
    return app


def _document_bodies(app: FastAPI) -> None:
    """Routes that parse their body in the compute pool declare it with json_body(), and every JSON 200
    its reply model with openapi.ok(): add the models and the examples."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(plain())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


async def handle_busy(request: Request, error: Exception) -> JSONResponse:
    """Every compute slot and the waiting line are taken: 503 with Retry-After, at once."""
    assert isinstance(error, Busy)
    return JSONResponse(
        {"detail": [{"loc": [], "msg": str(error), "type": "busy"}]},
        status_code=503,
        headers={"Retry-After": str(error.retry_after_s)},
    )
