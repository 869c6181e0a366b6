"""The landing page in a real browser: it lists what exists and links into the API."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def test_landing_page_shows_surfaces_optimizers_and_schedules(page, live_server: str) -> None:
    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "Watch gradient descent, step by step"
    assert page.locator("#surfaces .card").count() >= 15
    assert page.locator("#optimizers .card[data-name=adam]").is_visible()
    assert page.locator("#schedules .card").count() >= 6
    page.get_by_role("link", name="Surfaces (JSON)").click()
    page.wait_for_url("**/api/v1/surfaces")
    assert "rosenbrock" in page.content()


def test_landing_page_is_readable_on_a_phone(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto(live_server + "/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "landing_phone.png"), full_page=True)
    context.close()
    assert overflow <= 0, "no horizontal scrolling on a 375 px wide screen"
