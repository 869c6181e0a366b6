# ruff: noqa: RUF001  (Turkish text: the dotless i is a letter of its own here)
"""Embedding from another origin: a host page drives /embed/race by postMessage and hears its events."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.e2e.conftest import ARTIFACTS, host_page, ready_frame

pytestmark = pytest.mark.e2e

RUNS = [{"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}}]
STATE = f"surface=bowl&runs={quote(json.dumps(RUNS, separators=(',', ':')))}&steps=2000&speed=40"


def test_host_on_another_origin_drives_the_view(page, live_server: str, host_server) -> None:
    origin, root = host_server
    assert origin != live_server
    page.goto(f"{origin}/{host_page(root, live_server, 'drive.html', 'race', STATE)}")
    frame = ready_frame(page, live_server)
    ready = page.evaluate("window.events.find((m) => m.type === 'gdp:ready')")
    assert ready == {"type": "gdp:ready", "view": "race"}

    page.evaluate("window.send({type: 'gdp:play'})")
    page.wait_for_function(
        "() => window.events.filter((m) => m.type === 'gdp:step' && m.steps.adam >= 5).length >= 2",
        timeout=15_000,
    )
    page.evaluate("window.send({type: 'gdp:set', run: 'adam', hyperparameters: {lr: 0.2}})")
    frame.wait_for_function("() => window.__playground.tail('adam', 'lr')[0] === 0.2", timeout=10_000)
    page.evaluate("window.send({type: 'gdp:pause'})")
    frame.wait_for_function("() => window.__playground.status() === 'paused'", timeout=10_000)
    page.wait_for_timeout(600)
    held = frame.evaluate("window.__playground.lastStep('adam')")
    page.wait_for_timeout(500)
    assert frame.evaluate("window.__playground.lastStep('adam')") == held, "pause holds the run"

    steps = page.evaluate("window.events.filter((m) => m.type === 'gdp:step')")
    stamps = page.evaluate("window.events.length")
    assert stamps < 200 and all(set(m["steps"]) <= {"adam"} for m in steps)
    page.evaluate("window.send({type: 'gdp:play'})")
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:done')", timeout=30_000)
    events = page.evaluate("window.events.filter((m) => m.type === 'gdp:event')")
    assert events == [{"type": "gdp:event", "run": "adam", "event": "converged"}]
    order = page.evaluate("window.events.map((m) => m.type)")
    assert order.index("gdp:event") < order.index("gdp:done")


def test_step_events_are_throttled(page, live_server: str, host_server) -> None:
    origin, root = host_server
    fast = STATE.replace("speed=40", "speed=max").replace("steps=2000", "steps=20000")
    page.goto(f"{origin}/{host_page(root, live_server, 'fast.html', 'race', fast + '&autoplay=1')}")
    ready_frame(page, live_server)
    page.wait_for_timeout(1500)
    count = page.evaluate("window.events.filter((m) => m.type === 'gdp:step').length")
    assert 1 <= count <= 17, f"{count} gdp:step messages in ~1.5 s (≤ 10/s)"


def test_origin_parameter_refuses_other_hosts(page, live_server: str, host_server) -> None:
    origin, root = host_server
    name = host_page(root, live_server, "locked.html", "race", STATE + "&origin=https%3A%2F%2Fcourse.example")
    page.goto(f"{origin}/{name}")
    page.wait_for_function("() => document.getElementById('view').contentDocument === null")  # cross-origin
    frame = next(f for f in page.frames if "/embed/" in f.url)
    frame.wait_for_function("() => window.__playground && window.__playground.ready()", timeout=15_000)
    page.evaluate("window.send({type: 'gdp:play'})")
    page.wait_for_timeout(800)
    assert frame.evaluate("window.__playground.status()") == "idle", (
        "commands from another origin are ignored"
    )
    assert page.evaluate("window.events") == [], "events go only to the named origin"


@pytest.mark.parametrize("width", [320, 1200])
def test_embed_fits_without_horizontal_overflow(browser, live_server: str, host_server, width: int) -> None:
    origin, root = host_server
    context = browser.new_context(viewport={"width": width + 40, "height": 1000})
    page = context.new_page()
    page.goto(f"{origin}/{host_page(root, live_server, f'w{width}.html', 'race', STATE, str(width))}")
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:ready')", timeout=20_000)
    frame = next(f for f in page.frames if "/embed/" in f.url)
    page.evaluate("window.send({type: 'gdp:play'})")
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:done')", timeout=30_000)
    page.wait_for_timeout(400)
    overflow = frame.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert frame.evaluate("document.documentElement.clientWidth") == width
    assert frame.locator(".site-header").count() == 0 and frame.locator(".site-footer").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"embed_race_{width}.png"), full_page=True)
    context.close()
    assert overflow <= 0, f"horizontal overflow of {overflow} px inside a {width} px iframe"


def test_controls_none_hides_controls_and_caption_is_escaped(page, live_server: str) -> None:
    caption = '<img src=x id=evil> Şekil 1: "Adam" & co'
    page.goto(f"{live_server}/embed/race?{STATE}&controls=none&caption={quote(caption)}")
    page.wait_for_function("() => window.__playground && window.__playground.ready()", timeout=15_000)
    assert page.locator("#embed-caption").inner_text() == caption
    assert page.locator("#evil").count() == 0
    assert not page.locator(".controls").is_visible()
    assert not page.locator("#play").is_visible()
    assert page.locator("#contour").is_visible() and page.locator("#results").is_visible()


def test_controls_minimal_keeps_only_the_transport(page, live_server: str) -> None:
    page.goto(f"{live_server}/embed/surface?controls=minimal&lang=tr")
    page.wait_for_function("() => window.__playground && window.__playground.ready()", timeout=15_000)
    for button in ("#play", "#step", "#reset"):
        assert page.locator(button).is_visible()
    for hidden in ("#surface", "#add-run", "#speed", "#copy-link"):
        assert not page.locator(hidden).is_visible()
    assert page.locator("#play").inner_text() == "Oynat"


def test_embed_dialog_gives_a_snippet_of_the_current_state(page, live_server: str) -> None:
    page.goto(f"{live_server}/race?{STATE}&lang=tr")
    page.wait_for_function("() => window.__playground && window.__playground.ready()", timeout=15_000)
    page.locator("#embed-open").click()
    snippet = page.locator("#embed-snippet").input_value()
    assert snippet.startswith(f'<iframe src="{live_server}/embed/race?')
    assert "surface=bowl" in snippet and "lang=tr" in snippet and 'loading="lazy"' in snippet
    assert (
        'style="border:0"' in snippet and 'width="100%"' in snippet and 'title="Optimizer yarışı"' in snippet
    )
    page.locator("#embed-controls").select_option("minimal")
    assert "controls=minimal" in page.locator("#embed-snippet").input_value()
    assert page.locator("#embed-permalink").input_value().startswith(f"{live_server}/race?")
