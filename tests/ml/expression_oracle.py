"""The tree-walking evaluator that app.ml.expressions used before it compiled expressions to fused code.

Kept only as a test oracle: the compiled program must give the same values and gradients as this
straightforward closure-per-node forward-mode evaluation (copied verbatim from the old module, with
its function table), so any rewrite of the fast path is checked against independent code.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from app.ml.expressions import BINARY_FUNCTIONS, Binary, Call, Node, Num, Unary, Var, _variables

Tangent = np.ndarray | float | None
Dual = tuple[np.ndarray | float, Tangent, Tangent]
Compiled = Callable[[np.ndarray, np.ndarray], Dual]


def oracle_value_and_grad(tree: Node, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and gradients of ``tree`` at ``points`` (..., 2), as the old Expr.value_and_grad gave them."""
    compiled = _Compiler().compile(tree)
    p = np.asarray(points, dtype=np.float64)
    with np.errstate(all="ignore"):
        v, dx, dy = compiled(p[..., 0], p[..., 1])
        values = np.empty(p.shape[:-1])
        values[...] = v
        grads = np.empty(p.shape)
        grads[..., 0] = 0.0 if dx is None else dx
        grads[..., 1] = 0.0 if dy is None else dy
    return values, grads


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))


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

    def compile(self, node: Node) -> Compiled:
        if not _variables(node) and not isinstance(node, Num):
            return _constant(self.constant(node))
        return self._compile(node)

    def constant(self, node: Node) -> float:
        """Value of a subtree without variables, in float64."""
        with np.errstate(all="ignore"):
            value = float(self._compile(node)(np.float64(0.0), np.float64(0.0))[0])
        assert math.isfinite(value), "parse_expression refuses non-finite constant parts"
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
