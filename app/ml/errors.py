"""Errors the core raises for bad input, so the web layer can turn each into a 422 naming the field."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(ValueError):
    """A value the caller chose is invalid; ``field`` names it (dotted path relative to the call)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UnknownNameError(ConfigError):
    """A registry lookup failed; the message lists the valid names so the user can pick one."""

    def __init__(self, kind: str, name: str, valid: Iterable[str], field: str = "") -> None:
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}", field)


class ExpressionError(ConfigError):
    """A custom surface expression was refused; ``start``/``end`` are 0-based columns of the culprit."""

    def __init__(self, message: str, expression: str, start: int = 0, end: int | None = None) -> None:
        self.expression = expression
        self.start = max(0, start)
        self.end = self.start + 1 if end is None or end <= self.start else end
        pointer = " " * self.start + "^" * (self.end - self.start)
        super().__init__(f"{message} (column {self.start + 1})\n  {expression}\n  {pointer}", "expression")
