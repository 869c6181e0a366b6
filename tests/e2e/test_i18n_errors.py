# ruff: noqa: RUF001  (Turkish text: the dotless i is a letter of its own here)
"""A Turkish learner reads the server's refusals in Turkish, Plotly's tool-tips in Turkish, and one decimal
separator (the comma) in inputs, readouts and axis ticks alike."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, english_left

pytestmark = pytest.mark.e2e

WAIT = 15_000  # ms: every wait is bounded
NATIVE_VALUE = "(el) => Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').get.call(el)"


def _playground(page, live_server: str, query: str = "") -> None:
    page.goto(f"{live_server}/playground?lang=tr{query}")
    page.wait_for_function("window.__playground && __playground.ready()", timeout=WAIT)


def _expression_error(page, expression: str) -> str:
    page.locator("#surface").select_option("custom")
    page.locator("#expr").fill(expression)
    page.locator("#expr-form button[type=submit], #expr-form button").first.click()
    error = page.locator("#expr-error")
    error.wait_for(state="visible", timeout=WAIT)
    return error.locator(".error-msg").inner_text()


def test_expression_errors_are_shown_in_turkish(page, live_server: str) -> None:
    _playground(page, live_server)
    text = _expression_error(page, "x**2 + foo(y)")
    assert text.startswith("bilinmeyen fonksiyon 'foo'; izin verilenler: "), text
    assert "sütun)" in text and "unknown function" not in text, text
    assert page.locator("#expr-error mark").inner_text() == "foo", "the culprit is still marked"
    text = _expression_error(page, "x**")
    assert text.startswith("sözdizimi hatası"), text
    assert "syntax error" not in text and "invalid syntax" not in text, text
    for expression, start in (
        ("(x + 1", "'(' parantezi hiç kapanmıyor"),
        ("2x + y", "bir sayının hemen ardından"),
    ):
        text = _expression_error(page, expression)
        assert text.startswith(start), text
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1440, 900), (390, 844)):
        context = page.context.browser.new_context(viewport={"width": width, "height": height})
        phone = context.new_page()
        try:
            _playground(phone, live_server)
            _expression_error(phone, "x**2 + foo(y)")
            assert phone.evaluate("document.documentElement.scrollWidth") <= width
            phone.screenshot(path=str(ARTIFACTS / f"i18n_error_tr_{width}.png"), full_page=True)
        finally:
            context.close()


def test_a_bad_csv_is_refused_in_turkish(page, live_server: str) -> None:
    page.goto(f"{live_server}/network?lang=tr")
    page.wait_for_function(
        "window.__network && __network.codeKeras.length > 0 && __network.previewRows > 0", timeout=WAIT
    )
    page.select_option("#dataset", "upload")
    bad = "age,income,have_insurance\n22,1,0\n25,abc,0\n47,1,1\n"
    page.set_input_files(
        "#csv-file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.wait_for_selector("#csv-error:not([hidden])", timeout=WAIT)
    text = page.locator("#csv-error .error-msg").inner_text()
    assert text == "3. satır, 'income' sütunu: 'abc' bir sayı değil", text
    assert not english_left(text), english_left(text)


def test_plotly_speaks_turkish_and_every_number_uses_the_decimal_comma(page, live_server: str) -> None:
    _playground(page, live_server)
    titles = page.evaluate("[...document.querySelectorAll('.modebar-btn')].map((b) => b.dataset.title)")
    assert titles, "the contour has a mode bar"
    for english in ("Zoom in", "Zoom out", "Pan", "Reset axes", "Autoscale", "Download plot as a PNG"):
        assert english not in titles, f"Plotly tool-tip left in English: {english} ({titles})"
    assert "Yakınlaştır" in titles and "Kaydır" in titles, titles
    ticks = page.evaluate(
        "[...document.querySelectorAll('.xtick text, .ytick text')].map((t) => t.textContent)"
    )
    fractional = [t for t in ticks if "," in t or "." in t]
    assert fractional and all("." not in t for t in fractional), f"axis ticks: {ticks}"
    # a number input shows the comma like the readouts, and takes one
    lr = page.locator("input[id^='hp-lr-']").first
    shown = lr.evaluate(NATIVE_VALUE)
    assert "," in shown and "." not in shown, f"the learning rate input shows {shown!r}"
    lr.fill("0,02")
    lr.dispatch_event("change")
    page.wait_for_function(
        "__playground.state().runs.some((r) => r.hyperparameters.lr === 0.02)", timeout=WAIT
    )
