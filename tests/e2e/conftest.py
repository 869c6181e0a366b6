"""Browser fixtures: the app under a real Uvicorn server on 127.0.0.1 and Debian's headless Chromium."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from app.i18n import catalog
from app.main import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-unsafe-swiftshader",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app() -> Iterator[str]:
    """The app served by Uvicorn in a thread on 127.0.0.1; yields its base URL once it accepts connections.

    Shared by the browser tests and benchmarks.browser, so both measure the same server.
    """
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(500):
        if server.started:
            started.set()
            break
        started.wait(0.01)
    if not server.started:
        raise RuntimeError("uvicorn did not start within 5 s")
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    with serve_app() as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium; skipped only when absent and GDP_REQUIRE_BROWSER is unset."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("GDP_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is required (GDP_REQUIRE_BROWSER is set)")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request) -> Iterator[object]:
    """A fresh page; a screenshot of it is kept in tests/artifacts/ after each test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


HOST_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host</title>
<style>body { margin: 0; } iframe { display: block; border: 0; }</style></head>
<body>
<iframe id="view" src="__SRC__" width="__WIDTH__" height="1400" title="Embedded view"></iframe>
<script>
  window.events = [];
  window.addEventListener("message", (e) => {
    if (e.origin !== "__ORIGIN__") return;
    window.events.push(e.data);
  });
  window.send = (message) => document.getElementById("view").contentWindow.postMessage(message, "__ORIGIN__");
</script>
</body></html>
"""
"""A course page that embeds one view, records the messages it hears and can post commands to it."""


@pytest.fixture(scope="module")
def host_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A second HTTP server on another 127.0.0.1 port: another origin than the app's."""
    root = tmp_path_factory.mktemp("host")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    thread.join(timeout=5)


def host_page(root: Path, live_server: str, name: str, view: str, query: str, width: str = "100%") -> str:
    """Write a page embedding ``/embed/{view}?{query}`` into the host server folder; returns its name."""
    html = (
        HOST_HTML.replace("__SRC__", f"{live_server}/embed/{view}?{query}")
        .replace("__ORIGIN__", live_server)
        .replace("__WIDTH__", width)
    )
    (root / name).write_text(html, encoding="utf-8")
    return name


def ready_frame(page, live_server: str):
    """The embedded view's frame, once it has posted gdp:ready to the host."""
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:ready')", timeout=20_000)
    return next(f for f in page.frames if f.url.startswith(live_server + "/embed/"))


# Visible text nodes (Plotly's SVG text included), skipping what stays English on purpose: code and the Keras
# progress line (<pre>, <code>, translate="no"), hyperparameter names (.hp), and <select>s (optimizer and
# surface names, Keras monitor names).
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const parent = node.parentElement;
    const skip = "script, style, select, pre, code, .hp, [lang=en], [translate=no], dialog:not([open])";
    if (!text || !parent || parent.closest(skip)) continue;
    if (parent.checkVisibility && !parent.checkVisibility()) continue;
    out.push(text);
  }
  return out.join("\\n");
}"""


@functools.cache
def english_fragments() -> tuple[str, ...]:
    """English catalog text (tags and {placeholders} cut out), over 3 characters, that Turkish lacks."""
    en, tr = catalog("en"), catalog("tr")
    fragments: set[str] = set()
    for key, value in en.items():
        if value == tr[key]:
            continue
        for part in re.split(r"<[^>]+>|\{[a-z_]+\}", value):
            part = part.strip(" .,:;()·–—")
            if len(part) > 3 and part not in tr[key]:
                fragments.add(part)
    return tuple(sorted(fragments, key=len, reverse=True))


def english_left(text: str) -> list[str]:
    """English UI fragments found in ``text`` as whole words ("step" does not match inside "step_size")."""
    return [f for f in english_fragments() if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text)]
