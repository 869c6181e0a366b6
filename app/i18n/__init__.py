"""Message catalogs: one flat JSON file per language (app/i18n/en.json, tr.json), keys shared by both.

Templates call the Jinja global ``t(key, **params)``, which reads the page's ``lang`` from the template
context; the page's whole catalog also goes to the browser as ``<script type="application/json"
id="messages">`` for static/js/i18n.js. Placeholders are ``{name}`` (str.format-style, names only).

Registry text (titles and notes of surfaces, optimizers, schedules and datasets; hyperparameter and
schedule-parameter descriptions) is written once, in English, in the Python registries of ``app.ml``;
:func:`registry_texts` turns it into catalog keys for English, and ``tr.registry.json`` translates them.
"""

from __future__ import annotations

import json
import re
import string
from functools import lru_cache
from pathlib import Path

from jinja2 import pass_context
from markupsafe import Markup

LANGUAGES = ("en", "tr")
DEFAULT_LANGUAGE = "en"
CATALOG_DIR = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@lru_cache
def registry_texts() -> dict[str, str]:
    """The registries' own English words as catalog keys: ``registry.<kind>.<name>.title|note``,
    ``registry.hp.<name>`` (the first description of a name; ``registry.hp.<optimizer>.<name>`` where an
    optimizer means something else by it) and ``registry.schedule_param.<name>``."""
    from app.ml.datasets import DATASETS
    from app.ml.optimizers import OPTIMIZERS
    from app.ml.schedules import SCHEDULES
    from app.ml.surfaces import SURFACES

    texts: dict[str, str] = {}
    for kind, registry in (
        ("surface", SURFACES),
        ("optimizer", OPTIMIZERS),
        ("schedule", SCHEDULES),
        ("dataset", DATASETS),
    ):
        for name, spec in registry.items():
            texts[f"registry.{kind}.{name}.title"] = spec.title
            texts[f"registry.{kind}.{name}.note"] = spec.note
    for spec in OPTIMIZERS.values():
        for param in spec.hyperparameters:
            shared = texts.setdefault(f"registry.hp.{param.name}", param.description)
            if shared != param.description:  # the same name means something else here (ASGD's alpha)
                texts[f"registry.hp.{spec.name}.{param.name}"] = param.description
    for spec in SCHEDULES.values():
        for param in spec.params:
            texts.setdefault(f"registry.schedule_param.{param.name}", param.description)
    return texts


@lru_cache
def catalog(lang: str) -> dict[str, str]:
    """The flat key -> message table of one language: `{lang}.json` merged with any `{lang}.<part>.json`
    (e.g. `en.networks.json`), so each group of views can keep its messages in a file of its own.
    English also holds :func:`registry_texts`; other languages translate them in `{lang}.registry.json`."""
    table: dict[str, str] = {}
    for path in [CATALOG_DIR / f"{lang}.json", *sorted(CATALOG_DIR.glob(f"{lang}.*.json"))]:
        with path.open(encoding="utf-8") as fh:
            table.update(json.load(fh))
    if lang == DEFAULT_LANGUAGE:
        table.update(registry_texts())
    return table


def resolve_language(raw: str | None) -> str:
    """The language of a request: `lang=tr` or `lang=en`; anything else falls back to English (no 422)."""
    return raw if raw in LANGUAGES else DEFAULT_LANGUAGE


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def translate(lang: str, key: str, **params: object) -> str:
    """The message for `key` in `lang` (English, then the key itself, when missing), placeholders filled."""
    message = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    if not params:
        return message
    return PLACEHOLDER.sub(lambda m: str(params.get(m.group(1), m.group(0))), message)


@pass_context
def jinja_t(context, key: str, **params: object) -> str:
    """Jinja global `t(key, **params)`; the result is autoescaped like any other value."""
    return translate(context.get("lang", DEFAULT_LANGUAGE), key, **params)


@pass_context
def jinja_th(context, key: str, **params: object) -> Markup:
    """`th(key)`: a message holding trusted markup from our own catalog (<strong>, <code>); params escaped."""
    escaped = {k: Markup.escape(v) for k, v in params.items()}
    return Markup(translate(context.get("lang", DEFAULT_LANGUAGE), key, **escaped))


@lru_cache
def messages_json(lang: str) -> str:
    """The catalog as JSON safe to put inside <script type="application/json">."""
    return json.dumps(catalog(lang), ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def install(templates) -> None:
    """Register the globals on a Jinja2Templates environment."""
    templates.env.globals["t"] = jinja_t
    templates.env.globals["th"] = jinja_th
    templates.env.globals["LANGUAGES"] = LANGUAGES
