"""The learning-rate view in a browser: four presets stream live over one socket; step size = slope × lr."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

PRESETS = ["too_low", "just_right", "too_high", "much_too_high"]
WAIT = 15_000


def _open(page, live_server: str, query: str = "") -> None:
    page.goto(f"{live_server}/learning-rate{query}")
    page.wait_for_function("window.__lr && __lr.state().started && __lr.points('own') === 1", timeout=WAIT)


def _number(text: str) -> float:
    match = re.search(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text.replace("−", "-"))
    assert match, f"no number in {text!r}"
    return float(match.group())


def test_four_presets_play_together_and_end_as_the_slides_say(page, live_server: str) -> None:
    _open(page, live_server, "?speed=60")
    assert all(page.evaluate(f"__lr.points('{run}')") == 1 for run in PRESETS), "step 0 of every run is drawn"
    page.locator("h1").click()  # focus outside any field: Space toggles play
    page.keyboard.press("Space")
    page.wait_for_function("!__lr.state().paused", timeout=WAIT)
    page.wait_for_function("['too_low','too_high'].every(r => __lr.points(r) > 12)", timeout=WAIT)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "learning_rate_mid_run.png"), full_page=True)
    page.wait_for_function("__lr.state().done", timeout=WAIT)

    order = page.evaluate("__lr.endOrder()")
    assert order.index("just_right") < order.index("too_low"), f"just right ends before too low: {order}"
    assert page.evaluate("__lr.ended('just_right')") == "converged"
    assert page.evaluate("__lr.ended('too_low')") == "max_steps"
    assert page.evaluate("__lr.ended('much_too_high')") == "diverged"

    xs = page.evaluate("__lr.data('too_high').x")
    flips = sum(1 for a, b in itertools.pairwise(xs[:21]) if a * b < 0)
    assert flips == 20, f"too high: x changes sign on every step, got {flips} flips in 20 steps"

    panel = page.locator(".lr-panel[data-run=much_too_high]")
    assert re.match(r"Diverged after \d+ steps", panel.locator(".end-reason").inner_text())
    steps = page.evaluate("__lr.endStep('just_right')")
    end = {run: page.locator(f".lr-panel[data-run={run}] .end-reason").inner_text() for run in PRESETS}
    assert steps == 1 and end["just_right"] == "Converged in 1 step", "lr = 0.5 lands on the minimum at once"
    assert end["too_low"].startswith("Still far after 150 steps")
    assert page.locator("#play").inner_text() == "Play again"
    # the loss plot holds one line per run, on a log axis
    loss = page.evaluate("(d => [d.data.length, d.layout.yaxis.type])(document.getElementById('loss-plot'))")
    assert loss == [5, "log"]


def test_readout_shows_step_size_equals_slope_times_learning_rate(page, live_server: str) -> None:
    _open(page, live_server)
    for n in (2, 3, 4):
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(f"__lr.points('too_high') === {n}", timeout=WAIT)
    step_shown = "document.querySelector('[data-run=too_high] [data-field=t]').textContent.startsWith('2 →')"
    page.wait_for_function(step_shown, timeout=WAIT)
    for run in [*PRESETS, "own"]:
        panel = page.locator(f".lr-panel[data-run={run}]")
        slope = _number(panel.locator("[data-field=slope]").inner_text())
        lr = _number(panel.locator("[data-field=lr]").inner_text())
        size = _number(panel.locator("[data-field=size]").inner_text())
        assert slope != 0
        assert math.isclose(abs(size), abs(slope) * lr, rel_tol=2e-3), f"{run}: |{size}| ≠ |{slope}| × {lr}"
        data = page.evaluate(f"__lr.data('{run}')")
        move = abs(data["x"][-1] - data["x"][-2])  # just_right (lr 0.5) made its one step and converged
        assert math.isclose(move, abs(size), rel_tol=2e-3), f"{run}: the step shown is the move made"


def test_step_adds_exactly_one_point(page, live_server: str) -> None:
    _open(page, live_server)
    before = page.evaluate("__lr.state().stateMessages")
    page.get_by_role("button", name="Step").click()
    # the server answers a step with one `steps` message and then a `state`: wait for that state
    page.wait_for_function(f"__lr.state().stateMessages > {before}", timeout=WAIT)
    for run in [*PRESETS, "own"]:
        assert page.evaluate(f"__lr.points('{run}')") == 2, f"{run}: one Step adds exactly one point"
    assert page.evaluate("__lr.state().paused") is True


def test_own_learning_rate_slider_changes_the_next_step(page, live_server: str) -> None:
    _open(page, live_server)
    page.get_by_role("button", name="Step").click()
    page.wait_for_function("__lr.points('own') === 2", timeout=WAIT)
    slider = page.get_by_role("slider", name=re.compile("^Your own learning rate"))
    slider.fill(str(math.log10(0.3)))
    page.wait_for_function("__lr.state().ownUpdatedFrom !== null", timeout=WAIT)
    new_lr = page.evaluate("__lr.state().ownLr")
    assert math.isclose(new_lr, 0.3, rel_tol=0.03)
    assert page.locator("#own-value").inner_text() == f"{new_lr:g}"
    page.get_by_role("button", name="Step").click()
    page.wait_for_function("__lr.points('own') === 3", timeout=WAIT)
    own = page.evaluate("__lr.data('own')")
    assert own["lr"][1] == 0.1 and own["lr"][2] == new_lr, own["lr"]
    assert math.isclose(own["update_x"][2], -new_lr * own["grad_x"][1], rel_tol=1e-9)
    assert "lr=0.1" not in page.url and f"own={new_lr:g}" in page.url, "the own rate is in the URL"


def test_shared_url_reproduces_the_settings(page, live_server: str) -> None:
    _open(page, live_server, "?low=0.02&high=0.8&own=0.3&speed=10")
    assert page.locator("input[data-key=too_low]").input_value() == "0.02"
    assert page.locator("input[data-key=too_high]").input_value() == "0.8"
    assert page.locator("#speed").input_value() == "10"
    assert page.locator("#own-value").inner_text() == "0.3"
    assert page.evaluate("__lr.data('too_low').lr[0]") == 0.02
    assert page.evaluate("__lr.data('own').lr[0]") == 0.3
    page.locator("input[data-key=much_too_high]").fill("1.2")
    page.locator("input[data-key=much_too_high]").press("Enter")
    restarted = "__lr.points('much_too_high') === 1 && __lr.data('much_too_high').lr[0] === 1.2"
    page.wait_for_function(restarted, timeout=WAIT)
    page.get_by_role("button", name="Copy link").click()
    page.wait_for_function("document.getElementById('copy-link').dataset.url", timeout=WAIT)
    url = page.locator("#copy-link").get_attribute("data-url")
    # the URL keys are the runs' ids (the old low/high/diverge of the query above are read as aliases)
    for part in ("too_low=0.02", "too_high=0.8", "much_too_high=1.2", "own=0.3", "speed=10"):
        assert part in url, f"{part} missing from the shared link {url}"
    other = page.context.new_page()
    other.goto(url)
    other.wait_for_function("window.__lr && __lr.state().started && __lr.points('own') === 1", timeout=WAIT)
    assert other.evaluate("__lr.state().settings") == page.evaluate("__lr.state().settings")
    other.close()


def test_learning_rate_page_fits_a_phone(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto(f"{live_server}/learning-rate?speed=60")
    page.wait_for_function("window.__lr && __lr.state().started && __lr.points('own') === 1", timeout=WAIT)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("__lr.points('too_high') > 10 && __lr.ended('much_too_high')", timeout=WAIT)
    columns = page.evaluate(
        "getComputedStyle(document.getElementById('panels')).gridTemplateColumns.split(' ').length"
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "learning_rate_phone.png"), full_page=True)
    context.close()
    assert columns == 2, "the four panels form a 2 × 2 grid on a phone"
    assert overflow <= 0, "no horizontal scrolling on a 375 px wide screen"


def test_the_page_calls_lr_half_optimal_one_the_edge_and_above_one_divergent_as_it_shows(
    page, live_server
) -> None:
    _open(page, live_server, "?speed=max")
    just_right = page.locator(".lr-panel[data-run=just_right] input").input_value()
    assert just_right == "0.5", f"the 'just right' panel starts at the optimal rate for x², not {just_right}"
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("__lr.state().done", timeout=WAIT)
    assert page.evaluate("__lr.data('just_right').x") == [2.5, 0.0], "one step from the start to the minimum"
    text = page.locator("main").inner_text()
    assert "0.45" not in text
    assert "lr = 0.5 lands on it in one step" in text
    assert "At exactly 1.0 it bounces between x and −x forever" in text
    assert "above 1 each jump lands higher" in text


def test_the_own_slider_after_the_run_ended_runs_it_again_with_the_new_rate(page, live_server) -> None:
    _open(page, live_server, "?speed=max")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("__lr.state().done", timeout=WAIT)
    assert page.evaluate("__lr.data('own').lr[0]") == 0.1
    slider = page.get_by_role("slider", name=re.compile("^Your own learning rate"))
    slider.fill("0")  # fill sends input and change: the slider let go at 10^0 = 1
    page.wait_for_function("__lr.data('own').lr.length > 0 && __lr.data('own').lr[0] !== 0.1", timeout=WAIT)
    page.wait_for_function("__lr.ended('own') !== null", timeout=WAIT)
    own = page.evaluate("__lr.data('own')")
    assert own["lr"][0] == 1 and own["x"][:3] == [2.5, -2.5, 2.5], own
    panel = page.locator(".lr-panel[data-run=own]")
    assert panel.locator("[data-field=lr]").inner_text() == "1", "the panel shows the rate the slider shows"
    assert panel.locator(".end-reason").inner_text().startswith("Still far after 150 steps"), (
        "1.0 bounces forever"
    )
