"""OpenAPI helpers shared by the route modules: the documented 422 and 200 responses."""

from __future__ import annotations

from typing import Any

from app.web.responses import schema_of

ERROR_422 = {
    422: {
        "description": "Invalid input: `detail` lists each bad field (`loc`), the reason (`msg`) and, for "
        "unknown names, the valid ones (`ctx.valid`).",
        "content": {
            "application/json": {
                "example": {
                    "detail": [
                        {
                            "loc": ["body", "runs", 0, "optimizer"],
                            "msg": "unknown optimizer 'adamm'; valid: adadelta, adagrad, adam, …",
                            "type": "unknown_name",
                            "ctx": {"valid": ["adadelta", "adagrad", "adam"]},
                        }
                    ]
                }
            }
        },
    }
}


def ok(description: str, example: Any, **more: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """An OpenAPI 200 response with a JSON example (plus other media types in `more`)."""
    content = {"application/json": {"schema": schema_of(example), "example": example}, **more}
    return {200: {"description": description, "content": content}}
