"""The loss-landscape view in a browser: contour and projected path, the 3-D surface, shared URLs."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

WAIT = 20_000


def _open(page, live_server: str, query: str = "") -> None:
    page.goto(f"{live_server}/landscape{query}")
    page.wait_for_function("window.__landscape && __landscape.ready()", timeout=WAIT)


def test_contour_and_projected_path_one_point_per_epoch(page, live_server: str) -> None:
    _open(page, live_server, "?epochs=30&n=31")
    assert page.evaluate("__landscape.contourDrawn()") == 31
    assert page.evaluate("__landscape.grid()") == {"n": 31, "span": 1}
    page.wait_for_function("__landscape.drawnPathPoints() > 0", timeout=WAIT)
    assert page.evaluate("__landscape.epochs()") == 30
    assert page.evaluate("__landscape.drawnPathPoints()") == 30, "one path point per recorded epoch"
    assert "30 epochs" in page.locator("#status").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "landscape_contour.png"), full_page=True)


def test_3d_toggle_draws_a_webgl_surface(page, live_server: str) -> None:
    _open(page, live_server, "?epochs=20&n=21")
    assert page.evaluate("__landscape.webgl()"), "headless Chromium gives WebGL through SwiftShader"
    page.get_by_role("checkbox", name="3-D surface").check()
    page.wait_for_function("__landscape.surface3dDrawn()", timeout=WAIT)
    assert page.locator("#surface3d canvas").count() > 0
    assert page.locator("#contour").is_hidden()
    assert "d3=1" in page.evaluate("location.search")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "landscape_3d.png"), full_page=True)


def test_a_shared_url_reproduces_the_settings(page, live_server: str) -> None:
    _open(page, live_server, "?epochs=12&n=21&span=0.5&hidden=8,8&optimizer=sgd&lr=0.05&dataset=xor&seed=3")
    expected = {
        "epochs": 12,
        "n": 21,
        "span": 0.5,
        "hidden": [8, 8],
        "optimizer": "sgd",
        "lr": 0.05,
        "dataset": "xor",
        "seed": 3,
    }
    state = page.evaluate("__landscape.state()")
    assert {k: state[k] for k in expected} == expected
    assert page.evaluate("__landscape.grid()") == {"n": 21, "span": 0.5}
    assert page.evaluate("__landscape.epochs()") == 12
    assert page.locator("#hidden").input_value() == "8,8"
    assert page.locator("#optimizer").input_value() == "sgd"

    # change a field by keyboard, redraw, copy the link and open it in a fresh page
    page.locator("#epochs").fill("15")
    page.locator("#epochs").press("Enter")
    page.wait_for_function("__landscape.epochs() === 15", timeout=WAIT)
    page.get_by_role("button", name="Copy link").click()
    url = page.locator("#share-url").input_value()
    assert "epochs=15" in url
    other = page.context.new_page()
    other.goto(url)
    other.wait_for_function("window.__landscape && __landscape.ready()", timeout=WAIT)
    assert other.evaluate("__landscape.state()") == page.evaluate("__landscape.state()")
    assert other.evaluate("__landscape.epochs()") == 15
    other.close()


def test_landscape_on_a_phone_has_no_horizontal_scroll(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        _open(page, live_server, "?epochs=20&n=21")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "landscape_phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
