"""The dropout view in a browser: live masks, the kept fraction against 1 − p, with/without dropout."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

WAIT = 20_000


def _open(page, live_server: str, query: str = "") -> None:
    page.goto(f"{live_server}/dropout{query}")
    page.wait_for_function("window.__dropout && __dropout.ready()", timeout=WAIT)


def test_masks_fill_the_heatmap_and_the_kept_fraction_matches_one_minus_p(page, live_server: str) -> None:
    _open(page, live_server, "?dropout=0.5,0.25&speed=500&epochs=400")
    page.keyboard.press("Space")  # Space = play (keyboard-usable)
    page.wait_for_function("__dropout.status() === 'running'", timeout=WAIT)
    page.wait_for_function("__dropout.iterations() >= 200 && __dropout.heatmapColumns() === 80", timeout=WAIT)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dropout_running.png"), full_page=True)

    page.wait_for_function("__dropout.droppedInDiagram() > 0", timeout=WAIT)  # the diagram greys them out
    cells = page.evaluate("__dropout.keptDropped()")
    assert cells["kept"] > 0 and cells["dropped"] > 0, "the heatmap shows kept and switched-off neurons"
    assert page.evaluate("__dropout.heatmapRows()") == 32 + 1 + 32  # two layers and a spacer row
    kept = page.evaluate("__dropout.kept()")
    assert [k["p"] for k in kept] == [0.5, 0.25]
    for layer in kept:
        assert layer["total"] >= 200 * 32
        assert abs(layer["mean"] - (1 - layer["p"])) < 0.03, layer
    readout = page.locator("#kept-readout dd[data-layer='1']").inner_text()
    assert "1 − p = 0.75" in readout
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function("__dropout.status() === 'paused'", timeout=WAIT)


def test_with_and_without_dropout_the_gap_is_smaller_with_dropout(page, live_server: str) -> None:
    _open(page, live_server)
    page.wait_for_function("__dropout.compare() !== null", timeout=WAIT)
    result = page.evaluate("__dropout.compare()")
    assert result["curves"] == [2, 2], "a training and a validation curve for each network"
    assert result["p"] == [0.5, 0.5]
    assert result["without"]["epochs"] == result["with"]["epochs"] == 200
    assert result["without"]["gap"] > 0.2, "without dropout the big net overfits the noisy circle"
    assert result["with"]["gap"] < result["without"]["gap"] / 2
    assert "gap" in page.locator("#gap-with").inner_text()
    assert page.evaluate("location.search") == "", "defaults stay out of the URL"

    # a new rate (keyboard on the slider) retrains both and lands in the URL
    page.locator("#rate-0").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("__dropout.compare() && __dropout.compare().p[0] === 0.45", timeout=WAIT)
    assert "dropout=0.45%2C0.5" in page.evaluate("location.search")


def test_dropout_on_a_phone_has_no_horizontal_scroll(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        _open(page, live_server)
        page.wait_for_function("__dropout.compare() !== null && __dropout.draws() > 0", timeout=WAIT)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dropout_phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
