"""WebSocket commands of protocol v1 as pydantic models: parsing a frame gives a typed command or an error."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.web.errors import clean_loc
from app.web.schemas import RUN_ID_PATTERN, HyperValue, RunConfig

PROTOCOL_VERSION = 1
Speed = Annotated[float, Field(gt=0, allow_inf_nan=False)] | Literal["max"]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str | int | None = Field(None, description="Echoed in an error about this command.")


class Start(_Command):
    type: Literal["start"]
    kind: Literal["surface", "network"] = "surface"
    config: dict[str, Any] = Field(description="A TraceRequest (surface) or a NetworkRequest (network).")
    speed: Speed = 30.0
    paused: bool = False


class Pause(_Command):
    type: Literal["pause"]


class Resume(_Command):
    type: Literal["resume"]


class Step(_Command):
    type: Literal["step"]
    n: int = Field(1, ge=1, le=1000)


class Stop(_Command):
    type: Literal["stop"]


class SetSpeed(_Command):
    type: Literal["speed"]
    value: Speed


class Set(_Command):
    type: Literal["set"]
    run: str | None = Field(
        None, pattern=RUN_ID_PATTERN, description="The run (surfaces); none for a network."
    )
    hyperparameters: dict[str, HyperValue] = Field(min_length=1)


class AddRun(_Command):
    type: Literal["add_run"]
    run: RunConfig


class RemoveRun(_Command):
    type: Literal["remove_run"]
    run: str = Field(pattern=RUN_ID_PATTERN)


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
}
CONFIG_FIELDS = {"config", "run", "hyperparameters"}


class CommandError(Exception):
    """A frame that is not a valid command; becomes an ``error`` message, the socket stays open."""

    def __init__(self, code: str, message: str, field: str | None = None, ref: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.ref = ref


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in clean_loc(loc))


def parse_command(text: str) -> _Command:
    """One JSON text frame -> a command model, or CommandError naming the offending field."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise CommandError("invalid_json", f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise CommandError("invalid_command", "a command is a JSON object with a 'type'", "type")
    ref = data.get("ref") if isinstance(data.get("ref"), str | int) else None
    kind = data.get("type")
    if kind not in COMMANDS:
        known = ", ".join(COMMANDS)
        raise CommandError("unknown_command", f"unknown command {kind!r}; commands: {known}", "type", ref)
    try:
        return COMMANDS[kind].model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = clean_loc(tuple(first["loc"]))
        code = "invalid_config" if loc and loc[0] in CONFIG_FIELDS else "invalid_command"
        raise CommandError(code, first["msg"], _dotted(loc), ref) from None
