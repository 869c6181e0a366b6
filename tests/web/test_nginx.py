"""deploy/nginx.conf in front of two app processes (Debian's nginx): pages, REST, WebSocket, caching.

Skipped when /usr/sbin/nginx is missing, unless GDP_REQUIRE_NGINX=1 (then it fails).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import time
from collections.abc import Iterator

import httpx
import pytest

from benchmarks.nginx import (
    CONFIG,
    NGINX,
    TRACE,
    Stack,
    _permalink_config,
    nginx_stack,
    render,
    stream_to_done,
)

pytestmark = pytest.mark.timeout(90)


def test_render_sets_listen_and_one_server_line_per_upstream() -> None:
    text = render(CONFIG.read_text(), 9999, [7001, 7002, 7003], worker_processes=1)
    assert "listen 127.0.0.1:9999;" in text and "listen 80;" not in text
    servers = re.findall(r"^\s*server 127\.0\.0\.1:(\d+) max_fails=3 fail_timeout=10s;$", text, re.M)
    assert servers == ["7001", "7002", "7003"] and "worker_processes 1;" in text


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if not shutil.which(NGINX):
        if os.environ.get("GDP_REQUIRE_NGINX") == "1":
            pytest.fail(f"{NGINX} is required (GDP_REQUIRE_NGINX=1)")
        pytest.skip(f"{NGINX} not installed")
    with nginx_stack(apps=2) as running:
        yield running


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base, timeout=30) as client:
        yield client


def test_config_passes_nginx_t(stack: Stack) -> None:
    assert "syntax is ok" in stack.config_test and "test is successful" in stack.config_test


def test_pages_come_gzipped_with_the_app_headers(http: httpx.Client) -> None:
    with http.stream("GET", "/playground", headers={"accept-encoding": "gzip"}) as response:
        body = b"".join(response.iter_raw())
        assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
        assert (
            "content-security-policy" in response.headers
            and "accept-encoding" in response.headers["vary"].lower()
        )
    html = gzip.decompress(body).decode()
    assert re.search(r'src="/static/[0-9a-f]{12}/js/views/playground\.js"', html)
    health = http.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_versioned_static_files_are_cached_by_nginx(http: httpx.Client) -> None:
    html = http.get("/playground").text
    url = re.search(r'src="(/static/[0-9a-f]{12}/vendor/plotly\.min\.js)"', html).group(1)
    with http.stream("GET", url, headers={"accept-encoding": "gzip"}) as first:
        size = sum(len(chunk) for chunk in first.iter_raw())
        assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert first.headers["content-encoding"] == "gzip" and size <= 1_600_000
    second = http.get(url, headers={"accept-encoding": "gzip"})
    assert second.headers["x-cache-status"] == "HIT" and second.headers["content-encoding"] == "gzip"
    plain = http.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers, "gzip and identity are cached apart"
    assert len(plain.content) > 4_000_000


def test_rest_traces_and_permalinks(http: httpx.Client) -> None:
    posted = http.post("/api/v1/traces", json=TRACE)
    assert posted.status_code == 200 and posted.headers.get("x-cache-status") in (None, "", "BYPASS", "MISS")
    first = http.get("/api/v1/traces", params={"config": _permalink_config()})
    again = http.get("/api/v1/traces", params={"config": _permalink_config()})
    assert first.status_code == again.status_code == 200 and again.headers["x-cache-status"] == "HIT"
    assert first.headers["etag"] == again.headers["etag"]
    revalidated = http.get(
        "/api/v1/traces",
        params={"config": _permalink_config()},
        headers={"if-none-match": first.headers["etag"]},
    )
    assert revalidated.status_code == 304


def test_websocket_streams_to_done_through_nginx(stack: Stack) -> None:
    rate, messages = stream_to_done(stack.ws_url, 2_000)
    assert messages >= 1 and rate > 0


def test_both_upstreams_served_requests(stack: Stack, http: httpx.Client) -> None:
    for i in range(6):
        assert http.post("/api/v1/traces", json={**TRACE, "steps": 20, "seed": i}).status_code == 200
    time.sleep(0.1)
    served = stack.served_by()
    assert all(served[port] > 0 for port in stack.upstreams), served
