"""Static assets on one classroom Wi-Fi: gzip on the wire, content-hashed immutable URLs, no Host in pages."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient
from starlette.responses import StreamingResponse

from app.config import STATIC_DIR
from app.web.assets import IMMUTABLE, PLOTLY_JS, SHORT, AssetIndex, DynamicGZip, accepts_gzip
from app.web.routes.pages import EMBEDS, VIEWS

PAGES = ["/", *(f"/{view}" for view in VIEWS), *(f"/embed/{name}" for name in EMBEDS)]
ALL_PAGES = [*PAGES, *(f"{path}?lang=tr" for path in PAGES)]
ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)\"""")
IMPORT = re.compile(  # import/export … from "x" at the start of a line (not in comments), and import("x")
    r"""^(?:import|export)\s[^;"']*?\bfrom\s*["']([^"']+)["']"""
    r"""|^import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']""",
    re.MULTILINE,
)
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
PERMALINK = (
    base64.urlsafe_b64encode(json.dumps({"runs": [{"optimizer": "adam"}]}).encode()).decode().rstrip("=")
)
GZIP = {"accept-encoding": "gzip, deflate, br"}
IDENTITY = {"accept-encoding": "identity"}


def wire(client: TestClient, url: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """Status, headers and the body as sent (not decoded)."""
    with client.stream("GET", url, headers=headers) as response:
        return response.status_code, response.headers, b"".join(response.iter_raw())


def build(client: TestClient) -> str:
    match = re.search(r'src="/static/([0-9a-f]{12})/js/i18n\.js"', client.get("/playground").text)
    assert match, "the page loads i18n.js from a versioned URL"
    return match.group(1)


@pytest.mark.parametrize(
    "url, media",
    [
        ("/static/js/plot.js", "javascript"),
        ("/static/css/app.css", "text/css"),
        ("/playground", "text/html"),
        ("/api/v1/surfaces", "application/json"),
        ("/api/v1/traces?config=" + PERMALINK, "application/json"),
    ],
)
def test_gzip_is_negotiated_and_identity_kept_when_not_accepted(
    client: TestClient, url: str, media: str
) -> None:
    status, headers, body = wire(client, url, GZIP)
    assert status == 200 and media in headers["content-type"]
    assert headers["content-encoding"] == "gzip" and "accept-encoding" in headers["vary"].lower()
    plain_status, plain_headers, plain = wire(client, url, IDENTITY)
    assert plain_status == 200 and "content-encoding" not in plain_headers
    assert "accept-encoding" in plain_headers["vary"].lower()
    assert gzip.decompress(body) == plain and len(body) < len(plain) / 2
    _, refused, _ = wire(client, url, {"accept-encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused


def test_versioned_assets_are_gzipped_too_and_answer_304_per_encoding(client: TestClient) -> None:
    url = f"/static/{build(client)}/js/views/descent.js"
    _, zipped, body = wire(client, url, GZIP)
    _, plain, raw = wire(client, url, IDENTITY)
    assert zipped["content-encoding"] == "gzip" and gzip.decompress(body) == raw
    assert raw == (STATIC_DIR / "js/views/descent.js").read_bytes()
    assert zipped["etag"] != plain["etag"], "the gzip and identity bodies are different representations"
    assert client.get(url, headers={**GZIP, "if-none-match": zipped["etag"]}).status_code == 304
    assert client.get(url, headers={**IDENTITY, "if-none-match": plain["etag"]}).status_code == 304
    head = client.head(url, headers=GZIP)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(body))


def test_plotly_is_at_most_1_6_mb_on_the_wire(client: TestClient) -> None:
    for url in ("/static/vendor/plotly.min.js", f"/static/{build(client)}/vendor/plotly.min.js"):
        status, headers, body = wire(client, url, GZIP)
        assert status == 200 and headers["content-encoding"] == "gzip"
        assert int(headers["content-length"]) == len(body) <= 1_600_000, f"{len(body):,} bytes"
        assert gzip.decompress(body) == PLOTLY_JS.read_bytes()


def test_versioned_urls_are_immutable_and_others_short_lived(client: TestClient) -> None:
    current = build(client)
    assert client.get(f"/static/{current}/css/app.css").headers["cache-control"] == IMMUTABLE
    assert client.get(f"/static/{current}/vendor/plotly.min.js").headers["cache-control"] == IMMUTABLE
    assert client.get("/static/css/app.css").headers["cache-control"] == SHORT
    # A page from another build (a replica not yet upgraded) still gets the file, but not for a year.
    other = client.get("/static/0123456789ab/css/app.css")
    assert other.status_code == 200 and other.headers["cache-control"] == SHORT
    assert client.get(f"/static/{current}/js/nope.js").status_code == 404
    assert client.get(f"/static/{current}/../../app/config.py").status_code == 404
    assert client.get("/static/%2e%2e/app/config.py").status_code == 404


def test_build_hash_changes_when_any_file_changes(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    script = tmp_path / "js" / "a.js"
    script.write_text("export const a = 1;\n")
    extra = tmp_path / "vendor.js"
    extra.write_text("var v = 1;\n")
    index = AssetIndex(tmp_path / "js", {"vendor/v.js": extra}, rescan_s=0)
    first = index.build
    assert re.fullmatch(r"[0-9a-f]{12}", first) and index.build == first, "stable while nothing changes"
    assert index.url("a.js") == f"/static/{first}/a.js"
    script.write_text("export const a = 2;\n")  # same size, new content
    second = index.build
    assert second != first
    extra.write_text("var v = 22;\n")
    assert index.build not in (first, second), "files from outside static/ (Plotly) count too"
    (tmp_path / "js" / "b.js").write_text("export const b = 1;\n")
    third = index.build
    (tmp_path / "js" / "b.js").unlink()
    assert index.build not in (third,), "adding or removing a file changes the build"


def test_an_edited_file_is_never_served_immutable_under_the_old_build(tmp_path: Path) -> None:
    script = tmp_path / "a.js"
    script.write_text("export const a = 1;\n" * 100)
    index = AssetIndex(tmp_path, rescan_s=3600)  # no rescan: the build still names the old content
    assert index.digest("a.js", script.stat()) is not None
    script.write_text("export const a = 3;\n" * 101)
    assert index.digest("a.js", script.stat()) is None


def test_accept_encoding_parsing() -> None:
    assert accepts_gzip("gzip, deflate, br") and accepts_gzip("br;q=1.0, gzip;q=0.8") and accepts_gzip("*")
    assert not accepts_gzip("") and not accepts_gzip("identity") and not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("br, deflate") and not accepts_gzip("gzip;q=bogus")
    assert accepts_gzip("*;q=0, gzip") and not accepts_gzip("gzip;q=0, *")


CHECKED: dict[str, set[str]] = {}  # asset URL -> what it imports, each fetched once per run


def _module_graph(client: TestClient, entry: str) -> set[str]:
    """Every URL of the ES module graph below ``entry`` (static imports, resolved like the browser)."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        if url in CHECKED:
            todo.extend(CHECKED[url])
            continue
        CHECKED[url] = set()
        response = client.get(url)
        assert response.status_code == 200, url
        code = BLOCK_COMMENT.sub("", response.text)  # JSDoc types say import("./x") too
        for groups in IMPORT.findall(code):
            target = next(group for group in groups if group)
            if target.startswith((".", "/")):
                imported = urljoin("http://testserver" + url, target).removeprefix("http://testserver")
                CHECKED[url].add(imported)
                todo.append(imported)
    return seen


@pytest.mark.parametrize("path", ALL_PAGES)
def test_every_asset_of_every_page_is_versioned_and_loads(client: TestClient, path: str) -> None:
    html = client.get(path, headers={"Host": "evil.example"}).text
    current = build(client)
    urls = ASSET.findall(html)
    assert any(url.endswith("plotly.min.js") for url in urls) or path.split("?")[0] == "/"
    for url in urls:
        assert url.startswith(f"/static/{current}/"), f"{url} on {path} is not versioned"
        if url not in CHECKED:
            response = client.head(url)
            assert response.status_code == 200 and response.headers["cache-control"] == IMMUTABLE, url
    for url in urls:
        if url.endswith(".js") and "vendor/" not in url:
            for module in _module_graph(client, url):
                assert module.startswith(f"/static/{current}/js/"), f"{module} imported unversioned"


@pytest.mark.parametrize("path", ALL_PAGES)
def test_pages_do_not_reflect_the_host_header(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert "evil.example" not in response.text
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", response.text), (
        "asset URLs are root-relative"
    )


def test_static_files_keep_the_security_headers(client: TestClient) -> None:
    headers = client.get(f"/static/{build(client)}/js/i18n.js").headers
    assert headers["x-content-type-options"] == "nosniff" and "content-security-policy" in headers


def test_healthz_and_websockets_pass_by_the_compression(client: TestClient) -> None:
    health = client.get("/healthz", headers=GZIP)
    assert health.status_code == 200 and "content-encoding" not in health.headers
    assert "accept-encoding" not in health.headers.get("vary", "").lower()
    with client.websocket_connect("/api/v1/stream") as ws:
        assert ws.receive_json()["type"] == "hello"


def test_streamed_bodies_are_compressed_chunk_by_chunk() -> None:
    """A streaming response (e.g. NDJSON) still arrives as it is produced: each chunk is flushed."""
    lines = [f'{{"type":"step","step":{i},"x":{i * 0.5}}}\n'.encode() * 40 for i in range(5)]

    async def body():
        for line in lines:
            yield line

    app = DynamicGZip(StreamingResponse(body(), media_type="application/x-ndjson"))
    sent: list[dict] = []

    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():  # the request, then nothing (the client stays connected)
        if requests:
            return requests.pop()
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/v1/x", "headers": [(b"accept-encoding", b"gzip")]}
    with ThreadPoolExecutor(max_workers=1) as pool:  # a loop of its own (Playwright may hold this thread's)
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start, *chunks = sent
    assert (b"content-encoding", b"gzip") in start["headers"]
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for line, chunk in zip(lines, chunks, strict=False):
        assert decoder.decompress(chunk["body"]) == line, "each chunk decodes on arrival"
