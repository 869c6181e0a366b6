"""OpenAPI helpers shared by the route modules: the documented 200 (a model of app/web/replies.py and a
real example from app/web/examples.py) and the documented 422."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.web.bodies import add_body_schemas, component

EXAMPLES: dict[str, Any] = {}
EXAMPLE_KEY = "x-example"

ERROR_422 = {
    422: {
        "description": "Invalid input: `detail` lists each bad field (`loc`), the reason (`msg`, English), "
        "for unknown names the valid ones (`ctx.valid`), and, where the refusal has one, its message "
        "`key` and `params` (a page shows `error.<key>` of its language filled with the params).",
        "content": {
            "application/json": {
                "example": {
                    "detail": [
                        {
                            "loc": ["body", "runs", 0, "optimizer"],
                            "msg": "unknown optimizer 'adamm'; valid: adadelta, adagrad, adam, …",
                            "type": "unknown_name",
                            "ctx": {"valid": ["adadelta", "adagrad", "adam"]},
                            "key": "unknown_name",
                            "params": {
                                "kind": "optimizer",
                                "name": "adamm",
                                "valid": "adadelta, adagrad, adam",
                            },
                        }
                    ]
                }
            }
        },
    }
}


def ok(
    description: str, model: type[BaseModel], example: Any, many: bool = False, **more: dict[str, Any]
) -> dict[int | str, dict[str, Any]]:
    """An OpenAPI 200 response: a JSON object of ``model`` (an array of them if ``many``) with a real
    example, plus other media types in ``more``."""
    schema = (
        {"type": "array", "items": component(model)}
        if many
        else {"type": "object", "allOf": [component(model)]}
    )
    key = f"{model.__name__}{'[]' if many else ''}"
    assert EXAMPLES.setdefault(key, example) is example, f"two examples for {key}"
    content = {"application/json": {"schema": schema, "example": {EXAMPLE_KEY: key}}, **more}
    return {200: {"description": description, "content": content}}


def complete(openapi: dict[str, Any]) -> dict[str, Any]:
    """The generated schema with the body and response models in its components and the examples in
    place (FastAPI drops null values from what it is given, and real answers have nulls)."""
    add_body_schemas(openapi)
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    example = media.get("example")
                    if isinstance(example, dict) and set(example) == {EXAMPLE_KEY}:
                        media["example"] = EXAMPLES[example[EXAMPLE_KEY]]
    return openapi
