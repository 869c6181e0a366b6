"""First-load bytes on the wire of /playground and /network, gzip vs none: `python -m benchmarks.assets`.

Measured in headless Chromium (the e2e tests' launch settings) against the app under a real Uvicorn server
on 127.0.0.1: every response of a page load, i.e. the HTML, every script (Plotly and the whole ES module
graph), stylesheet, icon and every JSON request the page makes while starting, summed from the page's
Resource Timing entries (``transferSize``: response headers plus the body as sent, 0 when the browser
cache answered). The WebSocket is not counted. Each load is a fresh browser context (empty cache);
"no gzip" sends ``Accept-Encoding: identity`` on every request (DevTools protocol extra headers). A
second visit in the same context shows what the immutable, versioned asset URLs leave to transfer: the
HTML and any JSON.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_app

PAGES = ("/playground", "/network")
READY = {"/playground": "() => window.__playground && window.__playground.ready()"}
PLOTLY_WIRE_LIMIT = 1_600_000


@contextmanager
def _browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


ENTRIES_JS = """() => ['navigation', 'resource']
  .flatMap((type) => performance.getEntriesByType(type))
  .filter((e) => e.name.startsWith('http'))
  .map((e) => [e.name, e.transferSize, e.encodedBodySize, e.decodedBodySize])"""


def _load(page, url: str, path: str) -> dict[str, tuple[int, str]]:
    """url -> (bytes received, "gzip" or "identity") of every HTTP response of one page load.

    Bytes are Resource Timing's transferSize (response headers + body as sent; 0 when served from the
    browser cache), once the page is ready and no new resource has appeared for a second.
    """
    page.goto(url + path, wait_until="networkidle", timeout=60_000)
    if path in READY:
        page.wait_for_function(READY[path], timeout=30_000)
    entries: list = []
    for _ in range(60):  # at most 30 s
        page.wait_for_load_state("networkidle", timeout=30_000)
        current = page.evaluate(ENTRIES_JS)
        if entries and len(current) == len(entries):
            break
        entries = current
        page.wait_for_timeout(500)
    loaded = {}
    for name, transfer, encoded, decoded in entries:
        loaded[name.removeprefix(url)] = (int(transfer), "gzip" if encoded < decoded else "identity")
    return loaded


def measure(base: str, browser, path: str, gzip: bool) -> tuple[dict, dict]:
    """A first load and a second visit of ``path`` in one fresh context: url -> (bytes, encoding) each."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        if not gzip:  # through the DevTools protocol: Chromium's own Accept-Encoding is replaced
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "identity"}})
        first = _load(page, base, path)
        second = _load(page, base, path)
        return first, second
    finally:
        context.close()


def _kb(n: int) -> str:
    return f"{n / 1024:,.0f} kB" if n < 10 * 2**20 else f"{n / 2**20:,.1f} MB"


def assets_rows(quick: bool) -> list[tuple[str, str, str]]:
    """First-load (and repeat-visit) bytes on the wire of /playground and /network, gzip vs identity."""
    if not shutil.which(CHROMIUM):
        return [("assets section", f"skipped: {CHROMIUM} missing", "")]
    rows: list[tuple[str, str, str]] = []
    with serve_app() as base, _browser() as browser:
        measure(base, browser, "/playground", True)  # warm: each file is gzipped once per process
        for path in PAGES:
            first_gz, second_gz = measure(base, browser, path, gzip=True)
            first_id, _ = measure(base, browser, path, gzip=False)
            total_gz, total_id = sum(v[0] for v in first_gz.values()), sum(v[0] for v in first_id.values())
            plotly = next((v for k, v in first_gz.items() if k.endswith("plotly.min.js")), (0, "?"))
            plain = [k for k, v in first_gz.items() if v[1] != "gzip" and v[0] > 2048]
            zipped = [k for k, v in first_id.items() if v[1] == "gzip"]
            if zipped:
                raise RuntimeError(f"gzip despite Accept-Encoding: identity: {zipped}")
            rows.append(
                (
                    f"{path} first load, gzip ({len(first_gz)} responses)",
                    f"{_kb(total_gz)} ({total_gz:,} B)",
                    "Plotly ≤ 1.6 MB",
                )
            )
            rows.append(
                (
                    f"{path} first load, no gzip ({len(first_id)} responses)",
                    f"{_kb(total_id)} ({total_id:,} B)",
                    "",
                )
            )
            rows.append((f"{path} of which Plotly, gzip", f"{plotly[0]:,} B ({plotly[1]})", "≤ 1,600,000 B"))
            second = sum(v[0] for v in second_gz.values())
            rows.append((f"{path} second visit, gzip (cached assets)", f"{_kb(second)} ({second:,} B)", ""))
            if plain:
                rows.append((f"{path} uncompressed responses > 2 kB", ", ".join(sorted(plain))[:60], "none"))
            if quick:
                break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only /playground")
    parser.add_argument("--verbose", action="store_true", help="list every response of a gzip first load")
    args = parser.parse_args()
    if args.verbose:
        with serve_app() as base, _browser() as browser:
            for path in PAGES:
                first, _ = measure(base, browser, path, gzip=True)
                for url, (size, encoding) in sorted(first.items(), key=lambda kv: -kv[1][0]):
                    print(f"{path:<12} {size:>10,} B  {encoding:<8} {url}")
    for name, value, target in assets_rows(args.quick):
        print(f"{name:<52} {value:>28}  {target}")


if __name__ == "__main__":
    main()
