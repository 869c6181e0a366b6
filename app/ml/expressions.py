"""Custom loss surfaces typed as an expression in x and y: safe parsing, rendering, exact gradients.

The text goes through Python's own parser (``ast.parse``) only to get a syntax tree; that tree is
checked against a whitelist and copied into a small tree of our own (Num, Var, Unary, Binary,
Call). The user's text is never evaluated by Python: the checked tree is compiled once into one
straight-line NumPy function (generated from the tree's node kinds and numeric constants only, with
common subexpressions shared) that computes the value and both partial derivatives in one pass
(forward-mode automatic differentiation with two tangent components), so gradients are exact, not
finite differences, and a typed surface costs about as much per step as a hand-written one.
"""

from __future__ import annotations

import ast
import functools
import math
import types
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.ml.errors import ConfigError, ExpressionError
from app.ml.surfaces import Surface, check_view

MAX_EXPRESSION_LENGTH = 300
MAX_LITERAL = 1e12
MAX_CONSTANT_EXPONENT = 100.0
DEFAULT_VIEW = (-3.0, 3.0, -3.0, 3.0)

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}

# ---------------------------------------------------------------------------------------------------
# The tree. ``span`` holds the (start, end) columns in the user's text, for error pointers only.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float
    label: str = ""  # "pi" or "e" for named constants, so they render as names
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Var:
    name: str
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "+"
    operand: Node
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Binary:
    op: str  # "+", "-", "*", "/", "^"
    left: Node
    right: Node
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)


Node = Num | Var | Unary | Binary | Call

# ---------------------------------------------------------------------------------------------------
# Functions. Their derivative rules live with the compiler (``_DERIVATIVES``).
# ---------------------------------------------------------------------------------------------------

UNARY_NAMES = (
    "sin",
    "cos",
    "tan",
    "exp",
    "log",
    "log10",
    "log2",
    "sqrt",
    "abs",
    "square",
    "tanh",
    "sinh",
    "cosh",
    "arctan",
    "arcsin",
    "arccos",
    "sigmoid",
    "softplus",
)
BINARY_FUNCTIONS = ("min", "max")
ALIASES = {"atan": "arctan", "asin": "arcsin", "acos": "arccos", "ln": "log"}
FUNCTION_NAMES = (*UNARY_NAMES, *BINARY_FUNCTIONS, *ALIASES)

_OPERATORS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
_OPERATOR_TEXT: dict[type, str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Not: "not",
}
_REFUSED_NODES: dict[type, str] = {
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "indexing is not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.IfExp: "conditional expressions (if/else) are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "'and' / 'or' are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.NamedExpr: "':=' assignments are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed; use min(a, b) or max(a, b) for two arguments",
    ast.Set: "sets are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "generators are not allowed",
    ast.YieldFrom: "generators are not allowed",
    ast.Slice: "slices are not allowed",
}

# Precedence for rendering: sums < products < unary minus < powers < atoms (numbers, names, calls).
_PREC_SUM, _PREC_PRODUCT, _PREC_UNARY, _PREC_POWER, _PREC_ATOM = 1, 2, 3, 4, 5
_BINARY_PREC = {"+": _PREC_SUM, "-": _PREC_SUM, "*": _PREC_PRODUCT, "/": _PREC_PRODUCT, "^": _PREC_POWER}


# ---------------------------------------------------------------------------------------------------
# The parsed expression.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """A checked expression: its tree, normalised text, LaTeX, variables, and compiled program."""

    tree: Node
    text: str
    latex: str
    variables: tuple[str, ...]
    program: Program = field(repr=False, compare=False)

    def value_and_grad(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values (shape ``points.shape[:-1]``) and gradients (shape ``points.shape``) in float64.

        Runs under ``np.errstate(all="ignore")``: log of a negative number is NaN, overflow is inf;
        deciding what a non-finite value means is the run layer's business.
        """
        p = points if type(points) is np.ndarray and points.dtype == np.float64 else np.asarray(points, float)
        program = self.program
        with np.errstate(all="ignore"):
            v, dx, dy = program.evaluate(p[..., 0], p[..., 1])
        if program.fresh_value and type(v) is np.ndarray:
            values = v  # a new array from the last operation: nobody else holds it
        else:
            values = np.empty(p.shape[:-1])
            values[...] = v
        grads = np.empty(p.shape)
        grads[..., 0] = dx
        grads[..., 1] = dy
        return values, grads

    def value(self, points: np.ndarray) -> np.ndarray:
        return self.value_and_grad(points)[0]

    def hessian(self, points: np.ndarray) -> np.ndarray:
        """Exact second derivatives, shape ``points.shape + (2,)``, non-finite where the expression is."""
        p = np.asarray(points, dtype=np.float64)
        with np.errstate(all="ignore"):
            xx, xy, yy = self.program.hessian(p[..., 0], p[..., 1])
        h = np.empty((*p.shape, 2))
        h[..., 0, 0] = xx
        h[..., 0, 1] = h[..., 1, 0] = xy
        h[..., 1, 1] = yy
        return h


def parse_expression(
    text: str, max_length: int = MAX_EXPRESSION_LENGTH, max_depth: int = 32, max_nodes: int = 200
) -> Expr:
    """Check ``text`` and turn it into an :class:`Expr`; every refusal is an ExpressionError.

    Cheap checks (type, length, characters, bracket depth) run before ``ast.parse`` so a huge or
    pathological string never reaches the parser.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}", "", key="not_text")
    if len(text) > max_length:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {max_length}",
            text[:max_length] + "...",
            max_length,
            max_length + 3,
            key="too_long",
            params={"length": len(text), "limit": max_length},
        )
    text = _normalise_whitespace(text)
    if not text.strip():
        raise ExpressionError("the expression is empty; type something like x^2 + y^2", text, key="empty")
    _check_characters(text)
    _check_bracket_depth(text, max_depth)
    tree_ast, to_user = _parse(text)
    _check_size(tree_ast, text, to_user, max_depth, max_nodes)
    tree = _Converter(text, to_user).convert(tree_ast)
    return Expr(
        tree=tree,
        text=to_text(tree),
        latex=to_latex(tree),
        variables=tuple(sorted(_variables(tree))),
        program=_Builder(text).program(tree),
    )


