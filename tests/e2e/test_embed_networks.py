"""Embedding the network views: a host page on another origin drives /embed/network by postMessage."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, host_page, ready_frame

pytestmark = pytest.mark.e2e

STATE = "epochs=40&speed=60&lang=tr"


def test_host_drives_the_network_view(page, live_server: str, host_server) -> None:
    origin, root = host_server
    assert origin != live_server
    page.goto(f"{origin}/{host_page(root, live_server, 'net.html', 'network', STATE)}")
    frame = ready_frame(page, live_server)
    assert page.evaluate("window.events.find((m) => m.type === 'gdp:ready')") == {
        "type": "gdp:ready",
        "view": "network",
    }

    page.evaluate("window.send({type: 'gdp:play'})")
    page.wait_for_function(
        "() => window.events.some((m) => m.type === 'gdp:step' && m.steps.network >= 5)", timeout=15_000
    )
    page.evaluate("window.send({type: 'gdp:set', hyperparameters: {lr: 0.003}})")
    frame.wait_for_function("() => window.__network.lrs.includes(0.003)", timeout=10_000)
    assert frame.evaluate("window.__network.config.hyperparameters.lr") == 0.003
    page.evaluate("window.send({type: 'gdp:set', hyperparameters: {nonsense: 1}})")
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:error')", timeout=5_000)

    page.evaluate("window.send({type: 'gdp:pause'})")
    frame.wait_for_function(
        "() => window.__network.status === 'paused' && window.__network.serverPaused === true", timeout=10_000
    )
    held = frame.evaluate("window.__network.iterations")
    page.evaluate("window.send({type: 'gdp:step'})")
    frame.wait_for_function(f"() => window.__network.iterations === {held + 1}", timeout=10_000)

    page.evaluate("window.send({type: 'gdp:set', hyperparameters: {lr: 0.05}})")
    page.evaluate("window.send({type: 'gdp:play'})")
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:done')", timeout=30_000)
    events = page.evaluate("window.events.filter((m) => m.type === 'gdp:event')")
    assert events == [{"type": "gdp:event", "run": "network", "event": "done"}]
    order = page.evaluate("window.events.map((m) => m.type)")
    assert order.index("gdp:event") < order.index("gdp:done")
    steps = page.evaluate("window.events.filter((m) => m.type === 'gdp:step').map((m) => m.steps.network)")
    assert steps == sorted(steps) and all(
        set(m) == {"type", "steps"}
        for m in page.evaluate("window.events.filter((m) => m.type === 'gdp:step')")
    )


@pytest.mark.parametrize("controls", ["full", "minimal", "none"])
def test_network_embed_fits_320_px(browser, live_server: str, host_server, controls: str) -> None:
    origin, root = host_server
    context = browser.new_context(viewport={"width": 360, "height": 900})
    page = context.new_page()
    query = f"epochs=3&speed=max&lang=tr&controls={controls}&autoplay=1"
    page.goto(f"{origin}/{host_page(root, live_server, f'n320{controls}.html', 'network', query, '320')}")
    frame = ready_frame(page, live_server)
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:done')", timeout=30_000)
    frame.wait_for_function("() => window.__network.curvePoints > 0")
    assert frame.evaluate("document.documentElement.clientWidth") == 320
    overflow = frame.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert frame.locator(".site-header").count() == 0
    assert frame.locator("#play").is_visible() == (controls != "none")
    assert frame.locator("#dataset").is_visible() == (controls == "full")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"embed_network_320_{controls}.png"), full_page=True)
    context.close()
    assert overflow <= 0, f"horizontal overflow of {overflow} px inside a 320 px iframe"


@pytest.mark.parametrize("view", ["epochs", "dropout", "regularization", "landscape"])
def test_other_network_views_announce_ready_and_finish(
    page, live_server: str, host_server, view: str
) -> None:
    origin, root = host_server
    query = {
        "epochs": "epochs=2&speed=max",
        "dropout": "epochs=3&n=100&speed=max",
        "regularization": "epochs=5",
        "landscape": "epochs=3&n=21",
    }[view]
    page.goto(f"{origin}/{host_page(root, live_server, f'{view}.html', view, query)}")
    ready_frame(page, live_server)
    assert page.evaluate("window.events.find((m) => m.type === 'gdp:ready')") == {
        "type": "gdp:ready",
        "view": view,
    }
    page.evaluate("window.send({type: 'gdp:play'})")
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:done')", timeout=30_000)
    assert page.evaluate("window.events.some((m) => m.type === 'gdp:event')")
    if view in ("epochs", "dropout"):
        assert page.evaluate("window.events.some((m) => m.type === 'gdp:step')")
    else:
        page.evaluate("window.send({type: 'gdp:pause'})")
        page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:error')", timeout=5_000)
