"""Curvature in the browser: the eigen-direction cross on the playground, 2/λmax on /learning-rate and /sweep,
and the network's sharpness against 2/lr (the edge of stability)."""

from __future__ import annotations

import json
import math
import urllib.request
from urllib.parse import quote

import pytest

from tests.e2e.conftest import ARTIFACTS, VISIBLE_TEXT, english_left

pytestmark = pytest.mark.e2e

WAIT = 20_000  # ms: every wait is bounded
PG = "window.__playground"


def api(live_server: str, path: str) -> dict:
    with urllib.request.urlopen(live_server + path) as response:
        return json.load(response)


def cross(page) -> list[dict]:
    """The arms of the cross as drawn: the overlay's Plotly traces with meta 'curvature'."""
    return page.evaluate(
        "[...document.querySelectorAll('#contour .plot-overlay')].flatMap(el => el.data ?? [])"
        ".filter(t => t.meta === 'curvature').map(t => ({x: [...t.x], y: [...t.y], dash: t.line.dash}))"
    )


def parallel(arm: dict, vector: list[float]) -> bool:
    dx, dy = arm["x"][1] - arm["x"][0], arm["y"][1] - arm["y"][0]
    length = math.hypot(dx, dy)
    return length > 0 and abs(dx * vector[1] - dy * vector[0]) / length < 1e-9


def test_the_cross_lies_along_the_hessians_eigenvectors_at_the_start_then_at_the_paused_point(
    page, live_server: str
) -> None:
    params = {"condition_number": 10, "angle": 30}
    query = f"surface=elongated&params={quote(json.dumps(params))}&curv=1&speed=30"
    page.goto(f"{live_server}/playground?{query}")
    page.wait_for_function(f"{PG} && {PG}.ready() && {PG}.curvature()?.answer", timeout=WAIT)
    start = page.evaluate(f"{PG}.curvature().point")
    surface = "/api/v1/surfaces/elongated"
    assert start == api(live_server, f"{surface}?grid=10&condition_number=10&angle=30")["start"]
    x, y = start
    truth = api(live_server, f"{surface}/curvature?x={x!r}&y={y!r}&condition_number=10&angle=30")
    page.wait_for_function(
        "[...document.querySelectorAll('#contour .plot-overlay')].flatMap(el => el.data ?? [])"
        ".filter(t => t.meta === 'curvature').length === 2",
        timeout=WAIT,
    )
    arms = cross(page)
    for arm, vector in zip(arms, truth["eigenvectors"], strict=True):
        assert parallel(arm, vector), f"arm {arm} is not along the eigenvector {vector}"
        assert [(arm["x"][0] + arm["x"][1]) / 2, (arm["y"][0] + arm["y"][1]) / 2] == pytest.approx(start)
    lengths = [math.hypot(a["x"][1] - a["x"][0], a["y"][1] - a["y"][0]) for a in arms]
    assert lengths[1] / lengths[0] == pytest.approx(10), "arm lengths ∝ |λ|: 1 and 10"
    assert {a["dash"] for a in arms} == {"solid"}, "a bowl curves up both ways"
    readout = page.locator("#curv-readout")
    assert readout.locator("[data-field=lambda_max]").inner_text() == "10"
    assert readout.locator("[data-field=lambda_min]").inner_text() == "1"
    assert readout.locator("[data-field=edge]").inner_text() == "0.2"

    # run, pause: the cross moves to the first run's current point, with that point's Hessian
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{PG}.pathLength('sgd') > 5 && {PG}.curvature() === null", timeout=WAIT)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function(f"{PG}.status() === 'paused' && {PG}.curvature()?.answer", timeout=WAIT)
    point = page.evaluate(f"{PG}.curvature().point")
    current = [page.evaluate(f"{PG}.tail('sgd', '{c}')[0]") for c in ("x", "y")]
    assert point == current and point != start
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "curvature_playground_paused.png"), full_page=True)


