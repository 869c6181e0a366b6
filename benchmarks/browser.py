"""Drawing figures of the surface playground in headless Chromium: `python -m benchmarks.browser [--quick]`.

Starts the app under Uvicorn on 127.0.0.1 itself, opens /playground and measures, with requestAnimationFrame
in the page: the time from pressing Play to the first step drawn; frames per second while 4 runs stream
at 200 steps/s each (mean, and over the last 10 s: it should stay flat as the paths grow); and how long a
zoom (a `relayout` of the contour, which the overlay follows) takes with a 20,000-step path on screen.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from urllib.parse import urlencode

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_app

HOOK = "window.__playground"
# Learning rates small enough that none of the four runs ends within 60 s at 200 steps/s.
FOUR_RUNS = [
    {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.0002}},
    {"id": "momentum", "optimizer": "momentum", "hyperparameters": {"lr": 0.0001}},
    {"id": "rmsprop", "optimizer": "rmsprop", "hyperparameters": {"lr": 0.0005}},
    {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.0005}},
]

FIRST_DRAW_JS = """async () => {
  const hook = window.__playground;
  const t0 = performance.now();
  document.querySelector('#play').click();
  await new Promise((resolve) => {
    const check = () => (hook.drawnPoints() > 0 ? resolve() : requestAnimationFrame(check));
    requestAnimationFrame(check);
  });
  await new Promise((resolve) => requestAnimationFrame(resolve));  // the frame that shows it
  return performance.now() - t0;
}"""

COUNT_FRAMES_JS = """() => {
  window.__frameTimes = [];
  const tick = (t) => { window.__frameTimes.push(t); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""

FPS_JS = """(lastSeconds) => {
  const t = window.__frameTimes;
  const span = (t[t.length - 1] - t[0]) / 1000;
  const cut = t[t.length - 1] - lastSeconds * 1000;
  const last = t.filter((x) => x >= cut);
  return [(t.length - 1) / span, (last.length - 1) / ((last[last.length - 1] - last[0]) / 1000)];
}"""

ZOOM_JS = """async () => {
  const base = document.querySelector('#contour .plot-base');
  const times = [];
  const ranges = [[[-1.8, 1.8], [-0.8, 2.8]], [[-1, 1.2], [0, 2]], [[0.5, 1.2], [0.3, 1.4]],
                  [[-2, 2], [-1, 3]], [[-1.5, 0], [1, 2.5]], [[-2, 2], [-1, 3]]];
  for (const [x, y] of ranges) {
    const t0 = performance.now();
    await Plotly.relayout(base, {'xaxis.range': x, 'yaxis.range': y});
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    times.push(performance.now() - t0);
  }
  return times;
}"""


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(f"{HOOK} && {HOOK}.ready()", timeout=20_000)


def _first_draw_ms(page, base: str, repeats: int) -> float:
    """Median ms from clicking Play to the frame that shows the first step."""
    times = []
    for _ in range(repeats):
        _open(page, base + "/playground?speed=60")
        times.append(page.evaluate(FIRST_DRAW_JS))
    return statistics.median(times)


def _fps(page, base: str, seconds: float) -> tuple[float, float, int, dict]:
    """Mean fps and fps over the last 10 s while 4 runs stream at 200 steps/s; also the points per path
    and the page's own drawing cost per part (ms and number of draws)."""
    query = {"runs": json.dumps(FOUR_RUNS), "speed": 200, "steps": int(200 * seconds) + 400, "arrows": 0}
    _open(page, f"{base}/playground?{urlencode(query)}")
    page.evaluate(COUNT_FRAMES_JS)
    page.click("#play")
    page.wait_for_timeout(seconds * 1000)  # a measurement window, not synchronisation
    mean, last = page.evaluate(FPS_JS, 10)
    points = min(page.evaluate(f"{HOOK}.pathLength('{r['id']}')") for r in FOUR_RUNS)
    return mean, last, points, page.evaluate(f"{HOOK}.cost()")


def _zoom_ms(page, base: str) -> tuple[float, int]:
    """Median ms of a zoom (contour relayout, overlay follows) with a 20,000-step path drawn."""
    runs = [{"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.0002}}]
    query = {"runs": json.dumps(runs), "speed": "max", "steps": 20_000, "arrows": 0}
    _open(page, f"{base}/playground?{urlencode(query)}")
    page.click("#play")
    page.wait_for_function(f"{HOOK}.status() === 'finished'", timeout=120_000)
    length = page.evaluate(f"{HOOK}.pathLength('sgd')")
    return statistics.median(page.evaluate(ZOOM_JS)), length


def _per_draw(cost: dict) -> str:
    """'a / b ms': mean ms of one overlay draw and one loss-plot draw, from the page's counters."""
    ms, draws = cost["ms"], cost["draws"]
    return " / ".join(f"{ms[p] / max(draws[p], 1):.1f}" for p in ("overlay", "loss")) + " ms"


def browser_rows(quick: bool) -> list[tuple[str, str, str]]:
    """(name, measured, target) rows; an empty list when Chromium is not installed."""
    if not shutil.which(CHROMIUM):
        return []
    from playwright.sync_api import sync_playwright

    seconds = 10 if quick else 60
    with serve_app() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        first = _first_draw_ms(page, base, 3 if quick else 7)
        mean, last, points, cost = _fps(page, base, seconds)
        zoom, length = _zoom_ms(page, base)
        browser.close()
    return [
        ("Play to first step drawn", f"{first:.0f} ms", "≤ 150 ms"),
        (f"fps, 4 runs × 200 steps/s, {seconds:.0f} s (mean)", f"{mean:.1f}", "≥ 50"),
        (f"fps, last 10 s ({points:,} points per path)", f"{last:.1f}", "≥ 50, flat"),
        ("ms per draw call, synchronous part: overlay / loss", _per_draw(cost), "fps is the measure"),
        (f"zoom with a {length:,}-step path", f"{zoom:.0f} ms", "interactive (≤ 100 ms)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s fps window instead of 60 s")
    args = parser.parse_args()
    rows = browser_rows(args.quick)
    if not rows:
        print(f"{CHROMIUM} not found: no browser figures")
        return
    width = max(len(name) for name, _, _ in rows)
    print(f"{'figure':<{width}}  {'measured':>10}  target")
    for name, measured, target in rows:
        print(f"{name:<{width}}  {measured:>10}  {target}")


if __name__ == "__main__":
    main()
