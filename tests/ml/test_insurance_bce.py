"""The insurance data as a loss surface (app/ml/insurance_bce.py, surface ``insurance_bce``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.ml.datasets import INSURANCE_ROWS
from app.ml.errors import ConfigError
from app.ml.insurance_bce import (
    batch_rows,
    bce_minimum,
    bce_value_and_grad,
    insurance_rows,
    slide_table,
)
from app.ml.nets import binary_cross_entropy_rows
from app.ml.run import RunSpec, collect, descend
from app.ml.surfaces import get_surface
from app.ml.training import iterations_per_epoch

POINTS = np.array([[3.0, -1.25], [-0.7, 2.2], [1.9, -0.5], [4.5, 1.0], [0.0, 0.0]])


def finite_difference(f, point: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.empty(2)
    for k in range(2):
        e = np.zeros(2)
        e[k] = h
        grad[k] = (f(point + e) - f(point - e)) / (2 * h)
    return grad


@pytest.mark.parametrize(
    "params", [{}, {"batch": 5}, {"batch": 0, "batch_size": 1}, {"rows": 13, "val_fraction": 0}]
)
def test_the_gradient_is_the_derivative_of_the_loss(params):
    surface = get_surface("insurance_bce", params)
    loss, grad = surface.value_and_grad(POINTS)
    for point, g in zip(POINTS, grad, strict=True):
        numeric = finite_difference(lambda p: float(surface.value(p)), point)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)
    assert loss.shape == (len(POINTS),)


def test_a_grid_in_chunks_equals_the_points_one_by_one():
    rows = insurance_rows()
    grid = np.stack(np.meshgrid(np.linspace(-1, 5, 41), np.linspace(-3, 3, 37)), axis=-1)
    loss, grad = bce_value_and_grad(grid, rows.x, rows.y)
    assert loss.shape == (37, 41) and grad.shape == (37, 41, 2)
    one, one_grad = bce_value_and_grad(grid[5, 7], rows.x, rows.y)
    assert loss[5, 7] == pytest.approx(float(one), rel=1e-14)
    np.testing.assert_allclose(grad[5, 7], one_grad, rtol=1e-13)


def test_each_row_costs_minus_the_log_of_the_probability_given_to_its_label():
    # the slide: ŷ = 0.01 for a row with y = 1 costs −ln 0.01 = 4.605
    logit = math.log(0.01 / 0.99)
    assert binary_cross_entropy_rows(np.array(logit), 1.0) == pytest.approx(4.605170185988091, rel=1e-12)
    assert binary_cross_entropy_rows(np.array(logit), 0.0) == pytest.approx(-math.log(0.99), rel=1e-12)
    # finite far out, where a loss on σ(z) would take log(0)
    assert binary_cross_entropy_rows(np.array([-800.0, 800.0]), np.array([1.0, 0.0])).tolist() == [
        800.0,
        800.0,
    ]


def test_the_slide_table_at_the_default_start_shows_the_4_6_case():
    surface = get_surface("insurance_bce")
    table = slide_table(insurance_rows(), *surface.start)
    assert len(table.loss) == len(INSURANCE_ROWS) == 13
    worst = table.worst
    assert INSURANCE_ROWS[worst] == (27, 0, 1)  # young, cannot afford, yet insured
    assert table.y_hat[worst] == pytest.approx(0.01, abs=5e-5)
    assert table.loss[worst] == pytest.approx(4.605, abs=0.01)
    expected = -(
        table.have_insurance * np.log(table.y_hat) + (1 - table.have_insurance) * np.log(1 - table.y_hat)
    )
    np.testing.assert_allclose(table.loss, expected, rtol=1e-10)
    assert table.mean_loss == pytest.approx(float(expected.mean()), rel=1e-10)
    rows = insurance_rows()
    np.testing.assert_allclose(table.age_scaled, (table.age - rows.age_mean) / rows.age_std)


def test_the_minimum_is_where_the_gradient_vanishes():
    surface = get_surface("insurance_bce")
    (minimum,) = surface.minima
    assert minimum == pytest.approx((1.9131, -0.5159), abs=1e-4)  # documented in docs/api.md
    _, grad = surface.value_and_grad(np.array(minimum))
    assert np.abs(grad).max() < 1e-10
    around = np.array(minimum) + 1e-3 * np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1]])
    assert (surface.value(around) > surface.value(np.array(minimum))).all()


def test_a_separable_batch_has_no_minimum():
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    assert bce_minimum(x, np.array([0.0, 0.0, 1.0, 1.0])) is None  # older → insured, no exception
    assert bce_minimum(x[:1], np.array([1.0])) is None  # one row: a batch of size 1
    assert bce_minimum(np.ones(3), np.array([0.0, 1.0, 1.0])) is None  # one age: a line of minima
    assert bce_minimum(x, np.array([0.0, 1.0, 0.0, 1.0])) is not None
    assert get_surface("insurance_bce", {"batch_size": 1, "batch": 0}).minima == ()


def test_700_training_rows_at_batch_32_make_22_iterations_the_last_of_28_rows():
    rows = insurance_rows(875, 0.2, 0)
    assert rows.n_train == 700
    assert iterations_per_epoch(rows.n_train, 32) == 22
    sizes = [len(batch_rows(700, 32, i)) for i in range(22)]
    assert sizes == [32] * 21 + [28]
    epoch = np.concatenate([batch_rows(700, 32, i) for i in range(22)])
    assert sorted(epoch.tolist()) == list(range(700))  # one epoch = every row once
    second = np.concatenate([batch_rows(700, 32, 22 + i) for i in range(22)])
    assert sorted(second.tolist()) == list(range(700)) and not np.array_equal(epoch, second)  # reshuffled
    np.testing.assert_array_equal(batch_rows(700, 32, 5, seed=3), batch_rows(700, 32, 5, seed=3))
    assert len(batch_rows(700, 5000, 0)) == 700  # a batch larger than the data is the whole set


def test_mini_batch_descent_uses_batch_t_at_step_t():
    surface = get_surface("insurance_bce", {"batch_size": 32})
    trace = collect(descend(surface, [RunSpec("sgd", "sgd", {"lr": 0.5})], 30))["sgd"]
    rows = insurance_rows()
    for t in (0, 1, 21, 22, 29):
        index = batch_rows(700, 32, t)
        loss, grad = bce_value_and_grad(trace.position[t], rows.x[index], rows.y[index])
        assert trace.loss[t] == pytest.approx(float(loss), rel=1e-12)
        np.testing.assert_allclose(trace.grad[t], grad, rtol=1e-12)
        assert get_surface("insurance_bce", {"batch": t}).value(trace.position[t]) == pytest.approx(
            float(loss)
        )
    full = get_surface("insurance_bce", {"batch_size": 700})
    assert full.batch_value_and_grad is None  # batch_size ≥ training rows: plain gradient descent
    exact = collect(descend(full, [RunSpec("sgd", "sgd", {"lr": 0.5})], 30))["sgd"]
    np.testing.assert_allclose(exact.loss, full.value(exact.position), rtol=1e-13)
    assert not np.allclose(exact.position, trace.position)  # mini-batches zig-zag off the exact path
    again = collect(descend(surface, [RunSpec("sgd", "sgd", {"lr": 0.5})], 30))["sgd"]
    np.testing.assert_array_equal(again.position, trace.position)  # seeded


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"rows": 12}, "params.rows"),
        ({"batch_size": 0}, "params.batch_size"),
        ({"batch_size": 2.5}, "params.batch_size"),
        ({"val_fraction": 0.95}, "params.val_fraction"),
        ({"batch": -2}, "params.batch"),
    ],
)
def test_bad_parameters_name_their_field(params, field):
    with pytest.raises(ConfigError) as info:
        get_surface("insurance_bce", params)
    assert info.value.field == field
