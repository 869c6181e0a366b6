"""Custom loss surfaces typed as an expression in x and y: safe parsing, rendering, exact gradients.

The text goes through Python's own parser (``ast.parse``) only to get a syntax tree; that tree is
checked against a whitelist and copied into a small tree of our own (Num, Var, Unary, Binary,
Call). Nothing is ever evaluated by Python: the tree is compiled once into NumPy closures that
compute the value and both partial derivatives together (forward-mode automatic differentiation
with two tangent components), so gradients are exact, not finite differences.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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

# A value with its two tangents (d/dx, d/dy); None stands for an exactly-zero tangent so constant
# parts of the expression cost nothing.
Tangent = np.ndarray | float | None
Dual = tuple[np.ndarray | float, Tangent, Tangent]
Compiled = Callable[[np.ndarray, np.ndarray], Dual]

# ---------------------------------------------------------------------------------------------------
# Functions: value and derivative (as a function of the argument and the value).
# ---------------------------------------------------------------------------------------------------


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # no overflow for large |a|, unlike 1 / (1 + exp(-a))


UnaryRule = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray, np.ndarray], np.ndarray]]

UNARY_FUNCTIONS: dict[str, UnaryRule] = {
    "sin": (np.sin, lambda a, v: np.cos(a)),
    "cos": (np.cos, lambda a, v: -np.sin(a)),
    "tan": (np.tan, lambda a, v: 1.0 + v * v),
    "exp": (np.exp, lambda a, v: v),
    "log": (np.log, lambda a, v: 1.0 / a),
    "log10": (np.log10, lambda a, v: 1.0 / (a * math.log(10.0))),
    "log2": (np.log2, lambda a, v: 1.0 / (a * math.log(2.0))),
    "sqrt": (np.sqrt, lambda a, v: 0.5 / v),
    "abs": (np.abs, lambda a, v: np.sign(a)),
    "square": (np.square, lambda a, v: 2.0 * a),
    "tanh": (np.tanh, lambda a, v: 1.0 - v * v),
    "sinh": (np.sinh, lambda a, v: np.cosh(a)),
    "cosh": (np.cosh, lambda a, v: np.sinh(a)),
    "arctan": (np.arctan, lambda a, v: 1.0 / (1.0 + a * a)),
    "arcsin": (np.arcsin, lambda a, v: 1.0 / np.sqrt(1.0 - a * a)),
    "arccos": (np.arccos, lambda a, v: -1.0 / np.sqrt(1.0 - a * a)),
    "sigmoid": (_sigmoid, lambda a, v: v * (1.0 - v)),
    "softplus": (lambda a: np.logaddexp(0.0, a), lambda a, v: _sigmoid(a)),
}
BINARY_FUNCTIONS = ("min", "max")
ALIASES = {"atan": "arctan", "asin": "arcsin", "acos": "arccos", "ln": "log"}
FUNCTION_NAMES = (*UNARY_FUNCTIONS, *BINARY_FUNCTIONS, *ALIASES)

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
    """A checked expression: its tree, normalised text, LaTeX, variables, and compiled evaluator."""

    tree: Node
    text: str
    latex: str
    variables: tuple[str, ...]
    _compiled: Compiled = field(repr=False, compare=False)

    def value_and_grad(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values (shape ``points.shape[:-1]``) and gradients (shape ``points.shape``) in float64.

        Runs under ``np.errstate(all="ignore")``: log of a negative number is NaN, overflow is inf;
        deciding what a non-finite value means is the run layer's business.
        """
        p = np.asarray(points, dtype=np.float64)
        with np.errstate(all="ignore"):
            v, dx, dy = self._compiled(p[..., 0], p[..., 1])
            values = np.empty(p.shape[:-1])
            values[...] = v
            grads = np.empty(p.shape)
            grads[..., 0] = 0.0 if dx is None else dx
            grads[..., 1] = 0.0 if dy is None else dy
        return values, grads

    def value(self, points: np.ndarray) -> np.ndarray:
        return self.value_and_grad(points)[0]


