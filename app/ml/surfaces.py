"""Loss surfaces the playground descends: formulas, exact gradients, registry, and contour grids.

Every surface is a plain function of points with shape ``(..., dim)`` that returns values and
hand-derived gradients together, because the optimizer needs both at every step and computing them
in one pass shares the intermediate terms. The functions index ``points[..., 0]`` and
``points[..., 1]`` and fill a preallocated gradient array, so a single point costs a few
microseconds (the optimizer's inner loop) and a whole ``(n, n, 2)`` grid works unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.ml import insurance_bce
from app.ml.errors import ConfigError, UnknownNameError
from app.ml.params import Param, resolve

ValueAndGrad = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
BatchValueAndGrad = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class Surface:
    """One concrete loss surface: what to draw, where to start, and how to evaluate it."""

    name: str
    title: str
    dim: int
    latex: str
    formula: str
    view: tuple[float, ...]
    start: tuple[float, ...]
    minima: tuple[tuple[float, ...], ...]
    note: str
    params: dict[str, float] = field(hash=False)
    value_and_grad: ValueAndGrad = field(repr=False, compare=False)
    cost: float = field(default=1.0, compare=False)
    """Work of one evaluation relative to a built-in surface (the price of a request, app/web/cost.py)."""
    hessian: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False, compare=False)
    """Exact second derivatives, points ``(..., dim)`` -> ``(..., dim, dim)`` (analytic or forward mode)."""
    batch_value_and_grad: BatchValueAndGrad | None = field(default=None, repr=False, compare=False)
    """A data-set surface trained in mini-batches: ``(points (K, d), steps (K,)) -> (loss, grad)`` on the
    batch each run's step uses (app/ml/run.py calls it instead of ``value_and_grad``); None: exact."""
    rowwise: bool = field(default=True, compare=False)
    """Each point's value and gradient come from elementwise NumPy operations, so they are bit for bit the
    same whichever other points share the call. A matrix product is not (BLAS kernels group rows, an ulp
    apart): ``app.ml.run.step_lanes`` stacks several descents' lanes only on a rowwise surface."""

    def value(self, points: np.ndarray) -> np.ndarray:
        """Values only (shape ``points.shape[:-1]``); the gradient is computed and dropped."""
        return self.value_and_grad(points)[0]

    @property
    def f_star(self) -> float | None:
        """The lowest value at the known minima (Polyak's f*); None when no minimum is known."""
        if not self.minima:
            return None
        return float(np.min(self.value(np.asarray(self.minima, dtype=np.float64))))


