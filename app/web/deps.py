"""What routes depend on, all read from the app a request reached: its settings, trace cache and compute pool.

``create_app(settings)`` puts them on ``app.state``; routes take them as ``SettingsDep``, ``TraceCacheDep``
and ``ComputeDep`` (HTTP and WebSocket alike), so a test builds ``create_app(Settings(...))`` and nothing
else decides which settings a route sees.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.config import Settings
from app.web.cache import TraceCache
from app.web.compute import ComputePool


def get_settings(connection: HTTPConnection) -> Settings:
    """The settings the app was built with (``create_app(settings)``)."""
    return connection.app.state.settings


def get_trace_cache(connection: HTTPConnection) -> TraceCache:
    return connection.app.state.trace_cache


def get_compute(connection: HTTPConnection) -> ComputePool:
    return connection.app.state.compute


SettingsDep = Annotated[Settings, Depends(get_settings)]
TraceCacheDep = Annotated[TraceCache, Depends(get_trace_cache)]
ComputeDep = Annotated[ComputePool, Depends(get_compute)]
