"""The JSON answers of the REST API as pydantic models: what OpenAPI documents for each 200.

The routes build their answers with app/web/serialize.py and app/web/networks.py (as bytes, often in a
worker process) and do not pass them through these models; the models only describe them, strictly
(every field required unless marked optional, no others allowed), and tests/web/test_replies.py checks real
answers of every endpoint against the schemas /openapi.json publishes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Value = float | bool | list[float] | str | None
"""A hyperparameter's value: a number, a flag, a pair (Adam's betas), a choice (L-BFGS's line_search_fn)
or null (a nullable value's None, such as max_eval or Prodigy's beta3)."""


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------- registries


class SurfaceParameter(_Reply):
    name: str
    default: float
    minimum: float | None
    maximum: float | None
    description: str


class SurfaceDescription(_Reply):
    """A surface as built: its formula, view box, default start, known minima and parameter values."""

    name: str
    title: str
    dim: int
    formula: str
    latex: str
    view: list[float]
    start: list[float]
    minima: list[list[float]]
    params: dict[str, float]
    note: str


class SurfaceEntry(SurfaceDescription):
    """A registry surface with its default parameters and what each may be set to."""

    parameters: list[SurfaceParameter]


class SurfaceGrid(_Reply):
    """Heights on an n × n grid (``z[i][j]`` at ``(x[j], y[i])``; a 1-D surface: ``y`` null, ``z`` a list);
    points outside a custom surface's domain are null."""

    n: int
    x: list[float]
    y: list[float] | None
    z: list[list[float | None]] | list[float | None]
    z_min: float | None
    z_max: float | None


class SurfaceDetail(SurfaceDescription):
    grid: SurfaceGrid | None = None


class Curvature(_Reply):
    """The exact Hessian at a point; ``eigenvectors[i]`` belongs to ``eigenvalues[i]`` (ascending)."""

    surface: str
    formula: str
    point: list[float]
    loss: float
    gradient: list[float]
    hessian: list[list[float]]
    eigenvalues: list[float]
    eigenvectors: list[list[float]]
    lambda_max: float
    two_over_lambda_max: float | None


class CrossEntropyRow(_Reply):
    """One row of the slide's insurance table with the model's prediction and its loss."""

    age: float
    affordability: float
    have_insurance: float
    age_scaled: float
    z: float
    y_hat: float
    loss: float


class SlideCase(_Reply):
    y: float
    y_hat: float
    loss: float


class CrossEntropyTable(_Reply):
    """The insurance table at one (w, b) of the ``insurance_bce`` surface (GET /api/v1/cross-entropy)."""

    surface: str
    params: dict[str, float]
    w: float
    b: float
    n_train: int
    batch_size: int
    iterations_per_epoch: int
    age_mean: float
    age_std: float
    columns: list[str]
    rows: list[CrossEntropyRow]
    mean_loss: float
    worst: int
    bce: float
    slide_case: SlideCase


class OptimizerHyperparameter(_Reply):
    name: str
    default: Value
    kind: str
    minimum: float | None
    maximum: float | None
    description: str
    log_scale: bool
    nullable: bool
    choices: list[str | None] | None = None
    """The allowed values of a ``choice`` hyperparameter (null is one of them where it is the default)."""


class OptimizerReference(_Reply):
    """What it reproduces: ``torch.optim.Rprop`` in torch, ``lion_pytorch.Lion`` in lion-pytorch; no class
    (null) for a rule no library implements as an optimizer (Newton, Polyak: their ``torch`` says how)."""

    class_: str | None = Field(alias="class")
    package: str
    version: str


class AuxColumnEntry(_Reply):
    """A per-step value the optimizer's runs carry (docs/api.md, "Aux columns")."""

    name: str
    kind: Literal["point", "scalar"]
    description: str
    null: str | None


class SurfaceAvailability(_Reply):
    offered: bool
    reason: str | None


class OptimizerEntry(_Reply):
    name: str
    title: str
    torch: str
    reference: OptimizerReference
    update_rule: str
    note: str
    evaluating: bool
    """True when the optimizer evaluates the function itself (L-BFGS, SAM, Newton, Polyak)."""
    hyperparameters: list[OptimizerHyperparameter]
    aux_columns: list[AuxColumnEntry]
    surfaces: SurfaceAvailability


class ScheduleParameter(_Reply):
    name: str
    default: float
    minimum: float | None
    maximum: float | None
    description: str
    kind: str


class ScheduleEntry(_Reply):
    name: str
    title: str
    params: list[ScheduleParameter]
    formula: str
    latex: str
    torch: str
    note: str


class DatasetEntry(_Reply):
    name: str
    title: str
    task: str
    features: list[str]
    note: str
    default_n: int


class Version(_Reply):
    app: str
    api: str
    protocol: int
    numpy: str


class Health(_Reply):
    status: Literal["ok"]
    version: str
    pid: int
    streams_this_process: int


# ------------------------------------------------------------------------------------------- traces


class RunSchedule(_Reply):
    name: str
    params: dict[str, float]


class RunEnd(_Reply):
    """How a run ended: ``reason`` is one of app.ml.run.END_REASONS (``max_steps``, ``converged``,
    ``diverged``, ``left_view``, ``stopped``; docs/api.md says when each happens), ``detail`` in words."""

    reason: str
    step: int
    detail: str


class RunSummary(_Reply):
    final_loss: float | None
    final_position: list[float] | None
    steps_taken: int
    evaluations: int
    """Function-and-gradient evaluations of the whole run (its steps for a first-order optimizer)."""
    steps_to_converge: int | None
    nearest_minimum: list[float] | None
    distance_to_nearest_minimum: float | None


class TuningBudget(_Reply):
    """What every candidate could spend: ``steps``, or ``evaluations`` with ``budget: "evaluations"``."""

    steps: int | None = None
    evaluations: int | None = None


class RunTuning(_Reply):
    """The run's learning-rate search (``tune``): the chosen rate and every candidate's final loss."""

    lr: float | None
    """The candidate with the lowest final loss; null when every candidate diverged (the run kept its own)."""
    candidates: list[float]
    final_losses: list[float | None]
    """Null where that candidate diverged or left the view box."""
    budget: TuningBudget


class TraceRun(_Reply):
    id: str
    optimizer: str
    hyperparameters: dict[str, Value]
    schedule: RunSchedule
    clip_norm: float | None
    clip_value: float | None
    start: list[float] | None
    end: RunEnd | None
    summary: RunSummary
    aux_columns: list[str]
    tuning: RunTuning | None = None
    trace: dict[str, list[float | None] | list[list[list[float]]]]
    """The base columns of ``columns`` and this run's ``aux_columns``; ``update_*`` is null at step 0.
    Runs of an optimizer that evaluates the function also have ``evaluated``: per step, the other points
    it evaluated."""


class Trace(_Reply):
    surface: SurfaceDescription
    steps: int
    seed: int
    noise: float
    tolerance: float
    columns: list[str]
    runs: list[TraceRun]


# ------------------------------------------------------------------------------------------- networks


class DatasetRows(_Reply):
    x: list[list[float]]
    y: list[float]


class DatasetDetail(_Reply):
    """A dataset as loaded and split; rows in original units (at most 2,000 of each split)."""

    name: str
    title: str
    task: str
    features: list[str]
    target: str
    classes: int
    n_train: int
    n_val: int
    box: list[float]
    train: DatasetRows
    val: DatasetRows
    slide_rows: DatasetRows | None = Field(
        description="A course slide's table (insurance: the 13 rows), whose ŷ and loss every epoch reports."
    )


class DatasetPreview(_Reply):
    dataset: DatasetDetail


class NetworkDescription(_Reply):
    layers: list[int]
    activations: list[str]
    task: str
    output: str
    loss: str
    n_params: int


class Iterations(_Reply):
    """Iteration records as columns (docs/networks.md)."""

    epoch: list[int]
    iteration: list[int]
    global_step: list[int]
    batch_loss: list[float]
    lr: list[float]
    evaluations: list[int]
    batch: list[list[int]]
    masks: list[list[list[int] | None]]
    kept: list[list[float | None]]
    logs: list[dict[str, float]] = Field(
        description="Keras' running logs of the epoch so far (accuracy/loss, or loss/r2/rmse), by name."
    )
    seconds: list[float] = Field(description="Measured compute time of the epoch so far, in seconds.")


class SlideRowsLoss(_Reply):
    y_hat: list[float] = Field(description="P(y = 1) of each slide-table row.")
    loss: list[float] = Field(description="Each row's binary cross-entropy −(y ln ŷ + (1 − y) ln(1 − ŷ)).")


class DecisionGrid(_Reply):
    x: list[float]
    y: list[float]
    values: list[Any]


class LayerWeights(_Reply):
    W: list[list[float]]
    b: list[float]


class Epoch(_Reply):
    epoch: int
    global_step: int
    train_loss: float
    val_loss: float | None
    train_metrics: dict[str, float]
    val_metrics: dict[str, float]
    l1_penalty: float
    l2_penalty: float
    weight_norms: list[float]
    zero_weights: int
    collapsed: bool
    lr: float
    sharpness: float | None = Field(
        None, description="λmax of the training loss's Hessian (null unless `sharpness` was asked for)."
    )
    decision_grid: DecisionGrid | None
    weights: list[LayerWeights] | None
    logs: dict[str, float] = Field(description="The epoch's logs as Keras' fit prints them, sorted by name.")
    seconds: float = Field(description="Measured compute time of the epoch (updates and evaluation).")
    slide_rows: SlideRowsLoss | None


class NetworkEnd(_Reply):
    reason: str
    epoch: int
    global_step: int
    detail: str
    best_epoch: int | None
    restored_best_weights: bool
    decision_grid: DecisionGrid | None = Field(description="When the best weights were restored: theirs.")
    weights: list[LayerWeights] | None = Field(description="When the best weights were restored: them.")
    slide_rows: SlideRowsLoss | None = Field(description="When restored: the slide rows under them.")


class NetworkSummary(_Reply):
    epochs: int
    global_step: int
    train_loss: float | None
    val_loss: float | None
    train_metrics: dict[str, float]
    val_metrics: dict[str, float]
    best_epoch: int | None
    confusion_matrix: dict[str, list[list[int]]] | None


class NetworkTrace(_Reply):
    """The live stream's payloads concatenated: ``started``'s fields, every iteration and epoch record
    (``epochs`` here is the list of records, not the epoch budget), the end and the summary."""

    kind: Literal["network"]
    batch_size: int
    iterations_per_epoch: int
    network: NetworkDescription
    hyperparameters: dict[str, Value]
    dataset: DatasetDetail
    iterations: Iterations
    epochs: list[Epoch]
    end: NetworkEnd | None
    summary: NetworkSummary


class NetworkCode(_Reply):
    keras: str
    pytorch: str


class LandscapePath(_Reply):
    alpha: list[float]
    beta: list[float]
    loss: list[float]
    epoch: list[int]
    residual: list[float]


class LandscapeCentre(_Reply):
    weights: Literal["final", "initial", "epoch"]
    epoch: int


class Landscape(_Reply):
    """``loss[i][j]`` at ``(alphas[j], betas[i])``, with the training path projected onto the plane."""

    alphas: list[float]
    betas: list[float]
    loss: list[list[float]]
    span: float
    path: LandscapePath
    final_loss: float
    centre: LandscapeCentre
    diverged: bool
    end: NetworkEnd | None


# ------------------------------------------------------------------------------------- convergence maps


class MapAxis(_Reply):
    """The values an axis takes (``x`` across, ``y`` up): coordinates, or a hyperparameter's values."""

    name: str
    scale: Literal["linear", "log"]
    values: list[float]


class MapRun(_Reply):
    id: str
    optimizer: str
    hyperparameters: dict[str, Value]


class MapSummary(_Reply):
    """Cells per known minimum (in the surface's order), per other outcome, and the median steps taken by
    the runs that converged."""

    minima: list[int]
    other: int
    not_converged: int
    diverged: int
    converged: int
    median_steps_to_converge: float | None


class MapPanel(_Reply):
    """One optimizer's map; ``basin[i][j]`` is the cell at ``(x.values[j], y.values[i])``."""

    id: str
    basin: list[list[int]]
    reason: list[list[int]]
    steps_taken: list[list[int]]
    final_loss: list[list[float | None]]
    summary: MapSummary


class ConvergenceMap(_Reply):
    """How a run from every cell ended: ``basin`` is the index of the known minimum it reached, or a
    negative code of ``basin_codes``; ``reason`` an index of ``reasons``."""

    kind: Literal["basins", "trainability"]
    surface: SurfaceDescription
    n: int
    steps: int
    tolerance: float
    start: list[float] | None
    x: MapAxis
    y: MapAxis
    reasons: list[str]
    basin_codes: dict[str, int]
    runs: list[MapRun]
    maps: list[MapPanel]
