"""The network views in Turkish: no English UI string left after training; numbers with a decimal comma."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, VISIBLE_TEXT, english_left

pytestmark = pytest.mark.e2e

# path, what to wait for before (and after) pressing Play (None: no Play), an element with a decimal number
PAGES = {
    "network": (
        "/network?lang=tr&epochs=8&speed=max&es="
        + "%7B%22monitor%22%3A%22val_loss%22%2C%22patience%22%3A2%7D",
        "() => window.__network && window.__network.codeKeras.length > 0",
        "() => ['finished'].includes(window.__network.status) && window.__network.curvePoints > 0",
        "#metrics",
    ),
    "epochs": (
        "/epochs?lang=tr&epochs=2&speed=max",
        "() => window.__epochs && window.__epochs.compareDone",
        "() => window.__epochs.status === 'finished'",
        "#arith",
    ),
    "dropout": (
        "/dropout?lang=tr&epochs=4&n=100&speed=max",
        "() => window.__dropout && window.__dropout.ready() && window.__dropout.compare() !== null",
        "() => window.__dropout.status() === 'finished' && window.__dropout.draws() > 1",
        "#cmp-status",
    ),
    "regularization": (
        "/regularization?lang=tr&epochs=10",
        None,
        "() => window.__reg && window.__reg.counts() !== null && window.__reg.solutions() !== null",
        "#solutions",
    ),
    "landscape": (
        "/landscape?lang=tr&epochs=5&n=21",
        None,
        "() => window.__landscape && window.__landscape.ready() && window.__landscape.epochs() > 0",
        "#summary",
    ),
}


@pytest.mark.parametrize("view", list(PAGES))
def test_turkish_network_view_after_training(page, live_server: str, view: str) -> None:
    path, before, after, numeric = PAGES[view]
    page.goto(live_server + path)
    if before:
        page.wait_for_function(before, timeout=15_000)
        page.locator("#play").click()
    page.wait_for_function(after, timeout=20_000)
    page.wait_for_function(
        "() => !document.querySelector('#status')?.textContent.includes('…')", timeout=10_000
    )
    assert page.evaluate("document.documentElement.lang") == "tr"
    buttons = page.locator("#play, #compute")
    if buttons.count():
        assert buttons.first.inner_text() in {"Oynat", "Duraklat", "Çiz"}
    text = page.evaluate(VISIBLE_TEXT)
    assert english_left(text) == [], text
    shown = page.locator(numeric).inner_text()
    assert re.search(r"\d,\d", shown), f"no decimal comma in {numeric}: {shown!r}"
    if view in ("network", "epochs"):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{view}_tr.png"), full_page=True)


def test_english_pages_keep_their_words(page, live_server: str) -> None:
    page.goto(live_server + "/network?epochs=3&speed=max")
    page.wait_for_function("() => window.__network && window.__network.codeKeras.length > 0", timeout=15_000)
    assert page.locator("#play").inner_text() == "Play"
    page.locator("#play").click()
    page.wait_for_function("() => window.__network.status === 'finished'", timeout=20_000)
    assert "Done: all 3 epochs trained." in page.locator("#status").inner_text()
    assert "Epoch 3/3" in page.locator("#progress").inner_text()
    assert re.search(r"\d\.\d", page.locator("#metrics").inner_text())
