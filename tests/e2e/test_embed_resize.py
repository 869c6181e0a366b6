"""Embeds size themselves: gdp:resize carries the content height, and the Embed dialog's suggested iframe
height fits every view at 1,000 px wide (full controls) without an inner scrollbar."""

from __future__ import annotations

import contextlib
import itertools
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import host_page, ready_frame

pytestmark = pytest.mark.e2e

WIDTH = 1000
VIEWS = (
    "playground",
    "race",
    "learning-rate",
    "sweep",
    "network",
    "epochs",
    "dropout",
    "regularization",
    "landscape",
)
RESIZES = "window.events.filter((m) => m.type === 'gdp:resize')"
CONTENT = "Math.ceil(document.body.getBoundingClientRect().height)"


def _played(page, live_server: str, host_server, view: str, query: str = "", lang: str = "en"):
    """The view embedded at WIDTH px, played until done (or 6 s); returns its frame."""
    origin, root = host_server
    name = f"resize-{view}-{lang}.html"
    page.goto(f"{origin}/{host_page(root, live_server, name, view, f'lang={lang}{query}', str(WIDTH))}")
    frame = ready_frame(page, live_server)
    page.evaluate("window.send({type: 'gdp:play'})")
    with contextlib.suppress(PlaywrightTimeout):  # a long training need not end: its height after 6 s counts
        page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:done')", timeout=6_000)
    page.wait_for_timeout(300)  # the last layout after gdp:done (one ResizeObserver round)
    return frame


def test_the_embed_posts_its_content_height_and_the_host_sizes_the_iframe_without_scrollbars(
    page, live_server: str, host_server
) -> None:
    frame = _played(page, live_server, host_server, "race")
    resizes = page.evaluate(RESIZES)
    assert resizes, "the view posts gdp:resize"
    assert all(m["view"] == "race" and isinstance(m["height"], int) for m in resizes), resizes
    heights = [m["height"] for m in resizes]
    assert all(a != b for a, b in itertools.pairwise(heights)), f"one message per change: {heights}"
    content = frame.evaluate(CONTENT)
    assert heights[-1] == content, f"last gdp:resize {heights[-1]} px, content {content} px"
    # the host follows the messages: the iframe is as tall as its content, nothing left to scroll
    page.evaluate("(h) => { const f = document.getElementById('view'); f.height = String(h); }", heights[-1])
    frame_box = page.evaluate("document.getElementById('view').getBoundingClientRect().height")
    assert frame_box == pytest.approx(content, abs=1)
    assert frame.evaluate("document.documentElement.scrollHeight") <= content + 1
    # the content grows (the learner opens a longer race: more rows): a new height is posted
    count = len(resizes)
    frame.evaluate(
        "document.body.append(Object.assign(document.createElement('div'), {style: 'height: 250px'}))"
    )
    page.wait_for_function(f"() => {RESIZES}.length > {count}", timeout=5_000)
    assert page.evaluate(RESIZES)[-1]["height"] == content + 250


@pytest.mark.parametrize("view", VIEWS)
def test_the_suggested_embed_height_fits_the_view_at_1000_px(
    page, live_server: str, host_server, view: str
) -> None:
    frame = _played(page, live_server, host_server, view)
    needed = max([frame.evaluate(CONTENT), *(m["height"] for m in page.evaluate(RESIZES))])
    page.goto(f"{live_server}/{view}")
    page.locator("#embed-open").click()
    snippet = page.locator("#embed-snippet").input_value()
    suggested = int(re.search(r'height="(\d+)"', snippet).group(1))
    assert suggested >= needed, (
        f"{view}: suggested {suggested} px, the content needs {needed} px at {WIDTH} px"
    )
    assert suggested <= needed + 200, (
        f"{view}: suggested {suggested} px, far more than the {needed} px needed"
    )
