"""Tests for app.ml.surfaces: exact gradients, minima, shapes, registry errors, and grids."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.ml.errors import ConfigError, UnknownNameError
from app.ml.surfaces import (
    SURFACES,
    Grid,
    Surface,
    elongated_hessian,
    get_surface,
    grid,
    nearest_minimum,
)

NAMES = list(SURFACES)
EXPECTED_ORDER = [
    "bowl",
    "elongated",
    "rosenbrock",
    "beale",
    "himmelblau",
    "booth",
    "matyas",
    "saddle",
    "monkey_saddle",
    "rastrigin",
    "ackley",
    "six_hump_camel",
    "goldstein_price",
    "styblinski_tang",
    "parabola",
    "insurance_bce",
]


def random_points(surface: Surface, count: int, seed: int) -> np.ndarray:
    """Uniform points inside the surface's view box, shape (count, dim)."""
    rng = np.random.default_rng(seed)
    box = np.asarray(surface.view).reshape(surface.dim, 2)
    return rng.uniform(box[:, 0], box[:, 1], size=(count, surface.dim))


def central_differences(surface: Surface, points: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grads = np.empty_like(points)
    for k in range(surface.dim):
        step = np.zeros(surface.dim)
        step[k] = h
        grads[:, k] = (surface.value(points + step) - surface.value(points - step)) / (2.0 * h)
    return grads


def all_surfaces() -> list[Surface]:
    return [get_surface(name) for name in NAMES] + [
        get_surface("elongated", {"condition_number": 50.0, "angle": 30.0}),
    ]


SURFACE_IDS = [*NAMES, "elongated-50-30"]


def test_registry_order_and_keys() -> None:
    assert NAMES == EXPECTED_ORDER
    for name, spec in SURFACES.items():
        surface = spec.build(**{p.name: p.default for p in spec.params})
        assert surface.name == name == spec.name
        assert surface.title == spec.title and surface.note == spec.note and surface.dim == spec.dim


@pytest.mark.parametrize("surface", all_surfaces(), ids=SURFACE_IDS)
def test_gradient_matches_central_differences(surface: Surface) -> None:
    points = random_points(surface, 200, seed=1)
    values, grads = surface.value_and_grad(points)
    numeric = central_differences(surface, points)
    # Central differences with h = 1e-6 are accurate to about h² f''' plus rounding of
    # eps·|f|/h; the absolute tolerance scales with the local value magnitude accordingly.
    atol = 1e-6 * (1.0 + np.abs(values))[:, None]
    error = np.abs(grads - numeric)
    bad = error > atol + 1e-5 * np.abs(numeric)
    assert not bad.any(), (
        f"{surface.name}: at {points[bad.any(axis=1)][:3]} {grads[bad][:3]} vs {numeric[bad][:3]}"
    )


@pytest.mark.parametrize("surface", all_surfaces(), ids=SURFACE_IDS)
def test_describes_itself(surface: Surface) -> None:
    assert surface.dim in (1, 2)
    assert len(surface.view) == 2 * surface.dim
    for lo, hi in zip(surface.view[::2], surface.view[1::2], strict=True):
        assert lo < hi
    assert len(surface.start) == surface.dim
    for coord, lo, hi in zip(surface.start, surface.view[::2], surface.view[1::2], strict=True):
        assert lo <= coord <= hi
    for minimum in surface.minima:
        assert len(minimum) == surface.dim
        for coord, lo, hi in zip(minimum, surface.view[::2], surface.view[1::2], strict=True):
            assert lo <= coord <= hi
    assert surface.latex and surface.formula and surface.title
    assert 20 < len(surface.note) < 300
    start_value, start_grad = surface.value_and_grad(np.array(surface.start))
    assert np.isfinite(start_value) and np.all(np.isfinite(start_grad))
    assert np.linalg.norm(start_grad) > 1e-6, "a start on a flat spot teaches nothing"


@pytest.mark.parametrize("surface", [s for s in all_surfaces() if s.minima], ids=lambda s: s.name)
def test_minima_are_minima(surface: Surface) -> None:
    rng = np.random.default_rng(2)
    tolerance = 1e-6
    for minimum in surface.minima:
        point = np.asarray(minimum)
        value, grad = surface.value_and_grad(point)
        # Listed to ~16 digits, so the gradient there is zero up to rounding of the terms involved.
        assert np.linalg.norm(grad) < tolerance
        nearby = point + rng.normal(scale=1e-3, size=(100, surface.dim))
        assert np.all(surface.value(nearby) >= value - 1e-12)


def test_global_minimum_values() -> None:
    expected = {
        "bowl": 0.0,
        "elongated": 0.0,
        "rosenbrock": 0.0,
        "beale": 0.0,
        "himmelblau": 0.0,
        "booth": 0.0,
        "matyas": 0.0,
        "rastrigin": 0.0,
        "ackley": 0.0,
        "six_hump_camel": -1.0316284534898774,
        "goldstein_price": 3.0,
        "styblinski_tang": -78.33233140754282,
        "parabola": 0.0,
    }
    for name, value in expected.items():
        surface = get_surface(name)
        values = surface.value(np.asarray(surface.minima))
        np.testing.assert_allclose(values, value, atol=1e-9)


def test_minima_counts() -> None:
    assert len(get_surface("himmelblau").minima) == 4
    assert len(get_surface("six_hump_camel").minima) == 2
    assert get_surface("saddle").minima == ()
    assert get_surface("monkey_saddle").minima == ()


def test_styblinski_tang_minimum_is_the_documented_point() -> None:
    (minimum,) = get_surface("styblinski_tang").minima
    np.testing.assert_allclose(minimum, (-2.903534, -2.903534), atol=1e-6)


@pytest.mark.parametrize("surface", all_surfaces(), ids=SURFACE_IDS)
@pytest.mark.parametrize("batch", [(), (1,), (5,), (7, 7)], ids=["single", "1", "5", "grid"])
def test_shapes(surface: Surface, batch: tuple[int, ...]) -> None:
    count = int(np.prod(batch))
    flat = random_points(surface, count, seed=3)
    points = flat.reshape(*batch, surface.dim)
    values, grads = surface.value_and_grad(points)
    assert np.shape(values) == batch
    assert np.shape(grads) == (*batch, surface.dim)
    flat_values, flat_grads = surface.value_and_grad(flat)
    np.testing.assert_allclose(np.reshape(values, -1), flat_values, rtol=1e-15)
    np.testing.assert_allclose(np.reshape(grads, (-1, surface.dim)), flat_grads, rtol=1e-15)
    np.testing.assert_allclose(surface.value(points), values)


def test_value_and_grad_does_not_modify_its_input() -> None:
    for surface in all_surfaces():
        points = random_points(surface, 4, seed=4)
        before = points.copy()
        surface.value_and_grad(points)
        np.testing.assert_array_equal(points, before)


def test_known_values() -> None:
    assert get_surface("rosenbrock").value(np.array([-1.5, 2.0])) == pytest.approx(12.5)
    assert get_surface("beale").value(np.array([0.0, 0.0])) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    assert get_surface("goldstein_price").value(np.array([0.0, 0.0])) == pytest.approx(600.0)
    assert get_surface("ackley").value(np.array([0.0, 0.0])) == pytest.approx(0.0, abs=1e-12)
    assert get_surface("monkey_saddle").value(np.array([1.0, 1.0])) == pytest.approx(-2.0)
    assert get_surface("parabola").value(np.array([3.0])) == pytest.approx(9.0)


def test_ackley_gradient_at_its_kink_is_zero() -> None:
    value, grad = get_surface("ackley").value_and_grad(np.zeros(2))
    assert np.all(np.isfinite(grad)) and np.all(grad == 0.0)
    assert value == pytest.approx(0.0, abs=1e-12)


def test_parabola_is_one_dimensional() -> None:
    surface = get_surface("parabola")
    assert surface.dim == 1 and surface.view == (-3.0, 3.0) and surface.start == (2.5,)
    values, grads = surface.value_and_grad(np.array([[2.0], [-1.0]]))
    np.testing.assert_allclose(values, [4.0, 1.0])
    np.testing.assert_allclose(grads, [[4.0], [-2.0]])
    # step size = slope x learning rate: one step of 0.5 from anywhere lands at the bottom
    x = np.array([2.5])
    assert (x - 0.5 * surface.value_and_grad(x)[1])[0] == 0.0


# ----- elongated -----


@pytest.mark.parametrize("kappa", [1.0, 10.0, 123.0, 1000.0])
@pytest.mark.parametrize("angle", [-90.0, -30.0, 0.0, 45.0, 90.0])
def test_elongated_condition_number_and_rotation(kappa: float, angle: float) -> None:
    surface = get_surface("elongated", {"condition_number": kappa, "angle": angle})
    assert surface.params == {"condition_number": kappa, "angle": angle}
    # Recover the Hessian from gradients (the surface is quadratic, so H e_k = grad(e_k)).
    _, columns = surface.value_and_grad(np.eye(2))
    hessian = columns.T
    np.testing.assert_allclose(hessian, elongated_hessian(kappa, angle), atol=1e-12)
    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    np.testing.assert_allclose(eigenvalues, [1.0, kappa], rtol=1e-12)
    assert eigenvalues[1] / eigenvalues[0] == pytest.approx(kappa)
    if kappa > 1.0:
        flat = eigenvectors[:, 0]
        theta = math.radians(angle)
        assert abs(flat @ [math.cos(theta), math.sin(theta)]) == pytest.approx(1.0)


def test_elongated_defaults_and_start_rotates_with_the_valley() -> None:
    default = get_surface("elongated")
    assert default.params == {"condition_number": 10.0, "angle": 0.0}
    assert default.value(np.array([1.0, 0.0])) == pytest.approx(0.5)
    assert default.value(np.array([0.0, 1.0])) == pytest.approx(5.0)
    rotated = get_surface("elongated", {"angle": 90})
    np.testing.assert_allclose(rotated.start, (-default.start[1], default.start[0]), atol=1e-12)
    assert rotated.value(np.array(rotated.start)) == pytest.approx(default.value(np.array(default.start)))


# ----- registry errors -----


def test_unknown_surface_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_surface("rosenbrok")
    assert info.value.field == "surface"
    assert info.value.valid == sorted(SURFACES)
    assert "rosenbrock" in info.value.message and "himmelblau" in info.value.message


def test_unknown_parameter() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_surface("elongated", {"kappa": 3.0})
    assert info.value.field == "params.kappa"
    assert info.value.valid == ["angle", "condition_number"]
    with pytest.raises(UnknownNameError) as info:
        get_surface("bowl", {"a": 1.0})
    assert info.value.field == "params.a"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"condition_number": 0.5}, "params.condition_number"),
        ({"condition_number": 1001.0}, "params.condition_number"),
        ({"condition_number": math.nan}, "params.condition_number"),
        ({"condition_number": math.inf}, "params.condition_number"),
        ({"angle": 91.0}, "params.angle"),
        ({"angle": -90.5}, "params.angle"),
        ({"angle": "12"}, "params.angle"),
        ({"angle": True}, "params.angle"),
    ],
)
def test_bad_parameter_values(params: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        get_surface("elongated", params)  # type: ignore[arg-type]
    assert not isinstance(info.value, UnknownNameError)
    assert info.value.field == field


def test_parameter_bounds_are_inclusive() -> None:
    get_surface("elongated", {"condition_number": 1.0, "angle": -90.0})
    get_surface("elongated", {"condition_number": 1000, "angle": 90})


# ----- nearest_minimum -----


def test_nearest_minimum() -> None:
    himmelblau = get_surface("himmelblau")
    found = nearest_minimum(himmelblau, (3.5, -2.0))
    assert found is not None
    point, distance = found
    assert point == himmelblau.minima[3]
    assert distance == pytest.approx(math.dist(point, (3.5, -2.0)))
    assert nearest_minimum(get_surface("saddle"), (0.0, 0.0)) is None
    assert nearest_minimum(get_surface("parabola"), np.array([-2.0])) == ((0.0,), 2.0)


# ----- grid -----


def test_grid_layout_matches_plotly_convention() -> None:
    surface = get_surface("rosenbrock")
    result = grid(surface, 21)
    assert isinstance(result, Grid)
    assert result.x.shape == (21,) and result.y is not None and result.y.shape == (21,)
    assert result.z.shape == (21, 21)
    assert result.x[0] == surface.view[0] and result.x[-1] == surface.view[1]
    assert result.y[0] == surface.view[2] and result.y[-1] == surface.view[3]
    for i, j in [(0, 0), (3, 17), (20, 5), (10, 10)]:
        expected = surface.value(np.array([result.x[j], result.y[i]]))
        assert result.z[i, j] == pytest.approx(expected, rel=1e-15)


def test_grid_with_view_and_non_square_box() -> None:
    result = grid(get_surface("bowl"), 5, view=(0, 4, -1, 1))
    np.testing.assert_allclose(result.x, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(result.y, [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_allclose(result.z, result.x[None, :] ** 2 + result.y[:, None] ** 2)


def test_grid_one_dimensional() -> None:
    result = grid(get_surface("parabola"), 7)
    assert result.y is None
    np.testing.assert_allclose(result.x, np.linspace(-3, 3, 7))
    np.testing.assert_allclose(result.z, result.x**2)


@pytest.mark.parametrize("n", [1, 0, -5, 401, 2.5, True, "10"])
def test_grid_refuses_bad_sizes(n: object) -> None:
    with pytest.raises(ConfigError) as info:
        grid(get_surface("bowl"), n)  # type: ignore[arg-type]
    assert info.value.field == "n"


def test_grid_size_bounds() -> None:
    assert grid(get_surface("bowl"), 2).z.shape == (2, 2)
    assert grid(get_surface("bowl"), 400).z.shape == (400, 400)
    assert grid(get_surface("bowl"), 10, max_n=10).z.shape == (10, 10)
    with pytest.raises(ConfigError):
        grid(get_surface("bowl"), 11, max_n=10)


@pytest.mark.parametrize("view", [(1, 0, 0, 1), (0, 1, 0), (0, 1, 0, math.nan), ("a", 1, 0, 1), (0, 1, 1, 1)])
def test_grid_refuses_bad_views(view: tuple[object, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        grid(get_surface("bowl"), 5, view=view)  # type: ignore[arg-type]
    assert info.value.field == "view"


def test_grid_turns_overflow_into_nan() -> None:
    result = grid(get_surface("goldstein_price"), 3, view=(-1e80, 1e80, -1e80, 1e80))
    assert np.isnan(result.z).any()
    assert not np.isinf(result.z).any()


def test_every_surface_grids_finitely_over_its_view() -> None:
    for surface in all_surfaces():
        result = grid(surface, 50)
        assert np.all(np.isfinite(result.z)), surface.name


# --------------------------------------------------------------------------------------------- Hessians


def _gradient_differences(surface, points: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of the exact gradient, column j = d grad / d p_j."""
    out = np.empty((*points.shape, points.shape[-1]))
    for j in range(points.shape[-1]):
        e = np.zeros(points.shape[-1])
        e[j] = h
        out[..., :, j] = (surface.value_and_grad(points + e)[1] - surface.value_and_grad(points - e)[1]) / (
            2 * h
        )
    return out


@pytest.mark.parametrize("name", list(SURFACES))
def test_exact_hessian_matches_differences_of_the_gradient(name):
    surface = get_surface(name)
    view = np.asarray(surface.view).reshape(-1, 2)
    points = np.random.default_rng(3).uniform(view[:, 0], view[:, 1], size=(25, surface.dim))
    exact = surface.hessian(points)
    assert exact.shape == (25, surface.dim, surface.dim)
    np.testing.assert_allclose(exact, np.swapaxes(exact, -1, -2), rtol=0, atol=0)
    np.testing.assert_allclose(exact, _gradient_differences(surface, points), rtol=1e-5, atol=1e-5)


def test_hessian_works_on_a_grid_and_a_single_point():
    surface = get_surface("rosenbrock")
    assert surface.hessian(np.zeros((4, 5, 2))).shape == (4, 5, 2, 2)
    np.testing.assert_array_equal(surface.hessian(np.array([1.0, 1.0])), [[802.0, -400.0], [-400.0, 200.0]])


def test_f_star_is_the_lowest_known_minimum_value():
    assert get_surface("six_hump_camel").f_star == pytest.approx(-1.0316284534898774)
    assert get_surface("rosenbrock").f_star == 0.0
    assert get_surface("saddle").f_star is None
