"""A phone (390 × 844): what you start is on the screen with its plot, no chart's legend lies under the mode
bar, and no table runs off the screen."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

HOOK = "window.__playground"
WAIT = 20_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    yield context.new_page()
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("view", ["playground", "race"])
def test_play_and_the_plot_it_animates_share_the_phone_screen(phone, live_server: str, view: str) -> None:
    phone.goto(f"{live_server}/{view}?speed=max&steps=300")
    phone.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)
    phone.locator("#play").scroll_into_view_if_needed()
    phone.evaluate("document.querySelector('#play').scrollIntoView({block: 'start'})")
    play = phone.locator("#play").bounding_box()
    plot = phone.locator("#contour").bounding_box()
    assert plot["y"] > play["y"], "the plot follows the Play button"
    assert plot["y"] + plot["height"] / 2 < PHONE["height"], (
        f"with Play at the top of the screen the plot starts at {plot['y'] - play['y']:.0f} px below it"
    )
    phone.locator("#play").tap()
    phone.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    shot(phone, f"{view}_phone_play")


@pytest.mark.parametrize("view", ["playground", "race"])
def test_no_mode_bar_covers_a_legend_on_a_phone(phone, live_server: str, view: str) -> None:
    phone.goto(f"{live_server}/{view}?speed=max&steps=200")
    phone.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)
    phone.locator("#play").tap()
    phone.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    phone.locator("#loss").tap()  # a touch shows Plotly's mode bar for good where there is one
    bars = phone.evaluate(
        "[...document.querySelectorAll('#loss .modebar, #contour .modebar')]"
        ".filter(m => m.getBoundingClientRect().width > 0).length"
    )
    assert bars == 0, "Plotly's mode bar is drawn over the figures"
    assert phone.evaluate("document.querySelector('#loss').layout.showlegend") is True


def test_every_column_of_the_race_table_is_on_a_phone_screen(phone, live_server: str) -> None:
    phone.goto(f"{live_server}/race?speed=max&steps=300&lang=tr")
    phone.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)
    phone.locator("#play").tap()
    phone.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    phone.wait_for_function(
        "[...document.querySelectorAll('#results tbody [data-field=end]')]"
        ".every(td => td.textContent !== '–')",
        timeout=WAIT,
    )
    cells = phone.locator("#results tbody tr:first-child :is(th, td)").evaluate_all(
        "cs => cs.map(c => c.getBoundingClientRect().right)"
    )
    shot(phone, "race_table_phone")
    columns = phone.locator("#results thead th").count()  # run, steps, evaluations, converged, loss, …
    assert len(cells) == columns and max(cells) <= PHONE["width"], f"cells end at {cells}"
    labels = phone.locator("#results tbody tr:first-child td").evaluate_all(
        "cs => cs.map(c => getComputedStyle(c, '::before').content)"
    )
    assert all(label not in ("none", '""') for label in labels), f"every value says what it is: {labels}"


@pytest.mark.parametrize("view", ["network", "epochs"])
def test_no_mode_bar_on_the_network_figures_on_a_phone(phone, live_server: str, view: str) -> None:
    """The network views' charts (netplot.js, epochs.js) leave their legends uncovered on a phone too."""
    phone.goto(f"{live_server}/{view}?speed=max")
    phone.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0", timeout=WAIT)
    phone.locator("#play").tap()
    phone.wait_for_function(
        "[...document.querySelectorAll('.js-plotly-plot')]"
        ".some(p => (p.data || []).some(t => (t.x || []).length > 1))",
        timeout=WAIT,
    )
    for plot in phone.locator(".js-plotly-plot").all()[:3]:
        if plot.is_visible():
            plot.tap()
    bars = phone.evaluate(
        "[...document.querySelectorAll('.modebar')].filter(m => m.getBoundingClientRect().width > 0).length"
    )
    assert bars == 0, f"Plotly's mode bar is drawn over the {view} figures"
