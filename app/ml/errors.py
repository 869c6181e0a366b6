"""Errors the core raises for bad input, so the web layer can turn each into a 422 naming the field.

An error may carry a message ``key`` and its ``params`` besides the English ``message``: a page shows
``error.<key>`` of its own language (app/i18n/*.json) filled with the params, so a Turkish learner reads
the refusal in Turkish; an error without a key is shown in English.  Keys name the refusal, not the
sentence (``expression.unknown_function``), and stay stable when the English wording changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ConfigError(ValueError):
    """A value the caller chose is invalid; ``field`` names it (dotted path relative to the call)."""

    def __init__(
        self,
        message: str,
        field: str = "",
        *,
        key: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.key = key
        self.params = dict(params or {})


class UnknownNameError(ConfigError):
    """A registry lookup failed; the message lists the valid names so the user can pick one."""

    def __init__(self, kind: str, name: str, valid: Iterable[str], field: str = "") -> None:
        self.valid = sorted(valid)
        super().__init__(
            f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}",
            field,
            key="unknown_name",
            params={"kind": kind, "name": name, "valid": ", ".join(self.valid)},
        )


class ExpressionError(ConfigError):
    """A custom surface expression was refused; ``start``/``end`` are 0-based columns of the culprit."""

    def __init__(
        self,
        message: str,
        expression: str,
        start: int = 0,
        end: int | None = None,
        *,
        key: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.expression = expression
        self.start = max(0, start)
        self.end = self.start + 1 if end is None or end <= self.start else end
        pointer = " " * self.start + "^" * (self.end - self.start)
        super().__init__(
            f"{message} (column {self.start + 1})\n  {expression}\n  {pointer}",
            "expression",
            key=key and f"expression.{key}",
            params={**(params or {}), "column": self.start + 1},
        )
