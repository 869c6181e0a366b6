"""Request models: one trace config serves the REST trace and the WebSocket stream; networks alike."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.ml.run import RunSpec

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
HyperValue = bool | FiniteFloat | Annotated[list[FiniteFloat], Field(min_length=2, max_length=2)]
RUN_ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,32}$"


class _Strict(BaseModel):
    """Unknown fields are refused, so a typo ("learning_rate") is a 422 and never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ScheduleConfig(_Strict):
    name: str = Field("constant", description="A schedule from GET /api/v1/schedules.", examples=["cosine"])
    params: dict[str, FiniteFloat] = Field(default_factory=dict, examples=[{"T_max": 200}])


class RunConfig(_Strict):
    id: str | None = Field(
        None, pattern=RUN_ID_PATTERN, description="Run id (default r0, r1, …).", examples=["adam"]
    )
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


class TraceRequest(_Strict):
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
    start: list[FiniteFloat] | None = Field(
        None, min_length=1, max_length=2, description="Start point shared by all runs (default: surface's)."
    )
    runs: list[RunConfig] = Field(min_length=1, description="One entry per optimizer run (a race).")
    steps: int = Field(200, ge=0, description="Step budget per run.")
    tolerance: FiniteFloat = Field(1e-6, ge=0, description="A run has converged when |gradient| < tolerance.")
    noise: FiniteFloat = Field(
        0.0, ge=0, le=1e6, description="Std of Gaussian noise added to each gradient (mimics mini-batch SGD)."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the gradient noise.")

    def run_specs(self) -> list[RunSpec]:
        """The core's run descriptions, with default ids r0, r1, … where none was given."""
        return [
            RunSpec(
                id=run.id or f"r{i}",
                optimizer=run.optimizer,
                hyperparameters=run.hyperparameters,
                schedule=run.schedule.name,
                schedule_params=run.schedule.params,
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
    n: int | None = Field(None, ge=4, le=5_000, description="Rows (default: the dataset's own).")
    noise: FiniteFloat = Field(0.1, ge=0, le=5)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    val_fraction: FiniteFloat = Field(0.2, ge=0, le=0.9, description="Share of rows held out for validation.")


class CsvDataset(_Strict):
    csv: str = Field(description="The uploaded file's text, header row first.")
    features: list[str] | None = Field(
        None, min_length=1, max_length=16, description="Default: all but target."
    )
    target: str
    val_fraction: FiniteFloat = Field(0.2, ge=0, le=0.9)
    seed: int = Field(0, ge=0, le=2**32 - 1)


class EarlyStoppingSchema(_Strict):
    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    patience: int = Field(0, ge=0, le=10_000)
    min_delta: FiniteFloat = Field(0.0, ge=0)
    restore_best_weights: bool = False
    baseline: FiniteFloat | None = None
    start_from_epoch: int = Field(0, ge=0)


class NetworkRequest(_Strict):
    """A small network trained on a dataset: the same optimizers as the surfaces, Keras's vocabulary."""

    dataset: RegistryDataset | CsvDataset = Field(default_factory=RegistryDataset)
    hidden: list[int] = Field([16], max_length=6, description="Units of each hidden layer (1 … 32).")
    activations: str | list[str] = Field("relu", description="One activation for all, or one per layer.")
    optimizer: str = "adam"
    hyperparameters: dict[str, HyperValue] = Field(default_factory=lambda: {"lr": 0.01})
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    schedule_unit: Literal["epoch", "iteration"] = "epoch"
    batch_size: int = Field(32, ge=1, le=100_000)
    epochs: int = Field(100, ge=1, le=100_000)
    l1: LayerValue = Field(0.0, description="L1 strength, global or one per dense layer.")
    l2: LayerValue = Field(0.0, description="L2 strength, global or one per dense layer.")
    dropout: LayerValue = Field(0.0, description="Dropout rate p, global or one per hidden layer.")
    early_stopping: EarlyStoppingSchema | None = None
    seed: int = Field(0, ge=0, le=2**32 - 1)
    every: int = Field(10, ge=1, le=100_000, description="Decision grid and weights every this many epochs.")
    grid_size: int = Field(40, ge=5, le=200)


class DatasetPreviewRequest(_Strict):
    dataset: RegistryDataset | CsvDataset


class LandscapeRequest(_Strict):
    config: NetworkRequest
    n: int = Field(41, ge=5, le=81, description="Grid points per axis.")
    span: FiniteFloat = Field(1.0, gt=0, le=10, description="Half-width of the slice in direction units.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the two random directions.")
