"""Every JSON endpoint's real answers, and its documented example, match the schema /openapi.json declares.

The schemas are strict (no undeclared fields, every field required unless optional), so a renamed or
added field in serialize.py or networks.py fails here until app/web/replies.py (and the example) follow.
JSON Schema is checked by the small validator below (the subset pydantic emits), not a new dependency.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

NET = {"dataset": {"name": "insurance"}, "hidden": [2], "epochs": 2, "batch_size": 8, "seed": 0}
BLOBS = {
    "dataset": {"name": "blobs", "n": 60, "val_fraction": 0},
    "hidden": [3],
    "dropout": 0.5,
    "epochs": 2,
    "batch_size": 16,
    "grid_size": 5,
}
WAVE = {"dataset": {"name": "wave", "n": 40}, "hidden": [4], "epochs": 1, "early_stopping": {"patience": 1}}
RACE = {
    "surface": "rosenbrock",
    "steps": 5,
    "runs": [{"optimizer": "adam"}, {"optimizer": "sgd", "schedule": {"name": "step", "params": {}}}],
}
MAP_TRAINABILITY = {
    "kind": "trainability",
    "expression": "log(x) + y**2",
    "view": [0.1, 3, -1, 1],
    "start": [0.5, 0.5],
    "n": 4,
    "steps": 30,
    "runs": [{"optimizer": "adam"}],
    "x": {"name": "lr", "min": 0.01, "max": 10},
    "y": {"name": "betas.0", "min": 0, "max": 0.99, "scale": "linear"},
}
EVALUATING = {
    "surface": "beale",
    "steps": 3,
    "runs": [
        {"optimizer": "lbfgs", "hyperparameters": {"line_search_fn": "strong_wolfe"}},
        {"optimizer": "sam"},
        {"optimizer": "newton"},
        {"optimizer": "polyak"},
        {"optimizer": "adam"},
    ],
}
# (method, path as in /openapi.json, URL, body): at least one representative request per JSON endpoint.
CALLS: list[tuple[str, str, str, Any]] = [
    ("get", "/api/v1/surfaces", "/api/v1/surfaces", None),
    ("get", "/api/v1/surfaces/{name}", "/api/v1/surfaces/elongated?condition_number=5", None),
    ("get", "/api/v1/surfaces/{name}", "/api/v1/surfaces/bowl?grid=3", None),
    ("get", "/api/v1/surfaces/{name}", "/api/v1/surfaces/parabola?grid=4", None),
    ("get", "/api/v1/surfaces/{name}", "/api/v1/surfaces/insurance_bce?grid=3&batch=2", None),
    ("get", "/api/v1/cross-entropy", "/api/v1/cross-entropy?w=3&b=-1.25&batch_size=1", None),
    ("get", "/api/v1/surfaces/{name}", "/api/v1/surfaces/custom?expression=log(x)%2By&grid=3", None),
    ("get", "/api/v1/surfaces/{name}/curvature", "/api/v1/surfaces/rosenbrock/curvature?x=-1&y=1.5", None),
    ("get", "/api/v1/surfaces/{name}/curvature", "/api/v1/surfaces/saddle/curvature?x=0&y=0", None),
    (
        "get",
        "/api/v1/surfaces/{name}/curvature",
        "/api/v1/surfaces/custom/curvature?x=1&y=1&expression=-x%5E2",
        None,
    ),
    ("get", "/api/v1/surfaces/{name}/curvature", "/api/v1/surfaces/parabola/curvature?x=2", None),
    ("get", "/api/v1/version", "/api/v1/version", None),
    ("get", "/api/v1/optimizers", "/api/v1/optimizers", None),
    ("get", "/api/v1/schedules", "/api/v1/schedules", None),
    ("get", "/api/v1/datasets", "/api/v1/datasets", None),
    ("get", "/healthz", "/healthz", None),
    (
        "post",
        "/api/v1/traces",
        "/api/v1/traces",
        {"surface": "parabola", "steps": 3, "runs": [{"optimizer": "sgd"}]},
    ),
    ("post", "/api/v1/traces", "/api/v1/traces", RACE),
    ("post", "/api/v1/traces", "/api/v1/traces", EVALUATING),
    (
        "get",
        "/api/v1/traces",
        "/api/v1/traces?config=eyJydW5zIjpbeyJvcHRpbWl6ZXIiOiJzZ2QifV0sInN0ZXBzIjozfQ",
        None,
    ),
    ("post", "/api/v1/datasets/preview", "/api/v1/datasets/preview", {"dataset": {"name": "insurance"}}),
    ("post", "/api/v1/traces/network", "/api/v1/traces/network", NET),
    ("post", "/api/v1/traces/network", "/api/v1/traces/network", BLOBS),
    ("post", "/api/v1/traces/network", "/api/v1/traces/network", WAVE),
    ("post", "/api/v1/networks/code", "/api/v1/networks/code", NET),
    ("post", "/api/v1/networks/landscape", "/api/v1/networks/landscape", {"config": NET, "n": 5}),
    (
        "post",
        "/api/v1/maps",
        "/api/v1/maps",
        {"surface": "himmelblau", "n": 4, "runs": [{"optimizer": "adam"}]},
    ),
    ("post", "/api/v1/maps", "/api/v1/maps", MAP_TRAINABILITY),
]


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def _json_200(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]


def errors(schema: dict[str, Any], value: Any, spec: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (the JSON Schema subset pydantic and this app emit)."""
    found: list[str] = []
    if "$ref" in schema:
        found += errors(spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], value, spec, where)
    for part in schema.get("allOf", []):
        found += errors(part, value, spec, where)
    if "anyOf" in schema and all(errors(option, value, spec, where) for option in schema["anyOf"]):
        found.append(f"{where}: {value!r:.60} matches none of {schema['anyOf']}")
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of {schema['enum']}")
    kind = schema.get("type")
    if kind is not None and not _is(kind, value):
        return [*found, f"{where}: {value!r:.60} is not {kind}"]
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}: missing {name!r}")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                found += errors(properties[name], item, spec, f"{where}.{name}")
            elif extra is False:
                found.append(f"{where}: undeclared field {name!r}")
            elif isinstance(extra, dict):
                found += errors(extra, item, spec, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += errors(schema["items"], item, spec, f"{where}[{i}]")
    return found


def _is(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    types = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}
    return isinstance(value, types[kind])


def test_every_json_endpoint_is_called_here(spec: dict[str, Any]) -> None:
    documented = {
        (path, method)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation["responses"].get("200", {}).get("content", {})
    }
    assert documented == {(path, method) for method, path, _, _ in CALLS}


@pytest.mark.parametrize(("method", "path", "url", "body"), CALLS, ids=[c[2][:60] for c in CALLS])
def test_real_answers_match_the_declared_schema(
    client: TestClient, spec: dict[str, Any], method: str, path: str, url: str, body: Any
) -> None:
    response = client.request(method, url, json=body)
    assert response.status_code == 200, response.text[:500]
    documented = _json_200(spec, path, method)
    assert errors(documented["schema"], response.json(), spec) == []


@pytest.mark.parametrize(("method", "path"), sorted({(c[0], c[1]) for c in CALLS}))
def test_documented_examples_match_the_declared_schema(spec: dict[str, Any], method: str, path: str) -> None:
    documented = _json_200(spec, path, method)
    assert errors(documented["schema"], documented["example"], spec) == []


def test_the_schemas_catch_the_old_wrong_examples(spec: dict[str, Any]) -> None:
    """The examples this replaced: landscape `alpha`/`beta`, network trace `started` and `train.loss`."""
    landscape = _json_200(spec, "/api/v1/networks/landscape", "post")["schema"]
    old = {"alpha": [-1.0, 0.0, 1.0], "beta": [-1.0, 0.0, 1.0], "loss": [[0.9, 0.7], [0.6, 0.2]]}
    assert any("'alphas'" in e for e in errors(landscape, old, spec))
    network = _json_200(spec, "/api/v1/traces/network", "post")["schema"]
    old = {
        "started": {"iterations_per_epoch": 22, "epochs": 10},
        "epochs": [{"epoch": 1, "iteration": 22, "train": {"loss": 0.61}, "val": {"loss": 0.63}}],
        "done": {"reason": "max_epochs", "epoch": 10},
    }
    found = errors(network, old, spec)
    assert any("'started'" in e for e in found) and any("'train_loss'" in e for e in found)
