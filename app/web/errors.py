"""Bad input becomes HTTP 422 in FastAPI's own error shape: a list of {loc, msg, type}.

Each entry may also carry ``key`` and ``params`` (docs/api.md): the message key of the refusal and the
values its sentence needs, so a page can say it in its own language (``error.<key>`` in app/i18n).
Core errors bring their own key; pydantic's are ``validation.<type>`` with pydantic's ``ctx`` as params.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

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

    def __init__(
        self,
        loc: tuple[str | int, ...],
        message: str,
        kind: str = "value_error",
        *,
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.kind = kind
        self.key = key
        self.params = params or {}


def with_key(entry: dict[str, Any], key: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with ``key`` and JSON-safe ``params`` added when the error has a message key."""
    if key:
        entry["key"] = key
        entry["params"] = {k: _plain(v) for k, v in params.items()}
    return entry


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


Path = tuple[str | int, ...]
Located = TypeVar("Located", ConfigError, InputError)


def field_path(error: ConfigError | InputError) -> Path:
    """An error's field path below the request's root: a ConfigError's dotted ``field`` split
    ('runs.0.lr' -> ('runs', 0, 'lr')), an InputError's ``loc`` without its 'body' or 'query'."""
    if isinstance(error, InputError):
        return error.loc[1:]
    return field_loc("", error.field)[1:]


def _under(path: Path, root: Path, strip: Path) -> Path:
    if strip and path[: len(strip)] == strip:
        path = path[len(strip) :]
    return (*root, *path)


def reroot(error: Located, root: Path = (), *, strip: Path = (), path: Path | None = None) -> Located:
    """The same error (a copy) with its field path re-rooted: ``strip`` taken off its front, ``root`` put
    before it; ``path`` replaces the path first. The one way the web layer moves an error's field."""
    moved = _under(field_path(error) if path is None else path, root, strip)
    copy = type(error).__new__(type(error), *error.args)
    copy.__dict__.update(error.__dict__)
    if isinstance(copy, InputError):
        copy.loc = (error.loc[0], *moved)
    else:
        copy.field = ".".join(str(p) for p in moved)
    return copy


def error_details(
    error: ConfigError | InputError | ValidationError, root: Path, *, strip: Path = ()
) -> list[dict[str, Any]]:
    """FastAPI-style entries (``loc``, ``msg``, ``type``, ``ctx``) for any of the three kinds of bad input,
    each field path re-rooted under ``root`` (e.g. ``("body",)`` or ``("config",)``)."""
    if isinstance(error, ValidationError):
        return [
            {**d, "loc": list(_under(tuple(d["loc"]), root, strip))}
            for d in validation_detail(error.errors())
        ]
    if isinstance(error, InputError):
        entry = {
            "loc": list(_under(field_path(error), root, strip)),
            "msg": error.message,
            "type": error.kind,
        }
        return [with_key(entry, error.key, error.params)]
    return [config_error_detail(error, root, strip=strip)]


def config_error_detail(error: ConfigError, root: Path = ("body",), *, strip: Path = ()) -> dict[str, Any]:
    """One FastAPI-style error entry for a core ConfigError; unknown names carry the valid ones."""
    detail: dict[str, Any] = {"loc": list(_under(field_path(error), root, strip)), "msg": error.message}
    if isinstance(error, UnknownNameError):
        detail["type"] = "unknown_name"
        detail["ctx"] = {"valid": error.valid}
    elif isinstance(error, ExpressionError):
        detail["type"] = "expression_error"
        detail["ctx"] = {"expression": error.expression, "start": error.start, "end": error.end}
    else:
        detail["type"] = "value_error"
    return with_key(detail, error.key, error.params)


async def handle_config_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ConfigError)
    root = "query" if request.method == "GET" else "body"
    return error_response([config_error_detail(error, (root,))])


async def handle_input_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InputError)
    entry = {"loc": list(error.loc), "msg": error.message, "type": error.kind}
    return error_response([with_key(entry, error.key, error.params)])


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
        detail.append(with_key(entry, f"validation.{item['type']}", entry.get("ctx", {})))
    return detail


async def handle_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return error_response(validation_detail(error.errors()))
