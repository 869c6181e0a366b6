"""The optimizer race in a real browser: optimizers from one start, a results table filled in live."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

HOOK = "window.__playground"
WAIT = 20_000  # ms: every wait is bounded
END_REASONS = {"converged", "max steps", "diverged", "left the view box downhill", "stopped"}


def open_view(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=WAIT)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_race_fills_the_results_table_with_distinct_colours(page, live_server: str) -> None:
    open_view(page, live_server + "/race?speed=5000&steps=2500")
    runs = page.locator("#runs .run-card").evaluate_all("cards => cards.map(c => c.dataset.run)")
    assert runs == ["sgd", "momentum", "nesterov", "rmsprop", "adam"]
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.pathLength('adam') > 200", timeout=WAIT)
    shot(page, "race_mid_run")
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    page.wait_for_function(
        "[...document.querySelectorAll('#results tbody [data-field=end]')]"
        ".every((td) => !['running', '–'].includes(td.textContent))",
        timeout=WAIT,
    )
    rows = page.locator("#results tbody tr")
    assert rows.count() == 5
    ends = page.locator("#results tbody [data-field=end]").all_inner_texts()
    assert set(ends) <= END_REASONS and len(ends) == 5, ends
    assert page.locator("#results tbody tr[data-run=adam] [data-field=end]").inner_text() == "converged"
    adam_steps = page.locator("#results tbody tr[data-run=adam] [data-field=converge]").inner_text()
    assert adam_steps.isdigit() and int(adam_steps) < 2500
    losses = page.locator("#results tbody [data-field=loss]").all_inner_texts()
    assert all(loss != "–" for loss in losses)

    colours = page.locator("#results tbody .swatch").evaluate_all(
        "spans => spans.map(s => getComputedStyle(s).backgroundColor)"
    )
    assert len(set(colours)) == 5, f"each run has its own colour: {colours}"
    loss_traces = page.evaluate("document.querySelector('#loss').data.map(t => t.name)")
    assert loss_traces == runs, "the loss plot has one trace per run"
    path_colours = page.evaluate(
        "document.querySelector('#contour .plot-overlay').data"
        ".filter(t => t.meta === 'path').map(t => t.line.color)"
    )
    assert len(set(path_colours)) == 5


def test_an_optimizer_can_join_and_leave_a_race_in_progress(page, live_server: str) -> None:
    runs = [
        {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}},
        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
        {"id": "rmsprop", "optimizer": "rmsprop", "hyperparameters": {"lr": 0.01}},
    ]
    open_view(page, f"{live_server}/race?{urlencode({'runs': json.dumps(runs), 'speed': 60})}")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.pathLength('adam') > 5", timeout=WAIT)
    page.get_by_label("Optimizer to add").select_option("nadam")
    page.get_by_role("button", name="Add optimizer").click()
    page.wait_for_function(f"{HOOK}.pathLength('nadam') > 3", timeout=WAIT)
    assert page.evaluate(f"{HOOK}.tail('nadam', 'step', 1e9)[0]") == 0, "a new run starts at its own step 0"
    page.get_by_role("button", name="Remove sgd").click()
    page.wait_for_function(f"!{HOOK}.runIds().includes('sgd')", timeout=WAIT)
    page.wait_for_function("document.querySelector('#loss').data.length === 3", timeout=WAIT)
    assert page.locator("#results tbody tr").count() == 3
    assert "nadam" in page.url and "sgd" not in page.url.split("runs=")[1]


def test_the_race_fits_a_phone_screen(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    open_view(page, live_server + "/race?speed=max&steps=300")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    frames = page.evaluate(f"{HOOK}.frames()")
    page.wait_for_function(f"{HOOK}.frames() > {frames + 6}", timeout=WAIT)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    shot(page, "race_phone")
    context.close()
    assert overflow <= 0, f"horizontal scrolling on a 375 px wide screen ({overflow} px)"


def test_a_race_with_evaluating_optimizers_counts_their_evaluations(page, live_server: str) -> None:
    """The results table shows each run's function-and-gradient evaluations next to its steps: SAM two a
    step, L-BFGS many, first-order optimizers one (the same number as the steps)."""
    runs = [
        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
        {"id": "lbfgs", "optimizer": "lbfgs", "hyperparameters": {"lr": 0.5, "max_iter": 2}},
        {"id": "sam", "optimizer": "sam", "hyperparameters": {"lr": 0.0005, "momentum": 0.9}},
        {"id": "newton", "optimizer": "newton", "hyperparameters": {"lr": 0.3}},
        {"id": "polyak", "optimizer": "polyak"},
    ]
    open_view(
        page, live_server + "/race?" + urlencode({"runs": json.dumps(runs), "steps": 200, "speed": "max"})
    )
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    page.wait_for_function(
        "[...document.querySelectorAll('#results tbody [data-field=evaluations]')]"
        ".every((td) => td.textContent !== '…')",
        timeout=WAIT,
    )

    def cell(run: str, field: str) -> str:
        return page.locator(f"#results tbody tr[data-run={run}] [data-field={field}]").inner_text()

    assert cell("adam", "evaluations") == "200" and cell("sam", "evaluations") == "400"
    assert int(cell("lbfgs", "evaluations")) > 200
    assert cell("newton", "end") == "converged"
    shot(page, "race_evaluating")


def test_momentum_and_nesterov_never_look_alike_on_the_contour_or_the_loss_plot(
    page, live_server: str
) -> None:
    open_view(page, live_server + "/race?speed=max&steps=400")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    looks = page.evaluate(
        """() => {
          const overlay = document.querySelector('#contour .plot-overlay').data;
          const paths = overlay.filter(t => t.meta === 'path');
          const marks = overlay.filter(t => t.meta === 'current');
          const losses = document.querySelector('#loss').data;
          return {paths: paths.map(t => t.line.dash), marks: marks.map(t => t.marker.symbol),
                  losses: losses.map(t => t.line.dash)};
        }"""
    )
    for name, values in looks.items():
        assert len(set(values)) == 4 and values[1] != values[2], f"{name}: momentum vs nesterov {values}"
    # and by default they do not run on top of each other either
    a, b = page.evaluate(f"[{HOOK}.tail('momentum', 'x', 1e9), {HOOK}.tail('nesterov', 'x', 1e9)]")
    assert max(abs(p - q) for p, q in zip(a[:50], b[:50], strict=True)) > 0.1
    shapes = page.locator("#results tbody .swatch").evaluate_all("s => s.map(e => e.className)")
    assert shapes[1] != shapes[2], f"the table's keys take the markers' shapes: {shapes}"


def test_the_results_table_stands_beside_the_plot_on_a_wide_screen(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    open_view(page, live_server + "/race")
    plot = page.locator("#contour").bounding_box()
    table = page.locator("#results").bounding_box()
    wrap = page.locator(".results-wrap").evaluate("e => [e.scrollWidth, e.clientWidth]")
    shot(page, "race_wide")
    context.close()
    assert table["x"] >= plot["x"] + plot["width"], f"table {table} is not beside the plot {plot}"
    assert table["y"] < 900 and table["y"] + table["height"] < 900, f"the table is out of view: {table}"
    assert wrap[0] <= wrap[1], f"the table is wider than its column: {wrap}"


def test_the_intro_names_the_chosen_surface_and_a_saddle_escape_left_the_view(page, live_server: str) -> None:
    open_view(page, live_server + "/race?speed=max")
    assert "Rosenbrock" in page.locator(".explain").inner_text()
    page.locator("#surface").select_option("saddle")
    page.wait_for_function(f"{HOOK}.state().surface === 'saddle' && {HOOK}.ready()", timeout=WAIT)
    page.wait_for_function("document.querySelector('.explain').textContent.includes('Saddle')", timeout=WAIT)
    assert "Rosenbrock" not in page.locator(".explain").inner_text()
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    page.wait_for_function(
        "[...document.querySelectorAll('#results tbody [data-field=end]')]"
        ".every(td => td.textContent !== '–')",
        timeout=WAIT,
    )
    ends = dict(
        zip(
            page.locator("#results tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)"),
            page.locator("#results tbody [data-field=end]").all_inner_texts(),
            strict=True,
        )
    )
    shot(page, "race_saddle")
    escaped = {run: end for run, end in ends.items() if run != "sgd"}
    assert set(escaped.values()) == {"left the view box downhill"}, ends
    view = page.evaluate(f"{HOOK}.range()")
    width = view["y"][1] - view["y"][0]
    for run in escaped:
        ys = page.evaluate(f"{HOOK}.tail('{run}', 'y', 1e9)")
        assert max(abs(y) for y in ys) <= view["y"][1] + width, f"{run} ran far outside the view: {max(ys)}"
