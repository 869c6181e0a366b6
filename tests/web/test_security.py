"""Security headers: a CSP without inline script on every page, nosniff, referrer policy, framing rules."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "path", ["/", "/playground", "/race", "/learning-rate", "/sweep", "/api/v1/surfaces"]
)
def test_pages_and_api_carry_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    script_src = next(part for part in csp.split("; ") if part.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src, "no inline script may run"
    assert "frame-ancestors 'self'" in csp and headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", ["/", "/playground", "/learning-rate", "/sweep", "/race"])
def test_templates_hold_no_inline_script_or_handler(client: TestClient, path: str) -> None:
    html = client.get(path).text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'type="application/json"' in tag or "src=" in tag, f"inline script {tag}"
    assert not re.search(r"\son[a-z]+\s*=", html), "no inline event handlers"


def test_docs_are_left_without_a_csp(client: TestClient) -> None:
    headers = client.get("/docs").headers
    assert "content-security-policy" not in headers and headers["x-content-type-options"] == "nosniff"


def test_api_docs_work_offline(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "cdn." not in html and "/static-offline-docs/swagger-ui-bundle.js" in html
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    assert "cdn." not in client.get("/redoc").text
