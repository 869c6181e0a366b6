"""'Explain this update' on /playground: paused, the ledger of the next update, equal to the step it makes."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.e2e.test_playground import HOOK, WAIT, open_view, shot

pytestmark = pytest.mark.e2e

RUNS = [
    {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
    {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}},
]


def _paused_with_ledger(page, url: str) -> dict:
    open_view(page, url)
    page.locator("#step").click()  # Step pauses and makes one step: the ledger of the next one follows
    page.wait_for_function(f"{HOOK}.ledger() !== null", timeout=WAIT)
    return page.evaluate(f"{HOOK}.ledger()")


def test_paused_the_ledger_explains_the_next_update_exactly(page, live_server: str) -> None:
    url = f"{live_server}/playground?runs={quote(json.dumps(RUNS))}&speed=60"
    ledger = _paused_with_ledger(page, url)
    assert ledger["run"] == "adam" and ledger["optimizer"] == "adam"
    body = page.locator("#ledger-body")
    assert body.is_visible()
    text = body.inner_text()
    for words in ("m (first moment)", "v (second moment)", "bias correction 1 − β₁ᵗ", "update Δθ"):
        assert words in text
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#contour .js-plotly-plot'))"
        ".some(p => (p.data || []).some(t => t.meta === 'ledger-box'))",
        timeout=WAIT,
    )  # the next move and the per-coordinate step-size box are drawn

    page.locator("#step").click()
    page.wait_for_function(f"{HOOK}.lastStep('adam') === {ledger['step'] + 1}", timeout=WAIT)
    made = page.evaluate(f"{HOOK}.updateAt('adam', {ledger['step'] + 1})")
    assert made == pytest.approx(ledger["update"], rel=1e-12)

    page.locator("#ledger-run").select_option("sgd")  # another run: its own ledger, no box for plain SGD
    page.wait_for_function(f"{HOOK}.ledger() && {HOOK}.ledger().run === 'sgd'", timeout=WAIT)
    assert page.evaluate(f"{HOOK}.ledger().step_size") is None
    shot(page, "ledger_desktop")


def test_the_ledger_in_turkish_on_a_phone(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="tr-TR")
    page = context.new_page()
    try:
        url = f"{live_server}/playground?lang=tr&runs={quote(json.dumps(RUNS))}"
        _paused_with_ledger(page, url)
        text = page.locator("#ledger").inner_text()
        assert "Bu güncellemeyi açıkla" in text and "birinci moment" in text  # noqa: RUF001
        cells = page.locator("#ledger-rows td").all_inner_texts()
        assert any("," in c for c in cells) and not any(
            "." in c for c in cells if c[:1].isdigit() or c[:1] == "-"
        )
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        shot(page, "ledger_phone_tr")
    finally:
        context.close()


@pytest.mark.parametrize(("lang", "width", "height"), [("en", 1440, 900), ("tr", 390, 844)])
def test_the_ledger_explains_a_gradient_only_optimizer(browser, live_server: str, lang, width, height):
    """Prodigy applies lr itself: one stage with its own state (d, its sums) and a step-size box; the
    update it explains is the move the next step makes."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        runs = [{"id": "prodigy", "optimizer": "prodigy"}, {"id": "rprop", "optimizer": "rprop"}]
        ledger = _paused_with_ledger(
            page, f"{live_server}/playground?lang={lang}&runs={quote(json.dumps(runs))}"
        )
        assert ledger["run"] == "prodigy" and ledger["stages"][-1]["name"] == "prodigy"
        assert ledger["step_size"] is not None
        text = page.locator("#ledger-body").inner_text()
        assert ("d (step-size estimate)" if lang == "en" else "d (adım boyutu kestirimi)") in text  # noqa: RUF001
        page.locator("#step").click()
        page.wait_for_function(f"{HOOK}.lastStep('prodigy') === {ledger['step'] + 1}", timeout=WAIT)
        made = page.evaluate(f"{HOOK}.updateAt('prodigy', {ledger['step'] + 1})")
        assert made == pytest.approx(ledger["update"], rel=1e-12)
        page.locator("#ledger-run").select_option("rprop")
        page.wait_for_function(f"{HOOK}.ledger() && {HOOK}.ledger().run === 'rprop'", timeout=WAIT)
        rprop = page.evaluate(f"{HOOK}.ledger()")
        assert rprop["step_size"] == pytest.approx([abs(u) for u in rprop["update"]], rel=1e-12)
        width_now = page.evaluate("document.documentElement.scrollWidth")
        assert width_now <= width, f"the page scrolls sideways ({width_now}px)"
        shot(page, f"ledger_gradient_only_{lang}_{width}")
    finally:
        context.close()
