"""Gradient transformations: chain(), clipping against torch.nn.utils, gradient noise, purity, lr inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.ml import transforms as tx

CLIP = json.loads((Path(__file__).parent / "data" / "torch_reference.json").read_text())["clipping"]


def test_chain_applies_transforms_in_order_and_keeps_one_state_each():
    opt = tx.chain(tx.add_decayed_weights(0.5), tx.scale_by_learning_rate(0.1))
    params, grads = np.array([2.0, -4.0]), np.array([1.0, 1.0])
    state = opt.init(params)
    assert len(state) == 2
    updates, state = opt.update(grads, state, params)
    np.testing.assert_allclose(updates, -0.1 * (grads + 0.5 * params))
    assert state[1].count == 1


def test_update_does_not_mutate_the_old_state():
    opt = tx.chain(tx.scale_by_adam(), tx.scale_by_learning_rate(0.1))
    params = np.array([1.0, 2.0])
    state = opt.init(params)
    _, s1 = opt.update(params, state, params)
    snapshot = [a.copy() for a in s1[0][1:]]
    opt.update(params, s1, params)
    for before, after in zip(snapshot, s1[0][1:], strict=True):
        np.testing.assert_array_equal(before, after)


def test_learning_rate_may_be_a_schedule_indexed_from_zero():
    opt = tx.scale_by_learning_rate(lambda t: 10.0**-t)
    g, state = np.ones(2), opt.init(np.ones(2))
    got = []
    for _ in range(3):
        u, state = opt.update(g, state, g)
        got.append(u[0])
    assert got == [-1.0, -0.1, -0.01]


def test_learning_rate_may_be_per_run():
    opt = tx.scale_by_learning_rate(np.array([[1.0], [0.5]]))
    u, _ = opt.update(np.ones((2, 3)), opt.init(np.ones((2, 3))), np.ones((2, 3)))
    np.testing.assert_array_equal(u, [[-1.0] * 3, [-0.5] * 3])


def test_momentum_zero_means_no_buffer_like_torch_sgd():
    t = tx.trace(0.0)
    g = np.array([1.0, 2.0])
    state = t.init(g)
    u, new_state = t.update(g, state, g)
    assert u is g and new_state is state and not new_state.started.any()


def test_per_run_momentum_keeps_buffer_of_runs_with_zero_momentum():
    t = tx.trace(np.array([[0.0], [0.9]]))
    g = np.array([[1.0, 1.0], [1.0, 1.0]])
    _, s = t.update(g, t.init(g), g)
    np.testing.assert_array_equal(s.started[:, 0], [False, True])
    np.testing.assert_array_equal(s.momentum_buffer, [[0.0, 0.0], [1.0, 1.0]])


def test_clip_by_norm_matches_torch_clip_grad_norm_per_run():
    """Each fixture row was clipped alone by torch; one (K, P) call clips every row by its own norm."""
    clip = tx.clip_by_norm(CLIP["max_norm"])
    grads = np.array(CLIP["grads"])
    got, _ = clip.update(grads, clip.init(grads), grads)
    np.testing.assert_allclose(got, CLIP["by_norm"], rtol=1e-14)
    single, _ = clip.update(grads[0], clip.init(grads[0]), grads[0])
    np.testing.assert_allclose(single, CLIP["by_norm"][0], rtol=1e-14)


def test_clip_by_value_matches_torch_clip_grad_value():
    clip = tx.clip_by_value(CLIP["clip_value"])
    grads = np.array(CLIP["grads"])
    got, _ = clip.update(grads, clip.init(grads), grads)
    np.testing.assert_array_equal(got, CLIP["by_value"])


def test_clipping_against_live_torch_when_installed():
    pytest.importorskip("torch")
    from tests.ml import make_torch_reference as reference

    fresh = reference.clipping()
    np.testing.assert_allclose(fresh["by_norm"], CLIP["by_norm"], rtol=1e-15)
    np.testing.assert_array_equal(fresh["by_value"], CLIP["by_value"])


def _noise_trace(std, seed, steps=5, shape=(2,)):
    noise = tx.add_gradient_noise(std, seed)
    zeros = np.zeros(shape)
    state, out = noise.init(zeros), []
    for _ in range(steps):
        u, state = noise.update(zeros, state, zeros)
        out.append(u)
    return np.array(out)


def test_noise_same_seed_same_trace_different_seed_differs():
    np.testing.assert_array_equal(_noise_trace(0.1, 3), _noise_trace(0.1, 3))
    assert not np.array_equal(_noise_trace(0.1, 3), _noise_trace(0.1, 4))


def test_noise_is_pure_replaying_an_old_state_gives_the_same_draw():
    noise = tx.add_gradient_noise(1.0, 0)
    g = np.zeros(3)
    state = noise.init(g)
    a, _ = noise.update(g, state, g)
    b, _ = noise.update(g, state, g)
    np.testing.assert_array_equal(a, b)


def test_noise_has_zero_mean_and_requested_std():
    draws = _noise_trace(0.3, 11, steps=2000, shape=(50,)).ravel()
    assert abs(draws.mean()) < 0.01 and abs(draws.std() - 0.3) < 0.005


def test_noise_std_may_be_per_run():
    draws = _noise_trace(np.array([[0.0], [2.0]]), 1, steps=500, shape=(2, 20))
    assert np.all(draws[:, 0] == 0.0) and abs(draws[:, 1].std() - 2.0) < 0.1


@pytest.mark.parametrize("width", [1, 2, 3, 7])
def test_vector_norm_is_finite_for_every_finite_vector(width):
    rng = np.random.default_rng(width)
    small = rng.normal(size=(4, width))
    np.testing.assert_allclose(tx.vector_norm(small), np.linalg.norm(small, axis=-1), rtol=1e-15)
    huge = small * 1e300
    np.testing.assert_allclose(tx.vector_norm(huge), np.linalg.norm(small, axis=-1) * 1e300, rtol=1e-14)
    assert np.isfinite(tx.vector_norm(huge)).all()
    assert tx.vector_norm(np.zeros((2, width))).tolist() == [0.0, 0.0]
    assert tx.vector_norm(small, keepdims=True).shape == (4, 1)


def test_vector_norm_keeps_inf_and_nan():
    assert tx.vector_norm(np.array([np.inf, 1.0, 2.0])) == np.inf
    assert np.isnan(tx.vector_norm(np.array([np.nan, 1.0, 2.0])))
    assert tx.vector_norm(np.array([np.inf, 1.0])) == np.inf


def test_clip_by_norm_scales_a_huge_finite_gradient_to_the_limit_not_to_zero():
    clip = tx.clip_by_norm(1.0)
    grads = np.array([[2e156, 1.0], [3e200, -4e200]])
    out, _ = clip.update(grads, clip.init(grads), grads)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), [1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(out[1], [0.6, -0.8], rtol=1e-12)
    flat = np.full(5, 1e300)
    out, _ = clip.update(flat, clip.init(flat), flat)
    np.testing.assert_allclose(out, np.full(5, 1 / np.sqrt(5)), rtol=1e-12)
