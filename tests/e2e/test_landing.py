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


def test_a_surface_card_opens_that_surface(page, live_server: str) -> None:
    page.goto(live_server + "/?lang=tr")
    page.locator("#surfaces .card[data-name=himmelblau] h3 a").click()
    page.wait_for_url("**/playground?surface=himmelblau&lang=tr")
    page.wait_for_function("window.__playground && __playground.ready()", timeout=15_000)
    assert page.evaluate("__playground.state().surface") == "himmelblau"
    assert page.locator("#surface").input_value() == "himmelblau"
    page.goto(live_server + "/")
    href = page.locator("#surfaces .card[data-name=parabola] h3 a").get_attribute("href")
    assert href == "/learning-rate", "the 1-D parabola is the learning-rate view's surface"


def test_the_views_come_in_the_order_the_course_teaches_them(page, live_server: str) -> None:
    page.goto(live_server + "/")
    cards = page.locator("#views .card").evaluate_all("cs => cs.map(c => c.dataset.view)")
    # the slides: epoch and batch size, training with Keras, gradient descent and the optimizer comparison,
    # the learning rate, then dropout, early stopping (in the network view) and L1/L2
    course = [
        "epochs",
        "network",
        "playground",
        "race",
        "learning-rate",
        "sweep",
        "dropout",
        "regularization",
    ]
    assert cards[: len(course)] == course, cards
    nav = page.locator("header nav a").evaluate_all(
        "links => links.map(a => new URL(a.href).pathname.slice(1))"
    )
    assert [v for v in nav if v in cards] == cards, f"the nav follows the same order: {nav}"
