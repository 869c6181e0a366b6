"""The price of a request before it runs: estimated work and response bytes, checked against Settings.

Every limit is also a price: a request the limits allow must still finish in seconds and answer in a few
megabytes, so each endpoint estimates both from the config alone and refuses what is over budget with a
422 that names the fields to change. The units are deliberately simple and documented (docs/api.md):

- surface work: run-steps of a built-in surface, ``(steps + 1) × (1 + (runs − 1) / 8) × surface cost``;
  runs share one vectorised step, so a run beyond the first costs about an eighth of a lone run; a
  custom expression costs by the operations of its compiled program (``Surface.cost``).
- network work: multiply-adds, ``epochs × (3 × n_train + n_train + n_val) × weights`` for training and
  the per-epoch evaluation, plus the decision grids and per-update overhead.
- bytes: the size of the response, from the number of records and the bytes a record takes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from app.config import Settings
from app.ml.errors import ConfigError
from app.ml.surfaces import Surface
from app.ml.training import SHARPNESS_PRODUCTS

MB = 1_000_000
JSON_BYTES_PER_VALUE = 21
"""A float64 as orjson writes it (17 significant digits, a sign, exponent, comma), on average."""
FORMAT_FACTOR = {"json": 1.0, "csv": 1.0, "ndjson": 2.2}
"""NDJSON repeats the column names in every line."""
UPDATE_OVERHEAD_MACS = 20_000
"""Fixed cost of one network update (Python and NumPy call overhead), in multiply-add equivalents."""


@dataclass(frozen=True)
class Price:
    """Estimated work (in the unit of its budget) and response bytes."""

    work: float
    bytes: float


def _mb(value: float) -> str:
    return f"{value / MB:,.1f} MB"


STATE_COLUMNS = 12
"""Optimizer-state columns a run adds with ``include: ["state"]``, at most (Adam: 4 fields × 2 + …)."""
STATE_STEP_WORK = 20.0
"""A step recorded with its state is advanced alone and snapshotted: about this many plain run-steps."""


def surface_price(
    surface: Surface,
    steps: int,
    runs: int,
    fmt: str = "json",
    extra_evaluations: int = 0,
    with_state: bool = False,
    aux: int = 0,
) -> Price:
    """A surface trace: ``steps`` per run for ``runs`` runs recorded in full (and their state, if asked).

    ``extra_evaluations`` is the most evaluations per step beyond the first, summed over the runs
    (L-BFGS's iterations and line search, SAM's second look): each costs a lone run-step (L-BFGS
    evaluates one lane at a time) and its point is recorded for the drawing. ``aux`` is the number of
    values per step the runs' aux columns add (summed over the runs).
    """
    work = (steps + 1) * (1 + (runs - 1) / 8 + extra_evaluations) * surface.cost
    columns = 5 + 3 * surface.dim  # step, loss, grad_norm, lr, evaluations + position, gradient, update
    if with_state:
        work += (steps + 1) * runs * STATE_STEP_WORK
        columns += STATE_COLUMNS
    values = runs * columns + extra_evaluations * surface.dim + aux
    size = (steps + 1) * values * JSON_BYTES_PER_VALUE * FORMAT_FACTOR.get(fmt, 1.0)
    return Price(work, size)


def tuning_price(surface: Surface, steps: int, runs: int, count: int, extra_evaluations: int = 0) -> Price:
    """A learning-rate search: ``count`` candidates of every run, ``steps`` each, nothing recorded."""
    return Price(
        surface_price(surface, steps, runs * count, extra_evaluations=count * extra_evaluations).work, 0.0
    )


def check_tuning_price(price: Price, settings: Settings) -> None:
    """422 naming the search when it alone is over the work budget of a request."""
    if price.work > settings.max_trace_work:
        raise ConfigError(
            f"this learning-rate search would cost {price.work:,.0f} run-steps of work; the budget per"
            f" request is {settings.max_trace_work:,.0f} (fewer `tune.count` candidates, lower `steps` or"
            " use fewer `runs`)",
            "tune.count",
        )


def check_surface_price(price: Price, settings: Settings, root: str = "") -> None:
    """422 naming steps (and runs) when a trace is over the work or the response budget."""
    if price.work > settings.max_trace_work:
        raise ConfigError(
            f"this trace would cost {price.work:,.0f} run-steps of work; the budget per request is"
            f" {settings.max_trace_work:,.0f} (lower `steps`, use fewer `runs`, or a simpler expression;"
            " or stream it over the WebSocket)",
            f"{root}steps",
        )
    if price.bytes > settings.max_response_bytes:
        raise ConfigError(
            f"this trace would be about {_mb(price.bytes)}; at most {_mb(settings.max_response_bytes)}"
            " per response (lower `steps` or use fewer `runs`, or stream it over the WebSocket)",
            f"{root}steps",
        )


def weights(sizes: tuple[int, ...] | list[int]) -> int:
    """Weights and biases of a dense network with these layer sizes."""
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


@dataclass(frozen=True)
class NetworkShape:
    """What the price of a training depends on."""

    sizes: tuple[int, ...]
    n_train: int
    n_val: int
    batch_size: int
    epochs: int
    every: int
    grid_size: int
    sharpness: bool = False
    evaluations: int = 1
    """The most function-and-gradient evaluations of one update (L-BFGS: up to max_eval, SAM: 2)."""

    @property
    def iterations_per_epoch(self) -> int:
        return max(1, math.ceil(self.n_train / self.batch_size))

    @property
    def batch_rows(self) -> int:
        return min(self.batch_size, self.n_train)

    @property
    def grids(self) -> int:
        return self.epochs // self.every + 1

    @property
    def outputs(self) -> int:
        """Values per grid cell: one per output unit (class probabilities, or one prediction)."""
        return self.sizes[-1]

    def grid_cells(self) -> int:
        return self.grid_size**2 if self.sizes[0] == 2 else self.grid_size


def sharpness_work(shape: NetworkShape) -> int:
    """One epoch's sharpness estimate: each Hessian-vector product is about two forward+backward passes."""
    if not shape.sharpness:
        return 0
    return SHARPNESS_PRODUCTS * 2 * 3 * shape.n_train * weights(shape.sizes)


