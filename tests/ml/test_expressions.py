"""Tests for app.ml.expressions: values, exact gradients, rendering, and refusal of hostile input."""

from __future__ import annotations

import ast
import contextlib
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ml.errors import ConfigError, ExpressionError
from app.ml.expressions import (
    _DERIVATIVES,
    _NUMPY_FUNCTIONS,
    MAX_EXPRESSION_LENGTH,
    UNARY_NAMES,
    Expr,
    custom_surface,
    parse_expression,
)
from tests.ml.expression_oracle import oracle_value_and_grad

RNG_POINTS = np.random.default_rng(7).uniform(-2.0, 2.0, size=(50, 2))
POSITIVE_POINTS = np.random.default_rng(8).uniform(0.2, 2.0, size=(50, 2))


def numeric_gradient(expr: Expr, points: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grads = np.empty_like(points)
    with np.errstate(all="ignore"):  # inf - inf where the function overflows: masked out later
        for k in range(2):
            step = np.zeros(2)
            step[k] = h
            grads[:, k] = (expr.value(points + step) - expr.value(points - step)) / (2.0 * h)
    return grads


def assert_gradient_matches_differences(expr: Expr, points: np.ndarray) -> None:
    values, grads = expr.value_and_grad(points)
    numeric = numeric_gradient(expr, points)
    ok = np.isfinite(values) & np.all(np.isfinite(grads), axis=1) & np.all(np.isfinite(numeric), axis=1)
    tolerance = 1e-6 * (1.0 + np.abs(values[ok]))[:, None] + 1e-5 * np.abs(numeric[ok])
    assert np.all(np.abs(grads[ok] - numeric[ok]) <= tolerance), expr.text


# name -> (text, numpy value, analytic gradient or None, points)
VALID = {
    "quadratic": (
        "x**2 + 10*y**2",
        lambda x, y: x**2 + 10 * y**2,
        lambda x, y: (2 * x, 20 * y),
        RNG_POINTS,
    ),
    "waves": (
        "sin(x)*cos(y)",
        lambda x, y: np.sin(x) * np.cos(y),
        lambda x, y: (np.cos(x) * np.cos(y), -np.sin(x) * np.sin(y)),
        RNG_POINTS,
    ),
    "caret": ("x^2 - y^2", lambda x, y: x**2 - y**2, lambda x, y: (2 * x, -2 * y), RNG_POINTS),
    "gaussian": (
        "exp(-(x**2+y**2))",
        lambda x, y: np.exp(-(x**2 + y**2)),
        lambda x, y: (-2 * x * np.exp(-(x**2 + y**2)), -2 * y * np.exp(-(x**2 + y**2))),
        RNG_POINTS,
    ),
    "hyperboloid": (
        "sqrt(x**2+y**2+1)",
        lambda x, y: np.sqrt(x**2 + y**2 + 1),
        lambda x, y: (x / np.sqrt(x**2 + y**2 + 1), y / np.sqrt(x**2 + y**2 + 1)),
        RNG_POINTS,
    ),
    "log": (
        "log(1+x**2)",
        lambda x, y: np.log(1 + x**2),
        lambda x, y: (2 * x / (1 + x**2), 0 * y),
        RNG_POINTS,
    ),
    "tanh": (
        "tanh(x)*y",
        lambda x, y: np.tanh(x) * y,
        lambda x, y: ((1 - np.tanh(x) ** 2) * y, np.tanh(x)),
        RNG_POINTS,
    ),
    "monkey": (
        "-x**3 + 3*x*y**2",
        lambda x, y: -(x**3) + 3 * x * y**2,
        lambda x, y: (-3 * x**2 + 3 * y**2, 6 * x * y),
        RNG_POINTS,
    ),
    "power": (
        "x**y",
        lambda x, y: x**y,
        lambda x, y: (y * x ** (y - 1), x**y * np.log(x)),
        POSITIVE_POINTS,
    ),
    "pi": ("pi*x", lambda x, y: np.pi * x, lambda x, y: (np.pi + 0 * x, 0 * y), RNG_POINTS),
    "division": ("x/(1+y**2)", lambda x, y: x / (1 + y**2), None, RNG_POINTS),
    "functions": (
        "abs(x) + arctan(y) + atan(x) + sinh(x)/cosh(y) + log10(2+y) + log2(3+x) + square(y) - tan(x/2)",
        lambda x, y: (
            np.abs(x)
            + np.arctan(y)
            + np.arctan(x)
            + np.sinh(x) / np.cosh(y)
            + np.log10(2 + y)
            + np.log2(3 + x)
            + y**2
            - np.tan(x / 2)
        ),
        None,
        RNG_POINTS,
    ),
    "inverse_trig": (
        "arcsin(x/3) + acos(y/3) + asin(y/4) + arccos(x/4)",
        lambda x, y: np.arcsin(x / 3) + np.arccos(y / 3) + np.arcsin(y / 4) + np.arccos(x / 4),
        None,
        RNG_POINTS,
    ),
    "logistic": (
        "sigmoid(x*y) + softplus(x - y)",
        lambda x, y: 1 / (1 + np.exp(-x * y)) + np.log1p(np.exp(x - y)),
        None,
        RNG_POINTS,
    ),
    "min_max": (
        "min(x, y) + max(x**2, y)",
        lambda x, y: np.minimum(x, y) + np.maximum(x**2, y),
        None,
        RNG_POINTS,
    ),
    "constant_exponent": ("2^(x/2) + e^y + x^-2 + y^0.5", None, None, POSITIVE_POINTS),
}


@pytest.mark.parametrize("name", list(VALID))
def test_valid_expressions(name: str) -> None:
    text, formula, gradient, points = VALID[name]
    expr = parse_expression(text)
    values, grads = expr.value_and_grad(points)
    assert values.shape == (len(points),) and grads.shape == points.shape
    assert values.dtype == np.float64 and grads.dtype == np.float64
    x, y = points[:, 0], points[:, 1]
    if formula is not None:
        np.testing.assert_allclose(values, formula(x, y), rtol=1e-12, atol=1e-12)
    if gradient is not None:
        gx, gy = gradient(x, y)
        np.testing.assert_allclose(grads[:, 0], gx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grads[:, 1], gy, rtol=1e-12, atol=1e-12)
    assert_gradient_matches_differences(expr, points)


def test_power_of_negative_base_with_integer_exponent_has_a_finite_gradient() -> None:
    points = np.array([[-1.5, -2.0], [-0.5, 3.0]])
    for text, expected in [
        ("x**2", [[-3.0, 0.0], [-1.0, 0.0]]),
        ("x**3 + y^4", [[6.75, -32.0], [0.75, 108.0]]),
    ]:
        _, grads = parse_expression(text).value_and_grad(points)
        np.testing.assert_allclose(grads, expected)


def test_variable_exponent_rule() -> None:
    expr = parse_expression("x^y")
    value, grad = expr.value_and_grad(np.array([2.0, 3.0]))
    assert value == pytest.approx(8.0)
    np.testing.assert_allclose(grad, [3.0 * 4.0, 8.0 * math.log(2.0)])


def test_shapes_match_the_surface_contract() -> None:
    expr = parse_expression("x*y + 1")
    for batch in [(), (1,), (5,), (6, 6)]:
        points = np.ones((*batch, 2))
        values, grads = expr.value_and_grad(points)
        assert np.shape(values) == batch and np.shape(grads) == (*batch, 2)
        assert np.all(values == 2.0) and np.all(grads == 1.0)


def test_constant_expression_is_allowed_and_flat() -> None:
    expr = parse_expression("3 + pi")
    assert expr.variables == ()
    values, grads = expr.value_and_grad(np.zeros((4, 2)))
    np.testing.assert_allclose(values, 3 + math.pi)
    assert np.all(grads == 0.0)


def test_single_variable_expression_has_zero_other_partial() -> None:
    expr = parse_expression("y^2")
    assert expr.variables == ("y",)
    _, grads = expr.value_and_grad(np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(grads, [[0.0, 4.0]])


def test_non_finite_values_are_left_to_the_caller() -> None:
    values, _ = parse_expression("log(x) + sqrt(y)").value_and_grad(np.array([[-1.0, 1.0], [1.0, -1.0]]))
    assert np.isnan(values).all()
    values, _ = parse_expression("exp(x)").value_and_grad(np.array([[1000.0, 0.0]]))
    assert np.isinf(values).all()


# ----- text and LaTeX -----


@pytest.mark.parametrize(
    ("text", "normal", "latex"),
    [
        ("x**2 + 10*y**2", "x^2 + 10*y^2", "x^{2} + 10 y^{2}"),
        ("x^2-y^2", "x^2 - y^2", "x^{2} - y^{2}"),
        ("-x**2", "-x^2", "-x^{2}"),
        ("(-x)**2", "(-x)^2", r"\left(-x\right)^{2}"),
        ("x^y^2", "x^y^2", "x^{y^{2}}"),
        ("(x^y)^2", "(x^y)^2", r"\left(x^{y}\right)^{2}"),
        ("x - (y - 1)", "x - (y - 1)", r"x - \left(y - 1\right)"),
        ("x/(y+1)", "x/(y + 1)", r"\frac{x}{y + 1}"),
        ("sqrt(x^2+1)", "sqrt(x^2 + 1)", r"\sqrt{x^{2} + 1}"),
        ("abs(x)", "abs(x)", r"\left|x\right|"),
        ("pi*x", "pi*x", r"\pi x"),
        ("atan(x)", "arctan(x)", r"\arctan\left(x\right)"),
        ("log(x)", "log(x)", r"\ln\left(x\right)"),
        ("  sin( x )  ", "sin(x)", r"\sin\left(x\right)"),
    ],
)
def test_rendering(text: str, normal: str, latex: str) -> None:
    expr = parse_expression(text)
    assert expr.text == normal
    assert expr.latex == latex


def test_caret_is_power_with_power_precedence() -> None:
    # Python's ^ binds looser than +; here x^2 + 1 must mean (x^2) + 1.
    expr = parse_expression("x^2 + 1")
    assert expr.value(np.array([3.0, 0.0])) == pytest.approx(10.0)
    assert parse_expression("2^3^2").value(np.zeros(2)) == pytest.approx(512.0)
    assert parse_expression("-2^2").value(np.zeros(2)) == pytest.approx(-4.0)


# ----- refusals -----

HOSTILE = [
    "__import__('os').system('ls')",
    "x.__class__",
    "().__class__.__bases__",
    "open('f')",
    "lambda: 1",
    "[x for x in y]",
    "x if y else 1",
    "x < y",
    "x and y",
    "'abc'",
    "b'x'",
    "f'{x}'",
    "x[0]",
    "foo(x)",
    "sin(x, y)",
    "sin(x=1)",
    "sin(*x)",
    "9**9**9",
    "x**1000",
    "x**-1000",
    "2**10000",
    "1e999",
    "10**400",
    "(10^100)^100*x",
    "log(0)*x",
    "1/0 + x",
    "(" * 40 + "x" + ")" * 40,
    "-(" * 40 + "x" + ")" * 40,
    "-" * 40 + "x",
    "+".join(["x"] * 5000),
    "x" * 10_000,
    "\x00",
    "x + \x00",
    "",
    "   ",
    "z + 1",
    "x +* y",
    "1j*x",
    "True",
    "None",
    "...",
    "x % 2",
    "x // 2",
    "~x",
    "not x",
    "x @ y",
    "x | y",
    "(x, y)",
    "{x: 1}",
    "{x}",
    "sin",
    "x(2)",
    "sin(x)(y)",
    "(yield)",
    "(y := 2)",
    "x^^2",
    "sqrt(x",
    "x)",
    "é",
    "\U0001d465",  # mathematical italic x: Python would normalise it to a plain x
    "sin(x)[0]",
    "getattr(x, 'y')",
    "exec('1')",
    "eval('x')",
    "globals()",
]


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t[:30]) for t in HOSTILE])
def test_hostile_input_is_refused(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    error = info.value
    assert isinstance(error, ConfigError) and error.field == "expression"
    assert 0 <= error.start < error.end
    assert error.message.count("\n") == 2  # message, expression, pointer


@pytest.mark.parametrize(
    ("text", "start", "end", "fragment"),
    [
        ("z + 1", 0, 1, "unknown name 'z'"),
        ("x + z", 4, 5, "unknown name 'z'"),
        ("x +* y", 3, 4, "syntax error"),
        ("foo(x)", 0, 3, "unknown function 'foo'; allowed: sin, cos"),
        ("x.real", 0, 6, "'x.real': attribute access is not allowed"),
        ("x**1000", 3, 7, "exponent 1000 is too large (at most 100)"),
        ("y + x^1000", 6, 10, "exponent 1000 is too large (at most 100)"),
        ("9**9**9", 3, 7, "exponent 387420489 is too large"),
        ("1 + 1e999", 4, 9, "too large"),
        ("sin(x=1)", 4, 7, "keyword arguments"),
        ("sin(x, y)", 0, 9, "sin() takes 1 argument, got 2"),
        ("x + 1j", 4, 6, "complex numbers are not allowed"),
        ("x + 'a'", 4, 7, "strings"),
        ("x < y", 0, 5, "comparisons are not allowed"),
        ("x + \x00", 4, 5, "character"),
        ("x % 2", 0, 5, "operator '%' is not allowed"),
        ("sin + 1", 0, 3, "'sin' is a function"),
    ],
)
def test_refusal_points_at_the_culprit(text: str, start: int, end: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert fragment in info.value.message
    assert (info.value.start, info.value.end) == (start, end)
    assert info.value.expression == text


def test_length_is_checked_before_parsing() -> None:
    text = "x" * 412
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert "expression is 412 characters long; the limit is 300" in info.value.message
    assert info.value.start == MAX_EXPRESSION_LENGTH
    assert len(info.value.expression) < 320  # the error does not copy the whole input
    ok = "+".join(["x"] * 150)[: MAX_EXPRESSION_LENGTH - 1]
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression(ok)
    parse_expression(ok, max_depth=200, max_nodes=400)


def test_depth_and_node_limits() -> None:
    parse_expression("-" * 31 + "x")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("-" * 32 + "x")
    parse_expression("(" * 32 + "x" + ")" * 32)
    with pytest.raises(ExpressionError, match="brackets are nested too deeply"):
        parse_expression("(" * 33 + "x" + ")" * 33)
    balanced = "((x+y)*(x-y))+((x*y)-(y/2))"
    parse_expression(balanced, max_nodes=15)
    with pytest.raises(ExpressionError, match="too big"):
        parse_expression(balanced, max_nodes=10)


def test_huge_integer_literal_is_refused_even_with_a_long_limit() -> None:
    with pytest.raises(ExpressionError, match="too large"):
        parse_expression("1" + "0" * 400 + "*x", max_length=1000)


def test_non_string_is_refused() -> None:
    with pytest.raises(ExpressionError):
        parse_expression(42)  # type: ignore[arg-type]


def test_line_breaks_and_tabs_count_as_spaces() -> None:
    assert parse_expression("x\n+\ty").text == "x + y"


# ----- custom_surface -----


def test_custom_surface() -> None:
    surface = custom_surface("x^2 + 10*y^2")
    assert surface.name == "custom" and surface.dim == 2
    assert surface.title == "Custom: x^2 + 10*y^2"
    assert surface.formula == "x^2 + 10*y^2" and surface.latex == "x^{2} + 10 y^{2}"
    assert surface.view == (-3.0, 3.0, -3.0, 3.0) and surface.start == (-2.0, 2.0)
    assert surface.minima == () and surface.params == {}
    values, grads = surface.value_and_grad(np.array([[1.0, 1.0]]))
    np.testing.assert_allclose(values, [11.0])
    np.testing.assert_allclose(grads, [[2.0, 20.0]])


def test_custom_surface_view_and_start() -> None:
    surface = custom_surface("x*y", view=(0, 6, -1, 5), start=(1.5, 2.5))
    assert surface.view == (0.0, 6.0, -1.0, 5.0) and surface.start == (1.5, 2.5)
    assert custom_surface("x*y", view=(0, 6, -1, 5)).start == (1.0, 4.0)
    with pytest.raises(ConfigError) as info:
        custom_surface("x*y", view=(1, 0, 0, 1))
    assert info.value.field == "view"
    with pytest.raises(ConfigError) as info:
        custom_surface("x*y", start=(1.0, math.nan))
    assert info.value.field == "start"
    with pytest.raises(ExpressionError):
        custom_surface("x*z")


# ----- property-based -----

LEAVES = st.sampled_from(["x", "y", "2", "0.5", "pi", "3"])
UNARY = ["sin", "cos", "exp", "tanh", "arctan", "sigmoid", "softplus", "square", "sqrt", "log", "abs"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, st.sampled_from(["2", "3", "0.5", "-1"])).map(lambda t: f"({t[0]})^{t[1]}"),
        st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        children.map(lambda c: f"-{c}"),
    )


EXPRESSIONS = st.recursive(LEAVES, _combine, max_leaves=8)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_random_expressions_have_exact_gradients(text: str) -> None:
    try:
        expr = parse_expression(text)
    except ExpressionError as error:
        assert "not a finite number" in error.message  # e.g. log(0) folded to a constant
        return
    points = np.random.default_rng(len(text)).uniform(0.3, 1.7, size=(8, 2))
    assert_gradient_matches_differences(expr, points)
    again = parse_expression(expr.text, max_length=10_000)
    assert again.tree == expr.tree and again.text == expr.text


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from(list("xy0123456789.+-*/^()e pisnqrt,_[]'\"=<:lambd")), max_size=40))
def test_random_text_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        expr = parse_expression(text)
    except ExpressionError as error:
        assert 0 <= error.start < error.end
        return
    expr.value_and_grad(np.array([[0.5, 0.25]]))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_arbitrary_unicode_parses_or_is_refused_cleanly(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        parse_expression(text)


def test_number_glued_to_a_name_is_refused_with_a_hint_and_no_warning(recwarn) -> None:
    with pytest.raises(ExpressionError, match=r"2\*x") as error:
        parse_expression("x + 2y")
    assert error.value.start == 4
    assert not [w for w in recwarn if issubclass(w.category, SyntaxWarning)]


# ----- the compiled program -----

ORACLE_LEAVES = st.sampled_from(["x", "y", "2", "0.5", "pi", "3", "e", "1"])
ORACLE_UNARY = list(UNARY_NAMES)  # every whitelisted function


def _combine_all(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Every operator and function of the language, including variable exponents and min/max."""
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "^"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, st.sampled_from(["0", "1", "2", "3", "0.5", "-1", "-2.5"])).map(
            lambda t: f"({t[0]})^{t[1]}"
        ),
        st.tuples(st.sampled_from(ORACLE_UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        children.map(lambda c: f"-{c}"),
    )


ALL_EXPRESSIONS = st.recursive(ORACLE_LEAVES, _combine_all, max_leaves=12)
ORACLE_POINTS = np.concatenate(
    [
        np.random.default_rng(11).uniform(-2.5, 2.5, size=(24, 2)),
        np.random.default_rng(12).uniform(0.2, 1.8, size=(16, 2)),
        [[0.0, 0.0], [1.0, -1.0], [0.5, 0.5], [-1.0, 2.0]],
    ]
)


def _assert_same(new: np.ndarray, old: np.ndarray, text: str) -> None:
    """Equal to 1e-12 relative where the old evaluator is finite; non-finite exactly where it was."""
    finite = np.isfinite(old)
    assert np.array_equal(np.isfinite(new), finite), text
    assert np.array_equal(np.isnan(new), np.isnan(old)), text
    assert np.array_equal(new[~finite & ~np.isnan(old)], old[~finite & ~np.isnan(old)]), text  # ±inf
    np.testing.assert_allclose(new[finite], old[finite], rtol=1e-12, atol=1e-300, err_msg=text)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(ALL_EXPRESSIONS)
def test_compiled_program_equals_the_tree_walking_evaluator(text: str) -> None:
    try:
        expr = parse_expression(text)
    except ExpressionError as error:
        assert "not a finite number" in error.message or "exponent" in error.message
        return
    values, grads = expr.value_and_grad(ORACLE_POINTS)
    old_values, old_grads = oracle_value_and_grad(expr.tree, ORACLE_POINTS)
    _assert_same(values, old_values, text)
    _assert_same(grads, old_grads, text)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(ALL_EXPRESSIONS)
def test_compiled_gradients_match_central_differences(text: str) -> None:
    try:
        expr = parse_expression(text)
    except ExpressionError:
        return
    points = np.random.default_rng(len(text)).uniform(0.3, 1.7, size=(8, 2))
    assert_gradient_matches_differences(expr, points)


def test_repeated_subtrees_are_computed_once() -> None:
    term = "(x*y+y*x+x*y+y*x)"
    once = parse_expression(term).program.operations
    twelve = parse_expression("+".join([term] * 12))
    # x*y and y*x are one product; each sum adds one value and two tangent operations.
    assert once == 1 + 3 * 3
    assert twelve.program.operations == once + 11 * 3
    assert twelve.program.source.count("x * y") == 1 and "y * x" not in twelve.program.source
    assert parse_expression("sin(x) + sin(x)").program.source.count("sin(") == 1
    # the derivative of sin reuses a cos the user typed
    assert parse_expression("sin(x) + cos(x)").program.source.count("cos(") == 1


def test_constant_parts_and_unit_factors_cost_nothing() -> None:
    assert parse_expression("x*y").program.operations == 1  # tangents are y and x themselves
    assert parse_expression("x + y + (2^10 + log(3))").program.operations == 2
    assert parse_expression("x").program.operations == 0


GENERATED_NAME = re.compile(r"^(x|y|t\d+|c\d+)$")


@pytest.mark.parametrize("name", list(VALID))
def test_generated_code_uses_only_generated_names_and_whitelisted_functions(name: str) -> None:
    program = parse_expression(VALID[name][0]).program
    tree = ast.parse(program.source)
    (function,) = tree.body
    assert isinstance(function, ast.FunctionDef) and function.name == "evaluate"
    assert [a.arg for a in function.args.args] == ["x", "y"]
    for node in ast.walk(function):
        assert not isinstance(node, ast.Attribute | ast.Subscript | ast.Lambda | ast.Import), ast.dump(node)
        if isinstance(node, ast.Constant):
            raise AssertionError(f"literal {node.value!r} in generated code; constants are bound by name")
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name) and node.func.id in _NUMPY_FUNCTIONS
            assert not node.keywords
        elif isinstance(node, ast.Name) and node.id not in _NUMPY_FUNCTIONS:
            assert GENERATED_NAME.match(node.id), node.id
    assert program.evaluate.__globals__["__builtins__"] == {}


def test_user_text_never_reaches_the_generated_source() -> None:
    source = parse_expression("sin(x)*3.25 + 1e-7*y + pi").program.source
    for fragment in ("3.25", "1e-07", "pi"):
        assert fragment not in source


def test_every_function_has_a_derivative_rule() -> None:
    assert set(_DERIVATIVES) == set(UNARY_NAMES)


def test_compiled_code_is_cached_per_program() -> None:
    first = parse_expression("x*y + sin(x)").program
    again = parse_expression("x * y+sin( x )").program
    assert again.source == first.source
    assert again.evaluate.__code__ is first.evaluate.__code__


def test_value_output_never_aliases_the_input_points() -> None:
    points = np.array([[1.5, -2.0], [0.25, 4.0]])
    for text in ("x", "y", "+x", "1*y", "3"):
        values, _ = parse_expression(text).value_and_grad(points)
        values[...] = 99.0
        assert points[0, 0] == 1.5 and points[0, 1] == -2.0, text
    values, grads = parse_expression("x").value_and_grad(np.array([0.5, 1.0]))
    assert isinstance(values, np.ndarray) and values.shape == () and float(values) == 0.5
    np.testing.assert_array_equal(grads, [1.0, 0.0])


def test_min_max_of_constant_tangents_keeps_the_old_nan_for_zero_times_infinity() -> None:
    # d/dx min(y, y^2) is a literal 0 array in the old evaluator, so inf * 0 there is NaN; kept as is.
    points = np.array([[800.0, 0.5]])
    expr = parse_expression("exp(x) * min(y, y^2)")
    _, grads = expr.value_and_grad(points)
    _, old_grads = oracle_value_and_grad(expr.tree, points)
    assert np.isnan(grads[0, 0]) and np.isnan(old_grads[0, 0])


# --------------------------------------------------------------------------------------------- Hessians

HESSIAN_CASES = [
    "x^2 + y^2",
    "sin(x*y) + exp(0.1*x)*cos(y)",
    "x^y + 2^x",
    "log(1 + x^2) / sqrt(2 + y^2)",
    "min(x, y)^2 + max(x*y, 1)",
    "softplus(x)*sigmoid(y) + tanh(x - y)",
    "abs(x)*y^3",
    "arctan(x*y) + arcsin(x/4) + arccos(y/4)",
    "sinh(x/2)*cosh(y/3) + log10(3 + x) + log2(4 + y) + square(x) + tan(x/3) + ln(x)",
    "3",
    "x",
]


@pytest.mark.parametrize("text", HESSIAN_CASES)
def test_expression_hessian_is_exact_forward_over_forward(text):
    """The second-order program agrees with central differences of the exact gradient."""
    surface = custom_surface(text)
    points = np.random.default_rng(5).uniform(0.2, 2.5, size=(30, 2))
    exact = surface.hessian(points)
    h = 1e-5
    differences = np.empty_like(exact)
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        differences[..., :, j] = (
            surface.value_and_grad(points + e)[1] - surface.value_and_grad(points - e)[1]
        ) / (2 * h)
    np.testing.assert_allclose(exact, differences, rtol=1e-6, atol=1e-6)


def test_expression_hessian_is_closed_form_for_a_polynomial():
    surface = custom_surface("x^3*y + 2*x*y^2")
    # f_xx = 6xy, f_xy = 3x^2 + 4y, f_yy = 4x
    np.testing.assert_array_equal(surface.hessian(np.array([[2.0, -1.0]])), [[[-12.0, 8.0], [8.0, 8.0]]])


@pytest.mark.parametrize(("text", "column"), [("x**", 3), ("x +", 3), ("x**2 + ", 6), ("sin(x) * ", 8)])
def test_an_expression_that_stops_early_points_at_the_missing_operand_not_column_1(
    text: str, column: int
) -> None:
    with pytest.raises(ExpressionError) as caught:
        custom_surface(text)
    assert caught.value.start == column, (
        f"{text!r}: points at column {caught.value.start + 1}, not after the end"
    )
    assert "missing at the end" in str(caught.value)
