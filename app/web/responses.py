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