def test_negative_curvature_is_dashed_and_turkish_readouts_use_a_decimal_comma(
    page, live_server: str
) -> None:
    # Rosenbrock at (-1, 1.5): eigenvalues -46.66 and 848.66 (docs/api.md)
    page.goto(f"{live_server}/playground?lang=tr&surface=rosenbrock&start=-1,1.5&curv=1")
    page.wait_for_function(f"{PG} && {PG}.ready() && {PG}.curvature()?.answer", timeout=WAIT)
    page.wait_for_function(
        "[...document.querySelectorAll('#contour .plot-overlay')].flatMap(el => el.data ?? [])"
        ".filter(t => t.meta === 'curvature').length === 2",
        timeout=WAIT,
    )
    assert [a["dash"] for a in cross(page)] == ["dash", "solid"]
    readout = page.locator("#curv-readout")
    assert readout.locator("[data-field=lambda_min]").inner_text() == "-46,66"
    assert readout.locator("[data-field=edge]").inner_text() == "0,002357"


def test_the_toggle_is_url_state_and_off_draws_nothing(page, live_server: str) -> None:
    page.goto(f"{live_server}/playground?surface=elongated")
    page.wait_for_function(f"{PG} && {PG}.ready()", timeout=WAIT)
    assert not page.locator("#toggle-curv").is_checked()
    assert page.locator("#curv-readout").is_hidden()
    page.locator("#toggle-curv").check()
    page.wait_for_function(f"{PG}.curvature()?.answer", timeout=WAIT)
    assert "curv=1" in page.url
    page.locator("#toggle-curv").uncheck()
    page.wait_for_function(
        "[...document.querySelectorAll('#contour .plot-overlay')].flatMap(el => el.data ?? [])"
        ".every(t => t.meta !== 'curvature')",
        timeout=WAIT,
    )
    assert page.locator("#curv-readout").is_hidden()


def test_learning_rate_edge_line_sits_at_one_where_the_parabola_bounces_forever(
    page, live_server: str
) -> None:
    page.goto(f"{live_server}/learning-rate?own=1&speed=max&steps=40")
    page.wait_for_function("window.__lr && __lr.edge()", timeout=WAIT)
    assert page.evaluate("__lr.edge()")["lambdaMax"] == 2
    line = page.evaluate("document.getElementById('edge-plot').data.find(t => t.meta === 'edge').x")
    assert line == [1, 1]
    labels = page.evaluate("document.getElementById('edge-plot').layout.annotations.map(a => a.text)")
    assert "2/λmax = 1" in labels
    # the runs: at lr = 2/λmax = 1 x bounces between ±x0 (never converges, never diverges); above it diverges
    page.locator("h1").click()
    page.keyboard.press("Space")
    page.wait_for_function("__lr.state().done", timeout=WAIT)
    xs = page.evaluate("__lr.data('own').x")
    assert all(abs(abs(x) - abs(xs[0])) < 1e-9 for x in xs), "lr = 2/λmax: |x| stays the same"
    assert page.evaluate("__lr.ended('own')") == "max_steps"
    assert page.evaluate("__lr.ended('much_too_high')") == "diverged"  # 1.05 > 2/λmax
    below = page.evaluate("__lr.data('too_high').x")  # 0.9 < 2/λmax: it overshoots, yet settles
    assert page.evaluate("__lr.ended('too_high')") != "diverged" and abs(below[-1]) < 0.01 * abs(below[0])


def test_sweep_draws_two_over_lambda_max_and_plain_descent_diverges_exactly_beyond_it(
    page, live_server: str
) -> None:
    page.goto(f"{live_server}/sweep?optimizer=sgd&surface=elongated&n=6&lo=0.05&hi=0.4&steps=200&speed=max")
    page.wait_for_function("window.__sweep && __sweep.state().connected", timeout=WAIT)
    page.get_by_role("button", name="Run sweep").click()
    page.wait_for_function("__sweep.state().done && __sweep.edgeLine()", timeout=WAIT)
    edge = page.evaluate("__sweep.edge()")
    assert edge["lambdaMax"] == pytest.approx(10) and edge["edge"] == pytest.approx(0.2)
    assert page.evaluate("__sweep.edgeLine()") == pytest.approx([0.2, 0.2])
    for run in page.evaluate("__sweep.runs()"):
        diverged = page.evaluate(f"__sweep.ended('{run['id']}')") == "diverged"
        assert diverged == (run["lr"] > 0.2), f"lr {run['lr']}: diverged={diverged}"
    assert "2/λmax" in page.locator("#edge-note").inner_text()


