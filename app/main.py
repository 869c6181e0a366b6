"""create_app(): the FastAPI application with its routers, static files, templates and error handlers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline

from app import __version__, i18n
from app.config import STATIC_DIR, TEMPLATES_DIR, get_settings
from app.ml.errors import ConfigError
from app.web.assets import EXTRA_FILES, AssetIndex, Assets, DynamicGZip
from app.web.assets import install as install_assets
from app.web.cache import TraceCache
from app.web.errors import InputError, handle_config_error, handle_input_error, handle_validation_error
from app.web.routes import api, networks, pages, stream
from app.web.security import SecurityHeaders


def create_app() -> FastAPI:
    """Build a fresh app; tests build their own and override settings through get_settings."""
    app = FastAPIOffline(  # Swagger UI and ReDoc from files shipped with the package: /docs works offline
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
    settings = get_settings()
    app.state.streams = set()
    app.state.trace_cache = TraceCache(settings.trace_cache_entries, settings.trace_cache_bytes)
    app.add_middleware(SecurityHeaders, embed_frame_ancestors=settings.embed_frame_ancestors)
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"], allow_headers=["*"]
    )
    app.add_middleware(DynamicGZip)  # pages and API; skips /static, /healthz and WebSockets
    app.include_router(api.router)
    app.include_router(networks.router)
    app.include_router(stream.router)
    app.include_router(pages.router)
    app.mount("/static", Assets(assets), name="static")
    return app
