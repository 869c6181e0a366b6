"""HTML pages rendered from templates/: the landing page and one page per playground view."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from app import __version__
from app.config import STATIC_DIR
from app.ml.optimizers import OPTIMIZERS
from app.ml.schedules import SCHEDULES
from app.ml.surfaces import SURFACES
from app.web import serialize
from app.web.routes.networks import list_datasets

router = APIRouter(include_in_schema=False)
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

VIEWS = {
    "playground": ("playground.html", "Surface playground"),
    "race": ("race.html", "Optimizer race"),
    "learning-rate": ("learning_rate.html", "Learning rate"),
    "sweep": ("sweep.html", "Learning-rate sweep"),
    "network": ("network.html", "Training a network"),
    "epochs": ("epochs.html", "Epochs, batches, iterations"),
    "dropout": ("dropout.html", "Dropout"),
    "regularization": ("regularization.html", "L1 and L2"),
    "landscape": ("landscape.html", "Loss landscape of a network"),
}


@lru_cache
def registry_json() -> str:
    """Surfaces, optimizers and schedules for the page to read at load (no extra round trip)."""
    registry = {
        "surfaces": serialize.surfaces_json(),
        "optimizers": serialize.optimizers_json(),
        "schedules": serialize.schedules_json(),
        "datasets": list_datasets(),
    }
    # Escape "</" so no registry text can close the <script type="application/json"> element.
    return serialize.dumps(registry).decode().replace("</", "<\\/")


@router.get("/static/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    """Plotly.js from the plotly package itself: no CDN, so a classroom works offline."""
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness for load balancers and the container HEALTHCHECK: answers without touching the engine."""
    return {"status": "ok", "version": __version__}


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page says; answer with the SVG icon."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The landing page: what exists, with links to every view and into the API."""
    templates = request.app.state.templates
    context = {
        "version": __version__,
        "views": VIEWS,
        "surfaces": list(SURFACES.values()),
        "optimizers": list(OPTIMIZERS.values()),
        "schedules": list(SCHEDULES.values()),
    }
    return templates.TemplateResponse(request, "index.html", context)


def _view_page(view: str):
    template, title = VIEWS[view]

    def page(request: Request) -> HTMLResponse:
        context = {"version": __version__, "view": view, "title": title, "registry_json": registry_json()}
        return request.app.state.templates.TemplateResponse(request, template, context)

    page.__name__ = f"page_{view.replace('-', '_')}"
    return page


for _view in VIEWS:
    router.add_api_route(f"/{_view}", _view_page(_view), methods=["GET"], response_class=HTMLResponse)
