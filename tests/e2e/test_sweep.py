"""The learning-rate sweep in a browser: N log-spaced rates race live; final loss vs lr fills in."""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

WAIT = 20_000


def _open(page, live_server: str, query: str = "") -> None:
    page.goto(f"{live_server}/sweep{query}")
    page.wait_for_function("window.__sweep && __sweep.state().connected", timeout=WAIT)


def test_sweep_fills_final_loss_plot_marks_divergence_and_names_the_best(page, live_server: str) -> None:
    _open(page, live_server, "?n=6&lo=0.0001&hi=0.1&steps=300&speed=120")
    page.get_by_role("button", name="Run sweep").click()
    page.wait_for_function("__sweep.runs().length === 6", timeout=WAIT)
    # large rates diverge within a few steps while the others still run: the plot holds exactly the ended runs
    page.wait_for_function(
        "__sweep.endedCount() >= 1 && !__sweep.state().done"
        " && __sweep.finalPlotPoints() === __sweep.endedCount()",
        timeout=WAIT,
    )
    assert page.evaluate("__sweep.finalPlotPoints()") < 6
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sweep_mid_run.png"), full_page=True)
    page.wait_for_function("__sweep.state().done && __sweep.finalPlotPoints() === 6", timeout=WAIT)

    runs = page.evaluate("__sweep.runs()")
    lrs = [run["lr"] for run in runs]
    assert lrs[0] == 0.0001 and lrs[-1] == 0.1
    assert all(b / a > 3 for a, b in itertools.pairwise(lrs)), f"log-spaced: {lrs}"
    diverged = [run for run in runs if page.evaluate(f"__sweep.ended('{run['id']}')") == "diverged"]
    assert diverged, "at least one large learning rate diverges"
    assert max(run["lr"] for run in diverged) == 0.1
    marked = page.evaluate("__sweep.finalPlotDiverged()")
    assert marked == len(diverged), "diverged runs are marked in the plot"
    marker = page.evaluate(
        "document.getElementById('final-plot').data.find(t => t.name === 'diverged').marker.symbol"
    )
    assert marker.startswith("x")
    for run in diverged:
        row = page.locator(f"#results tr[data-run={run['id']}]")
        assert "diverged" in row.inner_text()
        assert page.locator(f".multiple[data-run={run['id']}] .badge").inner_text() == "diverged"

    best = page.evaluate("__sweep.best()")
    assert best is not None and best["id"] not in {run["id"] for run in diverged}
    best_row = page.locator("#results tr.best")
    assert best_row.count() == 1
    assert best_row.get_attribute("data-run") == best["id"]
    assert "best" in best_row.inner_text()
    assert page.locator("#best").inner_text().startswith("Best learning rate:")
    assert float(page.locator("#best").get_attribute("data-lr")) == best["lr"]


def test_shared_url_reproduces_optimizer_range_and_surface(page, live_server: str) -> None:
    hp = quote(json.dumps({"betas": [0.8, 0.99]}, separators=(",", ":")))
    query = f"?optimizer=adam&surface=elongated&n=5&lo=0.001&hi=1&steps=200&hp={hp}&start=-2,1"
    _open(page, live_server, query)
    assert page.locator("#optimizer").input_value() == "adam"
    assert page.locator("#surface").input_value() == "elongated"
    assert page.locator("#n").input_value() == "5"
    assert page.locator("#lo").input_value() == "0.001"
    assert page.locator("#hi").input_value() == "1"
    assert page.locator("#start-x").input_value() == "-2"
    assert page.locator("input[data-hp=betas]").input_value() == "0.8, 0.99"
    page.locator("#n").fill("7")
    page.get_by_role("button", name="Copy link").click()
    page.wait_for_function("document.getElementById('copy-link').dataset.url", timeout=WAIT)
    url = page.locator("#copy-link").get_attribute("data-url")
    parts = ("optimizer=adam", "surface=elongated", "n=7", "lo=0.001", "hi=1", "steps=200", "start=-2%2C1")
    for part in parts:
        assert part in url, f"{part} missing from the shared link {url}"

    other = page.context.new_page()
    other.goto(url)
    other.wait_for_function("window.__sweep && __sweep.state().connected", timeout=WAIT)
    assert other.evaluate("__sweep.state().settings") == page.evaluate("__sweep.state().settings")
    other.get_by_role("button", name="Run sweep").click()
    other.wait_for_function("__sweep.runs().length === 7 && __sweep.points('lr0') > 0", timeout=WAIT)
    assert [run["lr"] for run in other.evaluate("__sweep.runs()")][::3] == [0.001, 0.0316, 1]
    other.close()


def test_sweep_page_fits_a_phone(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    _open(page, live_server, "?n=6&steps=200&speed=max")
    page.get_by_role("button", name="Run sweep").click()
    page.wait_for_function("__sweep.state().done && __sweep.finalPlotPoints() === 6", timeout=WAIT)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sweep_phone.png"), full_page=True)
    context.close()
    assert overflow <= 0, "no horizontal scrolling on a 375 px wide screen"
