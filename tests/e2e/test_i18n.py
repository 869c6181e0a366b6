# ruff: noqa: RUF001  (Turkish text: the dotless i is a letter of its own here)
"""Turkish pages in a real browser: no English UI string left, decimal commas, a working language switch."""

from __future__ import annotations

import json
import re

import pytest

from app.i18n import CATALOG_DIR
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

EN = json.loads((CATALOG_DIR / "en.json").read_text(encoding="utf-8"))
TR = json.loads((CATALOG_DIR / "tr.json").read_text(encoding="utf-8"))


def english_fragments() -> list[str]:
    """English catalog text (no tags, no {placeholders}), over 3 characters, not shared with Turkish."""
    fragments: set[str] = set()
    for key, value in EN.items():
        if value == TR[key]:
            continue
        for part in re.split(r"<[^>]+>|\{[a-z_]+\}", value):
            part = part.strip(" .,:;()·–—")
            if len(part) > 3 and part not in TR[key]:
                fragments.add(part)
    return sorted(fragments, key=len, reverse=True)


# Visible text nodes, skipping what is English on purpose (registry notes marked lang="en"), code samples,
# and <select>s, whose option labels are optimizer and surface names from the registry.
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const parent = node.parentElement;
    const skip = "script, style, select, pre, code, .hp, [lang=en], dialog:not([open])";
    if (!text || !parent || parent.closest(skip)) continue;
    if (parent.checkVisibility && !parent.checkVisibility()) continue;
    out.push(text);
  }
  return out.join("\\n");
}"""

PAGES = {
    "/?lang=tr": None,
    "/playground?lang=tr": "() => window.__playground && window.__playground.ready()",
    "/race?lang=tr": "() => window.__playground && window.__playground.ready()",
    "/learning-rate?lang=tr": "() => window.__lr && window.__lr.state().connected",
    "/sweep?lang=tr": "() => !document.querySelector('#run').disabled",
}


def english_left(text: str) -> list[str]:
    """English fragments found as whole words (so "step" does not match inside a hyperparameter name)."""
    return [f for f in english_fragments() if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text)]


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