def custom_surface(
    expression: str,
    view: Sequence[float] | None = None,
    start: Sequence[float] | None = None,
    max_length: int = MAX_EXPRESSION_LENGTH,
    max_depth: int = 32,
) -> Surface:
    """A Surface from the user's expression; view defaults to (-3, 3, -3, 3), start to its upper left."""
    expr = parse_expression(expression, max_length=max_length, max_depth=max_depth)
    box = check_view(2, DEFAULT_VIEW if view is None else view)
    if start is None:
        begin = (box[0] + (box[1] - box[0]) / 6.0, box[2] + 5.0 * (box[3] - box[2]) / 6.0)
    else:
        begin = _checked_start(start)
    return Surface(
        name="custom",
        title=f"Custom: {expr.text}",
        dim=2,
        latex=expr.latex,
        formula=expr.text,
        view=box,
        start=begin,
        minima=(),
        note="A surface you typed. Its minima are not known in advance: watch where the optimizers settle.",
        params={},
        value_and_grad=expr.value_and_grad,
        cost=expression_cost(expr),
        hessian=expr.hessian,
    )


OPERATIONS_PER_SURFACE = 20
"""NumPy operations of a typical built-in surface's value and gradient (Rosenbrock: about 20)."""


def expression_cost(expr: Expr) -> float:
    """An evaluation's work relative to a built-in surface: its compiled operations (after sharing common
    subexpressions) over a built-in's; never below 1, since a call costs at least that much."""
    return max(1.0, expr.program.operations / OPERATIONS_PER_SURFACE)


def _checked_start(start: Sequence[float]) -> tuple[float, float]:
    try:
        point = tuple(float(v) for v in start)
    except (TypeError, ValueError):
        raise ConfigError(f"start must be two numbers, got {start!r}", field="start") from None
    if len(point) != 2 or not all(math.isfinite(v) for v in point):
        raise ConfigError("start must be two finite numbers", field="start")
    return point[0], point[1]


# ---------------------------------------------------------------------------------------------------
# Text-level checks and parsing.
# ---------------------------------------------------------------------------------------------------


def _normalise_whitespace(text: str) -> str:
    """Tabs and line breaks become spaces (one for one, so columns still match the user's text)."""
    return text.translate({ord(c): " " for c in "\t\n\r\f\v"})


def _check_characters(text: str) -> None:
    """Printable ASCII only: rules out null bytes, and look-alike Unicode that Python would normalise."""
    for col, ch in enumerate(text):
        if not " " <= ch <= "~":
            raise ExpressionError(
                f"character {ch!r} is not allowed",
                text,
                col,
                col + 1,
                key="character",
                params={"character": ch},
            )


def _check_bracket_depth(text: str, max_depth: int) -> None:
    depth = 0
    for col, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > max_depth:
                raise ExpressionError(
                    f"brackets are nested too deeply (more than {max_depth} levels)",
                    text,
                    col,
                    col + 1,
                    key="brackets_too_deep",
                    params={"limit": max_depth},
                )
        elif ch in ")]}":
            depth -= 1


