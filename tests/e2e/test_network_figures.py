"""Figures of the network views a learner must be able to read (issue 11, item 9): nothing cut, nothing over
the data, neurons apart; each checked on the page's geometry, as a learner's eye would."""

from __future__ import annotations

import itertools

from tests.e2e.conftest import ARTIFACTS

WAIT = 30_000

OVERLAP = """([a, b]) => {
  const r = (el) => el.getBoundingClientRect();
  const p = r(a), q = r(b);
  return !(p.right <= q.left || q.right <= p.left || p.bottom <= q.top || q.bottom <= p.top);
}"""


def test_batch_size_1_curve_has_no_legend_over_it_and_no_loss_cut_off(page, live_server):
    page.goto(f"{live_server}/epochs")
    page.wait_for_function(
        "window.__epochs && __epochs.compareDone && __epochs.compareCurves === 3", timeout=WAIT
    )
    for k in range(3):
        figure = page.locator(f"#cmp-{k}")
        assert figure.locator(".legend").count() == 0 or not figure.locator(".legend").is_visible(), (
            f"plot {k}: a legend sits over the data (the note under the plots names the line and diamonds)"
        )
        shown = figure.evaluate(
            """(el) => {
              const ax = el._fullLayout.yaxis;
              const lo = ax.type === "log" ? 10 ** ax.range[0] : ax.range[0];
              const hi = ax.type === "log" ? 10 ** ax.range[1] : ax.range[1];
              const ys = el.data.flatMap((t) => t.y).filter((v) => Number.isFinite(v) && v > 0);
              return { lo, hi, min: Math.min(...ys), max: Math.max(...ys), type: ax.type };
            }"""
        )
        assert shown["hi"] >= shown["max"] and shown["lo"] <= shown["min"], (
            f"plot {k} cuts its losses: {shown}"
        )
    page.locator("#compare").screenshot(path=str(ARTIFACTS / "epochs-compare.png"))


def test_dropout_diagram_keeps_32_neurons_a_layer_apart(page, live_server):
    page.goto(f"{live_server}/dropout")  # the view's default: two hidden layers of 32
    page.wait_for_function("window.__dropout && __dropout.ready()", timeout=WAIT)
    page.wait_for_function(
        "document.querySelectorAll('#diagram circle.neuron[data-layer=\"1\"]').length === 32"
    )
    circles = page.evaluate(
        """() => [...document.querySelectorAll('#diagram circle.neuron[data-layer="1"]')].map((c) => {
          const r = c.getBoundingClientRect();
          return { top: r.top, bottom: r.bottom, height: r.height };
        })"""
    )
    circles.sort(key=lambda c: c["top"])
    gaps = [b["top"] - a["bottom"] for a, b in itertools.pairwise(circles)]
    assert min(gaps) >= 2, f"neighbouring neurons touch or overlap (smallest gap {min(gaps):.1f} px)"
    assert min(c["height"] for c in circles) >= 8, "neurons too small to see which are switched off"
    page.locator("#diagram").screenshot(path=str(ARTIFACTS / "dropout-diagram-32.png"))


def test_landscape_colour_bar_ticks_fit_and_the_path_plot_title_clears_its_ticks(page, live_server):
    page.goto(f"{live_server}/landscape")
    page.wait_for_function("window.__landscape && __landscape.ready()", timeout=WAIT)
    page.wait_for_function("__landscape.drawnPathPoints() > 0", timeout=WAIT)
    figure = page.locator("#contour .plot-base .main-svg").first
    right = figure.evaluate("(svg) => svg.getBoundingClientRect().right")
    ticks = page.locator("#contour .plot-base .colorbar text")
    assert ticks.count() >= 3
    for i in range(ticks.count()):
        box = ticks.nth(i).bounding_box()
        assert box["x"] + box["width"] <= right + 0.5, (
            f"colour-bar label {ticks.nth(i).text_content()!r} is cut"
        )
    title = page.locator("#path-loss .ytitle")
    labels = page.locator("#path-loss .yaxislayer-above .ytick text, #path-loss .yaxislayer-above text")
    assert labels.count() > 0
    for i in range(labels.count()):
        pair = [title.element_handle(), labels.nth(i).element_handle()]
        assert not page.evaluate(OVERLAP, pair), (
            f"the y title covers the tick {labels.nth(i).text_content()!r}"
        )
    page.locator("#path-loss").screenshot(path=str(ARTIFACTS / "landscape-path-loss.png"))
