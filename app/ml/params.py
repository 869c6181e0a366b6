"""Tunable values of the registries (hyperparameters, surface and schedule parameters) and their check.

One ``Param`` describes every such value (name, default, bounds, words for the learner) and one
``resolve(params, given, field)`` fills in the defaults and refuses what does not fit, naming the
offending field (``field.key``) so the web layer can answer with a 422 that points at it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from app.ml.errors import ConfigError, UnknownNameError

KINDS = ("float", "int", "bool", "pair", "choice")


@dataclass(frozen=True)
class Param:
    """A tunable value: ``kind`` is float, int (a whole number), bool, pair (two floats, e.g. betas) or
    choice (one of ``choices``, e.g. L-BFGS's ``line_search_fn``).

    Bounds are inclusive and apply to each component of a pair; ``log_scale`` tells a slider to move
    in powers of ten (learning rates, eps). A default of None makes the value optional (``nullable``), as
    torch's ``max_eval=None`` or Prodigy's ``beta3=None``: null is then accepted and means what the
    reference's None means, which the description says (Prodigy's ``beta3``: sqrt(beta2)).
    """

    name: str
    default: float | int | bool | tuple[float, float]
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""
    kind: str = "float"
    log_scale: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def nullable(self) -> bool:
        """True if null (None) is a valid value: the optional values, whose default is None."""
        return self.default is None

    def with_default(self, default: Any) -> Param:
        """The same parameter with another default (a preset such as momentum = 0.9)."""
        return replace(self, default=default)


def _number(key: str, value: Any, param: Param, field: str) -> float:
    """A finite number within the bounds, as a float; non-numbers, arrays and booleans are refused."""
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nesting
        raise ConfigError(f"{key} must be a number, got {value!r}", field) from None
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise ConfigError(f"{key} must be a number, got {value!r}", field)
    if arr.ndim != 0:
        raise ConfigError(f"{key} must be a single number, got {value!r}", field)
    if not np.isfinite(arr):
        raise ConfigError(f"{key} must be finite, got {value!r}", field)
    low, high = param.minimum, param.maximum
    if (low is not None and arr < low) or (high is not None and arr > high):
        raise ConfigError(f"{key} must be between {low} and {high}, got {value!r}", field)
    return float(arr)


def check(param: Param, value: Any, field: str) -> Any:
    """One value of ``param`` as a Python float, int, bool or pair of floats; anything else refused."""
    key = param.name
    if value is None and param.nullable:
        return None
    if param.kind == "choice":
        if not any(value == c and type(value) is type(c) for c in param.choices):
            shown = ", ".join("null" if c is None else repr(c) for c in param.choices)
            raise ConfigError(f"{key} must be one of {shown}, got {value!r}", field)
        return value
    if param.kind == "bool":
        if not isinstance(value, bool | np.bool_):
            raise ConfigError(f"{key} must be true or false, got {value!r}", field)
        return bool(value)
    if param.kind == "pair":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ConfigError(f"{key} must be a pair of numbers, got {value!r}", field)
        return tuple(_number(key, component, param, field) for component in value)
    number = _number(key, value, param, field)
    if param.kind == "int":
        if number != int(number):
            raise ConfigError(f"{key} must be a whole number, got {value!r}", field)
        return int(number)
    return number


def resolve(
    params: Sequence[Param], given: Mapping[str, Any] | None, field: str, what: str = "parameter"
) -> dict[str, Any]:
    """Every parameter's value: ``given`` checked (errors name ``field.key``), defaults for the rest.

    ``what`` names the kind of value in an unknown-name error ("hyperparameter", "parameter").
    """
    known = {p.name: p for p in params}
    values: dict[str, Any] = {p.name: p.default for p in params}
    for key, value in (given or {}).items():
        param = known.get(key)
        if param is None:
            raise UnknownNameError(what, str(key), known, field=f"{field}.{key}")
        values[key] = check(param, value, f"{field}.{key}")
    return values
