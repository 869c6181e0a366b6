"""HTML pages rendered from templates/ (the playground views arrive in later issues)."""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from app import __version__
from app.ml.optimizers import OPTIMIZERS
from app.ml.schedules import SCHEDULES
from app.ml.surfaces import SURFACES

router = APIRouter(include_in_schema=False)
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@router.get("/static/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    """Plotly.js from the plotly package itself: no CDN, so a classroom works offline."""
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The landing page: what exists today, with links into the API."""
    templates = request.app.state.templates
    context = {
        "version": __version__,
        "surfaces": list(SURFACES.values()),
        "optimizers": list(OPTIMIZERS.values()),
        "schedules": list(SCHEDULES.values()),
    }
    return templates.TemplateResponse(request, "index.html", context)