def _parse(text: str) -> tuple[ast.expr, Callable[[int], int]]:
    """ast.parse the text with ``^`` read as power; return the tree and a column map to the user's text.

    ``^`` is replaced by ``**`` in the text rather than mapped from ``ast.BitXor``, because Python
    gives ``^`` a lower precedence than ``+`` (``x^2 + 1`` would parse as ``x ^ (2 + 1)``).
    """
    lead = len(text) - len(text.lstrip(" "))  # eval-mode parsing refuses leading indentation
    source_cols: list[int] = []
    pieces: list[str] = []
    for col in range(lead, len(text)):
        ch = text[col]
        pieces.append("**" if ch == "^" else ch)
        source_cols.extend((col, col) if ch == "^" else (col,))
    source = "".join(pieces)

    def to_user(col: int) -> int:
        if col < 0:
            return lead
        return source_cols[col] if col < len(source_cols) else len(text)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SyntaxWarning)  # "2x" becomes a SyntaxError, not a log line
            module = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        if not exc.offset:
            # Python gives no column when the text stops mid-expression ("x**", "x +"): the culprit is
            # the operand missing after the last character, so point there, not at column 1.
            end_of_text = len(text.rstrip())
            message = (
                "syntax error: the expression ends too early: a number or variable is missing at the end"
            )
            raise ExpressionError(message, text, end_of_text, key="ends_too_early") from None
        start = to_user(exc.offset - 1)
        end = to_user(exc.end_offset - 2) + 1 if exc.end_offset and exc.end_offset > exc.offset else None
        hint = "; write 2*x, not 2x" if "decimal literal" in exc.msg else ""
        key, params = _syntax_key(exc.msg)
        raise ExpressionError(
            f"syntax error: {exc.msg}{hint}", text, start, end, key=key, params=params
        ) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(
            f"the expression could not be read ({type(exc).__name__})", text, key="unreadable"
        ) from None
    return module.body, to_user


def _syntax_key(message: str) -> tuple[str, dict[str, str]]:
    """The message key of a Python SyntaxError's text: the few a learner meets, else ``syntax`` + the text."""
    if "decimal literal" in message:
        return "decimal_literal", {}
    if "was never closed" in message:
        return "never_closed", {"bracket": message[1:2]}
    if message.startswith("unmatched"):
        return "unmatched", {"bracket": message[-2:-1]}
    if message.startswith("closing parenthesis"):
        return "mismatched", {"detail": message}
    if message == "invalid syntax" or message.startswith("invalid syntax"):
        return "invalid_syntax", {}
    return "syntax", {"detail": message}


def _check_size(
    tree: ast.expr, text: str, to_user: Callable[[int], int], max_depth: int, max_nodes: int
) -> None:
    """Count nodes and nesting depth without recursion, so no input can exhaust the Python stack."""
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            if depth > max_depth:
                start, end = _ast_span(node, to_user)
                raise ExpressionError(
                    f"the expression is nested too deeply (more than {max_depth} levels)",
                    text,
                    start,
                    end,
                    key="too_deep",
                    params={"limit": max_depth},
                )
            if count > max_nodes:
                raise ExpressionError(
                    f"the expression is too big (more than {max_nodes} parts)",
                    text,
                    *_ast_span(node, to_user),
                    key="too_big",
                    params={"limit": max_nodes},
                )
        child_depth = depth + 1 if isinstance(node, ast.expr) else depth
        stack.extend((child, child_depth) for child in ast.iter_child_nodes(node))


def _ast_span(node: ast.AST, to_user: Callable[[int], int]) -> tuple[int, int]:
    start = getattr(node, "col_offset", 0)
    end = getattr(node, "end_col_offset", None)
    end = start + 1 if end is None else end
    return to_user(start), to_user(end - 1) + 1


