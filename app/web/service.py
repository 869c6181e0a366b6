"""Turn validated requests into core calls, enforcing the limits in Settings; no maths here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.config import Settings
from app.ml.errors import ConfigError
from app.ml.expressions import custom_surface
from app.ml.optimizers import OPTIMIZERS
from app.ml.run import Descent, Event, RunSpec, RunTrace, StepRecord, collect, extra_evaluations
from app.ml.surfaces import Surface, get_surface
from app.ml.tuning import Tuning, apply_tuning, tune_learning_rates
from app.web.cost import check_surface_price, check_tuning_price, surface_price, tuning_price
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
    tunings: dict[str, Tuning] = field(default_factory=dict)
    states: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """With ``include: ["state"]``: per run, the optimizer state after each recorded step."""


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


class DescentSetup(NamedTuple):
    surface: Surface
    specs: list[RunSpec]  # with the tuned learning rates when the request asked for a search
    descent: Descent
    tunings: dict[str, Tuning]  # run id -> its learning-rate search (empty without `tune`)


def make_descent(
    request: TraceRequest,
    settings: Settings,
    stream: bool = False,
    price_as: str | None = None,
    search: bool = True,
) -> DescentSetup:
    """Validate everything the schema cannot (limits, names, hyperparameters) and set up the runs.

    ``price_as`` (a response format) also checks the price of the whole trace in that format, once the
    surface is known and before the runs are set up. A learning-rate search (``tune``) is always priced,
    and run first unless ``search`` is off (validation only).
    """
    check_limits(request, settings, stream)
    surface = build_surface(request.surface, request.params, request.expression, request.view, settings)
    specs = request.run_specs()
    extra = extra_evaluations(specs)
    if price_as is not None:
        if request.include and price_as != "json":
            raise InputError(
                ("body", "include"), "the optimizer state comes in JSON traces only", "value_error"
            )
        aux = sum(
            a.width(surface.dim)
            for run in request.runs
            if run.optimizer in OPTIMIZERS
            for a in OPTIMIZERS[run.optimizer].aux
        )
        price = surface_price(
            surface, request.steps, len(specs), price_as, extra, with_state=bool(request.include), aux=aux
        )
        check_surface_price(price, settings)
    tune = request.tune
    if tune is not None:
        check_tuning_price(tuning_price(surface, request.steps, len(specs), tune.count, extra), settings)
    options = {
        "start": request.start,
        "tolerance": request.tolerance,
        "noise": request.noise,
        "seed": request.seed,
        "budget": request.budget,
    }
    descent = Descent(surface, specs, request.steps, **options)  # validates every run before any search
    tunings: dict[str, Tuning] = {}
    if tune is not None and search:
        found = tune_learning_rates(
            surface, specs, request.steps, count=tune.count, low=tune.low, high=tune.high, **options
        )
        tunings = {t.run_id: t for t in found}
        specs = apply_tuning(specs, found)
        descent = Descent(surface, specs, request.steps, **options)
    return DescentSetup(surface, specs, descent, tunings)


def compute_trace(request: TraceRequest, settings: Settings) -> TraceResult:
    """Run every run of the request to its end and gather the columns."""
    surface, specs, descent, tunings = make_descent(request, settings)
    if "state" not in request.include:
        return TraceResult(surface, specs, collect(descent), descent, tunings)
    events: list[Event] = []
    states: dict[str, list[dict[str, Any]]] = {spec.id: [] for spec in specs}
    while not descent.finished:  # one step at a time, so each record gets the state that step left
        batch = descent.advance(1)
        events.extend(batch)
        for event in batch:
            if isinstance(event, StepRecord):
                for run_id in event.run_ids:
                    states[run_id].append(descent.state_of(run_id))
    return TraceResult(surface, specs, collect(events), descent, tunings, states)
