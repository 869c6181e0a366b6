# ruff: noqa: RUF001  (Turkish text: the dotless i is a letter of its own here)
"""Message catalogs: the same keys and placeholders in every language; pages in the language asked for."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from app.i18n import CATALOG_DIR, LANGUAGES, catalog, placeholders, resolve_language, translate
from app.main import create_app

CLIENT = TestClient(create_app())
TAG = re.compile(r"</?([a-z]+)")


def test_catalogs_have_the_same_keys() -> None:
    en = catalog("en")
    for lang in LANGUAGES:
        assert set(catalog(lang)) == set(en), f"{lang}: {set(catalog(lang)) ^ set(en)}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogs_have_the_same_placeholders_and_markup(lang: str) -> None:
    en = catalog("en")
    for key, message in catalog(lang).items():
        assert placeholders(message) == placeholders(en[key]), key
        assert sorted(TAG.findall(message)) == sorted(TAG.findall(en[key])), f"{key}: markup differs"
        assert message.strip(), f"{key} is empty"


def test_catalog_files_are_plain_json_objects_of_strings() -> None:
    for lang in LANGUAGES:
        data = json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8"))
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())


def test_translate_fills_placeholders_and_falls_back() -> None:
    assert translate("tr", "lr.end.diverged", n=7) == "7 adımdan sonra ıraksadı"
    assert translate("en", "lr.end.diverged", n=7) == "Diverged after 7 steps"
    assert translate("tr", "no.such.key") == "no.such.key"
    assert (
        resolve_language("xx") == "en" and resolve_language(None) == "en" and resolve_language("tr") == "tr"
    )


@pytest.mark.parametrize("path", ["/", "/playground", "/race", "/learning-rate", "/sweep", "/network"])
def test_pages_follow_lang(path: str) -> None:
    tr = CLIENT.get(path, params={"lang": "tr"}).text
    assert '<html lang="tr">' in tr and "Gradyan inişi oyun alanı" in tr
    en = CLIENT.get(path).text
    assert '<html lang="en">' in en and "Gradient-descent playground" in en


def test_unknown_language_falls_back_to_english() -> None:
    response = CLIENT.get("/playground", params={"lang": "xx"})
    assert response.status_code == 200 and '<html lang="en">' in response.text


def test_language_switch_keeps_the_query() -> None:
    html = CLIENT.get("/sweep?n=4&lang=tr&surface=bowl").text
    assert 'href="/sweep?n=4&amp;surface=bowl" hreflang="en"' in html
    assert 'href="/sweep?n=4&amp;surface=bowl&amp;lang=tr" hreflang="tr"' in html


def test_messages_json_cannot_close_its_script() -> None:
    html = CLIENT.get("/playground?lang=tr").text
    start = html.index('<script type="application/json" id="messages">') + len(
        '<script type="application/json" id="messages">'
    )
    body = html[start : html.index("</script>", start)]
    assert json.loads(body) == catalog("tr")


def test_registry_texts_reach_the_page_in_its_language() -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app()) as client:
        tr = client.get("/?lang=tr").text
        en = client.get("/").text
    assert "Kıvrımlı, tabanı düz bir vadi" in tr and "A curved, flat-bottomed valley" not in tr
    assert "A curved, flat-bottomed valley" in en
    assert "öğrenme oranı: her güncellemenin ne kadar ilerlediği" in tr


def test_every_turkish_registry_text_translates_a_registry_entry() -> None:
    """English registry text lives in the Python registries only; tr.registry.json translates exactly them."""
    from app.i18n import registry_texts

    turkish = json.loads((CATALOG_DIR / "tr.registry.json").read_text(encoding="utf-8"))
    english = registry_texts()
    stale = sorted(set(turkish) - set(english))
    missing = sorted(set(english) - set(turkish))
    assert not stale, f"tr.registry.json translates entries no registry has: {stale}"
    assert not missing, f"registry entries without Turkish text in tr.registry.json: {missing}"
    assert not (CATALOG_DIR / "en.registry.json").exists(), "English registry text belongs in app/ml"


def test_every_hyperparameter_reaches_the_page_with_its_own_description() -> None:
    """registry.hp.<name> is shared; where an optimizer means something else by a name (ASGD's alpha),
    registry.hp.<optimizer>.<name> carries its own words, so no optimizer shows another's description."""
    from app.ml.optimizers import OPTIMIZERS
    from app.ml.schedules import SCHEDULES
    from app.web.routes.pages import registry

    page = {o["name"]: o for o in registry("en")["optimizers"]}
    for spec in OPTIMIZERS.values():
        shown = {h["name"]: h["description"] for h in page[spec.name]["hyperparameters"]}
        assert shown == {p.name: p.description for p in spec.hyperparameters}, spec.name
    assert (
        page["asgd"]["hyperparameters"][2]["description"]
        != page["rmsprop"]["hyperparameters"][1]["description"]
    )
    seen: dict[str, str] = {}
    for param in [p for spec in SCHEDULES.values() for p in spec.params]:
        assert seen.setdefault(param.name, param.description) == param.description, param.name
