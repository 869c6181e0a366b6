"""Liveness: /healthz for load balancers and the container HEALTHCHECK."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request

from app import __version__
from app.web import examples, replies
from app.web.openapi import ok

router = APIRouter(tags=["ops"])


@router.get(
    "/healthz",
    summary="Liveness of this worker process",
    responses=ok("Alive.", replies.Health, examples.HEALTH),
)
def healthz(request: Request) -> Any:
    """Liveness for load balancers and the container HEALTHCHECK: answers without touching the engine.

    Each Uvicorn worker is its own process with its own sockets: the count is this worker's only, and
    ``pid`` says which worker answered (with ``--workers 2`` two requests may see two different counts).
    """
    return {
        "status": "ok",
        "version": __version__,
        "pid": os.getpid(),
        "streams_this_process": len(request.app.state.streams),
    }