def network_price(shape: NetworkShape) -> Price:
    """A whole training recorded for REST: every iteration, every epoch and the decision grids."""
    w = weights(shape.sizes)
    iterations = shape.epochs * shape.iterations_per_epoch
    train = (shape.epochs * 3 * shape.n_train * w + iterations * UPDATE_OVERHEAD_MACS) * shape.evaluations
    evaluate = shape.epochs * (shape.n_train + shape.n_val) * w
    grids = shape.grids * shape.grid_cells() * w
    curvature = shape.epochs * sharpness_work(shape)
    hidden_units = sum(shape.sizes[1:-1])
    per_iteration = (shape.batch_rows * 6) + hidden_units * 2 + 120  # batch indices, masks, figures
    per_grid = shape.grid_cells() * shape.outputs * JSON_BYTES_PER_VALUE
    size = iterations * per_iteration + shape.grids * per_grid + shape.epochs * 600
    return Price(train + evaluate + grids + curvature, size)


def step_price(shape: NetworkShape) -> Price:
    """The worst single update of a live network stream: one batch, and at an epoch's end the evaluation
    of both splits and a decision grid. This is the indivisible unit a stream computes at once."""
    w = weights(shape.sizes)
    work = (
        3 * shape.batch_rows * w * shape.evaluations
        + (shape.n_train + shape.n_val) * w
        + shape.grid_cells() * w
    )
    work += sharpness_work(shape)
    per_grid = shape.grid_cells() * shape.outputs * JSON_BYTES_PER_VALUE
    return Price(work + UPDATE_OVERHEAD_MACS, shape.batch_rows * 6 + per_grid + 2_000)


def check_network_price(price: Price, settings: Settings, root: str = "") -> None:
    """422 naming the fields that set the price of a network training."""
    if price.work > settings.max_network_work:
        raise ConfigError(
            f"this training would cost about {price.work:,.0f} multiply-adds; the budget per request is"
            f" {settings.max_network_work:,.0f} (fewer `epochs`, a smaller `hidden` or `batch_size`,"
            " a larger `every` or a smaller `grid_size`; or stream it over the WebSocket)",
            f"{root}epochs",
        )
    if price.bytes > settings.max_response_bytes:
        raise ConfigError(
            f"this training's trace would be about {_mb(price.bytes)}; at most"
            f" {_mb(settings.max_response_bytes)} per response (raise `every`, lower `epochs` or"
            " `grid_size`)",
            f"{root}epochs",
        )


def check_step_price(price: Price, settings: Settings, root: str = "") -> None:
    """A live stream's single update must fit one frame and a bounded slice of compute."""
    if price.work > settings.max_stream_step_work:
        raise ConfigError(
            f"one update of this network would cost about {price.work:,.0f} multiply-adds; a live stream"
            f" allows {settings.max_stream_step_work:,.0f} per update (a smaller `batch_size`, `hidden`"
            " or `grid_size`, or fewer rows)",
            f"{root}batch_size",
        )
    if price.bytes > settings.max_frame_bytes:
        raise ConfigError(
            f"one update of this network would send about {_mb(price.bytes)}; a frame may hold at most"
            f" {_mb(settings.max_frame_bytes)} (a smaller `batch_size` or `grid_size`)",
            f"{root}batch_size",
        )


def landscape_price(shape: NetworkShape, n: int) -> Price:
    """Training (epoch records only) and then an n × n slice, each cell a full pass over the data."""
    w = weights(shape.sizes)
    iterations = shape.epochs * shape.iterations_per_epoch
    train = shape.epochs * 4 * shape.n_train * w + iterations * UPDATE_OVERHEAD_MACS
    slice_work = n * n * shape.n_train * w
    return Price(train + slice_work, n * n * JSON_BYTES_PER_VALUE + shape.epochs * 4 * JSON_BYTES_PER_VALUE)


MAP_CELL_BYTES = JSON_BYTES_PER_VALUE + 3 * 4
"""One cell of a map in JSON: its final loss (a float) and three small integers (basin, reason, steps)."""


def map_price(surface: Surface, n: int, steps: int, runs: int) -> Price:
    """A convergence map: every cell of every panel is one lane of ``steps`` vectorised steps. Lanes cost
    the same whether a run ends early or not (the budget holds for the worst case, no lane ending)."""
    work = n * n * (steps + 1) * runs * surface.cost
    return Price(work, n * n * runs * MAP_CELL_BYTES + 2 * n * JSON_BYTES_PER_VALUE)


def check_map_price(price: Price, settings: Settings, root: str = "") -> None:
    """422 naming ``n`` when a map is over the work or the response budget."""
    if price.work > settings.max_map_work:
        raise ConfigError(
            f"this map would cost {price.work:,.0f} lane-steps (cells × (steps + 1) × runs × surface cost);"
            f" the budget per map is {settings.max_map_work:,.0f} (a smaller `n`, fewer `steps` or `runs`,"
            " or a simpler expression)",
            f"{root}n",
        )
    if price.bytes > settings.max_response_bytes:
        raise ConfigError(
            f"this map would be about {_mb(price.bytes)}; at most {_mb(settings.max_response_bytes)}"
            " per response (a smaller `n` or fewer `runs`)",
            f"{root}n",
        )
