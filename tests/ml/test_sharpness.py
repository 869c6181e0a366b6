"""Exact Hessian-vector products of the MLP and its top eigenvalue (the edge-of-stability sharpness)."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.datasets import make_dataset
from app.ml.nets import Network
from app.ml.sharpness import hessian_vector_product, largest_eigenvalue, top_eigenvalue
from app.ml.training import EpochRecord, TrainConfig, TrainData, Training


def _problem(task: str, activation: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    net = Network(3, (4, 3), activation, task, n_classes=3)
    X = rng.normal(size=(9, 3))
    if task == "regression":
        y = rng.normal(size=9)
    elif task == "binary":
        y = rng.integers(0, 2, size=9)
    else:
        y = rng.integers(0, 3, size=9)
    params = net.init(seed) + rng.normal(scale=0.1, size=net.size)  # non-zero biases too
    return net, params, X, net.targets(y)


def _full_hessian(net, params, X, y, l2_vec=None):
    eye = np.eye(net.size)
    return np.stack([hessian_vector_product(net, params, X, y, e, l2_vec) for e in eye], axis=1)


def _fd_hessian(net, params, X, y, eps=1e-5):
    cols = []
    for i in range(net.size):
        step = np.zeros(net.size)
        step[i] = eps
        plus = net.loss_and_grad(params + step, X, y)[1]
        minus = net.loss_and_grad(params - step, X, y)[1]
        cols.append((plus - minus) / (2 * eps))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu", "linear"])
def test_products_equal_the_finite_difference_hessian(task, activation):
    net, params, X, y = _problem(task, activation)
    exact = _full_hessian(net, params, X, y)
    fd = _fd_hessian(net, params, X, y)
    scale = np.abs(exact).max()
    assert scale > 0
    np.testing.assert_allclose(exact, fd, atol=1e-7 * max(scale, 1.0))
    np.testing.assert_allclose(exact, exact.T, atol=1e-12 * max(scale, 1.0))  # a Hessian is symmetric


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_power_iteration_finds_the_largest_eigenvalue(task):
    net, params, X, y = _problem(task, "tanh", seed=3)
    l2_vec = np.where(net.weight_mask, 0.01, 0.0)
    exact = np.linalg.eigvalsh(_full_hessian(net, params, X, y, l2_vec)).max()
    found = top_eigenvalue(net, params, X, y, l2_vec=l2_vec, max_iter=2000, tol=1e-12)
    assert found.converged
    assert found.value == pytest.approx(exact, rel=1e-6)
    assert np.linalg.norm(found.vector) == pytest.approx(1.0)


def test_a_negative_dominant_eigenvalue_is_shifted_away():
    """diag(-5, 1, 0.5): power iteration alone finds -5; the sharpness is 1."""
    h = np.diag([-5.0, 1.0, 0.5])
    found = largest_eigenvalue(lambda u: h @ u, np.ones(3), max_iter=2000, tol=1e-12)
    assert found.converged
    assert found.value == pytest.approx(1.0, rel=1e-9)


def test_a_warm_start_needs_fewer_products():
    net, params, X, y = _problem("binary", "tanh", seed=5)
    cold = top_eigenvalue(net, params, X, y, max_iter=2000, tol=1e-10)
    warm = top_eigenvalue(net, params + 1e-4, X, y, start=cold.vector, max_iter=2000, tol=1e-10)
    assert warm.iterations < cold.iterations
    assert warm.value == pytest.approx(cold.value, rel=1e-3)


def test_full_batch_gradient_descent_trains_at_the_edge_of_stability():
    """Cohen et al. (2021): full-batch GD sharpens until λmax reaches 2 / lr, then hovers there."""
    data = TrainData.from_dataset(make_dataset("wave", n=200), val_fraction=0.0)
    lr = 0.05
    config = TrainConfig(
        hidden=(32, 32),
        activations="tanh",
        optimizer="sgd",
        hyperparameters={"lr": lr},
        batch_size=100_000,
        epochs=600,
        record="epochs",
        sharpness=True,
    )
    values = [e.sharpness for e in Training(config, data) if isinstance(e, EpochRecord)]
    assert len(values) == 600 and all(v is not None for v in values)
    edge = 2 / lr
    assert values[0] < 0.5 * edge  # starts well below the edge
    late = np.array(values[-100:])
    assert 0.9 * edge < late.min() and late.max() < 1.1 * edge  # and stays at it


def test_sharpness_is_off_unless_asked_for():
    data = TrainData.from_dataset(make_dataset("wave", n=50), val_fraction=0.0)
    epochs = [e for e in Training(TrainConfig(epochs=2, record="epochs"), data) if isinstance(e, EpochRecord)]
    assert [e.sharpness for e in epochs] == [None, None]
