"""How surfaces are drawn: equal axis scales, paths and arrows kept inside the plot, labels that fit."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

HOOK = "window.__playground"
WAIT = 20_000

# Pixels per unit across and up, of the contour and of its overlay (they must agree with each other too).
SCALES = """(sel) => [...document.querySelectorAll(`${sel} .plot-base, ${sel} .plot-overlay`)].map((div) => {
  const {xaxis: x, yaxis: y} = div._fullLayout;
  return [x._length / Math.abs(x.range[1] - x.range[0]), y._length / Math.abs(y.range[1] - y.range[0]),
          x._offset, y._offset, x._length, y._length];
})"""


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _equal(scales: list[list[float]]) -> None:
    (bx, by, *base), (_, _, *over) = scales
    assert abs(bx - by) / bx < 0.01, f"one unit is {bx:.1f} px across but {by:.1f} px up"
    assert [round(v) for v in base] == [round(v) for v in over], (
        f"overlay {over} is not on the contour {base}"
    )


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)])
def test_the_bowl_is_drawn_round_one_unit_as_long_across_as_up(browser, live_server: str, size) -> None:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(live_server + "/playground?surface=bowl")
    page.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)
    _equal(page.evaluate(SCALES, "#contour"))
    shot(page, f"bowl_round_{size[0]}")
    context.close()


def test_the_l1_diamond_and_l2_circle_are_drawn_at_equal_scales(page, live_server: str) -> None:
    page.goto(live_server + "/regularization")
    page.wait_for_function(
        "window.__reg && __reg.solutions() !== null && __reg.overlayTraces() > 0", timeout=WAIT
    )
    _equal(page.evaluate(SCALES, "#contour"))


def test_an_arrow_from_a_run_outside_the_view_is_cut_at_the_plot_edge(page, live_server: str) -> None:
    # On the bowl from (2.9, 0) at lr 1.2 every step overshoots by more: x is 2.9, -3.92, 5.49, ...; the
    # arrows of step 2 start at x = -3.92, left of the view (-3 ... 3), and point back across it.
    runs = [{"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 1.2}}]
    query = urlencode({"surface": "bowl", "runs": json.dumps(runs), "arrows": "true", "start": "2.9,0"})
    page.goto(f"{live_server}/playground?{query}")
    page.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)
    for n in (1, 2):
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(f"{HOOK}.lastStep('sgd') === {n}", timeout=WAIT)
    frames = page.evaluate(f"{HOOK}.frames()")
    page.wait_for_function(f"{HOOK}.frames() > {frames + 3}", timeout=WAIT)
    assert page.evaluate(f"{HOOK}.tail('sgd', 'x', 2)")[0] < -3, "step 1 lies left of the view"
    view = page.evaluate(f"{HOOK}.range()")
    notes = page.evaluate("document.querySelector('#contour .plot-overlay').layout.annotations")
    assert len(notes) == 2, "the gradient step and the update, both partly inside the view"
    eps = 1e-9
    for note in notes:
        for x, y in ((note["x"], note["y"]), (note["ax"], note["ay"])):
            inside = (
                view["x"][0] - eps <= x <= view["x"][1] + eps
                and view["y"][0] - eps <= y <= view["y"][1] + eps
            )
            assert inside, f"an arrow end ({x}, {y}) lies outside the plot {view}: it crosses the axes"
    shot(page, "arrow_cut_at_the_edge")


def test_colour_bar_ticks_of_exp_100x_fit_beside_the_bar_and_differ(page, live_server: str) -> None:
    page.goto(live_server + "/playground?" + urlencode({"surface": "custom", "expression": "exp(100*x)"}))
    page.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)
    ticks = page.evaluate(
        """() => {
          const svg = document.querySelector('#contour .plot-base .main-svg').getBoundingClientRect();
          return [...document.querySelectorAll('#contour .plot-base .colorbar .cbaxis text, '
                                               + '#contour .plot-base .colorbar .tick text')]
            .map(t => ({text: t.textContent, right: t.getBoundingClientRect().right, edge: svg.right}));
        }"""
    )
    assert len(ticks) >= 3, ticks
    texts = [t["text"] for t in ticks]
    assert len(set(texts)) == len(texts), f"every tick reads the same: {texts}"
    for tick in ticks:
        assert tick["right"] <= tick["edge"] + 0.5, f"tick {tick['text']!r} is cut at the figure's edge"
    shot(page, "colour_bar_exp_100x")


def test_the_elongated_bowls_angle_field_stays_inside_its_panel(page, live_server: str) -> None:
    page.goto(live_server + "/playground?surface=elongated")
    page.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)
    panel = page.locator("#surface-params").evaluate("e => e.closest('.panel').getBoundingClientRect().right")
    for name in ("condition_number", "angle"):
        box = page.locator(f"#param-{name}").bounding_box()
        assert box["x"] + box["width"] <= panel, (
            f"{name} ends at {box['x'] + box['width']}, its panel at {panel}"
        )


def test_sweep_small_multiple_titles_stay_on_one_line_in_turkish(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(live_server + "/sweep?lang=tr&speed=max")
    page.wait_for_function("window.__sweep && __sweep.state().connected", timeout=WAIT)
    page.locator("#run").click()
    page.wait_for_function("__sweep.state().done", timeout=WAIT)
    heights = page.locator(".multiple h3").evaluate_all(
        "hs => hs.map(h => [h.getBoundingClientRect().height, parseFloat(getComputedStyle(h).lineHeight)"
        " || parseFloat(getComputedStyle(h).fontSize) * 1.3])"
    )
    shot(page, "sweep_titles_tr")
    context.close()
    assert heights and all(h <= 1.5 * line for h, line in heights), f"a title wraps: {heights}"
