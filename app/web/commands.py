"""WebSocket commands of protocol v1 as pydantic models: parsing a frame gives a typed command or an error."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.web.errors import clean_loc, validation_detail
from app.web.schemas import HyperValue, Int, RunConfig, RunId, replace_surrogates

PROTOCOL_VERSION = 1
Ref = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""An integer ``ref`` within 64 bits, so the error frame echoing it can be serialised."""
Speed = Annotated[float, Field(gt=0, allow_inf_nan=False)] | Literal["max"]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str | Ref | None = Field(None, description="Echoed in an error about this command.")

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        return replace_surrogates(data)


class Start(_Command):
    type: Literal["start"]
    kind: Literal["surface", "network", "map"] = "surface"
    config: dict[str, Any] = Field(
        description="A TraceRequest (surface), a NetworkRequest (network) or a MapRequest (map)."
    )
    speed: Speed = 30.0
    paused: bool = False


class Pause(_Command):
    type: Literal["pause"]


class Resume(_Command):
    type: Literal["resume"]


class Step(_Command):
    type: Literal["step"]
    n: Int = Field(1, ge=1, le=1000)


class Stop(_Command):
    type: Literal["stop"]


class SetSpeed(_Command):
    type: Literal["speed"]
    value: Speed


class Set(_Command):
    type: Literal["set"]
    run: RunId | None = Field(None, description="The run (surfaces); none for a network.")
    hyperparameters: dict[str, HyperValue] = Field(min_length=1)


class AddRun(_Command):
    type: Literal["add_run"]
    run: RunConfig


class RemoveRun(_Command):
    type: Literal["remove_run"]
    run: RunId


class Explain(_Command):
    type: Literal["explain"]
    run: RunId = Field(description="The run whose next update to explain (surfaces).")


COMMANDS: dict[str, type[_Command]] = {
    "start": Start,
    "pause": Pause,
    "resume": Resume,
    "step": Step,
    "stop": Stop,
    "speed": SetSpeed,
    "set": Set,
    "add_run": AddRun,
    "remove_run": RemoveRun,
    "explain": Explain,
}
CONFIG_FIELDS = {"config", "run", "hyperparameters"}


class CommandError(Exception):
    """A frame that is not a valid command; becomes an ``error`` message, the socket stays open."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        ref: Any = None,
        *,
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.ref = ref
        self.key = key  # the message key of the refusal (app.web.errors.with_key), None when it has none
        self.params = params or {}


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in clean_loc(loc))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str) -> Any:
    """orjson; JSON it refuses only for a lone surrogate escape ("\\udcff") goes through the standard
    parser (NaN and Infinity still refused), so such a string reaches validation and is named there."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if "surrogate" not in str(error):
            raise CommandError("invalid_json", f"not valid JSON: {error}") from None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise CommandError("invalid_json", f"not valid JSON: {error}") from None


def _ref(value: Any) -> str | int | None:
    """The ``ref`` to echo: a string (valid text) or an integer JSON can carry (orjson: 64 bits)."""
    if isinstance(value, str):
        return replace_surrogates(value)
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def parse_command(text: str) -> _Command:
    """One JSON text frame -> a command model, or CommandError naming the offending field."""
    data = _loads(text)
    if not isinstance(data, dict):
        raise CommandError("invalid_command", "a command is a JSON object with a 'type'", "type")
    ref = _ref(data.get("ref"))
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in COMMANDS:
        known = ", ".join(COMMANDS)
        raise CommandError("unknown_command", f"unknown command {kind!r}; commands: {known}", "type", ref)
    try:
        return COMMANDS[kind].model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = clean_loc(tuple(first["loc"]))
        code = "invalid_config" if loc and loc[0] in CONFIG_FIELDS else "invalid_command"
        detail = validation_detail([first])[0]
        raise CommandError(
            code, first["msg"], _dotted(loc), ref, key=detail.get("key"), params=detail.get("params")
        ) from None
