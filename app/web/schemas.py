"""Request models: one trace config serves the REST trace and the WebSocket stream; networks alike."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.ml.run import RunSpec
from app.ml.schedules import Schedule

MAX_INT = 10**9
"""Upper bound of every integer field without a tighter one: far above every Settings limit and far below
2**63, so a huge number is a 422 naming its field before anything serialises the config."""

FiniteFloat = Annotated[float, Field(allow_inf_nan=False, strict=True)]
"""A finite JSON number (integers welcome); true/false and numeric strings are refused."""
Int = Annotated[int, Field(strict=True)]
"""A JSON integer (not true/false, not 2.0); every field of this type sets ``le`` (MAX_INT at most)."""


def _one_hyper_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One error saying what a hyperparameter may be, not one per union member ("a valid boolean")."""
    try:
        return handler(value)
    except ValidationError:
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError("finite_number", "Input should be a finite number") from None
        if isinstance(value, list):
            raise PydanticCustomError(
                "pair_type", "Input should be a pair of finite numbers, e.g. [0.9, 0.999]"
            ) from None
        raise PydanticCustomError(
            "hyperparameter_type",
            "Input should be a finite number, true/false, a pair of numbers, a choice such as"
            ' "strong_wolfe", or null (where the optimizer lists the hyperparameter as nullable)',
        ) from None


HyperValue = Annotated[
    bool
    | FiniteFloat
    | Annotated[list[FiniteFloat], Field(min_length=2, max_length=2)]
    | Annotated[str, Field(max_length=32)]
    | None,
    WrapValidator(_one_hyper_error),
]