@dataclass(frozen=True)
class SurfaceSpec:
    """A registry entry: the family's description plus ``make(spec, **param_values) -> Surface``."""

    name: str
    title: str
    dim: int
    params: tuple[Param, ...]
    note: str
    make: Callable[..., Surface] = field(repr=False, compare=False)

    def build(self, **values: float) -> Surface:
        """The surface for these (already checked) parameter values; see :func:`get_surface`."""
        return self.make(self, **values)

    def surface(self, **fields: object) -> Surface:
        """A Surface carrying this entry's name, title, dim and note (what every builder shares)."""
        fields.setdefault("params", {})
        return Surface(name=self.name, title=self.title, dim=self.dim, note=self.note, **fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Grid:
    """Surface values sampled on a regular grid, laid out as Plotly's contour expects."""

    x: np.ndarray
    y: np.ndarray | None
    z: np.ndarray


# --------------------------------------------------------------------------------------------------
# Value-and-gradient functions. Each takes float64 points of shape (..., dim).
# --------------------------------------------------------------------------------------------------


def _bowl(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (p * p).sum(axis=-1), 2.0 * p


def _parabola(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    return x * x, 2.0 * p


def _quadratic(hessian: np.ndarray) -> ValueAndGrad:
    """f(p) = ½ pᵀ H p with H symmetric: the gradient is H p, one matrix product per call."""

    def value_and_grad(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = p @ hessian
        return 0.5 * (p * g).sum(axis=-1), g

    return value_and_grad


def _rosenbrock(a: float = 1.0, b: float = 100.0) -> ValueAndGrad:
    def value_and_grad(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = p[..., 0]
        r = p[..., 1] - x * x
        u = a - x
        g = np.empty(p.shape)
        g[..., 0] = -2.0 * u - (4.0 * b) * x * r
        g[..., 1] = (2.0 * b) * r
        return u * u + b * r * r, g

    return value_and_grad


def _beale(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    y = p[..., 1]
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    g = np.empty(p.shape)
    g[..., 0] = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
    g[..., 1] = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    return t1 * t1 + t2 * t2 + t3 * t3, g


def _himmelblau(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    y = p[..., 1]
    u = x * x + y - 11.0
    v = x + y * y - 7.0
    g = np.empty(p.shape)
    g[..., 0] = 4.0 * x * u + 2.0 * v
    g[..., 1] = 2.0 * u + 4.0 * y * v
    return u * u + v * v, g


def _booth(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    y = p[..., 1]
    u = x + 2.0 * y - 7.0
    v = 2.0 * x + y - 5.0
    g = np.empty(p.shape)
    g[..., 0] = 2.0 * u + 4.0 * v
    g[..., 1] = 4.0 * u + 2.0 * v
    return u * u + v * v, g


def _saddle(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    y = p[..., 1]
    g = np.empty(p.shape)
    g[..., 0] = 2.0 * x
    g[..., 1] = -2.0 * y
    return x * x - y * y, g


def _monkey_saddle(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    y = p[..., 1]
    x2 = x * x
    y2 = y * y
    g = np.empty(p.shape)
    g[..., 0] = 3.0 * (x2 - y2)
    g[..., 1] = -6.0 * x * y
    return x * (x2 - 3.0 * y2), g


def _rastrigin(amplitude: float = 10.0) -> ValueAndGrad:
    def value_and_grad(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        angle = TWO_PI * p
        g = 2.0 * p + (TWO_PI * amplitude) * np.sin(angle)
        return (p * p - amplitude * np.cos(angle)).sum(axis=-1) + 2.0 * amplitude, g

    return value_and_grad


def _ackley(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    y = p[..., 1]
    r = np.sqrt(0.5 * (x * x + y * y))
    envelope = np.exp(-0.2 * r)
    angle = TWO_PI * p
    ripple = np.exp(0.5 * np.cos(angle).sum(axis=-1))
    # The cone term has a kink at the origin; there 0 is a valid subgradient, and since p = 0 the
    # numerator is 0 too, so clamping the denominator gives exactly that without a warning.
    cone = 2.0 * envelope / np.maximum(r, 1e-300)
    g = p * cone[..., None] + math.pi * np.sin(angle) * ripple[..., None]
    return -20.0 * envelope - ripple + (math.e + 20.0), g


def _six_hump_camel(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    y = p[..., 1]
    x2 = x * x
    y2 = y * y
    g = np.empty(p.shape)
    g[..., 0] = x * (8.0 - 8.4 * x2 + 2.0 * x2 * x2) + y
    g[..., 1] = x + y * (16.0 * y2 - 8.0)
    return (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (4.0 * y2 - 4.0) * y2, g


def _goldstein_price(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = p[..., 0]
    y = p[..., 1]
    s = x + y + 1.0
    s2 = s * s
    poly_a = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    a = 1.0 + s2 * poly_a
    da = 2.0 * s * poly_a + s2 * (6.0 * x + 6.0 * y - 14.0)  # same for x and y
    t = 2.0 * x - 3.0 * y
    t2 = t * t
    poly_b = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
    b = 30.0 + t2 * poly_b
    g = np.empty(p.shape)
    g[..., 0] = da * b + a * (4.0 * t * poly_b + t2 * (24.0 * x - 36.0 * y - 32.0))
    g[..., 1] = da * b + a * (-6.0 * t * poly_b + t2 * (54.0 * y - 36.0 * x + 48.0))
    return a * b, g


def _styblinski_tang(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p2 = p * p
    value = 0.5 * (p2 * p2 - 16.0 * p2 + 5.0 * p).sum(axis=-1)
    return value, p * (2.0 * p2 - 16.0) + 2.5


# --------------------------------------------------------------------------------------------------
# Exact Hessians, derived by hand from the formulas above (tests/ml/test_surfaces.py checks each one
# against central differences of the gradient). Each takes points (..., dim) and returns (..., dim, dim).
# --------------------------------------------------------------------------------------------------

Hessian = Callable[[np.ndarray], np.ndarray]


def _symmetric(xx: np.ndarray, xy: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """The 2 x 2 matrices [[xx, xy], [xy, yy]] for arrays of one shape (scalars broadcast)."""
    xx, xy, yy = np.broadcast_arrays(xx, xy, yy)
    h = np.empty((*xx.shape, 2, 2))
    h[..., 0, 0] = xx
    h[..., 0, 1] = h[..., 1, 0] = xy
    h[..., 1, 1] = yy
    return h


def _constant_hessian(matrix: np.ndarray) -> Hessian:
    """A quadratic's Hessian: the same matrix at every point."""

    def hessian(p: np.ndarray) -> np.ndarray:
        return np.broadcast_to(matrix, (*p.shape[:-1], *matrix.shape)).copy()

    return hessian


def _rosenbrock_hessian(a: float = 1.0, b: float = 100.0) -> Hessian:
    def hessian(p: np.ndarray) -> np.ndarray:
        x, y = p[..., 0], p[..., 1]
        return _symmetric(2.0 - (4.0 * b) * y + (12.0 * b) * x * x, (-4.0 * b) * x, np.full(x.shape, 2.0 * b))

    return hessian


def _beale_hessian(p: np.ndarray) -> np.ndarray:
    x, y = p[..., 0], p[..., 1]
    y2 = y * y
    y3 = y2 * y
    t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3
    ax, bx, cx = y - 1.0, y2 - 1.0, y3 - 1.0  # d t_i / dx
    ay, by, cy = x, 2.0 * x * y, 3.0 * x * y2  # d t_i / dy
    xx = 2.0 * (ax * ax + bx * bx + cx * cx)
    xy = 2.0 * (ax * ay + bx * by + cx * cy + t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    yy = 2.0 * (ay * ay + by * by + cy * cy + 2.0 * x * t2 + 6.0 * x * y * t3)
    return _symmetric(xx, xy, yy)


def _himmelblau_hessian(p: np.ndarray) -> np.ndarray:
    x, y = p[..., 0], p[..., 1]
    u = x * x + y - 11.0
    v = x + y * y - 7.0
    return _symmetric(4.0 * u + 8.0 * x * x + 2.0, 4.0 * (x + y), 2.0 + 4.0 * v + 8.0 * y * y)


def _saddle_hessian(p: np.ndarray) -> np.ndarray:
    return _constant_hessian(np.diag([2.0, -2.0]))(p)


def _monkey_saddle_hessian(p: np.ndarray) -> np.ndarray:
    x, y = p[..., 0], p[..., 1]
    return _symmetric(6.0 * x, -6.0 * y, -6.0 * x)


def _rastrigin_hessian(amplitude: float = 10.0) -> Hessian:
    def hessian(p: np.ndarray) -> np.ndarray:
        diagonal = 2.0 + (TWO_PI * TWO_PI * amplitude) * np.cos(TWO_PI * p)
        return diagonal[..., :, None] * np.eye(p.shape[-1])

    return hessian


def _ackley_hessian(p: np.ndarray) -> np.ndarray:
    """The cone term p·c(r), c = 2e^{-0.2r}/r, gives c I − p pᵀ e^{-0.2r}(0.2r + 1)/r³; the ripple term
    R = e^{Σcos(2πp)/2} gives R (2π² diag(cos 2πp) − π² s sᵀ) with s = sin 2πp. At the origin the cone
    is not differentiable and the Hessian is infinite (the curvature endpoint says so)."""
    x, y = p[..., 0], p[..., 1]
    r = np.sqrt(0.5 * (x * x + y * y))
    envelope = np.exp(-0.2 * r)
    angle = TWO_PI * p
    s, c = np.sin(angle), np.cos(angle)
    ripple = np.exp(0.5 * c.sum(axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        cone = 2.0 * envelope / r
        bend = envelope * (0.2 * r + 1.0) / (r * r * r)
    outer = p[..., :, None] * p[..., None, :]
    eye = np.eye(2)
    cone_part = cone[..., None, None] * eye - bend[..., None, None] * outer
    ripple_part = ripple[..., None, None] * (
        (2.0 * math.pi * math.pi) * c[..., :, None] * eye
        - (math.pi * math.pi) * (s[..., :, None] * s[..., None, :])
    )
    return cone_part + ripple_part


def _six_hump_camel_hessian(p: np.ndarray) -> np.ndarray:
    x, y = p[..., 0], p[..., 1]
    x2 = x * x
    return _symmetric(8.0 - 25.2 * x2 + 10.0 * x2 * x2, np.ones(x.shape), 48.0 * y * y - 8.0)


def _goldstein_price_hessian(p: np.ndarray) -> np.ndarray:
    """f = a b: f'' = a'' b + a' b'ᵀ + b' a'ᵀ + a b''. The first factor's polynomial has equal x and y
    slopes and all second derivatives 6, so a'' = a_2 [[1, 1], [1, 1]]."""
    x, y = p[..., 0], p[..., 1]
    s = x + y + 1.0
    poly_a = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    pa = 6.0 * x + 6.0 * y - 14.0
    a = 1.0 + s * s * poly_a
    da = 2.0 * s * poly_a + s * s * pa
    a2 = 2.0 * poly_a + 4.0 * s * pa + 6.0 * s * s
    t = 2.0 * x - 3.0 * y
    q = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
    qx = -32.0 + 24.0 * x - 36.0 * y
    qy = 48.0 - 36.0 * x + 54.0 * y
    b = 30.0 + t * t * q
    bx = 4.0 * t * q + t * t * qx
    by = -6.0 * t * q + t * t * qy
    bxx = 8.0 * q + 8.0 * t * qx + 24.0 * t * t
    bxy = -12.0 * q + 4.0 * t * qy - 6.0 * t * qx - 36.0 * t * t
    byy = 18.0 * q - 12.0 * t * qy + 54.0 * t * t
    return _symmetric(
        a2 * b + 2.0 * da * bx + a * bxx,
        a2 * b + da * (by + bx) + a * bxy,
        a2 * b + 2.0 * da * by + a * byy,
    )


def _styblinski_tang_hessian(p: np.ndarray) -> np.ndarray:
    return (6.0 * p * p - 16.0)[..., :, None] * np.eye(p.shape[-1])


# --------------------------------------------------------------------------------------------------
# Builders: one per registry entry, each returning a fully described Surface.
# --------------------------------------------------------------------------------------------------

BOX3 = (-3.0, 3.0, -3.0, 3.0)


def _build_bowl(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"x^2 + y^2",
        formula="x^2 + y^2",
        view=BOX3,
        start=(-2.5, 2.0),
        minima=((0.0, 0.0),),
        value_and_grad=_bowl,
        hessian=_constant_hessian(2.0 * np.eye(2)),
    )


def elongated_hessian(condition_number: float, angle: float) -> np.ndarray:
    """H = Rᵀ diag(1, κ) R: eigenvalue 1 along (cos θ, sin θ), κ along (-sin θ, cos θ)."""
    c = math.cos(math.radians(angle))
    s = math.sin(math.radians(angle))
    k = condition_number
    return np.array([[c * c + k * s * s, (1.0 - k) * c * s], [(1.0 - k) * c * s, s * s + k * c * c]])


def _build_elongated(spec: SurfaceSpec, condition_number: float = 10.0, angle: float = 0.0) -> Surface:
    """f = ½(u² + κ v²) in coordinates (u, v) rotated by ``angle``.

    The scaling keeps the Hessian eigenvalues exactly 1 and κ, so the course's rule of thumb reads
    straight off the parameters: plain gradient descent is stable for learning rate < 2/κ and then
    needs about κ times more steps along the flat direction than along the steep one.
    """
    hessian = elongated_hessian(condition_number, angle)
    c = math.cos(math.radians(angle))
    s = math.sin(math.radians(angle))
    u0, v0 = -2.5, 1.5  # far along the flat valley, a little up the steep wall; rotated with it
    k = _format_number(condition_number)
    a = _format_number(angle)
    return spec.surface(
        latex=rf"\tfrac{{1}}{{2}}\left(u^2 + {k}\,v^2\right),\ "
        rf"u = x\cos({a}^\circ) + y\sin({a}^\circ),\ v = -x\sin({a}^\circ) + y\cos({a}^\circ)",
        formula=f"(u^2 + {k} v^2) / 2, u = x cos({a} deg) + y sin({a} deg), "
        f"v = -x sin({a} deg) + y cos({a} deg)",
        view=BOX3,
        start=(u0 * c - v0 * s, u0 * s + v0 * c),
        minima=((0.0, 0.0),),
        params={"condition_number": float(condition_number), "angle": float(angle)},
        value_and_grad=_quadratic(hessian),
        hessian=_constant_hessian(hessian),
        rowwise=False,
    )


def _build_rosenbrock(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"(1 - x)^2 + 100\,(y - x^2)^2",
        formula="(1 - x)^2 + 100 (y - x^2)^2",
        view=(-2.0, 2.0, -1.0, 3.0),
        start=(-1.5, 2.0),
        minima=((1.0, 1.0),),
        value_and_grad=_rosenbrock(),
        hessian=_rosenbrock_hessian(),
    )


def _build_beale(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        formula="(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2",
        view=(-4.5, 4.5, -4.5, 4.5),
        start=(1.0, 1.5),
        minima=((3.0, 0.5),),
        value_and_grad=_beale,
        hessian=_beale_hessian,
    )


def _build_himmelblau(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        view=(-5.0, 5.0, -5.0, 5.0),
        start=(-0.3, -0.9),
        minima=(
            (3.0, 2.0),
            (-2.805118086952745, 3.131312518250573),
            (-3.779310253377747, -3.283185991286169),
            (3.584428340330492, -1.848126526964404),
        ),
        value_and_grad=_himmelblau,
        hessian=_himmelblau_hessian,
    )


def _build_booth(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"(x + 2y - 7)^2 + (2x + y - 5)^2",
        formula="(x + 2 y - 7)^2 + (2 x + y - 5)^2",
        view=(-10.0, 10.0, -10.0, 10.0),
        start=(-8.0, -6.0),
        minima=((1.0, 3.0),),
        value_and_grad=_booth,
        hessian=_constant_hessian(np.array([[10.0, 8.0], [8.0, 10.0]])),
    )


MATYAS_HESSIAN = np.array([[0.52, -0.48], [-0.48, 0.52]])


def _build_matyas(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"0.26\,(x^2 + y^2) - 0.48\,xy",
        formula="0.26 (x^2 + y^2) - 0.48 x y",
        view=(-10.0, 10.0, -10.0, 10.0),
        start=(-8.0, -4.0),
        minima=((0.0, 0.0),),
        value_and_grad=_quadratic(MATYAS_HESSIAN),
        hessian=_constant_hessian(MATYAS_HESSIAN),
        rowwise=False,
    )


def _build_saddle(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"x^2 - y^2",
        formula="x^2 - y^2",
        view=BOX3,
        start=(-2.5, 1e-3),
        minima=(),
        value_and_grad=_saddle,
        hessian=_saddle_hessian,
    )


def _build_monkey_saddle(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"x^3 - 3xy^2",
        formula="x^3 - 3 x y^2",
        view=(-2.0, 2.0, -2.0, 2.0),
        start=(1.5, 0.05),
        minima=(),
        value_and_grad=_monkey_saddle,
        hessian=_monkey_saddle_hessian,
    )


def _build_rastrigin(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"20 + x^2 - 10\cos(2\pi x) + y^2 - 10\cos(2\pi y)",
        formula="20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)",
        view=(-5.12, 5.12, -5.12, 5.12),
        start=(-3.3, 2.6),
        minima=((0.0, 0.0),),
        value_and_grad=_rastrigin(),
        hessian=_rastrigin_hessian(),
    )


def _build_ackley(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"-20\,e^{-0.2\sqrt{(x^2 + y^2)/2}} - e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20",
        formula="-20 exp(-0.2 sqrt((x^2 + y^2) / 2)) - exp((cos(2 pi x) + cos(2 pi y)) / 2) + e + 20",
        view=(-5.0, 5.0, -5.0, 5.0),
        start=(3.5, -2.5),
        minima=((0.0, 0.0),),
        value_and_grad=_ackley,
        hessian=_ackley_hessian,
    )


def _build_six_hump_camel(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"\left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + (4y^2 - 4)\,y^2",
        formula="(4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (4 y^2 - 4) y^2",
        view=(-2.0, 2.0, -1.2, 1.2),
        start=(-1.6, -0.9),
        minima=((0.08984201310031807, -0.7126564030207396), (-0.08984201310031807, 0.7126564030207396)),
        value_and_grad=_six_hump_camel,
        hessian=_six_hump_camel_hessian,
    )


def _build_goldstein_price(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"\left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
        r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]",
        formula="[1 + (x + y + 1)^2 (19 - 14 x + 3 x^2 - 14 y + 6 x y + 3 y^2)]"
        " [30 + (2 x - 3 y)^2 (18 - 32 x + 12 x^2 + 48 y - 36 x y + 27 y^2)]",
        view=(-2.0, 2.0, -2.0, 2.0),
        start=(-1.5, 1.5),
        minima=((0.0, -1.0),),
        value_and_grad=_goldstein_price,
        hessian=_goldstein_price_hessian,
    )


STYBLINSKI_TANG_ARGMIN = -2.903534027771177  # root of 2x³ - 16x + 2.5 = 0 (per coordinate)


def _build_styblinski_tang(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"\tfrac{1}{2}\left(x^4 - 16x^2 + 5x + y^4 - 16y^2 + 5y\right)",
        formula="(x^4 - 16 x^2 + 5 x + y^4 - 16 y^2 + 5 y) / 2",
        view=(-5.0, 5.0, -5.0, 5.0),
        start=(0.5, 4.5),
        minima=((STYBLINSKI_TANG_ARGMIN, STYBLINSKI_TANG_ARGMIN),),
        value_and_grad=_styblinski_tang,
        hessian=_styblinski_tang_hessian,
    )


def _build_parabola(spec: SurfaceSpec) -> Surface:
    return spec.surface(
        latex=r"x^2",
        formula="x^2",
        view=(-3.0, 3.0),
        start=(2.5,),
        minima=((0.0,),),
        value_and_grad=_parabola,
        hessian=_constant_hessian(np.array([[2.0]])),
    )


ROWS_PER_COST = 50.0
"""Data rows whose logistic loss costs about one evaluation of a built-in formula surface (measured)."""
BATCH_STEP_COST = 2.0
"""A mini-batch step also finds its batch: measured 1.9× a Rosenbrock step at batch size 1, 2.6× at 32."""


def _build_insurance_bce(
    spec: SurfaceSpec,
    rows: int = 875,
    val_fraction: float = 0.2,
    batch_size: int = 32,
    seed: int = 0,
    batch: int = -1,
) -> Surface:
    """Mean BCE of ŷ = σ(w·age_scaled + b) on the insurance training rows (``batch`` ≥ 0: on that one
    mini-batch), descended in mini-batches of ``batch_size`` (app/ml/insurance_bce.py)."""
    data = insurance_bce.insurance_rows(rows, val_fraction, seed)
    x, y = data.x, data.y
    stochastic = None
    if batch >= 0:
        index = insurance_bce.batch_rows(data.n_train, batch_size, batch, seed)
        x, y = x[index], y[index]
    else:
        if batch_size < data.n_train:
            stochastic = insurance_bce.batched_value_and_grad(data, batch_size, seed)
    minimum = insurance_bce.bce_minimum(x, y)
    xs, ys, counts = insurance_bce.distinct_rows(x, y)
    cost = len(xs) / ROWS_PER_COST if stochastic is None else BATCH_STEP_COST + batch_size / ROWS_PER_COST
    mean, std = _format_number(round(data.age_mean, 4)), _format_number(round(data.age_std, 4))
    return spec.surface(
        latex=r"\tfrac{1}{N}\sum_i -\left[y_i \ln \hat y_i + (1 - y_i)\ln(1 - \hat y_i)\right],\ "
        rf"\hat y_i = \sigma(w\,x_i + b),\ x_i = (\mathrm{{age}}_i - {mean}) / {std},\ N = {len(y)}",
        formula=f"-(1/N) sum_i (y_i ln(yhat_i) + (1 - y_i) ln(1 - yhat_i)), yhat_i = sigmoid(w x_i + b),"
        f" x_i = (age_i - {mean}) / {std}, N = {len(y)}",
        view=(-1.0, 5.0, -3.0, 3.0),
        start=(3.0, -1.25),  # the slide's case: the insured 27-year-old gets ŷ = 0.01, loss 4.6
        minima=() if minimum is None else (minimum,),
        params={
            "rows": rows,
            "val_fraction": float(val_fraction),
            "batch_size": batch_size,
            "seed": seed,
            "batch": batch,
        },
        value_and_grad=lambda p: insurance_bce.bce_value_and_grad(p, xs, ys, counts),
        hessian=lambda p: insurance_bce.bce_hessian(p, xs, ys, counts),
        cost=max(1.0, cost),
        batch_value_and_grad=stochastic,
        rowwise=False,  # a matrix-vector product over the rows
    )


def _spec(
    name: str,
    title: str,
    note: str,
    build: Callable[..., Surface],
    dim: int = 2,
    params: tuple[Param, ...] = (),
) -> SurfaceSpec:
    return SurfaceSpec(name=name, title=title, dim=dim, params=params, note=note, make=build)


SURFACES: dict[str, SurfaceSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "bowl",
            "Bowl",
            "A round bowl: the slope always points straight at the bottom, so any small enough learning "
            "rate walks directly down. Start here to see how the learning rate sets the step size.",
            _build_bowl,
        ),
        _spec(
            "elongated",
            "Elongated bowl",
            "A stretched bowl (a ravine): one direction is steep, the other flat. A learning rate big enough "
            "for the flat direction makes gradient descent oscillate across the steep one; momentum and "
            "adaptive optimizers even this out.",
            _build_elongated,
            params=(
                Param(
                    "condition_number",
                    10.0,
                    1.0,
                    1000.0,
                    "How much steeper the steep direction is than the flat one (Hessian eigenvalue ratio).",
                ),
                Param("angle", 0.0, -90.0, 90.0, "Rotation of the valley in degrees (0 = flat along x)."),
            ),
        ),
        _spec(
            "rosenbrock",
            "Rosenbrock",
            "A curved, flat-bottomed valley: finding the valley is easy, following it to the minimum at "
            "(1, 1) is slow. Plain gradient descent crawls or oscillates; momentum and Adam move along it.",
            _build_rosenbrock,
        ),
        _spec(
            "beale",
            "Beale",
            "Flat plateaus next to very steep walls: a learning rate that makes progress on the plateau "
            "blows up near the walls. Adaptive optimizers cope better with the changing scale.",
            _build_beale,
        ),
        _spec(
            "himmelblau",
            "Himmelblau",
            "Four equally good minima: where you start, and the optimizer's path, decide which one you "
            "reach. Try nudging the start or switching on momentum.",
            _build_himmelblau,
        ),
        _spec(
            "booth",
            "Booth",
            "A tilted quadratic bowl with its minimum at (1, 3): well behaved, a good first test that an "
            "optimizer and learning rate converge at all.",
            _build_booth,
        ),
        _spec(
            "matyas",
            "Matyas",
            "A long diagonal ravine that is nearly flat along its floor: gradient descent first zigzags "
            "across, then creeps along. Momentum speeds up the creep.",
            _build_matyas,
        ),
        _spec(
            "saddle",
            "Saddle",
            "A saddle point, no minimum: plain gradient descent started on the ridge stalls near the "
            "middle and only slowly escapes; momentum or a nudge escapes faster. A run that escapes "
            "ends as 'left the view box downhill' once it is a box width beyond the view.",
            _build_saddle,
        ),
        _spec(
            "monkey_saddle",
            "Monkey saddle",
            "A flat saddle with three valleys: the slope vanishes near the middle so gradient descent "
            "slows to a crawl there; momentum carries it through into a valley.",
            _build_monkey_saddle,
        ),
        _spec(
            "rastrigin",
            "Rastrigin",
            "A bowl covered in ripples, each a local minimum: gradient descent stops in the nearest one. "
            "Large learning rates or momentum can jump ripples but rarely settle at (0, 0).",
            _build_rastrigin,
        ),
        _spec(
            "ackley",
            "Ackley",
            "A nearly flat outer region full of small local minima around one deep hole: gradient descent "
            "gets trapped by the bumps; the global minimum is hard to find without luck or momentum.",
            _build_ackley,
        ),
        _spec(
            "six_hump_camel",
            "Six-hump camel",
            "Six local minima, two of them global: different optimizers and starts end in different "
            "places, which shows that descent only finds a nearby minimum.",
            _build_six_hump_camel,
        ),
        _spec(
            "goldstein_price",
            "Goldstein-Price",
            "Values range from 3 to about a million: one learning rate is too big on the steep parts and "
            "too small on the flat ones, so plain gradient descent diverges or crawls while Adam copes.",
            _build_goldstein_price,
        ),
        _spec(
            "styblinski_tang",
            "Styblinski-Tang",
            "Four basins but only one global minimum near (-2.90, -2.90): from most starts gradient descent "
            "settles in a local minimum. Compare optimizers from the same start.",
            _build_styblinski_tang,
        ),
        _spec(
            "parabola",
            "Parabola (1-D)",
            "The one-dimensional picture: step size = slope x learning rate. Below 0.5 it creeps in, at 0.5 "
            "it jumps straight to the bottom, between 0.5 and 1 it oscillates, above 1 it diverges.",
            _build_parabola,
            dim=1,
        ),
        # ---- data-set surfaces (insurance_bce: the /cross-entropy view) ----
        _spec(
            "insurance_bce",
            "Insurance: cross-entropy over (w, b)",
            "The course's insurance table as a loss surface: the mean binary cross-entropy of the model "
            "ŷ = σ(w·age_scaled + b) over the training rows, for every weight w (x axis) and bias b "
            "(y axis). "
            "With a batch size below the training rows each step sees one mini-batch, so the path zig-zags.",
            _build_insurance_bce,
            params=(
                Param("rows", 875, 13, 5000, "Rows of the insurance set (the slide's 13 come first).", "int"),
                Param("val_fraction", 0.2, 0.0, 0.9, "Share of the rows held out for validation."),
                Param(
                    "batch_size",
                    32,
                    1,
                    5000,
                    "Rows per mini-batch; at least the training rows = full batch (plain gradient descent).",
                    "int",
                ),
                Param(
                    "seed", 0, 0, 2**31 - 1, "Seed of the generated rows, the split and the shuffles.", "int"
                ),
                Param(
                    "batch",
                    -1,
                    -1,
                    10**6,
                    "-1: the loss over all training rows; n ≥ 0: the loss of mini-batch n alone (0-based).",
                    "int",
                ),
            ),
        ),
    )
}


# --------------------------------------------------------------------------------------------------
# Lookup, distances, grids.
# --------------------------------------------------------------------------------------------------


def get_surface(name: str, params: Mapping[str, float] | None = None) -> Surface:
    """Build a registered surface, checking every parameter so the error names the offending field."""
    spec = SURFACES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise UnknownNameError("surface", str(name), SURFACES, field="surface")
    return spec.build(**resolve(spec.params, params, "params"))


def nearest_minimum(
    surface: Surface, point: Sequence[float] | np.ndarray
) -> tuple[tuple[float, ...], float] | None:
    """The known minimum closest to ``point`` and its Euclidean distance; None if none is known."""
    if not surface.minima:
        return None
    where = np.asarray(point, dtype=float).reshape(surface.dim)
    distances = np.linalg.norm(np.asarray(surface.minima) - where, axis=-1)
    best = int(np.argmin(distances))
    return surface.minima[best], float(distances[best])


def grid(surface: Surface, n: int, view: Sequence[float] | None = None, max_n: int = 400) -> Grid:
    """Sample the surface on an n x n grid (n points for 1-D); non-finite values come back as NaN."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= max_n:
        raise ConfigError(f"grid size n must be an integer from 2 to {max_n}, got {n!r}", field="n")
    box = check_view(surface.dim, surface.view if view is None else view)
    x = np.linspace(box[0], box[1], int(n))
    if surface.dim == 1:
        y = None
        points = x[:, None]
    else:
        y = np.linspace(box[2], box[3], int(n))
        points = np.empty((int(n), int(n), 2))
        points[..., 0] = x[None, :]
        points[..., 1] = y[:, None]
    with np.errstate(all="ignore"):
        z = np.asarray(surface.value(points), dtype=float)
    z = np.where(np.isfinite(z), z, np.nan)
    return Grid(x=x, y=y, z=z)


def check_view(dim: int, view: Sequence[float]) -> tuple[float, ...]:
    """Validate a view box (xmin, xmax[, ymin, ymax]): right length, finite, each min below its max."""
    try:
        box = tuple(float(v) for v in view)
    except (TypeError, ValueError):
        raise ConfigError(f"view must be {2 * dim} numbers, got {view!r}", field="view") from None
    if len(box) != 2 * dim:
        raise ConfigError(f"view must have {2 * dim} numbers, got {len(box)}", field="view")
    if not all(math.isfinite(v) for v in box):
        raise ConfigError("view must contain finite numbers only", field="view")
    if any(box[i] >= box[i + 1] for i in range(0, len(box), 2)):
        raise ConfigError("each view minimum must be smaller than its maximum", field="view")
    return box


def _format_number(value: float) -> str:
    """Short text for a number: integers without a decimal point, others with up to 6 digits."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"


@dataclass(frozen=True)
class Curvature:
    """The second-order picture at one point: Hessian, its eigen-decomposition, and the step-size limit.

    ``eigenvalues`` ascend and ``eigenvectors[i]`` belongs to ``eigenvalues[i]`` (unit length). On the
    local quadratic model, gradient descent with learning rate lr is stable along every direction
    exactly when lr < 2 / λmax, so ``two_over_lambda_max`` is that limit (None when λmax ≤ 0: no
    direction curves upwards, and no learning rate is too large for the model).
    """

    point: tuple[float, ...]
    loss: float
    gradient: tuple[float, ...]
    hessian: np.ndarray  # (d, d)
    eigenvalues: np.ndarray  # (d,) ascending
    eigenvectors: np.ndarray  # (d, d), row i for eigenvalue i

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def two_over_lambda_max(self) -> float | None:
        return 2.0 / self.lambda_max if self.lambda_max > 0 else None


def curvature(surface: Surface, point: Sequence[float]) -> Curvature:
    """The exact Hessian at ``point`` and its eigen-decomposition; refused where it is not finite."""
    if len(point) != surface.dim:
        missing = "y" if len(point) < surface.dim else "x"
        raise ConfigError(
            f"a point on this surface has {surface.dim} coordinate(s), got {len(point)}", missing
        )
    if surface.hessian is None:
        raise ConfigError("this surface has no exact Hessian", "name")
    where = np.asarray(point, dtype=np.float64)
    with np.errstate(all="ignore"):
        loss, grad = surface.value_and_grad(where)
        hessian = surface.hessian(where)
    if not (np.isfinite(loss) and np.isfinite(grad).all() and np.isfinite(hessian).all()):
        raise ConfigError(
            "the surface is not twice differentiable here (its value, gradient or Hessian is not finite)", "x"
        )
    values, vectors = np.linalg.eigh(hessian)
    return Curvature(tuple(where.tolist()), float(loss), tuple(grad.tolist()), hessian, values, vectors.T)
