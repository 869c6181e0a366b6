"""The NumPy core, importable on its own (a notebook needs no web layer): surfaces, optimizers, schedules,
networks, datasets and the run generators. Imports numpy only.

    from app.ml import RunSpec, Schedule, descend, get_surface

    surface = get_surface("rosenbrock")
    runs = [RunSpec("adam", "adam", {"lr": 0.05}), RunSpec("sgd", "sgd", {"lr": 1e-3}, Schedule("cosine"))]
    traces = collect(descend(surface, runs, steps=500))  # {run id: RunTrace}, columns per run

    from app.ml import TrainConfig, TrainData, make_dataset, train

    data = TrainData.from_dataset(make_dataset("circle"))
    events = list(train(TrainConfig(hidden=(8,), optimizer="adam", epochs=20), data))

    from app.ml import make_optimizer, resolve_hyperparameters  # optax style: init / update

    opt = make_optimizer("adam", resolve_hyperparameters("adam", {"lr": 0.1}))
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)  # params + updates

    from app.ml import curvature  # exact Hessian, eigenvalues, 2 / lambda_max
    curvature(get_surface("rosenbrock"), (-1.0, 1.5)).two_over_lambda_max
"""

from app.ml.datasets import DATASETS, Dataset, make_dataset, parse_csv
from app.ml.errors import ConfigError, UnknownNameError
from app.ml.evaluating import EvaluatingTransformation, Problem
from app.ml.expressions import custom_surface
from app.ml.optimizers import (
    OPTIMIZERS,
    OptimizerSpec,
    get_optimizer,
    make_optimizer,
    resolve_hyperparameters,
)
from app.ml.params import Param, resolve
from app.ml.run import Descent, RunEnd, RunSpec, RunTrace, StepRecord, collect, descend, summarize, sweep
from app.ml.schedules import SCHEDULES, Schedule, ScheduleSpec, make_schedule
from app.ml.surfaces import (
    SURFACES,
    Curvature,
    Surface,
    SurfaceSpec,
    curvature,
    get_surface,
    grid,
    nearest_minimum,
)
from app.ml.training import EpochRecord, IterationRecord, TrainConfig, TrainData, TrainEnd, Training, train
from app.ml.transforms import GradientTransformation, chain

__all__ = [
    "DATASETS",
    "OPTIMIZERS",
    "SCHEDULES",
    "SURFACES",
    "ConfigError",
    "Curvature",
    "Dataset",
    "Descent",
    "EpochRecord",
    "EvaluatingTransformation",
    "GradientTransformation",
    "IterationRecord",
    "OptimizerSpec",
    "Param",
    "Problem",
    "RunEnd",
    "RunSpec",
    "RunTrace",
    "Schedule",
    "ScheduleSpec",
    "StepRecord",
    "Surface",
    "SurfaceSpec",
    "TrainConfig",
    "TrainData",
    "TrainEnd",
    "Training",
    "UnknownNameError",
    "chain",
    "collect",
    "curvature",
    "custom_surface",
    "descend",
    "get_optimizer",
    "get_surface",
    "grid",
    "make_dataset",
    "make_optimizer",
    "make_schedule",
    "nearest_minimum",
    "parse_csv",
    "resolve",
    "resolve_hyperparameters",
    "summarize",
    "sweep",
    "train",
]
