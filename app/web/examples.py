"""The documented examples of the REST answers (OpenAPI): real answers of the app, shortened (fewer rows,
steps, records and registry entries). tests/web/test_replies.py checks each against its declared schema."""

from __future__ import annotations

SURFACE = {
    "name": "bowl",
    "title": "Bowl",
    "dim": 2,
    "formula": "x^2 + y^2",
    "latex": "x^2 + y^2",
    "view": [-3.0, 3.0, -3.0, 3.0],
    "start": [-2.5, 2.0],
    "minima": [[0.0, 0.0]],
    "params": {},
    "note": "A round bowl: the slope always points straight at the bottom, …",
}
SURFACE_ENTRY = {**SURFACE, "parameters": []}
SURFACE_DETAIL = {
    **SURFACE,
    "grid": {
        "n": 3,
        "x": [-3.0, 0.0, 3.0],
        "y": [-3.0, 0.0, 3.0],
        "z": [[18.0, 9.0, 18.0], [9.0, 0.0, 9.0], [18.0, 9.0, 18.0]],
        "z_min": 0.0,
        "z_max": 18.0,
    },
}
OPTIMIZER = {
    "name": "sgd",
    "title": "SGD",
    "torch": "torch.optim.SGD(params, lr=0.001, momentum=0, dampening=0, weight_decay=0, nesterov=False)",
    "reference": {"class": "torch.optim.SGD", "package": "torch", "version": "2.13"},
    "update_rule": "g_t = \\nabla f(\\theta_{t-1}) + \\lambda\\theta_{t-1}; …",
    "note": "Plain gradient descent: step = slope x learning rate. …",
    "evaluating": False,
    "hyperparameters": [
        {
            "name": "lr",
            "default": 0.001,
            "kind": "float",
            "minimum": 0.0,
            "maximum": 1000.0,
            "description": "learning rate: how far each update moves",
            "log_scale": True,
            "nullable": False,
        }
    ],
    "aux_columns": [],
    "surfaces": {"offered": True, "reason": None},
}
SCHEDULE = {
    "name": "constant",
    "title": "Constant",
    "params": [],
    "formula": "lr_t = lr",
    "latex": "\\eta_t = \\eta",
    "torch": "no scheduler",
    "note": "The same step size for every update: the plain gradient-descent baseline.",
}
VERSION = {"app": "0.1.0", "api": "v1", "protocol": 1, "numpy": "2.4.6"}
HEALTH = {"status": "ok", "version": "0.1.0", "pid": 4242, "streams_this_process": 0}
TRACE = {
    "surface": {
        "name": "parabola",
        "title": "Parabola (1-D)",
        "dim": 1,
        "formula": "x^2",
        "latex": "x^2",
        "view": [-3.0, 3.0],
        "start": [2.5],
        "minima": [[0.0]],
        "params": {},
        "note": "The one-dimensional picture: step size = slope x learning rate. …",
    },
    "steps": 2,
    "seed": 0,
    "noise": 0.0,
    "tolerance": 1e-06,
    "columns": ["step", "x", "loss", "grad_x", "grad_norm", "lr", "update_x", "evaluations"],
    "runs": [
        {
            "id": "r0",
            "optimizer": "sgd",
            "hyperparameters": {
                "lr": 0.1,
                "momentum": 0.0,
                "dampening": 0.0,
                "weight_decay": 0.0,
                "nesterov": False,
            },
            "schedule": {"name": "constant", "params": {}},
            "clip_norm": None,
            "clip_value": None,
            "start": [2.5],
            "end": {"reason": "max_steps", "step": 2, "detail": "reached the step budget of 2"},
            "summary": {
                "final_loss": 2.56,
                "final_position": [1.6],
                "steps_taken": 2,
                "evaluations": 2,
                "steps_to_converge": None,
                "nearest_minimum": [0.0],
                "distance_to_nearest_minimum": 1.6,
            },
            "aux_columns": [],
            "trace": {
                "step": [0, 1, 2],
                "x": [2.5, 2.0, 1.6],
                "loss": [6.25, 4.0, 2.56],
                "grad_x": [5.0, 4.0, 3.2],
                "grad_norm": [5.0, 4.0, 3.2],
                "lr": [0.1, 0.1, 0.1],
                "update_x": [None, -0.5, -0.4],
                "evaluations": [0, 1, 1],
            },
        }
    ],
}
DATASET = {
    "name": "insurance",
    "title": "Insurance (course slide)",
    "task": "binary",
    "features": ["age", "affordability"],
    "note": "The slide's 13 people, then generated ones: older and able to afford → insured.",
    "default_n": 875,
}
DATASET_DETAIL = {
    "name": "insurance",
    "title": "Insurance (course slide)",
    "task": "binary",
    "features": ["age", "affordability"],
    "target": "have_insurance",
    "classes": 2,
    "n_train": 10,
    "n_val": 3,
    "box": [18.0, 62.0, 0.0, 1.0],
    "train": {"x": [[46.0, 1.0], [56.0, 1.0], [27.0, 0.0]], "y": [1, 1, 1]},
    "val": {"x": [[18.0, 1.0], [47.0, 1.0], [60.0, 0.0]], "y": [0, 1, 1]},
    "slide_rows": {"x": [[22.0, 1.0], [25.0, 0.0], [47.0, 1.0]], "y": [0, 0, 1]},
}
NETWORK_END = {
    "reason": "done",
    "epoch": 2,
    "global_step": 4,
    "detail": "trained the 2 epoch(s) asked for",
    "best_epoch": None,
    "restored_best_weights": False,
    "decision_grid": None,
    "weights": None,
    "slide_rows": None,
}
NETWORK_TRACE = {
    "kind": "network",
    "batch_size": 8,
    "iterations_per_epoch": 2,
    "network": {
        "layers": [2, 2, 1],
        "activations": ["relu"],
        "task": "binary",
        "output": "sigmoid",
        "loss": "binary_crossentropy",
        "n_params": 9,
    },
    "hyperparameters": {
        "lr": 0.01,
        "betas": [0.9, 0.999],
        "eps": 1e-08,
        "weight_decay": 0.0,
        "amsgrad": False,
    },
    "dataset": DATASET_DETAIL,
    "iterations": {
        "epoch": [1, 1, 2, 2],
        "iteration": [1, 2, 1, 2],
        "global_step": [1, 2, 3, 4],
        "batch_loss": [0.7508, 0.7631, 0.7609, 0.7303],
        "lr": [0.01, 0.01, 0.01, 0.01],
        "evaluations": [1, 1, 1, 1],
        "batch": [[8, 4, 7], [6, 3], [0, 1, 8], [5, 2]],
        "masks": [[None], [None], [None], [None]],
        "kept": [[None], [None], [None], [None]],
        "logs": [
            {"accuracy": 0.375, "loss": 0.7508},
            {"accuracy": 0.3, "loss": 0.7557},
            {"accuracy": 0.25, "loss": 0.7609},
            {"accuracy": 0.3, "loss": 0.7456},
        ],
        "seconds": [0.00012, 0.00021, 0.00011, 0.00020],
    },
    "epochs": [
        {
            "epoch": 2,
            "global_step": 4,
            "train_loss": 0.7456,
            "val_loss": 0.7147,
            "train_metrics": {"accuracy": 0.3},
            "val_metrics": {"accuracy": 0.6667},
            "l1_penalty": 0.0,
            "l2_penalty": 0.0,
            "weight_norms": [0.6324, 0.5982],
            "zero_weights": 0,
            "collapsed": False,
            "lr": 0.01,
            "decision_grid": {
                "x": [15.8, 17.04],
                "y": [-0.05, -0.0218],
                "values": [[0.5086, 0.5080], [0.5091, 0.5085]],
            },
            "weights": [
                {"W": [[0.0885, -0.0953], [0.6107, 0.0999]], "b": [-0.0297, -0.0118]},
                {"W": [[-0.5002], [0.3280]], "b": [0.0254]},
            ],
            "logs": {"accuracy": 0.3, "loss": 0.7456, "val_accuracy": 0.6667, "val_loss": 0.7147},
            "seconds": 0.00031,
            "slide_rows": {"y_hat": [0.4975, 0.5021, 0.5086], "loss": [0.6882, 0.6974, 0.6760]},
        }
    ],
    "end": NETWORK_END,
    "summary": {
        "epochs": 2,
        "global_step": 4,
        "train_loss": 0.7456,
        "val_loss": 0.7147,
        "train_metrics": {"accuracy": 0.3},
        "val_metrics": {"accuracy": 0.6667},
        "best_epoch": None,
        "confusion_matrix": {"train": [[2, 3], [4, 1]], "val": [[1, 0], [1, 1]]},
    },
}
CODE = {"keras": "import keras\n…", "pytorch": "import torch\n…"}
LANDSCAPE = {
    "alphas": [-1.0, 0.0, 1.0],
    "betas": [-1.0, 0.0, 1.0],
    "loss": [[0.754, 0.710, 0.742], [0.693, 0.738, 0.801], [0.716, 0.770, 0.853]],
    "span": 1.0,
    "path": {
        "alpha": [0.0293, 0.0],
        "beta": [0.0117, 0.0],
        "loss": [0.7449, 0.7378],
        "epoch": [1, 2],
        "residual": [0.0283, 0.0],
    },
    "final_loss": 0.7378,
    "centre": {"weights": "final", "epoch": 2},
    "diverged": False,
    "end": NETWORK_END,
}

