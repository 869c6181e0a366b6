# ruff: noqa: RUF001  (Turkish text: the dotless i is a letter of its own here)
"""Turkish pages in a real browser: no English UI string left, decimal commas, a working language switch."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, VISIBLE_TEXT, english_left

pytestmark = pytest.mark.e2e

PAGES = {
    "/?lang=tr": None,
    "/playground?lang=tr": "() => window.__playground && window.__playground.ready()",
    "/race?lang=tr": "() => window.__playground && window.__playground.ready()",
    "/learning-rate?lang=tr": "() => window.__lr && window.__lr.state().connected",
    "/sweep?lang=tr": "() => !document.querySelector('#run').disabled",
}


@pytest.mark.parametrize("path", list(PAGES))
def test_turkish_page_shows_no_english_ui_strings(page, live_server: str, path: str) -> None:
    page.goto(live_server + path)
    if PAGES[path]:
        page.wait_for_function(PAGES[path], timeout=15_000)
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.lang") == "tr"
    assert english_left(page.evaluate(VISIBLE_TEXT)) == []


def test_turkish_views_after_a_run_show_no_english(page, live_server: str) -> None:
    """Statuses, readouts, end reasons and axis titles written by the JS are Turkish too."""
    page.goto(live_server + "/learning-rate?lang=tr&speed=max&steps=60")
    page.wait_for_function("() => window.__lr && window.__lr.state().connected", timeout=15_000)
    page.locator("#play").click()
    page.wait_for_function("() => window.__lr.state().done", timeout=30_000)
    page.wait_for_timeout(300)
    text = page.evaluate(VISIBLE_TEXT)
    assert "ıraksadı" in text
    assert english_left(text) == []

    page.goto(live_server + "/sweep?lang=tr&n=4&steps=60&speed=max")
    page.wait_for_function("() => !document.querySelector('#run').disabled", timeout=15_000)
    page.locator("#run").click()
    page.wait_for_function("() => window.__sweep.state().done", timeout=30_000)
    page.wait_for_timeout(300)
    text = page.evaluate(VISIBLE_TEXT)
    assert "En iyi öğrenme oranı" in text
    assert english_left(text) == []


def test_playground_numbers_use_a_decimal_comma(page, live_server: str) -> None:
    page.goto(live_server + "/playground?lang=tr&speed=max&steps=50")
    page.wait_for_function("() => window.__playground && window.__playground.ready()", timeout=15_000)
    page.locator("#play").click()
    page.wait_for_function("() => window.__playground.status() === 'finished'", timeout=30_000)
    page.wait_for_timeout(400)
    readout = page.locator("#readouts").inner_text()
    assert re.search(r"\d,\d", readout), readout
    assert not re.search(r"\d\.\d", readout), "no decimal point in a Turkish readout"
    assert english_left(page.evaluate(VISIBLE_TEXT)) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground_tr.png"), full_page=True)


def test_language_switch_keeps_the_rest_of_the_url(page, live_server: str) -> None:
    page.goto(live_server + "/learning-rate?low=0.02&steps=80")
    page.wait_for_function("() => window.__lr && window.__lr.state().connected", timeout=15_000)
    assert page.locator("#play").inner_text() == "Play"
    page.locator("[data-lang-switch=tr]").click()
    page.wait_for_url(re.compile(r"lang=tr"))
    assert "low=0.02" in page.url and "steps=80" in page.url
    assert page.evaluate("document.documentElement.lang") == "tr"
    page.wait_for_function("() => window.__lr && window.__lr.state().connected", timeout=15_000)
    assert page.locator("#play").inner_text() == "Oynat"
    # the view's own URL writes keep lang=tr (state.js passes page parameters through)
    page.locator("#own-lr").fill("-0.5")
    page.wait_for_function("() => location.search.includes('own=')")
    assert "lang=tr" in page.url
    page.locator("[data-lang-switch=en]").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert "lang=" not in page.url and "low=0.02" in page.url
