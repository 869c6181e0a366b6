# ruff: noqa: RUF001  (Turkish text: the dotless i is a letter of its own here)
"""/embed/{view}: every view without site chrome, framable per Settings, configured by its URL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.main import create_app
from app.web.routes.pages import EMBED_ALIASES, EMBEDS, VIEWS

CLIENT = TestClient(create_app())


@pytest.mark.parametrize("name", sorted(EMBEDS))
def test_every_embed_answers_with_the_embed_policy_and_no_header(name: str) -> None:
    response = CLIENT.get(f"/embed/{name}")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors *" in csp and "script-src 'self' 'unsafe-eval'" in csp
    assert "x-frame-options" not in response.headers
    html = response.text
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert " embed controls-full" in html and f'data-embed="{name}"' in html
    assert '<script type="application/json" id="messages">' in html


def test_full_pages_keep_their_chrome_and_same_origin_framing() -> None:
    response = CLIENT.get("/race")
    assert 'class="site-header"' in response.text and 'id="embed-open"' in response.text
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


def test_frame_ancestors_follow_settings(monkeypatch) -> None:
    monkeypatch.setenv("GDP_EMBED_FRAME_ANCESTORS", '["https://course.example", "https://lms.example"]')
    get_settings.cache_clear()
    try:
        client = TestClient(create_app())
        response = client.get("/embed/sweep")
    finally:
        monkeypatch.delenv("GDP_EMBED_FRAME_ANCESTORS")
        get_settings.cache_clear()
    assert (
        "frame-ancestors https://course.example https://lms.example"
        in response.headers["content-security-policy"]
    )
    assert "x-frame-options" not in response.headers


def test_unknown_embed_is_404() -> None:
    response = CLIENT.get("/embed/nope")
    assert response.status_code == 404


def test_every_view_is_in_the_nav_on_the_landing_page_and_embeds() -> None:
    """One VIEWS table drives the nav, the landing cards and the embeds."""
    landing = CLIENT.get("/").text
    page = CLIENT.get("/race").text
    for name in VIEWS:
        assert f'<a href="/{name}"' in page, f"{name} is in the nav"
        assert f'<li class="card" data-view="{name}"><h3><a href="/{name}">' in landing, f"{name} has a card"
        assert CLIENT.get(f"/{name}").status_code == 200
        assert f'data-embed="{name}"' in CLIENT.get(f"/embed/{name}").text
        assert f"js/views/{name}.js" in CLIENT.get(f"/{name}").text, "the module is named after the view"
    assert set(EMBEDS) == set(VIEWS)


def test_the_old_embed_name_of_the_playground_still_serves_it() -> None:
    assert EMBED_ALIASES == {"surface": "playground"}
    response = CLIENT.get("/embed/surface?controls=minimal")
    assert response.status_code == 200
    assert 'data-embed="playground"' in response.text and "js/views/playground.js" in response.text
    assert "controls-minimal" in response.text


@pytest.mark.parametrize("controls", ["none", "minimal", "full"])
def test_controls_flag(controls: str) -> None:
    html = CLIENT.get(f"/embed/learning-rate?controls={controls}").text
    assert f"controls-{controls}" in html
    assert ('class="lr-toolbar" role="toolbar"' in html) and ((" hidden>" in html) == (controls == "none"))


def test_unknown_controls_value_means_full_and_autoplay_flag() -> None:
    html = CLIENT.get("/embed/race?controls=bogus&autoplay=1").text
    assert "controls-full" in html and 'data-autoplay="1"' in html
    assert "data-autoplay" not in CLIENT.get("/race?autoplay=1").text, "autoplay is for embeds only"


def test_caption_is_escaped_and_bounded() -> None:
    html = CLIENT.get("/embed/surface", params={"caption": '<script>alert(1)</script>"&'}).text
    assert (
        '<p class="embed-caption" id="embed-caption">&lt;script&gt;alert(1)&lt;/script&gt;&#34;&amp;</p>'
        in html
    )
    long = CLIENT.get("/embed/surface", params={"caption": "x" * 5000}).text
    assert "x" * 300 in long and "x" * 301 not in long
    assert "embed-caption" not in CLIENT.get("/playground?caption=hi").text, "captions are for embeds only"


def test_embed_in_turkish() -> None:
    html = CLIENT.get("/embed/learning-rate?lang=tr").text
    assert '<html lang="tr">' in html and "Oynat" in html and "Öğrenme oranı" in html
