"""HTML pages rendered from templates/: the landing page and one page per playground view."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from app import __version__
from app.config import STATIC_DIR
from app.i18n import LANGUAGES, catalog, messages_json, resolve_language, translate
from app.ml.nets import binary_cross_entropy
from app.web import serialize

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class View:
    """One view, named once: ``name`` is its URL path (/name), its embed (/embed/name), the ``view`` of its
    postMessage API, its template (templates/name.html), its module (static/js/views/name.js) and its
    catalog keys (``view.<name>.title``, ``nav.<name>``, ``index.card.<name>``)."""

    name: str
    title: str  # English, when the catalog has no `view.<name>.title`
    embed_aliases: tuple[str, ...] = ()  # older /embed/ names still served (links exist)

    @property
    def template(self) -> str:
        return f"{self.name}.html"


# The one table of views: the nav, the landing cards and the embeds are all drawn from it, in this order,
# which is the course's: epoch, batch size and iterations, training a network with Keras (the insurance
# example), gradient descent and the optimizers, the learning rate, then regularization (dropout, early
# stopping in the network view, L1 and L2); the loss landscape, which the slides do not cover, comes last.
VIEWS: dict[str, View] = {
    view.name: view
    for view in (
        View("epochs", "Epochs, batches, iterations"),
        View("network", "Training a network"),
        View("playground", "Surface playground", embed_aliases=("surface",)),
        View("race", "Optimizer race"),
        View("learning-rate", "Learning rate"),
        View("sweep", "Learning-rate sweep"),
        View("dropout", "Dropout"),
        View("regularization", "L1 and L2"),
        View("landscape", "Loss landscape of a network"),
        # ---- issue 12, lesson 1 ----
        View("cross-entropy", "Cross-entropy on the insurance data"),
        # convergence maps (issue 12, section 2)
        View("convergence-map", "Convergence maps"),
    )
}
# /embed/{name} -> the view it shows: every view under its name, and the older names as aliases.
EMBEDS = {name: name for name in VIEWS}
EMBED_ALIASES = {alias: view.name for view in VIEWS.values() for alias in view.embed_aliases}
CONTROLS = ("none", "minimal", "full")
BCE_EXAMPLE = 0.01
"""The slide's confident wrong prediction: ŷ = 0.01 for y = 1, whose loss −ln 0.01 = 4.605 is its 4.6."""
CAPTION_MAX = 300


def view_title(view: str, lang: str) -> str:
    """A view's title from the catalog (`view.<name>.title`), its English title when the key is missing."""
    key = f"view.{view}.title"
    text = translate(lang, key)
    return VIEWS[view].title if text == key else text


def page_context(request: Request, view: str | None = None, embed: bool = False) -> dict:
    """What every page template reads: language, catalog, and the embed flags (`embed`, `controls`, …)."""
    query = request.query_params
    lang = resolve_language(query.get("lang"))
    controls = query.get("controls", "full")
    return {
        "version": __version__,
        "view": view,
        "lang": lang,
        "messages_json": messages_json(lang),
        "embed": embed,
        "controls": controls if embed and controls in CONTROLS else "full",
        "autoplay": embed and query.get("autoplay") in ("1", "true"),
        "caption": (query.get("caption") or "")[:CAPTION_MAX] if embed else "",
        "embed_name": view if embed else None,
        "views": list(VIEWS),
        "lang_urls": {code: _with_lang(request, code) for code in LANGUAGES},
    }


def _with_lang(request: Request, code: str) -> str:
    """This page's URL with `lang` set to `code` and every other parameter kept (the language switch)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if code != "en":
        params.append(("lang", code))
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


@lru_cache
def registry(lang: str) -> dict[str, list[dict[str, Any]]]:
    """Surfaces, optimizers, schedules and datasets with titles, notes and descriptions in ``lang``.

    The registries speak English; their words for learners live in the catalogs as
    ``registry.<kind>.<name>.title|note``, ``registry.hp.<name>`` (or ``registry.hp.<optimizer>.<name>``
    where that optimizer means something else by the name) and ``registry.schedule_param.<name>``.
    """

    def local(key: str, english: str) -> str:
        return translate(lang, key) if key in catalog(lang) else english

    surfaces, optimizers = serialize.surfaces_json(), serialize.optimizers_json()
    schedules, datasets = serialize.schedules_json(), serialize.datasets_json()
    for kind, entries in (
        ("surface", surfaces),
        ("optimizer", optimizers),
        ("schedule", schedules),
        ("dataset", datasets),
    ):
        for entry in entries:
            for field in ("title", "note"):
                entry[field] = local(f"registry.{kind}.{entry['name']}.{field}", entry[field])
    table = catalog(lang)
    for optimizer in optimizers:
        for hp in optimizer["hyperparameters"]:
            own = f"registry.hp.{optimizer['name']}.{hp['name']}"
            hp["description"] = local(own if own in table else f"registry.hp.{hp['name']}", hp["description"])
    for schedule in schedules:
        for param in schedule["params"]:
            param["description"] = local(f"registry.schedule_param.{param['name']}", param["description"])
    return {"surfaces": surfaces, "optimizers": optimizers, "schedules": schedules, "datasets": datasets}


@lru_cache
def registry_json(lang: str) -> str:
    """The registry for the page to read at load (no extra round trip)."""
    # Escape "</" so no registry text can close the <script type="application/json"> element.
    return serialize.dumps(registry(lang)).decode().replace("</", "<\\/")


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page says; answer with the SVG icon."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The landing page: what exists, with links to every view and into the API."""
    templates = request.app.state.templates
    context = page_context(request)
    local = registry(context["lang"])
    context.update(surfaces=local["surfaces"], optimizers=local["optimizers"], schedules=local["schedules"])
    return templates.TemplateResponse(request, "index.html", context)


def _view_page(view: str):
    def page(request: Request) -> HTMLResponse:
        return render_view(request, view, embed=False)

    page.__name__ = f"page_{view.replace('-', '_')}"
    return page


def render_view(request: Request, view: str, embed: bool) -> HTMLResponse:
    """One template per view; `embed` drops the site chrome and `controls` picks what stays visible."""
    template = VIEWS[view].template
    context = page_context(request, view, embed)
    context.update(title=view_title(view, context["lang"]), registry_json=registry_json(context["lang"]))
    if view == "network":  # the slide's 4.6: a confident wrong prediction, worked out by the core
        context["bce_example"] = {"y_hat": BCE_EXAMPLE, "loss": float(binary_cross_entropy(1, BCE_EXAMPLE))}
    return request.app.state.templates.TemplateResponse(request, template, context)


for _view in VIEWS:
    router.add_api_route(f"/{_view}", _view_page(_view), methods=["GET"], response_class=HTMLResponse)


@router.get("/embed/{name}", response_class=HTMLResponse)
def embed(request: Request, name: str) -> HTMLResponse:
    """A view without header and footer, for an <iframe> on a course page (docs/embedding.md)."""
    view = EMBEDS.get(name) or EMBED_ALIASES.get(name)
    if view is None:
        raise HTTPException(
            status_code=404, detail=f"no embeddable view {name!r}; try one of {sorted(EMBEDS)}"
        )
    return render_view(request, view, embed=True)