class _Converter:
    """Copy a whitelisted Python syntax tree into our own nodes; refuse anything else, pointing at it."""

    def __init__(self, text: str, to_user: Callable[[int], int]) -> None:
        self.text = text
        self.to_user = to_user

    def refuse(self, message: str, node: ast.AST, key: str, **params: object) -> ExpressionError:
        return ExpressionError(message, self.text, *_ast_span(node, self.to_user), key=key, params=params)

    def segment(self, node: ast.AST) -> str:
        start, end = _ast_span(node, self.to_user)
        piece = self.text[start:end]
        return piece if len(piece) <= 40 else piece[:37] + "..."

    def convert(self, node: ast.expr) -> Node:
        span = _ast_span(node, self.to_user)
        if isinstance(node, ast.Constant):
            return self.constant(node, span)
        if isinstance(node, ast.Name):
            return self.name(node, span)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                symbol = _OPERATOR_TEXT.get(type(node.op), "?")
                raise self.refuse(f"operator '{symbol}' is not allowed", node, "operator", operator=symbol)
            return Unary("-" if isinstance(node.op, ast.USub) else "+", self.convert(node.operand), span)
        if isinstance(node, ast.BinOp):
            return self.binary(node, span)
        if isinstance(node, ast.Call):
            return self.call(node, span)
        reason = _REFUSED_NODES.get(type(node), f"{type(node).__name__} is not allowed")
        raise self.refuse(f"'{self.segment(node)}': {reason}", node, "construct", part=self.segment(node))

    def constant(self, node: ast.Constant, span: tuple[int, int]) -> Num:
        value = node.value
        part = self.segment(node)
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.refuse(f"'{part}' is not a number", node, "not_a_number", part=part)
        if isinstance(value, complex):
            raise self.refuse(f"'{part}': complex numbers are not allowed", node, "complex", part=part)
        if isinstance(value, str | bytes):
            raise self.refuse("text in quotes (strings) is not allowed", node, "string")
        if not isinstance(value, int | float):
            raise self.refuse(f"'{part}' is not a number", node, "not_a_number", part=part)
        if not (isinstance(value, int) or math.isfinite(value)) or abs(value) > MAX_LITERAL:
            raise self.refuse(
                f"number '{part}' is too large (at most 1e12)", node, "number_too_large", part=part
            )
        return Num(float(value), span=span)

    def name(self, node: ast.Name, span: tuple[int, int]) -> Node:
        if node.id in VARIABLES:
            return Var(node.id, span)
        if node.id in CONSTANTS:
            return Num(CONSTANTS[node.id], node.id, span)
        if node.id in FUNCTION_NAMES:
            raise self.refuse(
                f"'{node.id}' is a function; call it like {node.id}(x)",
                node,
                "function_not_called",
                name=node.id,
            )
        raise self.refuse(
            f"unknown name '{node.id}'; allowed: x, y, pi, e", node, "unknown_name", name=node.id
        )

    def binary(self, node: ast.BinOp, span: tuple[int, int]) -> Binary:
        op = _OPERATORS.get(type(node.op))
        if op is None:
            symbol = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            raise self.refuse(
                f"operator '{symbol}' is not allowed; use + - * / ^", node, "operator", operator=symbol
            )
        left = self.convert(node.left)
        right = self.convert(node.right)
        if op == "^" and not _variables(right):
            exponent = _Builder(self.text).fold(right)
            if not abs(exponent) <= MAX_CONSTANT_EXPONENT:
                size = "too large" if exponent > 0 else "too large in magnitude"
                limit = _format_number(MAX_CONSTANT_EXPONENT)
                raise self.refuse(
                    f"exponent {_format_number(exponent)} is {size} (at most {limit})",
                    node.right,
                    "exponent_too_large",
                    exponent=_format_number(exponent),
                    limit=limit,
                )
        return Binary(op, left, right, span)

    def call(self, node: ast.Call, span: tuple[int, int]) -> Call:
        if not isinstance(node.func, ast.Name):
            self.convert(node.func)  # refuses attribute access etc. with its own message
            raise self.refuse(
                f"'{self.segment(node.func)}': only named functions like sin(x) can be called",
                node,
                "not_callable",
                part=self.segment(node.func),
            )
        name = node.func.id
        if name in VARIABLES or name in CONSTANTS:
            raise self.refuse(
                f"'{name}' is not a function; write {name}*(...) to multiply",
                node.func,
                "not_a_function",
                name=name,
            )
        if name not in FUNCTION_NAMES:
            allowed = ", ".join(FUNCTION_NAMES)
            raise self.refuse(
                f"unknown function '{name}'; allowed: {allowed}",
                node.func,
                "unknown_function",
                name=name,
                allowed=allowed,
            )
        if node.keywords:
            raise self.refuse(
                f"{name}(): keyword arguments are not allowed", node.keywords[0], "keyword", name=name
            )
        canonical = ALIASES.get(name, name)
        arity = 2 if canonical in BINARY_FUNCTIONS else 1
        if len(node.args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            raise self.refuse(
                f"{name}() takes {arity} {plural}, got {len(node.args)}",
                node,
                "arity",
                name=name,
                arity=arity,
                got=len(node.args),
            )
        return Call(canonical, tuple(self.convert(arg) for arg in node.args), span)


# ---------------------------------------------------------------------------------------------------
# Tree utilities: variables, constant values, rendering.
# ---------------------------------------------------------------------------------------------------


def _variables(node: Node) -> set[str]:
    if isinstance(node, Var):
        return {node.name}
    if isinstance(node, Num):
        return set()
    if isinstance(node, Unary):
        return _variables(node.operand)
    if isinstance(node, Binary):
        return _variables(node.left) | _variables(node.right)
    return set().union(*(_variables(arg) for arg in node.args))


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def to_text(node: Node) -> str:
    """Plain text that parse_expression reads back into the same tree (``^`` for powers)."""
    return _render(node, latex=False)[0]


def to_latex(node: Node) -> str:
    """A readable LaTeX rendering: fractions, superscripts, \\sin, \\sqrt, |a|, \\pi."""
    return _render(node, latex=True)[0]


_LATEX_FUNCTIONS = {
    "sin": r"\sin",
    "cos": r"\cos",
    "tan": r"\tan",
    "exp": r"\exp",
    "log": r"\ln",
    "log10": r"\log_{10}",
    "log2": r"\log_{2}",
    "tanh": r"\tanh",
    "sinh": r"\sinh",
    "cosh": r"\cosh",
    "arctan": r"\arctan",
    "arcsin": r"\arcsin",
    "arccos": r"\arccos",
    "sigmoid": r"\sigma",
    "softplus": r"\operatorname{softplus}",
    "min": r"\min",
    "max": r"\max",
}


def _render(node: Node, latex: bool) -> tuple[str, int]:
    """Render a node, returning its text and precedence so parents know when to add brackets."""
    if isinstance(node, Num):
        return _render_number(node, latex), _PREC_ATOM
    if isinstance(node, Var):
        return node.name, _PREC_ATOM
    if isinstance(node, Unary):
        inner, prec = _render(node.operand, latex)
        wrap = prec <= _PREC_UNARY  # "-(-x)" rather than "--x"
        return node.op + _wrap(inner, latex, wrap), _PREC_UNARY
    if isinstance(node, Binary):
        return _render_binary(node, latex)
    return _render_call(node, latex), _PREC_ATOM


def _render_number(node: Num, latex: bool) -> str:
    if node.label:
        return r"\pi" if latex and node.label == "pi" else node.label
    text = _format_number(node.value)
    if latex and "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def _wrap(text: str, latex: bool, wrap: bool) -> str:
    if not wrap:
        return text
    return rf"\left({text}\right)" if latex else f"({text})"


def _render_binary(node: Binary, latex: bool) -> tuple[str, int]:
    prec = _BINARY_PREC[node.op]
    left, left_prec = _render(node.left, latex)
    right, right_prec = _render(node.right, latex)
    if node.op == "^":
        # Powers group to the right; the base needs brackets unless it is an atom (or a fraction).
        fraction_like = latex and (isinstance(node.left, Binary) or r"\times" in left)
        base = _wrap(left, latex, left_prec < _PREC_ATOM or fraction_like)
        if latex:
            return f"{base}^{{{right}}}", prec
        return f"{base}^{_wrap(right, latex, right_prec < _PREC_UNARY)}", prec
    if latex and node.op == "/":
        return rf"\frac{{{left}}}{{{right}}}", _PREC_ATOM
    left = _wrap(left, latex, left_prec < prec)
    right = _wrap(right, latex, right_prec <= prec)
    if node.op == "*":
        if latex:
            juxtapose = not right[:1].isdigit() and not right.startswith("-")
            return (f"{left} {right}" if juxtapose else rf"{left} \cdot {right}"), prec
        return f"{left}*{right}", prec
    if node.op == "/":
        return f"{left}/{right}", prec
    return f"{left} {node.op} {right}", prec


def _render_call(node: Call, latex: bool) -> str:
    args = [_render(arg, latex)[0] for arg in node.args]
    if not latex:
        return f"{node.func}({', '.join(args)})"
    if node.func == "sqrt":
        return rf"\sqrt{{{args[0]}}}"
    if node.func == "abs":
        return rf"\left|{args[0]}\right|"
    if node.func == "square":
        inner, prec = _render(node.args[0], latex)
        return f"{_wrap(inner, latex, prec < _PREC_ATOM)}^{{2}}"
    return rf"{_LATEX_FUNCTIONS[node.func]}\left({', '.join(args)}\right)"


# ---------------------------------------------------------------------------------------------------
# Compilation: tree -> one generated NumPy function computing value, d/dx and d/dy in a single pass.
#
# The tree is first turned into a DAG of primitive operations in which every node is hash-consed
# (an identical operation on identical operands is the same node, and the operands of + and * are
# put in a canonical order, which IEEE arithmetic makes exact), so ``x*y`` appearing ten times, or
# as ``y*x``, is computed once. Each tree node contributes its value node and its two tangent nodes
# (forward mode: the derivative rules below build tangents from existing nodes, so ``exp(a)`` reuses
# its own value as its slope and ``sin(a)`` shares ``cos(a)`` with any cos(a) the user typed). A
# tangent that is exactly zero is ``None`` and costs nothing, and multiplying by the constant 1 is
# skipped, so ``x*y`` has the tangents ``y`` and ``x`` for free. Forward mode was chosen over
# reverse mode on the DAG: with two inputs it costs at most two tangent operations per node, needs
# no adjoint pass, and it performs the same floating-point operations in the same order as a plain
# tree walk would, so the fast path gives the very same numbers (NaN and inf included).
#
# The DAG is then printed as straight-line Python, one NumPy operation per line: ``t7 = t3 * t5``.
# The source is built only from the DAG's operation kinds and generated names (x, y, t<n> for
# results, c<n> for numeric constants, which are bound in the function's namespace and never
# printed as text, and a fixed table of NumPy functions); no text of the user's reaches it. It is
# compiled with ``compile()`` once per distinct program (cached), and the function is created from
# the code object with an empty ``__builtins__``.
# ---------------------------------------------------------------------------------------------------

_NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "log2": np.log2,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "square": np.square,
    "tanh": np.tanh,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "arctan": np.arctan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "sign": np.sign,
    "power": np.power,
    "logaddexp": np.logaddexp,
    "less_equal": np.less_equal,
    "greater_equal": np.greater_equal,
    "where": np.where,
}
"""The only functions generated code can call, by these fixed names."""