def parse_expression(
    text: str, max_length: int = MAX_EXPRESSION_LENGTH, max_depth: int = 32, max_nodes: int = 200
) -> Expr:
    """Check ``text`` and turn it into an :class:`Expr`; every refusal is an ExpressionError.

    Cheap checks (type, length, characters, bracket depth) run before ``ast.parse`` so a huge or
    pathological string never reaches the parser.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}", "")
    if len(text) > max_length:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {max_length}",
            text[:max_length] + "...",
            max_length,
            max_length + 3,
        )
    text = _normalise_whitespace(text)
    if not text.strip():
        raise ExpressionError("the expression is empty; type something like x^2 + y^2", text)
    _check_characters(text)
    _check_bracket_depth(text, max_depth)
    tree_ast, to_user = _parse(text)
    _check_size(tree_ast, text, to_user, max_depth, max_nodes)
    tree = _Converter(text, to_user).convert(tree_ast)
    compiled = _Compiler(text).compile(tree)
    return Expr(
        tree=tree,
        text=to_text(tree),
        latex=to_latex(tree),
        variables=tuple(sorted(_variables(tree))),
        _compiled=compiled,
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
    )


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
            raise ExpressionError(f"character {ch!r} is not allowed", text, col, col + 1)


def _check_bracket_depth(text: str, max_depth: int) -> None:
    depth = 0
    for col, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > max_depth:
                raise ExpressionError(
                    f"brackets are nested too deeply (more than {max_depth} levels)", text, col, col + 1
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
        start = to_user((exc.offset or 1) - 1)
        end = (
            to_user(exc.end_offset - 2) + 1 if exc.end_offset and exc.end_offset > (exc.offset or 0) else None
        )
        hint = "; write 2*x, not 2x" if "decimal literal" in exc.msg else ""
        raise ExpressionError(f"syntax error: {exc.msg}{hint}", text, start, end) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"the expression could not be read ({type(exc).__name__})", text) from None
    return module.body, to_user


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
                    f"the expression is nested too deeply (more than {max_depth} levels)", text, start, end
                )
            if count > max_nodes:
                raise ExpressionError(
                    f"the expression is too big (more than {max_nodes} parts)",
                    text,
                    *_ast_span(node, to_user),
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

    def refuse(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(message, self.text, *_ast_span(node, self.to_user))

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
                raise self.refuse(f"operator '{_OPERATOR_TEXT.get(type(node.op), '?')}' is not allowed", node)
            return Unary("-" if isinstance(node.op, ast.USub) else "+", self.convert(node.operand), span)
        if isinstance(node, ast.BinOp):
            return self.binary(node, span)
        if isinstance(node, ast.Call):
            return self.call(node, span)
        reason = _REFUSED_NODES.get(type(node), f"{type(node).__name__} is not allowed")
        raise self.refuse(f"'{self.segment(node)}': {reason}", node)

    def constant(self, node: ast.Constant, span: tuple[int, int]) -> Num:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.refuse(f"'{self.segment(node)}' is not a number", node)
        if isinstance(value, complex):
            raise self.refuse(f"'{self.segment(node)}': complex numbers are not allowed", node)
        if isinstance(value, str | bytes):
            raise self.refuse("text in quotes (strings) is not allowed", node)
        if not isinstance(value, int | float):
            raise self.refuse(f"'{self.segment(node)}' is not a number", node)
        if not (isinstance(value, int) or math.isfinite(value)) or abs(value) > MAX_LITERAL:
            raise self.refuse(f"number '{self.segment(node)}' is too large (at most 1e12)", node)
        return Num(float(value), span=span)

    def name(self, node: ast.Name, span: tuple[int, int]) -> Node:
        if node.id in VARIABLES:
            return Var(node.id, span)
        if node.id in CONSTANTS:
            return Num(CONSTANTS[node.id], node.id, span)
        if node.id in FUNCTION_NAMES:
            raise self.refuse(f"'{node.id}' is a function; call it like {node.id}(x)", node)
        raise self.refuse(f"unknown name '{node.id}'; allowed: x, y, pi, e", node)

    def binary(self, node: ast.BinOp, span: tuple[int, int]) -> Binary:
        op = _OPERATORS.get(type(node.op))
        if op is None:
            symbol = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            raise self.refuse(f"operator '{symbol}' is not allowed; use + - * / ^", node)
        left = self.convert(node.left)
        right = self.convert(node.right)
        if op == "^" and not _variables(right):
            exponent = _Compiler(self.text).constant(right)
            if not abs(exponent) <= MAX_CONSTANT_EXPONENT:
                size = "too large" if exponent > 0 else "too large in magnitude"
                limit = _format_number(MAX_CONSTANT_EXPONENT)
                raise self.refuse(
                    f"exponent {_format_number(exponent)} is {size} (at most {limit})", node.right
                )
        return Binary(op, left, right, span)

    def call(self, node: ast.Call, span: tuple[int, int]) -> Call:
        if not isinstance(node.func, ast.Name):
            self.convert(node.func)  # refuses attribute access etc. with its own message
            raise self.refuse(
                f"'{self.segment(node.func)}': only named functions like sin(x) can be called", node
            )
        name = node.func.id
        if name in VARIABLES or name in CONSTANTS:
            raise self.refuse(f"'{name}' is not a function; write {name}*(...) to multiply", node.func)
        if name not in FUNCTION_NAMES:
            allowed = ", ".join(FUNCTION_NAMES)
            raise self.refuse(f"unknown function '{name}'; allowed: {allowed}", node.func)
        if node.keywords:
            raise self.refuse(f"{name}(): keyword arguments are not allowed", node.keywords[0])
        canonical = ALIASES.get(name, name)
        arity = 2 if canonical in BINARY_FUNCTIONS else 1
        if len(node.args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            raise self.refuse(f"{name}() takes {arity} {plural}, got {len(node.args)}", node)
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
# Compilation: tree -> closure computing (value, d/dx, d/dy) with NumPy.
# ---------------------------------------------------------------------------------------------------


def _t_add(a: Tangent, b: Tangent) -> Tangent:
    if a is None:
        return b
    return a if b is None else a + b


def _t_sub(a: Tangent, b: Tangent) -> Tangent:
    if b is None:
        return a
    return -b if a is None else a - b


def _t_scale(factor: np.ndarray | float, t: Tangent) -> Tangent:
    return None if t is None else factor * t


def _t_neg(t: Tangent) -> Tangent:
    return None if t is None else -t


class _Compiler:
    """Turn a tree into nested closures; subtrees without variables are folded to constants once."""

    def __init__(self, text: str) -> None:
        self.text = text

    def compile(self, node: Node) -> Compiled:
        if not _variables(node) and not isinstance(node, Num):
            return _constant(self.constant(node))
        return self._compile(node)

    def constant(self, node: Node) -> float:
        """Value of a subtree without variables, in float64 (overflow gives inf, then a refusal)."""
        with np.errstate(all="ignore"):
            value = float(self._compile(node)(np.float64(0.0), np.float64(0.0))[0])
        if not math.isfinite(value):
            raise ExpressionError(
                f"this part evaluates to {value}, not a finite number", self.text, *node.span
            )
        return value

    def _compile(self, node: Node) -> Compiled:
        if isinstance(node, Num):
            return _constant(node.value)
        if isinstance(node, Var):
            return _x if node.name == "x" else _y
        if isinstance(node, Unary):
            operand = self.compile(node.operand)
            return operand if node.op == "+" else _negate(operand)
        if isinstance(node, Binary):
            return self._binary(node)
        return self._call(node)

    def _binary(self, node: Binary) -> Compiled:
        left = self.compile(node.left)
        if node.op == "^" and not _variables(node.right):
            return _power_constant(left, self.constant(node.right))
        right = self.compile(node.right)
        if node.op == "^" and not _variables(node.left):
            return _exponential(self.constant(node.left), right)
        return {"+": _add, "-": _sub, "*": _mul, "/": _div, "^": _power}[node.op](left, right)

    def _call(self, node: Call) -> Compiled:
        args = [self.compile(arg) for arg in node.args]
        if node.func in BINARY_FUNCTIONS:
            return _min_max(node.func, args[0], args[1])
        function, derivative = UNARY_FUNCTIONS[node.func]
        return _apply(function, derivative, args[0])


def _constant(value: float) -> Compiled:
    number = np.float64(value)  # NumPy scalar, so 1/0 in a constant gives inf, not ZeroDivisionError

    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        return number, None, None

    return f


def _x(x: np.ndarray, y: np.ndarray) -> Dual:
    return x, 1.0, None


def _y(x: np.ndarray, y: np.ndarray) -> Dual:
    return y, None, 1.0


def _negate(a: Compiled) -> Compiled:
    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        v, dx, dy = a(x, y)
        return -v, _t_neg(dx), _t_neg(dy)

    return f


def _add(a: Compiled, b: Compiled) -> Compiled:
    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        av, adx, ady = a(x, y)
        bv, bdx, bdy = b(x, y)
        return av + bv, _t_add(adx, bdx), _t_add(ady, bdy)

    return f


def _sub(a: Compiled, b: Compiled) -> Compiled:
    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        av, adx, ady = a(x, y)
        bv, bdx, bdy = b(x, y)
        return av - bv, _t_sub(adx, bdx), _t_sub(ady, bdy)

    return f


def _mul(a: Compiled, b: Compiled) -> Compiled:
    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        av, adx, ady = a(x, y)
        bv, bdx, bdy = b(x, y)
        return (
            av * bv,
            _t_add(_t_scale(bv, adx), _t_scale(av, bdx)),
            _t_add(_t_scale(bv, ady), _t_scale(av, bdy)),
        )

    return f


def _div(a: Compiled, b: Compiled) -> Compiled:
    """(a/b)' = (a' - (a/b) b') / b."""

    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        av, adx, ady = a(x, y)
        bv, bdx, bdy = b(x, y)
        v = av / bv
        inv = 1.0 / bv
        return v, _t_scale(inv, _t_sub(adx, _t_scale(v, bdx))), _t_scale(inv, _t_sub(ady, _t_scale(v, bdy)))

    return f


