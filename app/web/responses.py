"""Fast JSON responses via orjson (see serialize.dumps for the finiteness contract)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from app.web.serialize import dumps


class FastJSONResponse(JSONResponse):
    """A JSONResponse (so OpenAPI documents JSON, not ``type: string``) rendered by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def schema_of(example: Any) -> dict[str, Any]:
    """The outline of a documented example: an object, or an array of objects (or of values)."""
    if isinstance(example, dict):
        return {"type": "object"}
    if isinstance(example, list):
        return {"type": "array", "items": schema_of(example[0]) if example else {}}
    if isinstance(example, str):
        return {"type": "string"}
    return {}