def test_network_sharpness_climbs_to_two_over_lr_on_the_preset(page, live_server: str) -> None:
    page.goto(f"{live_server}/network")
    page.wait_for_function("window.__network && window.__network.status === 'idle'", timeout=WAIT)
    assert page.locator("#sharpness-frame").is_hidden()
    page.locator("#sharpness-preset").click()
    page.wait_for_url("**/network?*sharpness=1*", timeout=WAIT)
    page.wait_for_function("window.__network && window.__network.status === 'idle'", timeout=WAIT)
    assert page.locator("#sharpness").is_checked()
    config = page.evaluate("window.__network.config")
    assert config["sharpness"] is True and config["batch_size"] >= 200 and config["optimizer"] == "sgd"
    assert config["hidden"] == [32, 32] and config["activations"] == ["tanh", "tanh"]
    # bounded: 400 epochs at max speed (the preset's 600 take ~10 s at its own speed)
    url = page.url.replace("epochs=600", "epochs=400").replace("speed=60", "speed=max")
    assert url != page.url
    page.goto(url)
    page.wait_for_function("window.__network && window.__network.status === 'idle'", timeout=WAIT)
    page.locator("#play").click()
    page.wait_for_function("window.__network.end === 'done'", timeout=60_000)
    page.wait_for_function("(window.__network.sharpnessPlot.sharpness?.x.length ?? 0) === 400", timeout=WAIT)
    drawn = page.evaluate("window.__network.sharpnessPlot")
    edge = drawn["edge"]["y"]
    assert edge == [40, 40], "the line is 2/lr = 2/0.05"
    values = drawn["sharpness"]["y"]
    assert values[0] < 0.5 * 40, "it starts well below the edge"
    assert 0.9 * 40 < max(values) < 1.1 * 40, f"and climbs to it: max {max(values)}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "curvature_network_sharpness.png"), full_page=True)


TURKISH = {
    "/playground?lang=tr&surface=elongated&curv=1": "window.__playground?.curvature()?.answer",
    "/learning-rate?lang=tr": "window.__lr?.edge()",
    "/network?lang=tr&sharpness=1&epochs=3&speed=max": "window.__network?.status === 'idle'",
}


@pytest.mark.parametrize("path", list(TURKISH))
def test_turkish_curvature_texts_leave_no_english(page, live_server: str, path: str) -> None:
    page.goto(live_server + path)
    page.wait_for_function(TURKISH[path], timeout=WAIT)
    if path.startswith("/network"):
        page.locator("#play").click()
        page.wait_for_function("window.__network.end === 'done'", timeout=WAIT)
        page.wait_for_function("window.__network.sharpnessPlot.sharpness?.x.length === 3", timeout=WAIT)
    text = page.evaluate(VISIBLE_TEXT)
    assert english_left(text) == []
    assert any(word in text for word in ("Eğrilik", "2/λmax", "keskinlik"))


def test_a_point_without_a_hessian_says_so_and_draws_no_cross(page, live_server: str) -> None:
    # Ackley's cone tip at the origin: the server refuses with a 422 (docs/api.md)
    page.goto(f"{live_server}/playground?surface=ackley&start=0,0&curv=1")
    page.wait_for_function(f"{PG} && {PG}.ready() && {PG}.curvature()?.error", timeout=WAIT)
    readout = page.locator("#curv-readout")
    page.wait_for_function("document.querySelector('#curv-readout').textContent.includes('differentiable')")
    assert "not twice differentiable" in readout.inner_text()
    assert cross(page) == []