_ARITHMETIC: dict[str, Callable[..., Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "neg": np.negative,
}
_INFIX = ("+", "-", "*", "/")

# A tree node compiles to (value, d/dx, d/dy) node ids; None is an exactly-zero tangent.
Dual = tuple[int, int | None, int | None]


@dataclass(frozen=True)
class Program:
    """The compiled form of an expression: generated source, its function, and its size."""

    source: str
    operations: int  # NumPy operations per evaluation (after sharing common subexpressions)
    evaluate: Callable[[np.ndarray, np.ndarray], tuple[Any, Any, Any]] = field(repr=False, compare=False)
    fresh_value: bool  # the value output is a newly computed array (not x, y or a constant)
    hessian: Callable[[np.ndarray, np.ndarray], tuple[Any, Any, Any]] = field(repr=False, compare=False)
    """(x, y) -> (f_xx, f_xy, f_yy), exact: the gradient's tangents differentiated once more."""


class _Builder:
    """Builds the hash-consed DAG of one expression and prints it as Python source."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.keys: list[tuple[Any, ...]] = []
        self.ids: dict[tuple[Any, ...], int] = {}
        self.constants: dict[int, np.float64] = {}
        self.x = self._node(("x",))
        self.y = self._node(("y",))
        self.one = self.const(1.0)
        self._derivatives: dict[tuple[int, int], int | None] = {}

    # ----- nodes
    def _node(self, key: tuple[Any, ...]) -> int:
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = len(self.keys)
            self.keys.append(key)
        return found

    def const(self, value: Any) -> int:
        number = np.float64(value)
        node = self._node(("c", float(number).hex()))  # hex tells -0.0 from 0.0 (== would not)
        self.constants[node] = number
        return node

    def op(self, kind: str, *args: int) -> int:
        """A primitive operation; with only constant operands it is evaluated now (float64, no errors)."""
        if all(a in self.constants for a in args):
            function = _ARITHMETIC.get(kind) or _NUMPY_FUNCTIONS[kind]
            with np.errstate(all="ignore"):
                return self.const(function(*(self.constants[a] for a in args)))
        if kind in ("+", "*"):
            args = tuple(sorted(args))  # a+b == b+a and a*b == b*a exactly in IEEE arithmetic
        if kind == "*" and self.one in args:
            return args[1] if args[0] == self.one else args[0]  # 1*a is exactly a
        return self._node((kind, *args))

    def add(self, a: int, b: int) -> int:
        return self.op("+", a, b)

    def sub(self, a: int, b: int) -> int:
        return self.op("-", a, b)

    def mul(self, a: int, b: int) -> int:
        return self.op("*", a, b)

    def div(self, a: int, b: int) -> int:
        return self.op("/", a, b)

    def call(self, name: str, *args: int) -> int:
        return self.op(name, *args)

    def sigmoid(self, a: int) -> int:
        """0.5 (1 + tanh(a/2)): no overflow for large |a|, unlike 1 / (1 + exp(-a))."""
        half = self.const(0.5)
        return self.mul(half, self.add(self.one, self.call("tanh", self.mul(half, a))))

    # ----- tangents (None = exactly zero)
    def t_add(self, a: int | None, b: int | None) -> int | None:
        if a is None:
            return b
        return a if b is None else self.add(a, b)

    def t_sub(self, a: int | None, b: int | None) -> int | None:
        if b is None:
            return a
        return self.op("neg", b) if a is None else self.sub(a, b)

    def t_scale(self, factor: int, t: int | None) -> int | None:
        return None if t is None else self.mul(factor, t)

    def t_neg(self, t: int | None) -> int | None:
        return None if t is None else self.op("neg", t)

    # ----- tree -> DAG
    def fold(self, node: Node) -> float:
        """Value of a subtree without variables, in float64 (overflow gives inf, then a refusal)."""
        value = float(self.constants[self._dual(node)[0]])
        if not math.isfinite(value):
            raise ExpressionError(
                f"this part evaluates to {value}, not a finite number",
                self.text,
                *node.span,
                key="not_finite",
                params={"value": str(value)},
            )
        return value

    def dual(self, node: Node) -> Dual:
        """Value and tangent nodes; a part without variables is folded to one checked constant."""
        if not _variables(node) and not isinstance(node, Num):
            return self.const(self.fold(node)), None, None
        return self._dual(node)

    def _dual(self, node: Node) -> Dual:
        if isinstance(node, Num):
            return self.const(node.value), None, None
        if isinstance(node, Var):
            return (self.x, self.one, None) if node.name == "x" else (self.y, None, self.one)
        if isinstance(node, Unary):
            v, dx, dy = self.dual(node.operand)
            return (v, dx, dy) if node.op == "+" else (self.op("neg", v), self.t_neg(dx), self.t_neg(dy))
        if isinstance(node, Binary):
            return self._binary(node)
        return self._call(node)

    def _binary(self, node: Binary) -> Dual:
        a = self.dual(node.left)
        if node.op == "^" and not _variables(node.right):
            return self._power_constant(a, self.fold(node.right))
        b = self.dual(node.right)
        if node.op == "^" and not _variables(node.left):
            return self._exponential(self.fold(node.left), b)
        (av, adx, ady), (bv, bdx, bdy) = a, b
        if node.op == "+":
            return self.add(av, bv), self.t_add(adx, bdx), self.t_add(ady, bdy)
        if node.op == "-":
            return self.sub(av, bv), self.t_sub(adx, bdx), self.t_sub(ady, bdy)
        if node.op == "*":
            return (
                self.mul(av, bv),
                self.t_add(self.t_scale(bv, adx), self.t_scale(av, bdx)),
                self.t_add(self.t_scale(bv, ady), self.t_scale(av, bdy)),
            )
        if node.op == "/":  # (a/b)' = (a' - (a/b) b') / b
            v = self.div(av, bv)
            inv = self.div(self.one, bv)
            return (
                v,
                self.t_scale(inv, self.t_sub(adx, self.t_scale(v, bdx))),
                self.t_scale(inv, self.t_sub(ady, self.t_scale(v, bdy))),
            )
        return self._power(a, b)

    def _power_constant(self, a: Dual, exponent: float) -> Dual:
        """a^c with a constant c: c a^(c-1) a'. Correct for negative bases with integer c (x^2 at x < 0)."""
        av, adx, ady = a
        if exponent == 0.0:
            return self.one, None, None
        if exponent == 1.0:
            return a
        if exponent == 2.0:
            slope = self.mul(self.const(2.0), av)
            return self.mul(av, av), self.t_scale(slope, adx), self.t_scale(slope, ady)
        c = self.const(exponent)
        slope = self.mul(c, self.call("power", av, self.const(exponent - 1.0)))
        return self.call("power", av, c), self.t_scale(slope, adx), self.t_scale(slope, ady)

    def _exponential(self, base: float, b: Dual) -> Dual:
        """c^b with a constant base: c^b ln(c) b' (NaN slope for c ≤ 0, as NumPy's power gives NaN)."""
        bv, bdx, bdy = b
        v = self.call("power", self.const(base), bv)
        slope = self.mul(v, self.const(math.log(base) if base > 0 else math.nan))
        return v, self.t_scale(slope, bdx), self.t_scale(slope, bdy)

    def _power(self, a: Dual, b: Dual) -> Dual:
        """a^b with both varying: b a^(b-1) a' + a^b ln(a) b' (NaN for a ≤ 0, as NumPy gives)."""
        (av, adx, ady), (bv, bdx, bdy) = a, b
        v = self.call("power", av, bv)
        base_slope = self.mul(bv, self.call("power", av, self.sub(bv, self.one)))
        exponent_slope = self.mul(v, self.call("log", av))
        return (
            v,
            self.t_add(self.t_scale(base_slope, adx), self.t_scale(exponent_slope, bdx)),
            self.t_add(self.t_scale(base_slope, ady), self.t_scale(exponent_slope, bdy)),
        )

    def _call(self, node: Call) -> Dual:
        if node.func in BINARY_FUNCTIONS:
            return self._min_max(node.func, self.dual(node.args[0]), self.dual(node.args[1]))
        a, adx, ady = self.dual(node.args[0])
        if node.func == "sigmoid":
            v = self.sigmoid(a)
        elif node.func == "softplus":
            v = self.call("logaddexp", self.const(0.0), a)
        else:
            v = self.call(node.func, a)
        slope = _DERIVATIVES[node.func](self, a, v)
        return v, self.t_scale(slope, adx), self.t_scale(slope, ady)

    def _min_max(self, kind: str, a: Dual, b: Dual) -> Dual:
        """min/max pick the value and tangent of the chosen argument (ties go to the first).

        A tangent that is zero in both arguments becomes the constant 0 rather than None, as the
        tree-walking evaluator had it (so 0 * inf further up is NaN there too).
        """
        (av, adx, ady), (bv, bdx, bdy) = a, b
        first = self.call("less_equal" if kind == "min" else "greater_equal", av, bv)
        zero = self.const(0.0)

        def pick(s: int | None, t: int | None) -> int:
            return self.call("where", first, zero if s is None else s, zero if t is None else t)

        return self.call("where", first, av, bv), pick(adx, bdx), pick(ady, bdy)

    # ----- second order: forward mode over the DAG itself
    def derivative(self, node: int, var: int) -> int | None:
        """d node / d var as a DAG node (None: exactly zero), memoised.

        The tangents built above are ordinary DAG nodes made of the same primitives, so differentiating
        a gradient node once more (forward over forward) gives the exact second derivatives, sharing
        every common subexpression with the value and the gradient.
        """
        key = (node, var)
        if key in self._derivatives:
            return self._derivatives[key]
        kind, *args = self.keys[node]
        if kind in ("x", "y"):
            found = self.one if node == var else None
        elif kind == "c" or kind in ("sign", "less_equal", "greater_equal"):
            found = None
        else:
            found = self._derivative_rule(node, kind, args, [self.derivative(a, var) for a in args])
        self._derivatives[key] = found
        return found

    def _derivative_rule(self, node: int, kind: str, args: list[int], d: list[int | None]) -> int | None:
        if kind == "+":
            return self.t_add(d[0], d[1])
        if kind == "-":
            return self.t_sub(d[0], d[1])
        if kind == "neg":
            return self.t_neg(d[0])
        if kind == "*":
            return self.t_add(self.t_scale(args[1], d[0]), self.t_scale(args[0], d[1]))
        if kind == "/":  # (a/b)' = (a' - (a/b) b') / b
            return self.t_scale(self.div(self.one, args[1]), self.t_sub(d[0], self.t_scale(node, d[1])))
        if kind == "power":  # b a^(b-1) a' + a^b ln(a) b'
            a, b = args
            base = (
                None
                if d[0] is None
                else self.mul(self.mul(b, self.call("power", a, self.sub(b, self.one))), d[0])
            )
            exponent = None if d[1] is None else self.mul(self.mul(node, self.call("log", a)), d[1])
            return self.t_add(base, exponent)
        if kind == "logaddexp":  # d log(e^a + e^b) = e^(a - v) a' + e^(b - v) b'
            return self.t_add(
                self.t_scale(self.call("exp", self.sub(args[0], node)), d[0]),
                self.t_scale(self.call("exp", self.sub(args[1], node)), d[1]),
            )
        if kind == "where":
            if d[1] is None and d[2] is None:
                return None
            zero = self.const(0.0)
            return self.call("where", args[0], zero if d[1] is None else d[1], zero if d[2] is None else d[2])
        return self.t_scale(_DERIVATIVES[kind](self, args[0], node), d[0])

    # ----- DAG -> program
    def program(self, tree: Node) -> Program:
        outputs = self.dual(tree)
        value, dx, dy = outputs
        evaluate, operations, source = self._compile([self.const(0.0) if t is None else t for t in outputs])
        zero = self.const(0.0)
        second = [
            self.derivative(t, v) if t is not None else None
            for t, v in ((dx, self.x), (dx, self.y), (dy, self.y))
        ]
        hessian, _, _ = self._compile([zero if h is None else h for h in second])
        fresh = self.keys[value][0] not in ("x", "y", "c")
        return Program(
            source=source, operations=operations, evaluate=evaluate, fresh_value=fresh, hessian=hessian
        )

    def _compile(
        self, out: list[int]
    ) -> tuple[Callable[[np.ndarray, np.ndarray], tuple[Any, ...]], int, str]:
        """Straight-line NumPy code computing the nodes ``out`` from x and y: function, operations, source."""
        needed = set(out)
        for node in range(len(self.keys) - 1, -1, -1):  # operands have smaller ids than their users
            if node in needed and self.keys[node][0] not in ("x", "y", "c"):
                needed.update(self.keys[node][1:])
        names = {node: self._name(node) for node in needed}
        lines = ["def evaluate(x, y):"]
        for node in sorted(needed):
            kind, *args = self.keys[node]
            if kind in ("x", "y", "c"):
                continue
            operands = [names[a] for a in args]
            if kind in _INFIX:
                expression = f"{operands[0]} {kind} {operands[1]}"
            elif kind == "neg":
                expression = f"-{operands[0]}"
            else:
                expression = f"{kind}({', '.join(operands)})"
            lines.append(f"    {names[node]} = {expression}")
        operations = len(lines) - 1
        lines.append(f"    return {', '.join(names[o] for o in out)}")
        source = "\n".join(lines) + "\n"
        namespace: dict[str, Any] = {"__builtins__": {}, **_NUMPY_FUNCTIONS}
        namespace.update({names[c]: self.constants[c] for c in needed if c in self.constants})
        return types.FunctionType(_function_code(source), namespace, "evaluate"), operations, source

    def _name(self, node: int) -> str:
        kind = self.keys[node][0]
        if kind in ("x", "y"):
            return kind
        return f"c{node}" if kind == "c" else f"t{node}"


@functools.lru_cache(maxsize=512)
def _function_code(source: str) -> types.CodeType:
    """The code object of the generated function; compiled once per distinct program text."""
    module = compile(source, "<expression>", "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


Rule = Callable[[_Builder, int, int], int]  # (builder, argument node, value node) -> slope node

_DERIVATIVES: dict[str, Rule] = {
    "sin": lambda b, a, v: b.call("cos", a),
    "cos": lambda b, a, v: b.op("neg", b.call("sin", a)),
    "tan": lambda b, a, v: b.add(b.one, b.mul(v, v)),
    "exp": lambda b, a, v: v,
    "log": lambda b, a, v: b.div(b.one, a),
    "log10": lambda b, a, v: b.div(b.one, b.mul(a, b.const(math.log(10.0)))),
    "log2": lambda b, a, v: b.div(b.one, b.mul(a, b.const(math.log(2.0)))),
    "sqrt": lambda b, a, v: b.div(b.const(0.5), v),
    "abs": lambda b, a, v: b.call("sign", a),
    "square": lambda b, a, v: b.mul(b.const(2.0), a),
    "tanh": lambda b, a, v: b.sub(b.one, b.mul(v, v)),
    "sinh": lambda b, a, v: b.call("cosh", a),
    "cosh": lambda b, a, v: b.call("sinh", a),
    "arctan": lambda b, a, v: b.div(b.one, b.add(b.one, b.mul(a, a))),
    "arcsin": lambda b, a, v: b.div(b.one, b.call("sqrt", b.sub(b.one, b.mul(a, a)))),
    "arccos": lambda b, a, v: b.div(b.const(-1.0), b.call("sqrt", b.sub(b.one, b.mul(a, a)))),
    "sigmoid": lambda b, a, v: b.mul(v, b.sub(b.one, v)),
    "softplus": lambda b, a, v: b.sigmoid(a),
}
"""The slope of each function, d f(a) / d a, built from nodes (the argument and f's own value)."""