def _power_constant(a: Compiled, exponent: float) -> Compiled:
    """a^c with a constant c: c a^(c-1) a'. Correct for negative bases with integer c (x^2 at x < 0)."""
    if exponent == 0.0:
        return _constant(1.0)
    if exponent == 1.0:
        return a
    if exponent == 2.0:

        def square(x: np.ndarray, y: np.ndarray) -> Dual:
            v, dx, dy = a(x, y)
            slope = 2.0 * v
            return v * v, _t_scale(slope, dx), _t_scale(slope, dy)

        return square
    lower = exponent - 1.0

    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        v, dx, dy = a(x, y)
        slope = exponent * np.power(v, lower)
        return np.power(v, exponent), _t_scale(slope, dx), _t_scale(slope, dy)

    return f


def _exponential(base: float, b: Compiled) -> Compiled:
    """c^b with a constant base: c^b ln(c) b'."""
    log_base = math.log(base) if base > 0 else math.nan

    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        bv, bdx, bdy = b(x, y)
        v = np.power(base, bv)
        slope = v * log_base
        return v, _t_scale(slope, bdx), _t_scale(slope, bdy)

    return f


def _power(a: Compiled, b: Compiled) -> Compiled:
    """a^b with both varying: b a^(b-1) a' + a^b ln(a) b' (NaN for a ≤ 0, as NumPy gives)."""

    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        av, adx, ady = a(x, y)
        bv, bdx, bdy = b(x, y)
        v = np.power(av, bv)
        base_slope = bv * np.power(av, bv - 1.0)
        exponent_slope = v * np.log(av)
        return (
            v,
            _t_add(_t_scale(base_slope, adx), _t_scale(exponent_slope, bdx)),
            _t_add(_t_scale(base_slope, ady), _t_scale(exponent_slope, bdy)),
        )

    return f


def _apply(
    function: Callable[[np.ndarray], np.ndarray],
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray],
    a: Compiled,
) -> Compiled:
    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        av, adx, ady = a(x, y)
        v = function(av)
        slope = derivative(av, v)
        return v, _t_scale(slope, adx), _t_scale(slope, ady)

    return f


def _min_max(kind: str, a: Compiled, b: Compiled) -> Compiled:
    """min/max pick the value and tangent of the chosen argument (ties go to the first)."""
    pick_first = np.less_equal if kind == "min" else np.greater_equal

    def f(x: np.ndarray, y: np.ndarray) -> Dual:
        av, adx, ady = a(x, y)
        bv, bdx, bdy = b(x, y)
        first = pick_first(av, bv)
        return (
            np.where(first, av, bv),
            np.where(first, 0.0 if adx is None else adx, 0.0 if bdx is None else bdx),
            np.where(first, 0.0 if ady is None else ady, 0.0 if bdy is None else bdy),
        )

    return f
