"""A fair race in a real browser: tuned learning rates, a budget of evaluations, and visible clipping."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_race import HOOK, WAIT, open_view, shot

pytestmark = pytest.mark.e2e

# L-BFGS's search costs seconds on a step budget (each of its lanes evaluates on its own): the tuning test
# races first-order optimizers; the budget of evaluations keeps L-BFGS's search short where it races.
FIRST_ORDER = [
    {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}},
    {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
    {"id": "rmsprop", "optimizer": "rmsprop", "hyperparameters": {"lr": 0.01}},
]
RUNS = [
    {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}},
    {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
    {"id": "lbfgs", "optimizer": "lbfgs", "hyperparameters": {"lr": 0.5, "max_iter": 4}},
]


def race_url(live_server: str, runs: list[dict] = RUNS, **query) -> str:
    return f"{live_server}/race?" + urlencode({"runs": json.dumps(runs), "speed": "max", **query})


def cell(page, run: str, field: str) -> str:
    return page.locator(f"#results tbody tr[data-run={run}] [data-field={field}]").inner_text()


def play_to_the_end(page) -> None:
    page.locator("#play").click()
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=WAIT)
    page.wait_for_function(
        "[...document.querySelectorAll('#results tbody [data-field=evaluations]')]"
        ".every((td) => td.textContent !== '…')",
        timeout=WAIT,
    )


def test_tuned_learning_rates_are_the_rest_traces_and_their_candidates_unfold(page, live_server: str) -> None:
    open_view(page, race_url(live_server, FIRST_ORDER, steps=300))
    assert not page.get_by_label("Tune learning rates").is_checked(), "tuning is off by default"
    page.get_by_label("Tune learning rates").check()
    page.wait_for_function("location.search.includes('tune=12')", timeout=WAIT)
    play_to_the_end(page)

    config = {
        "surface": "rosenbrock",
        "steps": 300,
        "runs": FIRST_ORDER,
        "tune": {"count": 12, "low": 1e-4, "high": 1.0},
    }
    reply = page.request.post(f"{live_server}/api/v1/traces", data=config)
    assert reply.ok, reply.text()
    tunings = {run["id"]: run["tuning"] for run in reply.json()["runs"]}
    for run_id, tuning in tunings.items():
        shown = cell(page, run_id, "tuned-lr")
        assert float(shown) == pytest.approx(tuning["lr"], rel=1e-3), (run_id, shown, tuning["lr"])
        assert "tuned" in cell(page, run_id, "lr")

    says = page.locator("#fair-says").inner_text()
    assert "tried the same 12 learning rates from 0.0001 to 1, each for 300 steps" in says, says
    assert "lowest final loss won" in says

    page.locator("#results tbody tr[data-run=adam] details.tuning summary").click()
    rows = page.locator("#results tbody tr[data-run=adam] .candidates tbody tr")
    assert rows.count() == 12
    chosen = page.locator("#results tbody tr[data-run=adam] .candidates tr.chosen td").all_inner_texts()
    assert float(chosen[0]) == pytest.approx(tunings["adam"]["lr"], rel=1e-3)
    lowest = min(v for v in tunings["adam"]["final_losses"] if v is not None)
    assert float(chosen[1]) == pytest.approx(lowest, rel=1e-3), "the chosen rate reached the lowest loss"
    frames = page.evaluate(f"{HOOK}.frames()")
    page.wait_for_function(f"{HOOK}.frames() > {frames + 6}", timeout=WAIT)
    assert rows.count() == 12, "the unfolded candidates stay open while the table redraws"


def test_a_budget_of_evaluations_stops_lbfgs_by_its_evaluations(page, live_server: str) -> None:
    open_view(page, race_url(live_server, steps=60))
    page.get_by_label("What the budget counts").select_option("evaluations")
    page.wait_for_function("location.search.includes('budget=evaluations')", timeout=WAIT)
    play_to_the_end(page)
    assert cell(page, "lbfgs", "end") == "evaluation budget used"
    assert int(cell(page, "lbfgs", "evaluations")) >= 60
    assert int(cell(page, "lbfgs", "step")) < 60, "L-BFGS spends several evaluations a step"
    assert cell(page, "adam", "evaluations") == "60" and cell(page, "adam", "step") == "60"
    assert "60 function-and-gradient evaluations" in page.locator("#fair-says").inner_text()


def test_the_clip_toggle_marks_runs_clipped_and_lbfgs_takes_its_own_gradients(page, live_server: str) -> None:
    open_view(page, race_url(live_server, steps=200))
    assert cell(page, "adam", "clip") == "not clipped", "clipping is off by default"
    page.get_by_label("Clip gradients to norm").check()
    page.wait_for_function("location.search.includes('clip=1')", timeout=WAIT)
    play_to_the_end(page)
    assert cell(page, "sgd", "clip") == "clipped to norm 1"
    assert cell(page, "adam", "clip") == "clipped to norm 1"
    assert cell(page, "lbfgs", "clip") == "takes its own gradients: not clipped"
    assert cell(page, "lbfgs", "end") != "–", "L-BFGS raced (no clipping sent for it, so no refusal)"
    says = page.locator("#fair-says").inner_text()
    assert "clipped to norm 1" in says and "L-BFGS" in says, says


@pytest.mark.parametrize("lang", ["en", "tr"])
@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=["wide", "phone"])
def test_a_fair_race_reads_well_wide_and_on_a_phone(browser, live_server: str, lang: str, size) -> None:
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    open_view(page, race_url(live_server, steps=60, tune=8, clip=1, budget="evaluations", lang=lang))
    play_to_the_end(page)
    page.locator("#results tbody tr[data-run=adam] details.tuning summary").click()
    frames = page.evaluate(f"{HOOK}.frames()")
    page.wait_for_function(f"{HOOK}.frames() > {frames + 6}", timeout=WAIT)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wrap = page.locator(".results-wrap").evaluate("e => [e.scrollWidth, e.clientWidth]")
    plot = page.locator("#contour").bounding_box()
    table = page.locator("#results").bounding_box()
    name = "wide" if width > 1000 else "phone"
    shot(page, f"race_fair_{name}_{lang}")
    page.locator(".results-wrap").screenshot(path=str(ARTIFACTS / f"race_fair_table_{name}_{lang}.png"))
    page.locator(".panel.fair").screenshot(path=str(ARTIFACTS / f"race_fair_panel_{name}_{lang}.png"))
    context.close()
    assert overflow <= 0, f"horizontal scrolling ({overflow} px)"
    assert wrap[0] <= wrap[1], f"the table is wider than its column: {wrap}"
    if width > 1000:
        assert table["x"] >= plot["x"] + plot["width"], f"table {table} is not beside the plot {plot}"
