"""Property-based walk of the OpenAPI schema: every GET with generated query values, every POST with generated
bodies. Never a 5xx; JSON answers (CSV/NDJSON when asked); 422 bodies in the documented error shape."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.ml.datasets import DATASETS
from app.ml.optimizers import OPTIMIZERS
from app.ml.schedules import SCHEDULES
from app.ml.surfaces import SURFACES

CLIENT = TestClient(create_app())
SCHEMA = CLIENT.get("/openapi.json").json()
REST = [
    (path, method, op)
    for path, ops in SCHEMA["paths"].items()
    for method, op in ops.items()
    if path.startswith("/api/")
]
# Registry names, so generated strings often pass validation and reach the engine, not only the validator.
VOCABULARY = [
    *SURFACES,
    *OPTIMIZERS,
    *SCHEDULES,
    *DATASETS,
    "custom",
    "relu",
    "tanh",
    "sigmoid",
    "x**2 + y",
    "json",
]
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def small_int(schema: dict) -> st.SearchStrategy[int]:
    """In-range integers near the low end (cheap runs), plus values just outside the bounds (422s)."""
    lo = int(schema.get("minimum", -5))
    hi = int(schema.get("maximum", lo + 1000))
    inside = st.integers(lo, min(hi, lo + 12))
    return st.one_of(inside, inside, st.just(lo - 1), st.just(hi + 1))


def numbers(schema: dict) -> st.SearchStrategy[float]:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    bounded = st.floats(lo if lo is not None else -10, hi if hi is not None else 10, allow_nan=False)
    return st.one_of(
        bounded, st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.0, 0.01, 0.5, 1.0])
    )


def strategy(schema: dict, depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for (mostly) schema-shaped JSON; sometimes off-schema, to reach the 422 paths."""
    schema = resolve(schema)
    junk = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=4))
    if depth > 4:
        return junk
    options = [strategy(s, depth + 1) for s in schema.get("anyOf", []) + schema.get("oneOf", [])]
    if options:
        return st.one_of(*options)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "examples" in schema:
        examples = st.sampled_from(schema["examples"])
        return st.one_of(examples, strategy({k: v for k, v in schema.items() if k != "examples"}, depth))
    kind = schema.get("type")
    if kind == "integer":
        return small_int(schema)
    if kind == "number":
        return numbers(schema)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=int(schema.get("maxLength", 12)) % 13))
    if kind == "null":
        return st.none()
    if kind == "array":
        items = strategy(schema.get("items", {}), depth + 1)
        lo = int(schema.get("minItems", 0))
        return st.lists(items, min_size=lo, max_size=min(int(schema.get("maxItems", lo + 3)), lo + 3))
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fixed = {k: strategy(v, depth + 1) for k, v in props.items() if k in required}
        optional = {k: strategy(v, depth + 1) for k, v in props.items() if k not in required}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not props:
            return st.dictionaries(
                st.sampled_from(["lr", "momentum", "betas", "eps", "x"]),
                strategy(extra, depth + 1),
                max_size=3,
            )
        return st.fixed_dictionaries(fixed, optional=optional)
    return junk


def check_response(response, wanted_format: str | None) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code == 304:
        return
    media = response.headers["content-type"]
    if response.status_code == 200 and wanted_format in ("csv", "ndjson"):
        assert ("csv" in media) if wanted_format == "csv" else ("ndjson" in media), media
        return
    assert media.startswith("application/json"), media
    body = response.json()
    if response.status_code == 422:
        assert isinstance(body["detail"], list) and body["detail"], body
        for item in body["detail"]:
            assert (
                isinstance(item["loc"], list)
                and isinstance(item["msg"], str)
                and isinstance(item["type"], str)
            )
            assert set(item) <= {"loc", "msg", "type", "ctx", "key", "params"}
            assert ("key" in item) == ("params" in item), item
            if "key" in item:
                assert isinstance(item["key"], str) and isinstance(item["params"], dict), item
    else:
        assert response.status_code in (200, 404), response.status_code
    assert "NaN" not in response.text and "Infinity" not in response.text


def query_strategy(op: dict) -> st.SearchStrategy[tuple[dict, dict]]:
    path_params = {p["name"]: strategy(p["schema"]) for p in op.get("parameters", []) if p["in"] == "path"}
    query = {p["name"]: strategy(p["schema"]) for p in op.get("parameters", []) if p["in"] == "query"}
    return st.tuples(st.fixed_dictionaries(path_params), st.fixed_dictionaries({}, optional=query))


def fill(path: str, values: dict) -> str:
    """The path with its parameters put in, percent-encoded (a path segment may hold any text)."""
    return re.sub(r"\{(\w+)\}", lambda m: quote(str(values[m.group(1)]), safe="") or "x", path)


def as_query(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else "" if value is None else str(value)


GETS = [(path, op) for path, method, op in REST if method == "get"]
POSTS = [(path, op) for path, method, op in REST if method == "post"]


@pytest.mark.parametrize(("path", "op"), GETS, ids=[p for p, _ in GETS])
def test_get_endpoints_never_fail(path: str, op: dict) -> None:
    @FUZZ
    @given(query_strategy(op))
    def run(values: tuple[dict, dict]) -> None:
        path_values, query = values
        params = {k: as_query(v) for k, v in query.items()}
        check_response(CLIENT.get(fill(path, path_values), params=params), params.get("format"))

    run()


@pytest.mark.parametrize(("path", "op"), POSTS, ids=[p for p, _ in POSTS])
def test_post_endpoints_never_fail(path: str, op: dict) -> None:
    body_schema = op["requestBody"]["content"]["application/json"]["schema"]
    bodies = st.one_of(
        strategy(body_schema), strategy(body_schema), st.from_type(dict), st.lists(st.integers(), max_size=2)
    )

    @FUZZ
    @given(bodies, query_strategy(op))
    def run(body: Any, values: tuple[dict, dict]) -> None:
        params = {k: as_query(v) for k, v in values[1].items()}
        check_response(CLIENT.post(path, json=body, params=params), params.get("format"))

    run()


@pytest.mark.parametrize(("path", "method", "op"), REST, ids=[f"{m} {p}" for p, m, op in REST])
def test_every_endpoint_documents_an_example_and_its_422(path: str, method: str, op: dict) -> None:
    ok = op["responses"]["200"]["content"]["application/json"]
    assert "example" in ok or "examples" in ok, f"{method} {path}: no 200 example"
    takes_input = bool(op.get("parameters")) or "requestBody" in op
    if takes_input:
        error = op["responses"]["422"]["content"]["application/json"]
        assert error["example"]["detail"][0].keys() >= {"loc", "msg", "type"}
