# ruff: noqa: RUF001  (Turkish text: the dotless i is a letter of its own here)
"""The convergence-map view in a browser: the heatmaps fill band by band with the server's cells; phone and
Turkish screenshots."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, VISIBLE_TEXT, english_left, host_page, ready_frame

pytestmark = pytest.mark.e2e

WAIT = 30_000
FETCH_MAP = """(body) => fetch('/api/v1/maps', {method: 'POST', headers: {'content-type': 'application/json'},
  body: JSON.stringify(body)}).then((r) => r.json())"""


def _finished(page, live_server: str, query: str, viewport=(1440, 900)) -> None:
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.goto(f"{live_server}/convergence-map{query}")
    page.wait_for_function("window.__map && __map.status() === 'finished' && __map.summaries()", timeout=WAIT)


def test_basin_maps_are_drawn_with_the_cells_the_server_sent(page, live_server: str) -> None:
    _finished(page, live_server, "?n=50&steps=200")
    assert page.evaluate("__map.filled()") == 50
    for i in range(3):
        heatmap = page.evaluate(f"__map.heatmap({i})")
        assert heatmap["type"] == "heatmap" and heatmap["rows"] == 50 and heatmap["columns"] == 50
        values = {v for row in heatmap["z"] for v in row if v is not None}
        assert values <= {0, 1, 2, 3, 4, 5, 6}, (
            values
        )  # basin codes + 3: diverged, not converged, other, minima
        assert {3, 4, 5, 6} <= values, f"panel {i} shows all four basins of Himmelblau"
    # the same request over REST gives the same basins (the page draws what the server computed)
    body = page.evaluate(
        FETCH_MAP,
        {"surface": "himmelblau", "n": 50, "steps": 200, "runs": page.evaluate("__map.state().runs")},
    )
    drawn = page.evaluate("__map.heatmap(2).z")
    assert drawn == [[v + 3 if v >= 0 else None for v in row] for row in body["maps"][2]["basin"]]
    summaries = page.evaluate("__map.summaries()")
    assert summaries["adam"] == body["maps"][2]["summary"]
    assert page.locator(".map-summary").first.inner_text().startswith("Starts per minimum")
    assert page.locator("#legend li").count() == 7


def test_step_computes_one_band_and_colour_by_steps_redraws(page, live_server: str) -> None:
    page.goto(
        f"{live_server}/convergence-map?n=200&steps=100&runs="
        + '[{"id":"sgd","optimizer":"sgd","hyperparameters":{"lr":0.01}}]'
    )
    page.wait_for_function("window.__map && __map.status() === 'finished'", timeout=WAIT)
    page.get_by_role("button", name="Reset").click()
    page.get_by_role("button", name="Step").click()
    page.wait_for_function("__map.filled() === 10", timeout=WAIT)
    assert page.evaluate("__map.status()") == "paused"
    page.wait_for_function(  # the band is drawn on the next frame
        "__map.heatmap(0).z.flat().filter((v) => v !== null).length === 2000", timeout=WAIT
    )
    heatmap = page.evaluate("__map.heatmap(0)")
    assert sum(v is not None for row in heatmap["z"] for v in row) == 2000  # ten rows of 200
    page.locator("#show").select_option("steps_taken")
    assert "show=steps_taken" in page.evaluate("location.search")
    z = page.evaluate("__map.heatmap(0).z")
    assert max(v for row in z[:10] for v in row if v is not None) <= 100


def test_trainability_map_over_lr_and_momentum(page, live_server: str) -> None:
    _finished(page, live_server, "?kind=trainability&n=25&steps=200&show=final_loss&runs="
              + '[{"id":"sgd","optimizer":"sgd","hyperparameters":{"lr":0.01}}]')  # fmt: skip
    heatmap = page.evaluate("__map.heatmap(0)")
    assert heatmap["rows"] == 25
    cells = [v for row in heatmap["z"] for v in row]
    assert any(v is None for v in cells) and any(v is not None for v in cells), "some diverge, some train"
    assert page.evaluate("document.querySelector('.map-plot').layout.xaxis.type") == "log"


@pytest.mark.parametrize("lang", ["en", "tr"])
@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_screenshots(page, live_server: str, lang: str, width: int, height: int) -> None:
    query = "?n=100&steps=300" + ("&lang=tr" if lang == "tr" else "")
    _finished(page, live_server, query, (width, height))
    if lang == "tr":
        assert "Yakınsama haritaları" in page.locator("h1").inner_text()
        assert "," in page.locator("#legend").inner_text()  # decimal comma in the minima's coordinates
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"convergence_map_{lang}_{width}.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": height})
    trainability = (
        "?kind=trainability&n=50&steps=300&runs="
        + '[{"id":"sgd","optimizer":"sgd","hyperparameters":{"lr":0.01}}]'
    )
    _finished(page, live_server, trainability + ("&lang=tr" if lang == "tr" else ""), (width, height))
    page.screenshot(path=str(ARTIFACTS / f"convergence_map_trainability_{lang}_{width}.png"), full_page=True)


@pytest.mark.parametrize("kind", ["basins", "trainability"])
def test_turkish_map_shows_no_english_ui_strings(page, live_server: str, kind: str) -> None:
    _finished(page, live_server, f"?lang=tr&kind={kind}&n=25&steps=100")
    assert english_left(page.evaluate(VISIBLE_TEXT)) == []


def test_embedded_map_fits_a_phone_and_says_done(browser, live_server: str, host_server) -> None:
    origin, root = host_server
    context = browser.new_context(viewport={"width": 360, "height": 1000})
    page = context.new_page()
    page.goto(
        f"{origin}/{host_page(root, live_server, 'map.html', 'convergence-map', 'n=50&steps=100', '320')}"
    )
    frame = ready_frame(page, live_server)
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:done')", timeout=WAIT)
    events = page.evaluate("window.events.filter((m) => m.type === 'gdp:event')")
    assert any(e.get("event") == "done" for e in events), events
    assert frame.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    page.screenshot(path=str(ARTIFACTS / "embed_convergence_map_320.png"), full_page=True)
    context.close()
