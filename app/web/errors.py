"""Bad input becomes HTTP 422 in FastAPI's own error shape: a list of {loc, msg, type}."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from app.ml.errors import ConfigError, ExpressionError, UnknownNameError


def error_bytes(content: Any) -> bytes:
    """A 4xx body that always encodes: a character UTF-8 cannot carry (a lone surrogate) becomes '?'."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
        "utf-8", "replace"
    )


class ErrorResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return error_bytes(content)


def error_response(detail: list[dict[str, Any]]) -> ErrorResponse:
    return ErrorResponse({"detail": detail}, status_code=422)


class InputError(Exception):
    """A web-layer check failed (a limit from Settings, a bad query value); ``loc`` is the field path."""

    def __init__(self, loc: tuple[str | int, ...], message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.kind = kind


_UNION_TAGS = {"bool", "float", "int", "str", "list", "dict", "tuple", "RegistryDataset", "CsvDataset"}


def clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Pydantic's error path without union-member tags ('bool', 'constrained-float', "literal['max']")."""
    return tuple(
        p for p in loc if not isinstance(p, str) or (p not in _UNION_TAGS and "[" not in p and "-" not in p)
    )


def field_loc(root: str, field: str) -> tuple[str | int, ...]:
    """'runs.0.hyperparameters.lr' under 'body' -> ('body', 'runs', 0, 'hyperparameters', 'lr')."""
    parts: list[str | int] = [root]
    for part in filter(None, field.split(".")):
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def config_error_detail(error: ConfigError, root: str = "body") -> dict[str, object]:
    """One FastAPI-style error entry for a core ConfigError; unknown names carry the valid ones."""
    detail: dict[str, object] = {"loc": list(field_loc(root, error.field)), "msg": error.message}
    if isinstance(error, UnknownNameError):
        detail["type"] = "unknown_name"
        detail["ctx"] = {"valid": error.valid}
    elif isinstance(error, ExpressionError):
        detail["type"] = "expression_error"
        detail["ctx"] = {"expression": error.expression, "start": error.start, "end": error.end}
    else:
        detail["type"] = "value_error"
    return detail


async def handle_config_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ConfigError)
    root = "query" if request.method == "GET" else "body"
    return error_response([config_error_detail(error, root)])


async def handle_input_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InputError)
    return error_response([{"loc": list(error.loc), "msg": error.message, "type": error.kind}])


def _plain(value: Any) -> Any:
    """Context values as JSON-safe data: non-finite floats and odd objects become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors without the echoed input (it may hold NaN, or be 10 kB of junk)."""
    detail = []
    for item in errors:
        entry = {"loc": list(clean_loc(tuple(item["loc"]))), "msg": item["msg"], "type": item["type"]}
        if item.get("ctx"):
            entry["ctx"] = {k: _plain(v) for k, v in item["ctx"].items()}
        detail.append(entry)
    return detail


async def handle_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return error_response(validation_detail(error.errors()))


async def handle_http_error(request: Request, error: Exception) -> Response:
    """A body FastAPI could not parse as JSON for a reason other than syntax (its 400) is a 422 too."""
    assert isinstance(error, HTTPException)
    cause = error.__cause__
    if error.status_code == 400 and isinstance(cause, UnicodeDecodeError):
        message = f"the body is not UTF-8 JSON text (byte {cause.start} cannot be decoded)"
    elif error.status_code == 400 and isinstance(cause, RecursionError):
        message = "the JSON body is nested too deeply"
    else:
        return await http_exception_handler(request, error)
    return error_response([{"loc": ["body"], "msg": message, "type": "json_invalid"}])
