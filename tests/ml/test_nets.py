"""Networks: backprop equals finite differences for every activation × loss × penalty, stable losses,
the flat parameter layout, initialisation, validation, and the loss-landscape slice."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.ml.errors import ConfigError, UnknownNameError
from app.ml.landscape import loss_slice
from app.ml.nets import ACTIVATIONS, LOSSES, MAX_HIDDEN_LAYERS, Network
from app.ml.regularizers import WeightPenalty

PENALTIES = {"none": {}, "l1": {"l1": 0.03}, "l2": {"l2": 0.05}}


def _problem(activation: str, task: str, seed: int = 0):
    """A 3-4-3-k network at random (smooth) parameters and a 6-row batch."""
    rng = np.random.default_rng(seed)
    net = Network(3, (4, 3), activation, task, n_classes=3)
    params = rng.normal(0.0, 0.7, net.size)
    X = rng.normal(size=(6, 3))
    y = {
        "regression": rng.normal(size=6),
        "binary": rng.integers(0, 2, 6),
        "multiclass": rng.integers(0, 3, 6),
    }
    return net, params, X, net.targets(y[task])


def _objective(net, penalty, X, y, multipliers=None):
    def f(p):  # the smooth part: L1 is not in the gradient, it is a proximal step after the update
        loss = net.loss_and_grad(p, X, y, multipliers)[0]
        return loss + penalty.values(p)[1]

    def g(p):
        _, grad = net.loss_and_grad(p, X, y, multipliers)
        return penalty.add_grad(p, grad)

    return f, g


def _finite_differences(f, params: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.empty_like(params)
    for i in range(params.size):
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        out[i] = (f(up) - f(down)) / (2 * h)
    return out


def _relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


@pytest.mark.parametrize(
    ("activation", "task", "penalty"), list(itertools.product(ACTIVATIONS, LOSSES, PENALTIES))
)
def test_backprop_matches_central_differences(activation: str, task: str, penalty: str) -> None:
    net, params, X, y = _problem(activation, task)
    cache = net.forward(params, X)
    # smooth points only: no pre-activation at a relu kink, no weight at the L1 kink
    assert min(np.abs(z).min() for z in cache.pre) > 1e-4
    assert np.abs(params[net.weight_mask]).min() > 1e-4
    f, g = _objective(net, WeightPenalty(net, **PENALTIES[penalty]), X, y)
    error = _relative_error(g(params), _finite_differences(f, params))
    assert error < 1e-6, f"{activation}/{task}/{penalty}: relative error {error:.2e}"


def test_backprop_with_dropout_multipliers_matches_central_differences() -> None:
    net, params, X, y = _problem("tanh", "binary")
    rng = np.random.default_rng(3)
    mult = [(rng.random((6, 4)) >= 0.5) * 2.0, (rng.random((6, 3)) >= 0.25) / 0.75]
    f, g = _objective(net, WeightPenalty(net), X, y, mult)
    assert _relative_error(g(params), _finite_differences(f, params)) < 1e-6


def test_a_network_without_hidden_layers_is_logistic_regression() -> None:
    net = Network(2, (), task="binary")
    assert net.size == 3 and net.n_layers == 1
    rng = np.random.default_rng(1)
    params, X, y = rng.normal(size=3), rng.normal(size=(5, 2)), net.targets(rng.integers(0, 2, 5))
    f, g = _objective(net, WeightPenalty(net), X, y)
    assert _relative_error(g(params), _finite_differences(f, params)) < 1e-6
    p = 1 / (1 + np.exp(-(X @ params[:2] + params[2])))
    np.testing.assert_allclose(net.predict(params, X), p, rtol=1e-12)


def test_losses_are_finite_for_huge_logits() -> None:
    z = np.array([[1000.0], [-1000.0]])
    loss, grad = LOSSES["binary"].value_and_grad(z, np.array([[0.0], [1.0]]))
    assert loss == pytest.approx(1000.0) and np.isfinite(grad).all()
    z3 = np.array([[1000.0, -1000.0, 0.0]])
    loss, grad = LOSSES["multiclass"].value_and_grad(z3, np.array([1]))
    assert loss == pytest.approx(2000.0) and np.isfinite(grad).all()


def test_layer_views_write_through_to_the_flat_vector() -> None:
    net = Network(2, (3,), "relu", "binary")
    params = np.zeros(net.size)
    (w1, b1), (w2, b2) = net.views(params)
    assert (w1.shape, b1.shape, w2.shape, b2.shape) == ((2, 3), (3,), (3, 1), (1,))
    w2[...] = 7.0
    w_slice, b_slice = net.layer_slices(1)
    assert (params[w_slice] == 7.0).all() and (params[b_slice] == 0.0).all()
    assert net.size == 2 * 3 + 3 + 3 + 1


def test_init_is_seeded_he_for_relu_and_glorot_for_tanh() -> None:
    relu, tanh = Network(32, (32, 32), "relu"), Network(32, (32, 32), "tanh")
    np.testing.assert_array_equal(relu.init(5), relu.init(5))
    assert not np.array_equal(relu.init(5), relu.init(6))
    for net in (relu, tanh):
        assert all((b == 0).all() for _, b in net.views(net.init(0)))
    w = relu.views(relu.init(0))[1][0]
    assert w.std() == pytest.approx(np.sqrt(2 / 32), rel=0.1)
    w = tanh.views(tanh.init(0))[1][0]
    assert np.abs(w).max() <= np.sqrt(6 / 64) and w.std() == pytest.approx(np.sqrt(2 / 64), rel=0.1)


def test_network_limits_are_config_errors_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        Network(2, (4,) * (MAX_HIDDEN_LAYERS + 1))
    assert info.value.field == "hidden"
    with pytest.raises(ConfigError) as info:
        Network(2, (4, 33))
    assert info.value.field == "hidden.1" and "32" in info.value.message
    with pytest.raises(UnknownNameError) as info:
        Network(2, (4, 4), ("relu", "swish"))
    assert info.value.field == "activations.1" and "tanh" in info.value.message
    with pytest.raises(ConfigError) as info:
        Network(2, (4, 4), ("relu",))
    assert info.value.field == "activations"
    with pytest.raises(UnknownNameError) as info:
        Network(2, (4,), task="ranking")
    assert info.value.field == "task"


def test_loss_slice_is_centred_on_the_trained_loss_and_filter_normalised() -> None:
    net, params, X, y = _problem("relu", "binary")
    s = loss_slice(net, params, X, y, n=11, span=0.5, seed=2)
    assert s.loss.shape == (11, 11) and np.isfinite(s.loss).all()
    assert s.loss[5, 5] == pytest.approx(net.evaluate(params, X, y)[0], rel=1e-12)
    for d in s.directions:
        for (dw, db), (w, _) in zip(net.views(d), net.views(params), strict=True):
            np.testing.assert_allclose(np.linalg.norm(dw, axis=0), np.linalg.norm(w, axis=0), rtol=1e-12)
            assert (db == 0).all()


def test_loss_slice_projects_a_path_onto_its_plane() -> None:
    net, params, X, y = _problem("tanh", "regression")
    d = loss_slice(net, params, X, y, n=5, seed=1).directions
    path = [params + 0.3 * d[0] - 0.2 * d[1], params, params + 0.1 * d[1]]
    s = loss_slice(net, params, X, y, n=5, seed=1, path=path)
    np.testing.assert_allclose(s.path, [[0.3, -0.2], [0, 0], [0, 0.1]], atol=1e-10)
    assert s.path_residual.max() < 1e-9
    one = loss_slice(net, params, X, y, directions=1, n=7)
    assert one.loss.shape == (7,) and one.betas.size == 0


def _near_overflow(net: Network, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``params`` scaled up until the loss is just short of overflowing float64."""
    scale = 1.0
    with np.errstate(all="ignore"):
        while np.isfinite(net.evaluate(params * scale * 1.5, X, y)[0]):
            scale *= 1.5
    return params * scale


def test_loss_slice_halves_the_span_until_every_cell_is_finite() -> None:
    net, params, X, y = _problem("relu", "regression")
    huge = _near_overflow(net, params, X, y)
    s = loss_slice(net, huge, X, y, n=9, span=1.0, seed=3)
    assert s.span < 1.0 and np.isfinite(s.loss).all()
    assert s.alphas[0] == -s.span and s.betas[-1] == s.span
    assert s.loss[4, 4] == pytest.approx(net.evaluate(huge, X, y)[0], rel=1e-12)
    assert loss_slice(net, params, X, y, n=5, span=0.7).span == 0.7


def test_loss_slice_refuses_weights_whose_neighbourhood_overflows() -> None:
    net, params, X, y = _problem("relu", "regression")
    with pytest.raises(ConfigError) as info:
        loss_slice(net, params * 1e200, X, y, n=5)
    assert info.value.field == "span" and "not finite" in info.value.message