RUN_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,31}$"
RUN_ID_RULE = (
    "a run id is 1 to 32 letters, digits, '_', '.' or '-', starting with a letter, digit or '_' "
    "(a leading '-', '=', '+' or '@' would read as a formula in a spreadsheet opening the CSV export)"
)
_RUN_ID = re.compile(RUN_ID_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _run_id(value: str) -> str:
    if not _RUN_ID.fullmatch(value):
        raise PydanticCustomError("string_pattern_mismatch", RUN_ID_RULE, {"pattern": RUN_ID_PATTERN})
    return value


RunId = Annotated[str, Field(json_schema_extra={"pattern": RUN_ID_PATTERN}), AfterValidator(_run_id)]


def replace_surrogates(value: Any) -> Any:
    """Lone surrogates ("\\udcff", which JSON can encode) in strings and keys become U+FFFD, as any UTF-8
    decoder would make them: such text cannot be encoded again, so it must not reach the engine, its
    messages or the serialisers; a name holding U+FFFD is then refused like any other unknown name."""
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {replace_surrogates(k): replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_surrogates(v) for v in value]
    return value


def field_error(model: str, loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """A validation error at ``loc`` raised from a model validator (so the 422 names the field)."""
    error = PydanticCustomError("value_error", message)
    return ValidationError.from_exception_data(model, [InitErrorDetails(type=error, loc=loc, input=value)])


class _Strict(BaseModel):
    """Unknown fields are refused, so a typo ("learning_rate") is a 422 and never silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        return replace_surrogates(data)


class ScheduleConfig(_Strict):
    name: str = Field("constant", description="A schedule from GET /api/v1/schedules.", examples=["cosine"])
    params: dict[str, FiniteFloat] = Field(default_factory=dict, examples=[{"T_max": 200}])

    def value(self) -> Schedule:
        """The core's schedule value (same two fields)."""
        return Schedule(self.name, self.params)


class RunConfig(_Strict):
    id: RunId | None = Field(None, description="Run id (default r0, r1, …).", examples=["adam"])
    optimizer: str = Field(description="An optimizer from GET /api/v1/optimizers.", examples=["adam"])
    hyperparameters: dict[str, HyperValue] = Field(
        default_factory=dict,
        description="torch.optim names and defaults; missing ones take the default.",
        examples=[{"lr": 0.1, "betas": [0.9, 0.999]}],
    )
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    clip_norm: FiniteFloat | None = Field(None, gt=0, description="Clip the gradient norm to this (torch).")
    clip_value: FiniteFloat | None = Field(None, gt=0, description="Clip each gradient component to ±this.")
    start: list[FiniteFloat] | None = Field(
        None, min_length=1, max_length=2, description="This run's own start (default: the shared start)."
    )


class SurfaceChoice(_Strict):
    """Which surface: a registry name with its parameters, or a custom expression with its view box.

    Shared by every request that descends a surface (traces, streams, convergence maps)."""

    surface: str | None = Field(
        None,
        description="A surface from GET /api/v1/surfaces (default rosenbrock), or 'custom'.",
        examples=["rosenbrock"],
    )
    params: dict[str, FiniteFloat] = Field(
        default_factory=dict, description="Surface parameters, e.g. condition_number for 'elongated'."
    )
    expression: str | None = Field(
        None,
        max_length=10_000,
        description="A custom surface in x and y (implies surface='custom'), e.g. 'x**2 + 10*y**2'.",
        examples=["x**2 + 10*y**2"],
    )
    view: list[FiniteFloat] | None = Field(
        None, min_length=4, max_length=4, description="View box [xmin, xmax, ymin, ymax] of a custom surface."
    )

    @model_validator(mode="after")
    def _params_need_a_registry_surface(self) -> SurfaceChoice:
        if self.expression is not None and self.params:
            raise field_error(
                type(self).__name__,
                ("params",),
                "a custom expression takes no surface parameters (write the numbers into the expression)",
                self.params,
            )
        return self


class TuneConfig(_Strict):
    """The fair race's learning-rate search: the same log-spaced candidates and step budget for every run."""

    count: Int = Field(12, ge=2, le=24, description="Learning rates tried per run.")
    low: FiniteFloat = Field(1e-4, gt=0, le=1e3, description="Smallest candidate learning rate.")
    high: FiniteFloat = Field(1.0, gt=0, le=1e3, description="Largest candidate learning rate.")

    @model_validator(mode="after")
    def _low_below_high(self) -> TuneConfig:
        if self.low >= self.high:
            raise field_error("TuneConfig", ("low",), "low must be below high", self.low)
        return self


class TraceRequest(SurfaceChoice):
    """A descent on one surface: which surface, where to start, which runs, how many steps."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "surface": "rosenbrock",
                    "start": [-1.5, 2.0],
                    "steps": 500,
                    "runs": [
                        {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}},
                        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
                    ],
                }
            ]
        },
    )

    start: list[FiniteFloat] | None = Field(
        None, min_length=1, max_length=2, description="Start point shared by all runs (default: surface's)."
    )
    runs: list[RunConfig] = Field(min_length=1, description="One entry per optimizer run (a race).")
    steps: Int = Field(200, ge=0, le=MAX_INT, description="Step budget per run.")
    tolerance: FiniteFloat = Field(1e-6, ge=0, description="A run has converged when |gradient| < tolerance.")
    noise: FiniteFloat = Field(
        0.0, ge=0, le=1e6, description="Std of Gaussian noise added to each gradient (mimics mini-batch SGD)."
    )
    seed: Int = Field(0, ge=0, le=2**32 - 1, description="Seed of the gradient noise.")
    budget: Literal["steps", "evaluations"] = Field(
        "steps",
        description="What `steps` counts per run: steps, or function-and-gradient evaluations (fair to"
        " L-BFGS, which evaluates many times a step, and SAM, twice).",
    )
    tune: TuneConfig | None = Field(
        None,
        description="Before the race, give every run the learning rate with the lowest final loss among the"
        " same log-spaced candidates, each tried for `steps` steps (a fair race; the reply says what was"
        " chosen).",
    )
    include: list[Literal["state"]] = Field(
        default_factory=list,
        max_length=1,
        description='["state"]: each run of a JSON trace also gets its optimizer state at every step'
        " (the numbers of the ledger: momentum, moments, step counts), as columns.",
    )

    def run_specs(self) -> list[RunSpec]:
        """The core's run descriptions, with default ids r0, r1, … where none was given."""
        return [
            RunSpec(
                id=run.id or f"r{i}",
                optimizer=run.optimizer,
                hyperparameters=run.hyperparameters,
                schedule=run.schedule.value(),
                clip_norm=run.clip_norm,
                clip_value=run.clip_value,
                start=run.start,
            )
            for i, run in enumerate(self.runs)
        ]


# ---------------------------------------------------------------------------------------------- networks
LayerValue = FiniteFloat | Annotated[list[FiniteFloat], Field(min_length=1, max_length=7)]


class RegistryDataset(_Strict):
    name: str = Field(
        "two_gaussians", description="A dataset from GET /api/v1/datasets.", examples=["insurance"]
    )
    n: Int | None = Field(None, ge=4, le=5_000, description="Rows (default: the dataset's own).")
    noise: FiniteFloat = Field(0.1, ge=0, le=5)
    seed: Int = Field(0, ge=0, le=2**32 - 1)
    val_fraction: FiniteFloat = Field(0.2, ge=0, le=0.9, description="Share of rows held out for validation.")


class CsvDataset(_Strict):
    csv: str = Field(description="The uploaded file's text, header row first.")
    features: list[str] | None = Field(
        None, min_length=1, max_length=16, description="Default: all but target."
    )
    target: str
    val_fraction: FiniteFloat = Field(0.2, ge=0, le=0.9)
    seed: Int = Field(0, ge=0, le=2**32 - 1)


def _dataset_kind(value: Any) -> str:
    """An object with a ``csv`` field is an upload; anything else names a registry dataset."""
    if isinstance(value, dict):
        return "CsvDataset" if "csv" in value else "RegistryDataset"
    return "CsvDataset" if isinstance(value, CsvDataset) else "RegistryDataset"


Dataset = Annotated[
    Annotated[RegistryDataset, Tag("RegistryDataset")] | Annotated[CsvDataset, Tag("CsvDataset")],
    Discriminator(_dataset_kind),
]
"""The union's errors come from one member (the one the object's fields point to), not from both."""


class EarlyStoppingSchema(_Strict):
    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    patience: Int = Field(0, ge=0, le=10_000)
    min_delta: FiniteFloat = Field(0.0, ge=0)
    restore_best_weights: bool = False
    baseline: FiniteFloat | None = None
    start_from_epoch: Int = Field(0, ge=0, le=MAX_INT)


class NetworkRequest(_Strict):
    """A small network trained on a dataset: the same optimizers as the surfaces, Keras's vocabulary."""

    dataset: Dataset = Field(default_factory=RegistryDataset)
    hidden: list[Annotated[Int, Field(le=MAX_INT)]] = Field(
        [16], max_length=6, description="Units of each hidden layer (1 … 32)."
    )
    activations: str | list[str] = Field("relu", description="One activation for all, or one per layer.")
    optimizer: str = "adam"
    hyperparameters: dict[str, HyperValue] = Field(default_factory=lambda: {"lr": 0.01})
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    schedule_unit: Literal["epoch", "iteration"] = "epoch"
    batch_size: Int = Field(32, ge=1, le=100_000)
    epochs: Int = Field(100, ge=1, le=100_000)
    l1: LayerValue = Field(0.0, description="L1 strength, global or one per dense layer.")
    l2: LayerValue = Field(0.0, description="L2 strength, global or one per dense layer.")
    dropout: LayerValue = Field(0.0, description="Dropout rate p, global or one per hidden layer.")
    early_stopping: EarlyStoppingSchema | None = None
    seed: Int = Field(0, ge=0, le=2**32 - 1)
    every: Int = Field(10, ge=1, le=100_000, description="Decision grid and weights every this many epochs.")
    grid_size: Int = Field(40, ge=5, le=200)
    sharpness: bool = Field(
        False,
        description="Record λmax of the training loss's Hessian at every epoch (the edge of stability: "
        "compare it with 2 / lr in full-batch training). Costs up to 20 Hessian-vector products an epoch.",
    )


class DatasetPreviewRequest(_Strict):
    dataset: Dataset


class LandscapeRequest(_Strict):
    config: NetworkRequest
    n: Int = Field(41, ge=5, le=81, description="Grid points per axis.")
    span: FiniteFloat = Field(1.0, gt=0, le=10, description="Half-width of the slice in direction units.")
    seed: Int = Field(0, ge=0, le=2**32 - 1, description="Seed of the two random directions.")


# ------------------------------------------------------------------------------------- convergence maps
class MapRun(_Strict):
    """One panel of a convergence map: an optimizer with its hyperparameters (torch names and defaults)."""

    id: RunId | None = Field(None, description="Panel id (default r0, r1, …).", examples=["adam"])
    optimizer: str = Field(description="An optimizer from GET /api/v1/optimizers.", examples=["adam"])
    hyperparameters: dict[str, HyperValue] = Field(
        default_factory=dict, description="Fixed for every cell; an axis of a trainability map overrides one."
    )


class MapAxis(_Strict):
    """An axis of a trainability map: the hyperparameter it sets, its range and its scale."""

    name: str = Field(
        description="A numeric hyperparameter of every panel's optimizer: lr, momentum, eps, …, or one part"
        " of a pair (betas.0 is β₁).",
        examples=["lr"],
    )
    min: FiniteFloat
    max: FiniteFloat
    scale: Literal["linear", "log"] = "log"


class MapRequest(SurfaceChoice):
    """A run from every cell of an n × n grid: starts over the view box (``basins``) or two hyperparameters
    from one start (``trainability``); each cell says how its run ended."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "surface": "himmelblau",
                    "n": 100,
                    "steps": 300,
                    "runs": [
                        {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.01}},
                        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.1}},
                    ],
                }
            ]
        },
    )

    kind: Literal["basins", "trainability"] = Field("basins", description="What the grid spans.")
    runs: list[MapRun] = Field(min_length=1, description="One map per optimizer, side by side.")
    n: Int = Field(100, ge=2, le=MAX_INT, description="Points per axis (n × n runs per panel).")
    steps: Int = Field(300, ge=0, le=MAX_INT, description="Step budget of every run.")
    tolerance: FiniteFloat = Field(
        1e-3, ge=0, description="A run has converged when |gradient| < tolerance (coarser than a trace's)."
    )
    start: list[FiniteFloat] | None = Field(
        None, min_length=1, max_length=2, description="trainability: the one start (default: the surface's)."
    )
    x: MapAxis | None = Field(None, description="trainability: the hyperparameter across.")
    y: MapAxis | None = Field(None, description="trainability: the hyperparameter up.")

    @model_validator(mode="after")
    def _axes_fit_the_kind(self) -> MapRequest:
        if self.kind == "trainability":
            for name in ("x", "y"):
                if getattr(self, name) is None:
                    raise field_error(
                        "MapRequest", (name,), "a trainability map needs both axes, x and y", None
                    )
        else:
            for name in ("x", "y", "start"):
                if getattr(self, name) is not None:
                    raise field_error(
                        "MapRequest",
                        (name,),
                        f"a basin map spans the surface's view box; {name} is for kind 'trainability'",
                        getattr(self, name),
                    )
        return self
