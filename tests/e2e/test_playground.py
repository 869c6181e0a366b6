"""The surface playground in a real browser: live paths, playback, live hyperparameters, URL state."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

HOOK = "window.__playground"
WAIT = 15_000  # ms: every wait is bounded


def open_view(page, url: str) -> None:
    """Open a descent view and wait until its surface is drawn and the stream said hello."""
    page.goto(url)
    page.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)


def readout(page, run: str, field: str) -> str:
    return page.locator(f"#readouts [data-run='{run}'] [data-field='{field}']").inner_text()


def wait_frames(page, n: int = 8) -> None:
    """Let the page draw `n` more animation frames (a frame counter, not a sleep)."""
    frames = page.evaluate(f"{HOOK}.frames()")
    page.wait_for_function(f"{HOOK}.frames() >= {frames + n}", timeout=WAIT)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_play_draws_the_path_live_and_the_readout_loss_falls(page, live_server: str) -> None:
    open_view(page, live_server + "/playground?speed=500")
    assert page.evaluate(f"{HOOK}.drawnPoints()") == 0
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.drawnPoints() > 40", timeout=WAIT)
    # Rosenbrock at the default start (-1.5, 2) has loss 12.5; the readout must show it falling.
    page.wait_for_function(
        "Number(document.querySelector(\"#readouts [data-run='sgd'] [data-field='loss']\").textContent) < 10",
        timeout=WAIT,
    )
    assert page.evaluate(f"{HOOK}.pathLength('sgd')") > 40
    traces = page.evaluate("document.querySelector('#loss').data.length")
    assert traces == 2, "one loss trace per run"
    shot(page, "playground_running")


def test_pause_stops_new_points_and_step_adds_exactly_one_step_per_run(page, live_server: str) -> None:
    open_view(page, live_server + "/playground?speed=120")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.pathLength('momentum') >= 10", timeout=WAIT)
    acks = page.evaluate(f"{HOOK}.acks()")
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function(f"{HOOK}.acks() > {acks}", timeout=WAIT)  # the server confirmed the pause
    before = page.evaluate(f"[{HOOK}.pathLength('sgd'), {HOOK}.pathLength('momentum')]")
    wait_frames(page, 20)
    after = page.evaluate(f"[{HOOK}.pathLength('sgd'), {HOOK}.pathLength('momentum')]")
    assert after == before, f"paused, yet the paths grew from {before} to {after}"

    steps = page.evaluate(f"[{HOOK}.lastStep('sgd'), {HOOK}.lastStep('momentum')]")
    acks = page.evaluate(f"{HOOK}.acks()")
    page.get_by_role("button", name="Step").click()
    page.wait_for_function(f"{HOOK}.acks() > {acks}", timeout=WAIT)
    wait_frames(page, 4)
    assert page.evaluate(f"[{HOOK}.lastStep('sgd'), {HOOK}.lastStep('momentum')]") == [s + 1 for s in steps]
    assert page.evaluate(f"[{HOOK}.pathLength('sgd'), {HOOK}.pathLength('momentum')]") == [
        n + 1 for n in before
    ]
    assert readout(page, "sgd", "step") == str(steps[0] + 1)

    page.keyboard.press("ArrowRight")  # → steps too when focus is not in an input
    page.wait_for_function(f"{HOOK}.lastStep('sgd') === {steps[0] + 2}", timeout=WAIT)


def test_changing_the_learning_rate_mid_run_takes_effect_at_once(page, live_server: str) -> None:
    open_view(page, live_server + "/playground?speed=30")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.lastStep('sgd') >= 5", timeout=WAIT)
    assert readout(page, "sgd", "lr") == "0.001"
    lr_input = page.locator("#runs [data-run='sgd'] input[data-hp='lr']")
    lr_input.fill("0.0003")
    lr_input.press("Enter")
    lr_input.blur()
    page.wait_for_function(f"{HOOK}.tail('sgd', 'lr')[0] === 0.0003", timeout=WAIT)
    page.wait_for_function(
        "document.querySelector(\"#readouts [data-run='sgd'] [data-field='lr']\").textContent === '3.00e-4'",
        timeout=WAIT,
    )
    page.wait_for_function(f"{HOOK}.tail('sgd', 'lr', 3).every((v) => v === 0.0003)", timeout=WAIT)
    # Plain SGD moves by exactly -lr * gradient: the path's last step must be the new, shorter one.
    # Read one consistent snapshot: steps keep arriving between separate evaluate() calls.
    tails = page.evaluate(
        f"Object.fromEntries(['lr', 'grad_x', 'grad_y', 'update_x', 'update_y']"
        f".map((c) => [c, {HOOK}.tail('sgd', c, 2)]))"
    )
    lr, gx, gy = tails["lr"][0], tails["grad_x"][0], tails["grad_y"][0]
    ux, uy = tails["update_x"][1], tails["update_y"][1]
    assert lr == 0.0003
    assert ux == pytest.approx(-lr * gx, rel=1e-9) and uy == pytest.approx(-lr * gy, rel=1e-9)
    assert "lr" in json.dumps(page.evaluate(f"{HOOK}.state().runs[0]"))


def test_a_shared_url_reproduces_the_view(page, live_server: str) -> None:
    runs = [
        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.1}},
        {"id": "nesterov", "optimizer": "nesterov", "hyperparameters": {"lr": 0.02, "momentum": 0.8}},
    ]
    query = {
        "surface": "elongated",
        "params": json.dumps({"condition_number": 30, "angle": 30}),
        "start": "1,-2",
        "runs": json.dumps(runs),
        "speed": "200",
        "arrows": "0",
    }
    open_view(page, f"{live_server}/playground?{urlencode(query)}")
    assert page.locator("#surface").input_value() == "elongated"
    assert page.locator("#param-condition_number").input_value() == "30"
    assert page.locator("#param-angle").input_value() == "30"
    assert "30 deg" in page.locator("#formula").inner_text()
    assert page.locator("#start-out").inner_text() == "(1, -2)"
    assert page.locator("#runs .run-card").evaluate_all("cards => cards.map(c => c.dataset.run)") == [
        "adam",
        "nesterov",
    ]
    assert page.locator("#runs [data-run='adam'] input[data-hp='lr']").input_value() == "0.1"
    assert page.locator("#runs [data-run='nesterov'] input[data-hp='momentum']").input_value() == "0.8"
    assert page.locator("#speed-out").inner_text() == "200 steps/s"
    assert not page.locator("#toggle-arrows").is_checked()

    page.get_by_role("button", name="Copy link").click()
    shared = urlparse(page.locator("#share-url").input_value())
    assert shared.path == "/playground"
    assert {k: v[0] for k, v in parse_qs(shared.query).items()} == query | {
        "params": json.dumps({"condition_number": 30, "angle": 30}, separators=(",", ":")),
        "runs": json.dumps(runs, separators=(",", ":")),
    }

    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.pathLength('nesterov') > 3", timeout=WAIT)
    assert page.evaluate(f"[{HOOK}.tail('adam', 'x', 1e9)[0], {HOOK}.tail('adam', 'y', 1e9)[0]]") == [1, -2]


def test_a_custom_expression_error_is_shown_inline_and_a_valid_one_is_drawn(page, live_server: str) -> None:
    open_view(page, live_server + "/playground")
    page.locator("#surface").select_option("custom")
    expr = page.get_by_label("Your expression in x and y")
    expr.fill("x**2 + foo(y)")
    page.get_by_role("button", name="Draw").click()
    error = page.locator("#expr-error")
    error.wait_for(state="visible", timeout=WAIT)
    assert "unknown function 'foo'" in error.inner_text()
    assert error.locator("mark").inner_text() == "foo", "the culprit is marked"
    assert expr.get_attribute("aria-invalid") == "true"
    assert page.get_by_role("button", name="Play").is_disabled(), "an invalid expression cannot start"
    shot(page, "playground_expression_error")

    expr.fill("x**2 + 3*y**2 + x*y")
    page.get_by_role("button", name="Draw").click()
    error.wait_for(state="hidden", timeout=WAIT)
    page.wait_for_function(
        "document.querySelector('#formula').textContent.includes('x*y')"
        " && document.querySelector('#contour .plot-base').data[0].type === 'contour'",
        timeout=WAIT,
    )
    assert page.get_by_role("button", name="Play").is_enabled()
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.drawnPoints() > 5", timeout=WAIT)
    assert "expression=" in page.url


# The 3-D paths must lie on the surface: each path point's z, less the small lift, is the surface's own
# height at (x, y) (bilinear between grid nodes), i.e. the loss went through the surface's log mapping.
PATH_ON_SURFACE_JS = """() => {
  const d = document.querySelector('#surface3d');
  const s = d._fullData[0];
  const zs = s.z.flat().filter(Number.isFinite);
  const span = Math.max(...zs) - Math.min(...zs);
  const index = (axis, v) => {
    let i = 0;
    while (i < axis.length - 2 && axis[i + 1] < v) i++;
    return [i, Math.min(1, Math.max(0, (v - axis[i]) / (axis[i + 1] - axis[i])))];
  };
  const surfaceAt = (x, y) => {
    const [i, tx] = index(s.x, x);
    const [j, ty] = index(s.y, y);
    const z = s.z;
    const row = (r) => (1 - tx) * z[r][i] + tx * z[r][i + 1];
    return (1 - ty) * row(j) + ty * row(j + 1);
  };
  return d._fullData.filter((t) => t.meta === 'path').map((t) => {
    const gaps = t.x.map((x, k) => (t.z[k] - surfaceAt(x, t.y[k])) / span);
    gaps.sort((a, b) => a - b);
    const median = gaps[gaps.length >> 1];
    return { name: t.name, points: t.x.length, median, mode: t.mode, width: t.line.width };
  });
}"""


def test_the_3d_toggle_draws_a_webgl_surface_or_says_webgl_is_missing(page, live_server: str) -> None:
    open_view(page, live_server + "/playground?speed=max&steps=400")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    page.get_by_label("3-D surface").check()
    # surface, a path per run and a current-point marker per run
    page.wait_for_function(
        "(() => { const d = document.querySelector('#surface3d');"
        " const missing = !document.querySelector('#webgl-missing').hidden;"
        " return missing || (d._fullData && d._fullData[0].type === 'surface'"
        " && d._fullData.length === 5 && d.querySelector('canvas')); })()",
        timeout=WAIT,
    )
    webgl = page.evaluate("!!document.createElement('canvas').getContext('webgl')")
    if webgl:
        assert page.locator("#surface3d").is_visible()
        assert page.locator("#contour").is_hidden()
        paths = page.evaluate(PATH_ON_SURFACE_JS)
        assert [p["name"] for p in paths] == ["sgd", "momentum"]
        for p in paths:
            assert p["points"] > 100 and p["mode"] == "lines" and p["width"] >= 6, p
            # on the surface, lifted just above it (the lift is 1.5 % of its height range)
            assert 0.005 < p["median"] < 0.025, p
        current = page.evaluate(
            "document.querySelector('#surface3d')._fullData.filter((t) => t.meta === 'current')"
            ".map((t) => [t.name, t.x.length, t.marker.color])"
        )
        assert [c[:2] for c in current] == [["sgd", 1], ["momentum", 1]]
        shot(page, "playground_3d")
    else:
        assert "WebGL" in page.locator("#webgl-missing").inner_text()
    assert "d3=1" in page.url


def test_clicking_the_contour_sets_the_start_point(page, live_server: str) -> None:
    open_view(page, live_server + "/playground")
    x, y = page.evaluate(
        "(() => { const d = document.querySelector('#contour .plot-base');"
        " const r = d.getBoundingClientRect();"
        " const xa = d._fullLayout.xaxis, ya = d._fullLayout.yaxis;"
        " return [r.left + xa._offset + xa.l2p(0.5), r.top + ya._offset + ya.l2p(-0.5)]; })()"
    )
    page.mouse.click(x, y)
    page.wait_for_function(f"{HOOK}.state().start !== null", timeout=WAIT)
    start = page.evaluate(f"{HOOK}.state().start")
    assert start == pytest.approx([0.5, -0.5], abs=0.03)
    assert "start=" in page.url
    page.get_by_role("button", name="Step").click()
    page.wait_for_function(f"{HOOK}.pathLength('sgd') >= 2", timeout=WAIT)
    assert page.evaluate(f"{HOOK}.tail('sgd', 'x', 1e9)[0]") == start[0]


def test_the_playground_fits_a_phone_screen(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    open_view(page, live_server + "/playground?speed=max&steps=300")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    wait_frames(page, 6)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    width = page.evaluate("document.querySelector('#contour').getBoundingClientRect().width")
    shot(page, "playground_phone")
    context.close()
    assert overflow <= 0, f"horizontal scrolling on a 375 px wide screen ({overflow} px)"
    assert width >= 300, "the contour uses the full width"


AUX_RUNS = [
    {"id": "sf", "optimizer": "schedule_free_adamw", "hyperparameters": {"lr": 0.05}},
    {"id": "asgd", "optimizer": "asgd", "hyperparameters": {"lr": 0.0015, "t0": 20}},
    {"id": "prodigy", "optimizer": "prodigy"},
]


@pytest.mark.parametrize(("lang", "width", "height"), [("en", 1440, 900), ("tr", 390, 844)])
def test_schedule_free_eval_point_asgd_average_and_prodigy_d_are_drawn(
    page, live_server: str, lang: str, width: int, height: int
) -> None:
    """The second paths (dotted) of schedule-free's eval point and ASGD's average, the key under the contour,
    and Prodigy's d on the loss plot's right axis."""
    page.set_viewport_size({"width": width, "height": height})
    query = urlencode({"runs": json.dumps(AUX_RUNS), "steps": 300, "speed": "max", "lang": lang})
    open_view(page, f"{live_server}/playground?{query}")
    page.get_by_role("button", name="Play" if lang == "en" else "Oynat").click()
    page.wait_for_function(
        f"{HOOK}.ended('sf') && {HOOK}.ended('asgd') && {HOOK}.ended('prodigy')", timeout=WAIT
    )
    wait_frames(page)
    metas = page.evaluate("[...document.querySelector('#contour .plot-overlay').data].map((t) => t.meta)")
    assert "aux-eval" in metas and "aux-ax" in metas and "aux-eval-current" in metas
    assert page.evaluate(f"{HOOK}.tail('asgd', 'ax_x', 100000)")[0] is None  # step 0: nothing averaged yet
    eval_x = page.evaluate(f"{HOOK}.tail('sf', 'eval_x')")[0]
    assert eval_x != page.evaluate(f"{HOOK}.tail('sf', 'x')")[0]
    key = page.locator("#aux-key")
    assert key.is_visible() and ("eval" in key.inner_text() or "değerlendirme" in key.inner_text())
    loss = page.evaluate("[...document.querySelector('#loss').data].map((t) => [t.name, t.yaxis ?? 'y'])")
    assert any(name.startswith("prodigy: d") and axis == "y2" for name, axis in loss)
    shot(page, f"playground_aux_{lang}_{width}")


def test_a_nullable_hyperparameter_shows_null_as_empty_and_emptying_sends_null(
    page, live_server: str
) -> None:
    runs = [{"id": "p", "optimizer": "prodigy"}]
    open_view(page, f"{live_server}/playground?{urlencode({'runs': json.dumps(runs)})}")
    page.locator("details.hp-details summary").first.click()
    field = page.locator("input[data-hp='growth_rate']")
    assert field.input_value() == "" and field.get_attribute("placeholder") == "default"
    field.fill("1.05")
    field.dispatch_event("change")
    page.wait_for_function(f"{HOOK}.state().runs[0].hyperparameters.growth_rate === 1.05", timeout=WAIT)
    field.fill("")
    field.dispatch_event("change")
    page.wait_for_function(f"{HOOK}.state().runs[0].hyperparameters.growth_rate === null", timeout=WAIT)
    assert field.get_attribute("aria-invalid") == "false"


@pytest.mark.parametrize(("lang", "width", "height"), [("en", 1440, 900), ("tr", 390, 844)])
def test_lbfgs_evaluation_points_are_drawn_as_dots(
    page, live_server: str, lang: str, width: int, height: int
):
    """L-BFGS evaluates the function many times per step: the overlay draws those points as small dots
    in the run's colour (SAM's looked-at point too), and the trace's evaluations column counts them."""
    page.set_viewport_size({"width": width, "height": height})
    runs = [
        {"id": "lbfgs", "optimizer": "lbfgs", "hyperparameters": {"lr": 0.5, "max_iter": 4}},
        {"id": "wolfe", "optimizer": "lbfgs", "hyperparameters": {"lr": 1, "line_search_fn": "strong_wolfe"}},
        {"id": "sam", "optimizer": "sam", "hyperparameters": {"lr": 0.001, "rho": 0.2, "momentum": 0.9}},
    ]
    query = {"surface": "rosenbrock", "runs": json.dumps(runs), "speed": "20", "steps": "40", "lang": lang}
    open_view(page, f"{live_server}/playground?{urlencode(query)}")
    page.get_by_role("button", name="Oynat" if lang == "tr" else "Play").click()
    page.wait_for_function(f"{HOOK}.pathLength('lbfgs') >= 6 && {HOOK}.pathLength('sam') >= 6", timeout=WAIT)
    wait_frames(page)
    dots = page.evaluate(
        "Array.from(document.querySelector('.plot-overlay').data).filter((t) => t.meta === 'evaluated')"
        ".map((t) => t.x.length)"
    )
    assert len(dots) == 3 and min(dots) >= 5, dots
    evaluations = page.evaluate(f"{HOOK}.tail('lbfgs', 'evaluations', 100000)")
    assert evaluations[:4] == [0, 4, 4, 4], evaluations  # max_iter 4 until it has converged
    assert page.evaluate(f"{HOOK}.tail('sam', 'evaluations', 100000)")[:4] == [0, 2, 2, 2]
    assert (
        page.locator("#runs [data-run='wolfe'] select[data-hp='line_search_fn']").input_value()
        == "strong_wolfe"
    )
    shot(page, f"playground_lbfgs_dots_{lang}_{width}")
