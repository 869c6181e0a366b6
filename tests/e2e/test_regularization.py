"""The L1 vs L2 view in a browser: near-zero weights as λ grows, and the diamond against the circle."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

WAIT = 20_000
LADDER = [0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1]  # static/js/views/regularization-schema.js


def _open(page, live_server: str, query: str = "") -> None:
    page.goto(f"{live_server}/regularization{query}")
    page.wait_for_function("window.__reg && __reg.counts() !== null", timeout=WAIT)


def test_raising_l1_strength_zeroes_more_weights_under_l1_than_under_l2(page, live_server: str) -> None:
    _open(page, live_server, "?lam=0")
    before = page.evaluate("__reg.counts()")
    assert before["lam"] == 0 and before["total"] == 2 * 16 + 16 * 16 + 16
    assert page.evaluate("__reg.histogramsDrawn()")
    # five keyboard steps up the λ ladder: 0 → 1e-4 → 3e-4 → 1e-3 → 3e-3 → 0.01 (debounced: one retrain)
    page.locator("#strength").focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("__reg.counts().lam === 0.01", timeout=WAIT)
    after = page.evaluate("__reg.counts()")
    assert after["l1"] - before["l1"] > after["l2"] - before["l2"] + 20, (before, after)
    assert after["l1"] > after["l2"]
    assert "lam=0.01" in page.evaluate("location.search")
    assert "exactly zero" in page.locator("#count-l1").inner_text()
    page.wait_for_function("__reg.sweepPoints()[0] === 8 && __reg.sweepPoints()[1] === 8", timeout=WAIT)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "regularization_l1_l2.png"), full_page=True)


def _sweep(page) -> dict:
    page.wait_for_function("__reg.sweepPoints()[0] === 8 && __reg.sweepPoints()[1] === 8", timeout=WAIT)
    return page.evaluate("__reg.sweep()")


def test_l1_has_more_exact_zeros_than_l2_at_every_lambda_and_the_page_says_when_it_collapses(
    page, live_server: str
) -> None:
    """What the slide teaches: L1 sets weights to exactly 0 and L2 only shrinks them, at every λ of the
    slider; the network still learns below the top rung, and at the top rung the page says it collapsed."""
    _open(page, live_server, "?lam=0.03")
    assert page.locator("#collapse").is_hidden(), "λ = 0.03 still learns: no collapse notice"
    status = page.locator("#status").inner_text()
    losses = [float(v) for v in re.findall(r"\d+\.\d+", status.split(":", 1)[1])]
    assert len(losses) == 2 and max(losses) < 0.3, f"both networks still learn at λ = 0.03: {status}"
    sweep = _sweep(page)
    for lam, l1, l2 in zip(LADDER, sweep["l1"], sweep["l2"], strict=True):
        assert l2 == 0, f"λ = {lam}: L2 only shrinks weights, {l2} exactly zero"
        if lam > 0:
            assert l1 > l2, f"λ = {lam}: L1 {l1} exact zeros, not more than L2's {l2}"
    assert sweep["l1"] == sorted(sweep["l1"]), f"L1's zeros grow with λ: {sweep['l1']}"
    # the top rung: both networks predict one value for every point, and the page says so
    page.locator("#strength").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("__reg.counts().lam === 0.1", timeout=WAIT)
    notice = page.locator("#collapse")
    expect(notice).to_be_visible()
    text = notice.inner_text()
    assert "too strong for L1 and L2" in text and "same for every point" in text and "ln 2 = 0.693" in text, (
        text
    )
    assert page.evaluate("__reg.collapsed()") == {"l1": True, "l2": True}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "regularization_collapse.png"), full_page=True)


def test_two_weights_l1_lands_on_an_axis_and_l2_does_not(page, live_server: str) -> None:
    _open(page, live_server)
    page.wait_for_function("__reg.solutions() !== null && __reg.overlayTraces() > 0", timeout=WAIT)
    solution = page.evaluate("__reg.solutions()")
    l1, l2 = solution["l1"], solution["l2"]
    assert min(abs(l1[0]), abs(l1[1])) < 0.01, f"L1 on an axis: {l1}"
    assert max(abs(l1[0]), abs(l1[1])) > 0.3
    assert min(abs(l2[0]), abs(l2[1])) > 0.1, f"L2 off the axes: {l2}"
    assert "one weight is zero" in page.locator("#solutions").inner_text()
    # a stronger λ for the two-weight model moves both solutions; L1 stays on an axis
    page.locator("#lam2").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("__reg.solutions().lam === 1.3", timeout=WAIT)
    l1b = page.evaluate("__reg.solutions()")["l1"]
    assert min(abs(l1b[0]), abs(l1b[1])) < 0.01


def test_regularization_on_a_phone_has_no_horizontal_scroll(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        _open(page, live_server)
        page.wait_for_function("__reg.solutions() !== null", timeout=WAIT)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "regularization_phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
