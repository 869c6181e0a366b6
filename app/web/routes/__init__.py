"""One APIRouter per file, combined here: API routes under /api/v1 (the prefix is set once), then pages."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.routes import api, health, maps, networks, pages, stream

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(api.router)
api_router.include_router(networks.router)
api_router.include_router(maps.router)
api_router.include_router(stream.router)

router = APIRouter()
router.include_router(api_router)
router.include_router(health.router)
router.include_router(pages.router)