CURVATURE = {  # GET /api/v1/surfaces/rosenbrock/curvature?x=-1&y=1.5 (a real answer)
    "surface": "rosenbrock",
    "formula": "(1 - x)^2 + 100 (y - x^2)^2",
    "point": [-1.0, 1.5],
    "loss": 29.0,
    "gradient": [196.0, 100.0],
    "hessian": [[602.0, 400.0], [400.0, 200.0]],
    "eigenvalues": [-46.66170262822351, 848.6617026282236],
    "eigenvectors": [[0.524881050044049, -0.8511755889971566], [-0.8511755889971566, -0.524881050044049]],
    "lambda_max": 848.6617026282236,
    "two_over_lambda_max": 0.0023566516478900753,
}

CROSS_ENTROPY = {
    "surface": "insurance_bce",
    "params": {"rows": 875, "val_fraction": 0.2, "batch_size": 32, "seed": 0, "batch": -1},
    "w": 3.0,
    "b": -1.25,
    "n_train": 700,
    "batch_size": 32,
    "iterations_per_epoch": 22,
    "age_mean": 42.668571428571425,
    "age_std": 14.049458991690162,
    "columns": ["age", "affordability", "have_insurance", "age_scaled", "z", "y_hat", "loss"],
    "rows": [
        {
            "age": 22.0,
            "affordability": 1.0,
            "have_insurance": 0.0,
            "age_scaled": -1.4711293467453994,
            "z": -5.663388040236198,
            "y_hat": 0.003458733597892505,
            "loss": 0.0034647288449097635,
        },
        {
            "age": 27.0,
            "affordability": 0.0,
            "have_insurance": 1.0,
            "age_scaled": -1.1152437569189617,
            "z": -4.595731270756885,
            "y_hat": 0.009993948748959036,
            "loss": 4.605775494254278,
        },
    ],
    "mean_loss": 0.7403706783905716,
    "worst": 12,
    "bce": 0.4801681485329082,
    "slide_case": {"y": 1.0, "y_hat": 0.01, "loss": 4.605170185988091},
}

