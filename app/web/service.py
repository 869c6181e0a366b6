"""Turn validated requests into core calls, enforcing the limits in Settings; no maths here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.config import Settings
from app.ml.errors import ConfigError
from app.ml.expressions import custom_surface
from app.ml.optimizers import OPTIMIZERS
from app.ml.run import Descent, RunSpec, RunTrace, collect
from app.ml.surfaces import Surface, get_surface
from app.web.cost import check_surface_price, surface_price
from app.web.errors import InputError
from app.web.schemas import TraceRequest

DEFAULT_SURFACE = "rosenbrock"


def build_surface(
    name: str | None,
    params: Mapping[str, float],
    expression: str | None,
    view: Sequence[float] | None,
    settings: Settings,
    root: str = "body",
) -> Surface:
    """A registry surface, or a custom one when an expression is given (surface must then be 'custom')."""
    if expression is None:
        name = name or DEFAULT_SURFACE
        if name == "custom":
            raise InputError((root, "expression"), "surface 'custom' needs an expression in x and y")
        if view is not None:
            raise InputError((root, "view"), "a view box can only be set for a custom expression")
        return get_surface(name, params)
    if name not in (None, "custom"):
        raise InputError((root, "surface"), "give either a surface name or an expression, not both")
    if len(expression) > settings.max_expression_length:
        raise ConfigError(
            f"expression is {len(expression)} characters long; the limit is {settings.max_expression_length}",
            "expression",
        )
    if view is not None and not (view[0] < view[1] and view[2] < view[3]):
        raise InputError(
            (root, "view"), "view must be [xmin, xmax, ymin, ymax] with xmin < xmax and ymin < ymax"
        )
    return custom_surface(
        expression,
        view=view,
        max_length=settings.max_expression_length,
        max_depth=settings.max_expression_depth,
    )


@dataclass(frozen=True)
class TraceResult:
    """A finished trace: the surface, the run descriptions and each run's columns."""

    surface: Surface
    specs: list[RunSpec]
    traces: dict[str, RunTrace]
    descent: Descent


def check_limits(request: TraceRequest, settings: Settings, stream: bool = False) -> None:
    """Refuse work over the limits before any is done (a stream keeps no trace, so no record budget)."""
    if request.steps > settings.max_steps:
        raise InputError(("body", "steps"), f"at most {settings.max_steps} steps per run", "less_than_equal")
    if len(request.runs) > settings.max_runs:
        raise InputError(("body", "runs"), f"at most {settings.max_runs} runs per request", "too_long")
    records = (request.steps + 1) * len(request.runs)
    if not stream and records > settings.max_step_records:
        raise InputError(
            ("body", "steps"),
            f"steps × runs is {records}; the limit per trace is {settings.max_step_records}"
            " (fewer steps or fewer runs, or stream it over the WebSocket)",
            "less_than_equal",
        )


def make_descent(
    request: TraceRequest, settings: Settings, stream: bool = False, price_as: str | None = None
) -> tuple[Surface, list[RunSpec], Descent]:
    """Validate everything the schema cannot (limits, names, hyperparameters) and set up the runs.

    ``price_as`` (a response format) also checks the price of the whole trace in that format, once the
    surface is known and before the runs are set up.
    """
    check_limits(request, settings, stream)
    surface = build_surface(request.surface, request.params, request.expression, request.view, settings)
    if price_as is not None:
        aux = sum(
            a.width(surface.dim)
            for run in request.runs
            if run.optimizer in OPTIMIZERS
            for a in OPTIMIZERS[run.optimizer].aux
        )
        price = surface_price(surface, request.steps, len(request.runs), price_as, aux)
        check_surface_price(price, settings)
    specs = request.run_specs()
    descent = Descent(
        surface,
        specs,
        request.steps,
        start=request.start,
        tolerance=request.tolerance,
        noise=request.noise,
        seed=request.seed,
    )
    return surface, specs, descent


def compute_trace(request: TraceRequest, settings: Settings) -> TraceResult:
    """Run every run of the request to its end and gather the columns."""
    surface, specs, descent = make_descent(request, settings)
    traces = collect(descent)
    return TraceResult(surface, specs, traces, descent)
