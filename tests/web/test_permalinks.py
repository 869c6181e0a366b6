"""Trace permalinks (GET with an encoded config), ETag/304, the LRU, CORS, health and version."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

CONFIG = {
    "surface": "himmelblau",
    "steps": 150,
    "runs": [
        {"id": "gd", "optimizer": "sgd", "hyperparameters": {"lr": 0.01}},
        {"id": "adam", "optimizer": "adam"},
    ],
}


def encode(config: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(config).encode()).rstrip(b"=").decode()


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("fmt", ["json", "csv", "ndjson"])
def test_permalink_equals_post(client: TestClient, fmt: str) -> None:
    posted = client.post(f"/api/v1/traces?format={fmt}", json=CONFIG)
    linked = client.get("/api/v1/traces", params={"config": encode(CONFIG), "format": fmt})
    assert linked.status_code == 200 and linked.content == posted.content
    assert linked.headers["content-type"].split(";")[0] == posted.headers["content-type"].split(";")[0]


def test_permalink_has_etag_and_cache_control_and_answers_304(client: TestClient) -> None:
    url = f"/api/v1/traces?config={encode(CONFIG)}"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and "public" in first.headers["cache-control"]
    again = client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304 and not again.content and again.headers["etag"] == etag
    other = client.get(f"/api/v1/traces?config={encode({**CONFIG, 'seed': 1})}")
    assert other.headers["etag"] != etag, "a different config has a different ETag"
    assert client.get(url + "&format=csv").headers["etag"] != etag, "each format has its own ETag"


def test_equal_configs_written_differently_share_the_etag(client: TestClient) -> None:
    reordered = {"runs": CONFIG["runs"], "steps": 150, "surface": "himmelblau", "seed": 0}
    a = client.get(f"/api/v1/traces?config={encode(CONFIG)}").headers["etag"]
    b = client.get(f"/api/v1/traces?config={encode(reordered)}").headers["etag"]
    assert a == b


def test_a_class_loading_the_same_trace_computes_it_once(app, client: TestClient) -> None:
    url = f"/api/v1/traces?config={encode({**CONFIG, 'steps': 2000})}"
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda _: client.get(url), range(64)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert app.state.trace_cache.computed == 1


@pytest.mark.parametrize(
    ("config", "loc"),
    [
        ("%%%", ["query", "config"]),
        (base64.urlsafe_b64encode(b"not json").decode(), ["query", "config"]),
        (encode({"runs": [{"optimizer": "adamm"}]}), ["query", "config", "runs", 0, "optimizer"]),
        (encode({"runs": "x"}), ["query", "config", "runs"]),
    ],
)
def test_bad_permalinks_are_422(client: TestClient, config: str, loc: list) -> None:
    response = client.get("/api/v1/traces", params={"config": config})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc


def test_cors_opens_get_endpoints_to_other_origins(client: TestClient) -> None:
    response = client.get("/api/v1/surfaces", headers={"origin": "https://course.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/api/v1/traces",
        headers={"origin": "https://course.example", "access-control-request-method": "GET"},
    )
    assert preflight.status_code == 200
    post = client.options(
        "/api/v1/traces",
        headers={"origin": "https://course.example", "access-control-request-method": "POST"},
    )
    assert post.status_code == 400, "POST is not opened to other origins by default"


def test_health_and_version(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    version = client.get("/api/v1/version").json()
    assert version["api"] == "v1" and version["protocol"] == 1 and version["app"]


def test_permalink_limits_name_the_field_inside_config(client: TestClient) -> None:
    response = client.get("/api/v1/traces", params={"config": encode({**CONFIG, "steps": 10**7})})
    assert response.json()["detail"][0]["loc"] == ["query", "config", "steps"]
