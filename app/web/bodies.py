"""Request bodies that are parsed away from the event loop: the size limit, and their OpenAPI schemas.

Routes that compute take the raw body and hand it to a job (app/web/jobs.py), because parsing and
validating even a 1 MB body can take a second of pure-Python work. FastAPI then no longer sees a body
parameter, so the route declares its schema with ``json_body(Model)`` and ``add_body_schemas`` puts the
models into the OpenAPI components, where the documented request bodies stay exactly as before.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_MODELS: dict[str, type[BaseModel]] = {}
DRAIN_FACTOR = 64
"""A refused body is read (and dropped) up to this many times the body limit, then the connection closes."""


def component(model: type[BaseModel]) -> dict[str, str]:
    """A ``$ref`` to ``model`` in ``components.schemas``, where ``add_body_schemas`` will put it."""
    BODY_MODELS[model.__name__] = model
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route whose JSON body is ``model``."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": component(model)}}}}


def add_body_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put every ``component`` model (request bodies, and the response models of app/web/openapi.py) and
    the models they refer to into ``components.schemas``."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, model in BODY_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(def_name, definition)
        schemas[name] = schema
    return openapi


def too_large(size: int | None, limit: int) -> bytes:
    said = f"the body is {size:,} bytes" if size is not None else "the body is larger than allowed"
    return orjson.dumps(
        {
            "detail": [
                {
                    "loc": ["body"],
                    "msg": f"{said}; at most {limit:,} bytes are accepted (GDP_MAX_BODY_BYTES)",
                    "type": "too_large",
                    "ctx": {"limit": limit},
                }
            ]
        }
    )


class BodyLimit:
    """413 for a body over ``max_bytes``, before any of it is parsed.

    A declared Content-Length is checked before reading; a chunked body is read up to the limit and
    refused the moment it passes it, then replayed to the app when it fits.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None
            if declared is not None and declared > self.max_bytes:
                await self._drain(receive, declared)
                await self._refuse(send, declared)
                return
            if declared is not None:
                await self.app(scope, receive, send)
                return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await self._drain(receive, DRAIN_FACTOR * self.max_bytes)
                await self._refuse(send, None)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive, declared: int) -> None:
        """Read and drop a refused body (never parsing it) before answering, so a client that writes its
        whole body before reading gets the 413 instead of a reset connection. Bounded: of a body past
        ``DRAIN_FACTOR`` times the limit only that much is read, then it is answered and closed."""
        left = min(declared, DRAIN_FACTOR * self.max_bytes)
        while left > 0:
            message = await receive()
            if message["type"] != "http.request":
                return
            left -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _refuse(self, send: Send, size: int | None) -> None:
        body = too_large(size, self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