CONVERGENCE_MAP = {
    "kind": "basins",
    "surface": {
        "name": "himmelblau",
        "title": "Himmelblau",
        "dim": 2,
        "formula": "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        "latex": "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        "view": [-5.0, 5.0, -5.0, 5.0],
        "start": [-0.3, -0.9],
        "minima": [
            [3.0, 2.0],
            [-2.805118086952745, 3.131312518250573],
            [-3.779310253377747, -3.283185991286169],
            [3.584428340330492, -1.848126526964404],
        ],
        "params": {},
        "note": (
            "Four equally good minima: where you start, and the optimizer's path, decide which one you reach."
            " Try nudging the start or switching on momentum."
        ),
    },
    "n": 3,
    "steps": 200,
    "tolerance": 0.001,
    "start": None,
    "x": {"name": "x", "scale": "linear", "values": [-5.0, 0.0, 5.0]},
    "y": {"name": "y", "scale": "linear", "values": [-5.0, 0.0, 5.0]},
    "reasons": ["converged", "max_steps", "diverged"],
    "basin_codes": {"other": -1, "not_converged": -2, "diverged": -3},
    "runs": [
        {
            "id": "sgd",
            "optimizer": "sgd",
            "hyperparameters": {
                "lr": 0.01,
                "momentum": 0.0,
                "dampening": 0.0,
                "weight_decay": 0.0,
                "nesterov": False,
            },
        }
    ],
    "maps": [
        {
            "id": "sgd",
            "basin": [[2, 2, 3], [2, 0, 3], [1, 1, 0]],
            "reason": [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
            "steps_taken": [[11, 22, 41], [25, 39, 49], [15, 21, 44]],
            "final_loss": [
                [3.55e-09, 1.1e-09, 1.03e-08],
                [6.52e-10, 1.26e-08, 1.52e-08],
                [1.97e-09, 2.68e-09, 1.62e-08],
            ],
            "summary": {
                "minima": [2, 2, 3, 2],
                "other": 0,
                "not_converged": 0,
                "diverged": 0,
                "converged": 9,
                "median_steps_to_converge": 25.0,
            },
        }
    ],
}
"""POST /api/v1/maps for Himmelblau, n = 3, 200 steps of SGD at lr 0.01 (final losses rounded)."""
