"""Code export: Keras and PyTorch scripts that reproduce the playground's training run, not just its config.

Both scripts hold the same layers, activations, output and loss, optimizer and hyperparameters,
learning-rate schedule, dropout, L1/L2 (weights only; L2 in the gradient, L1 as the playground's
proximal step after each update), batch size, epochs and early stopping, AND the run's numbers: the
data to the last bit, the initial weights, every epoch's batch order and every dropout mask, the last
three regenerated from the playground's NumPy generators (:func:`random_numbers_block` says why). The
data is embedded when it has at most ``EMBED_ROWS`` rows; otherwise stand-in data of the same shape is
made and a comment says to load your own (then the run is not reproduced). The PyTorch script equals
the playground's trace to rounding (≤ 1e-9 relative, tests/ml/test_export_reproduces.py); Keras'
optimizers compute some steps differently (where ε goes, Nadam's momentum schedule, decoupled weight
decay), which the Keras script says where it matters (docs/networks.md gives the measured agreement).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.ml.nets import LEAKY_SLOPE, LOSSES, Network
from app.ml.optimizers import OptimizerSpec, get_optimizer, resolve_hyperparameters
from app.ml.regularizers import dropout_rates, resolve_mode
from app.ml.schedules import SCHEDULES
from app.ml.training import TrainConfig, TrainData

EMBED_ROWS = 2_000
SCRIPT_IMPORTS = ['"""', "", "import json", "import math", "import sys", ""]
"""The end of a script's docstring and the standard-library imports every exported script starts with."""

KERAS_ARGUMENTS = (
    ("lr", "learning_rate"),
    ("betas", ("beta_1", "beta_2")),
    ("alpha", "rho"),
    ("rho", "rho"),
    ("momentum", "momentum"),
    ("initial_accumulator_value", "initial_accumulator_value"),
    ("eps", "epsilon"),
    ("centered", "centered"),
    ("nesterov", "nesterov"),
    ("amsgrad", "amsgrad"),
)
"""torch hyperparameter -> Keras argument, in the order Keras' constructors take them. The others have
no Keras counterpart (dampening is noted; lr_decay, momentum_decay, decoupled_weight_decay are dropped);
weight_decay follows last, when it is not zero."""
KERAS_OWN_ARGUMENTS: dict[str, tuple[tuple[str, str | tuple[str, str]], ...]] = {
    "rprop": (("lr", "learning_rate"),),
    "asgd": (("lr", "learning_rate"),),
    "adafactor": (
        ("lr", "learning_rate"),
        ("beta2_decay", "beta_2_decay"),
        ("eps", ("epsilon_1", "epsilon_2")),
        ("d", "clip_threshold"),
    ),
    "lion": (("lr", "learning_rate"), ("betas", ("beta_1", "beta_2"))),
    "schedule_free_sgd": (("lr", "learning_rate"), ("momentum", "momentum")),
    "schedule_free_adamw": (("lr", "learning_rate"), ("betas", ("beta_1", "beta_2")), ("eps", "epsilon")),
    "prodigy": (("betas", ("beta_1", "beta_2")), ("eps", "epsilon")),
}
"""The gradient-only optimizers' arguments where Keras has the optimizer (Lion, Adafactor) or a closest one;
Prodigy's lr multiplies its own estimate d, so Keras' Adam keeps its default learning rate."""
DECOUPLED_DECAY = {"adamw", "lion", "adafactor", "schedule_free_sgd", "schedule_free_adamw"}
"""Optimizers whose weight_decay already shrinks the weights directly, as Keras' weight_decay does."""
TORCH_ACTIVATIONS = {
    "relu": "nn.ReLU()",
    "leaky_relu": f"nn.LeakyReLU({LEAKY_SLOPE})",
    "tanh": "nn.Tanh()",
    "sigmoid": "nn.Sigmoid()",
    "linear": "nn.Identity()",
}
TORCH_LOSSES = {
    "regression": "nn.MSELoss()",
    "binary": "nn.BCEWithLogitsLoss()",
    "multiclass": "nn.CrossEntropyLoss()",
}


def _lr_expression(config: TrainConfig, lr: float) -> str | None:
    """The schedule's closed form as a Python expression in ``t`` (as app.ml.schedules computes it)."""
    spec = SCHEDULES[config.schedule.name]
    return spec.code(lr, config.schedule.resolved())


def _array(values: np.ndarray) -> str:
    """Every value to the last bit (``repr`` of a float round-trips), so the script trains on these rows."""
    return "np.array(" + repr(values.tolist()) + ")"


def _data_block(data: TrainData) -> list[str]:
    has_val = data.X_val is not None
    if data.n_train + (len(data.y_val) if has_val else 0) <= EMBED_ROWS:
        lines = [
            "# The rows the playground trained on (features already standardised with training statistics).",
            f"x_train = {_array(data.X_train)}",
            f"y_train = {_array(data.y_train)}",
        ]
        if has_val:
            lines += [f"x_val = {_array(data.X_val)}", f"y_val = {_array(data.y_val)}"]
        return lines
    n_in = data.X_train.shape[1]
    make_y = (
        f"rng.integers(0, {max(data.n_classes, 2)}, size=n)"
        if data.task != "regression"
        else "rng.normal(size=n)"
    )
    lines = [
        "# Stand-in data of the right shape: replace it with your own",
        "# (standardise the features with statistics of the training rows).",
        "rng = np.random.default_rng(0)",
        f"n = {data.n_train}",
        f"x_train, y_train = rng.normal(size=(n, {n_in})), {make_y}",
    ]
    if has_val:
        lines += [f"n = {len(data.y_val)}", f"x_val, y_val = rng.normal(size=(n, {n_in})), {make_y}"]
    return lines


def _layers(
    config: TrainConfig, data: TrainData
) -> tuple[list[int], list[str], list[float], list[float], list[float]]:
    hidden = list(config.hidden)
    acts = (
        [config.activations] * len(hidden)
        if isinstance(config.activations, str)
        else list(config.activations)
    )
    rates = list(dropout_rates(config.dropout, len(hidden)))
    n_layers = len(hidden) + 1
    l1 = (
        [float(config.l1)] * n_layers if isinstance(config.l1, int | float) else [float(v) for v in config.l1]
    )
    l2 = (
        [float(config.l2)] * n_layers if isinstance(config.l2, int | float) else [float(v) for v in config.l2]
    )
    return hidden, acts, rates, l1, l2


def _network(config: TrainConfig, data: TrainData) -> Network:
    return Network(
        data.X_train.shape[1], config.hidden, config.activations, data.task, max(data.n_classes, 2)
    )


def _first_weight(config: TrainConfig, data: TrainData) -> float:
    """The first weight the playground draws (W[0, 0] of the first layer): the scripts check their NumPy."""
    return float(_network(config, data).init(config.seed)[0])


def random_numbers_block(config: TrainConfig, data: TrainData) -> list[str]:
    """The run's sizes and the playground's random numbers as script code, for both exports.

    Same generators, seeds and calls as :class:`app.ml.training.Training`: ``Network.init`` draws the
    weights from ``default_rng(seed)`` layer by layer as ``(fan_in, fan_out)``; each epoch shuffles with
    ``default_rng(seed + 1).permutation``; each iteration draws one mask per hidden layer with p > 0 from
    ``default_rng(seed + 2).random((rows, units)) >= p`` (kept units scaled by 1 / (1 - p)).
    """
    net = _network(config, data)
    kinds = [a.init for a in net.activations]
    kinds.append(kinds[-1] if kinds else "xavier")
    rates = list(dropout_rates(config.dropout, len(net.hidden)))
    return [
        f"SEED = {config.seed}",
        f"N_TRAIN, BATCH_SIZE, EPOCHS = {data.n_train}, {config.batch_size}, {config.epochs}",
        f"SIZES = {list(net.sizes)!r}  # inputs, hidden units, outputs",
        f"INIT = {kinds!r}  # per dense layer: he N(0, 2 / fan_in), xavier U(+-sqrt(6 / (fan_in + fan_out)))",
        f"DROPOUT = {rates!r}  # per hidden layer",
        "# The playground's random numbers, regenerated with its NumPy generators, seeds and calls: the",
        "# initial weights from default_rng(SEED), each epoch's shuffle from default_rng(SEED + 1), each",
        "# iteration's dropout masks from default_rng(SEED + 2) (the run is too long to embed its masks).",
        "init_rng, shuffle_rng, dropout_rng = (np.random.default_rng(SEED + k) for k in range(3))",
        "",
        "",
        "def initial_weights():",
        '    """W of each dense layer as the playground draws it: fan_in x fan_out, layer by layer."""',
        "    weights = []",
        "    for fan_in, fan_out, kind in zip(SIZES[:-1], SIZES[1:], INIT):",
        "        if kind == 'he':",
        "            weights.append(init_rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out)))",
        "        else:",
        "            limit = math.sqrt(6.0 / (fan_in + fan_out))",
        "            weights.append(init_rng.uniform(-limit, limit, size=(fan_in, fan_out)))",
        "    return weights",
        "",
        "",
        "def dropout_masks(rows):",
        '    """Multipliers per hidden layer: 1 / (1 - p) if kept, 0 if dropped; None at p = 0."""',
        "    if not any(DROPOUT):",
        "        return None",
        "    return [",
        "        (dropout_rng.random((rows, width)) >= p) * (1.0 / (1.0 - p)) if p > 0 else None",
        "        for p, width in zip(DROPOUT, SIZES[1:-1])",
        "    ]",
    ]


# --------------------------------------------------------------------------- Keras


KERAS_STAND_IN = {
    "lbfgs": "# Keras has no L-BFGS. TensorFlow Probability has one for a function, not for model.fit:\n"
    "# pip install tensorflow-probability; tfp.optimizer.lbfgs_minimize(value_and_gradients_function, ...).\n"
    "# This script trains with SGD at the same learning rate as a stand-in: expect another path.",
    "sam": "# Keras 3 has no SAM. TensorFlow's Keras 2 API wraps a model in it: pip install tensorflow;\n"
    "# tf.keras.models.experimental.SharpnessAwareMinimization(model, rho=...). This script trains the\n"
    "# base optimizer (SGD) alone.",
    "polyak": "# Keras has no Polyak step size; this script uses SGD with lr as a fixed step size instead.",
}
"""What the Keras script says for an optimizer that evaluates the function (Keras has none of them)."""
STAND_IN_ARGUMENTS = ("lr", "momentum", "nesterov")
"""The hyperparameters an SGD stand-in takes over (SAM's rho is not SGD's rho)."""


_EPS_ADAM = (
    "# Keras adds epsilon to sqrt(v) before the bias correction, torch (and the playground) to sqrt(v_hat)\n"
    "# after it: Keras' epsilon acts as torch's eps * sqrt(1 - beta_2^t). The losses agree to that\n"
    "# difference (about eps / sqrt(v_hat) of each step), not to the last digit."
)
_EPS_ROOT = (
    "# Keras adds epsilon inside the square root, sqrt(v + eps); torch (and the playground) outside it,\n"
    "# sqrt(v) + eps. The losses agree to that difference, not to the last digit."
)
KERAS_FORMULAS = {
    "SGD": "",
    "Adadelta": "",
    "Adam": _EPS_ADAM,
    "AdamW": _EPS_ADAM,
    "RMSprop": _EPS_ROOT,
    "Adagrad": _EPS_ROOT,
    "Adamax": "# Keras adds epsilon to u after the max, u + eps; torch inside it, max(beta_2 u, |g| + eps).",
    "Nadam": "# Keras' Nadam decays its momentum schedule as 0.96^t, torch's as 0.96^(momentum_decay t)\n"
    "# (momentum_decay 0.004), and adds epsilon differently: expect another path from the first steps.",
}
"""Where a Keras optimizer computes differently from torch's (empty: the same formulas)."""


def _keras_optimizer(spec: OptimizerSpec, h: dict[str, Any], config: TrainConfig) -> tuple[str, list[str]]:
    """``keras.optimizers.<spec.keras>(…)`` with our values, and comment lines on what differs."""
    if spec.evaluating:
        h = {k: v for k, v in h.items() if k in STAND_IN_ARGUMENTS}
        args = [f"{keras}={h[name]!r}" for name, keras in KERAS_ARGUMENTS if name in h]
        return f"keras.optimizers.SGD({', '.join(args)})", [KERAS_STAND_IN[spec.name]]
    notes: list[str] = []
    args: list[str] = []
    for torch_name, keras_name in KERAS_OWN_ARGUMENTS.get(spec.name, KERAS_ARGUMENTS):
        if torch_name not in h:
            continue
        if isinstance(keras_name, tuple):
            args += [f"{k}={v!r}" for k, v in zip(keras_name, h[torch_name], strict=True)]
        else:
            args.append(f"{keras_name}={h[torch_name]!r}")
    if h.get("weight_decay", 0) or spec.keras == "AdamW":  # Keras' AdamW decays by 0.004 unless told
        args.append(f"weight_decay={h.get('weight_decay', 0.0)!r}")
        decoupled = spec.name in DECOUPLED_DECAY or (spec.name == "prodigy" and h["decouple"])
        if not decoupled:
            notes.append(
                "# torch's weight_decay is an L2 term in the gradient; Keras' weight_decay is decoupled."
            )
    if h.get("dampening", 0):
        notes.append(f"# Keras' SGD has no dampening; torch used dampening={h['dampening']!r}.")
    if spec.keras == "SGD" and h.get("momentum", 0) and config.schedule.name != "constant":
        notes.append(
            "# Keras' SGD keeps lr inside its momentum (m = momentum m - lr g), torch outside it\n"
            "# (lr (momentum b + g)): the same steps at a constant learning rate, other ones while a\n"
            "# schedule changes it."
        )
    if spec.keras.lower() != spec.torch_class.lower():
        notes.append(f"# Keras has no {spec.torch_class}; {spec.keras} is the closest built-in optimizer.")
    if spec.name == "prodigy":
        notes.append(
            "# Prodigy's lr scales its own step-size estimate d; Adam keeps its default learning rate."
        )
    if spec.package != "torch":
        notes.append(f"# The playground follows {spec.reference}; the PyTorch export uses it.")
    if KERAS_FORMULAS.get(spec.keras):
        notes.append(KERAS_FORMULAS[spec.keras])
    return f"keras.optimizers.{spec.keras}({', '.join(args)})", notes


KERAS_PROXIMAL = [
    "def l1_proximal_step():",
    '    """L1 as the playground applies it after each update: w = sign(w) max(|w| - lr l1, 0).',
    "",
    "    Not Keras' L1L2 regularizer, which adds the subgradient l1 sign(w) to the gradient, so weights",
    '    jitter around 0 by about lr l1 and rarely become 0; this step sets them to exactly 0."""',
    "    lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))",
    "    for a, layer in zip(l1, dense):",
    "        w, b = layer.get_weights()",
    "        layer.set_weights([np.sign(w) * np.maximum(np.abs(w) - lr * a, 0.0), b])",
    "",
    "",
]
"""L1's proximal step in the Keras script (app.ml.regularizers.WeightPenalty.prox)."""
KERAS_LOSSES = {
    "regression": "keras.losses.MeanSquaredError()",
    "binary": "keras.losses.BinaryCrossentropy(from_logits=True)",
    "multiclass": "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
}
KERAS_METRICS_CODE = {
    "regression": [
        "    logs['rmse'] = math.sqrt(((out - y) ** 2).sum() / y.size)",
        "    logs['r2'] = 1 - ((out - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()",
    ],
    "binary": ["    logs['accuracy'] = float(((out > 0) == y).mean())"],
    "multiclass": ["    logs['accuracy'] = float((out.argmax(1) == y).mean())"],
}


def keras_code(config: TrainConfig, data: TrainData) -> str:
    """A Keras 3 script (float64) that trains as the playground did: its weights, shuffles and masks.

    Keras' own ``fit`` shuffles and draws dropout masks with its own generator, so the script feeds
    the batches itself (``train_on_batch`` in the playground's order) and applies dropout as a
    multiplication by mask inputs drawn like the playground's (``random_numbers_block``). The output
    layer gives logits and the loss takes ``from_logits=True``, as the playground computes it. What
    Keras computes differently (where an optimizer adds ε, …) is said in the script's comments; those
    optimizers agree with the playground only to that difference.
    """
    hidden, acts, rates, l1, l2 = _layers(config, data)
    h = resolve_hyperparameters(config.optimizer, config.hyperparameters)
    task, has_val = data.task, data.X_val is not None
    target = "'int64'" if task == "multiclass" else "'float64').reshape(-1, 1"
    penalized = any(l2)

    def regularizer(i: int) -> str:
        return f", kernel_regularizer=regularizers.L2({l2[i]!r})" if penalized else ""

    lines = [
        '"""Reproduces a run of the gradient-descent playground in Keras 3 (float64).',
        "",
        "The initial weights, the order of the rows in every epoch and every dropout mask are the",
        "playground's (regenerated below with the same NumPy generators and seeds); batches are fed in that",
        "order with train_on_batch and dropout multiplies by the playground's masks. Where Keras' optimizer",
        "computes differently from torch's (and the playground's), a comment below says so.",
        "Run: python this_script.py [losses.json]",
        *SCRIPT_IMPORTS,
        "import keras",
        "import numpy as np",
        "from keras import layers, regularizers",
        "",
        'keras.backend.set_floatx("float64")',
        "",
        *_data_block(data),
        "",
        *random_numbers_block(config, data),
        "",
        "",
        "inputs = keras.Input(shape=(SIZES[0],))",
        "mask_inputs = [keras.Input(shape=(width,)) for p, width in zip(DROPOUT, SIZES[1:-1]) if p > 0]",
        "x, masks_in = inputs, iter(mask_inputs)",
    ]
    for i, (units, act) in enumerate(zip(hidden, acts, strict=True)):
        keras_act = "linear" if act == "leaky_relu" else act
        lines.append(f'x = layers.Dense({units}, activation="{keras_act}"{regularizer(i)})(x)')
        if act == "leaky_relu":
            lines.append(f"x = layers.LeakyReLU(negative_slope={LEAKY_SLOPE})(x)")
        if rates[i]:
            lines.append(
                f"x = layers.Multiply()([x, next(masks_in)])  # dropout {rates[i]!r}: mask / (1 - p)"
            )
    n_out = data.n_classes if task == "multiclass" else 1
    output = LOSSES[task].output
    lines += [
        f"outputs = layers.Dense({n_out}{regularizer(len(acts))})(x)  # logits; the loss applies {output}",
        "model = keras.Model([inputs, *mask_inputs], outputs)",
        "dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]",
        "for layer, w in zip(dense, initial_weights()):  # the playground's initial weights, zero biases",
        "    layer.set_weights([w, np.zeros(w.shape[1])])",
        f"assert dense[0].get_weights()[0][0, 0] == {_first_weight(config, data)!r}, "
        '"NumPy drew other initial weights than the playground: its generator changed"',
        "",
    ]
    opt, notes = _keras_optimizer(get_optimizer(config.optimizer), h, config)
    lines += [
        *notes,
        "",
        "",
        "class BatchMean(keras.losses.Loss):",
        '    """The batch mean of a Keras loss, in float64 to the last digit.',
        "",
        "    Keras 3.15 divides a 'sum_over_batch_size' loss by the batch size with ops.divide_no_nan, which",
        "    computes in float32 (dtypes.result_type(float64, float64, float) is float32): every loss and",
        '    gradient would pass through float32. Summing rows divided by the batch size stays float64."""',
        "",
        "    def __init__(self, loss):",
        '        super().__init__(reduction="sum", name=loss.name)',
        "        self.loss = loss",
        "",
        "    def call(self, y_true, y_pred):",
        "        rows = keras.ops.cast(keras.ops.shape(y_pred)[0], y_pred.dtype)",
        "        return keras.ops.divide(self.loss.call(y_true, y_pred), rows)",
        "",
        "",
        f"loss_fn = BatchMean({KERAS_LOSSES[task]})",
        f"model.compile(optimizer={opt}, loss=loss_fn)",
        "",
        "",
        "def tensors(x, y):",
        f"    return np.asarray(x, dtype='float64'), np.asarray(y, dtype={target})",
        "",
        "",
        f"l1, l2 = {l1!r}, {l2!r}  # per dense layer, on the kernels only",
        "",
        "",
        "def penalty():",
        '    """The L2 term Keras adds to the loss it reports (the playground reports the data loss)."""',
        "    kernels = [layer.get_weights()[0] for layer in dense]",
        "    return sum(b * (w**2).sum() for b, w in zip(l2, kernels))",
        "",
        "",
        *(KERAS_PROXIMAL if any(l1) else []),
        "def evaluate(x, y):",
        '    """Loss and metrics without dropout (every mask 1) on a whole split, as the playground."""',
        "    ones = [np.ones((len(x), m.shape[1])) for m in mask_inputs]",
        "    out = np.asarray(model.predict_on_batch([x, *ones]))",
        "    logs = {'loss': float(keras.ops.convert_to_numpy(loss_fn(y, out)))}",
        *KERAS_METRICS_CODE[task],
        "    return logs",
        "",
        "",
    ]
    expr = _lr_expression(config, float(h["lr"]))
    schedule = []
    if expr is not None:
        lines += ["def lr_at(t):", f"    return {expr}", "", ""]
        t = "epoch - 1" if config.schedule_unit == "epoch" else "step"
        schedule = [f"        model.optimizer.learning_rate.assign(lr_at({t}))  # t = {t} (from 0)"]
    minus = " - before" if penalized else ""
    lines += [
        "x_tr, y_tr = tensors(x_train, y_train)",
        *(["x_va, y_va = tensors(x_val, y_val)"] if has_val else []),
        *_epoch_loop(
            config,
            data,
            [
                *schedule,
                *(
                    ["        before = penalty()  # at the weights the batch loss is computed with"]
                    if penalized
                    else []
                ),
                "        feed = [x_tr[rows], *(m for m in masks or [] if m is not None)]",
                f"        loss = model.train_on_batch(feed, y_tr[rows], return_dict=True)['loss']{minus}",
                *(["        l1_proximal_step()"] if any(l1) else []),
            ],
            ("model.get_weights()", "model.set_weights(best_state)"),
        ),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- PyTorch


def torch_kwargs(h: dict[str, Any], spec: OptimizerSpec) -> str:
    """Keyword arguments as the reference takes them: Adafactor's default eps1 is None (machine epsilon),
    Prodigy's unbounded growth_rate is float('inf')."""
    values = dict(h)
    if spec.name == "adafactor" and values["eps"][0] == float(np.finfo(np.float64).eps):
        values["eps"] = (None, values["eps"][1])
    if spec.name == "prodigy" and values["growth_rate"] is None:
        values["growth_rate"] = math.inf

    def show(v: Any) -> str:
        if isinstance(v, float) and math.isinf(v):
            return 'float("inf")'
        return repr(tuple(v)) if isinstance(v, tuple | list) else repr(v)

    return ", ".join(f"{k}={show(v)}" for k, v in values.items())


SAM_CLASS = '''

class SAM(torch.optim.Optimizer):
    """Sharpness-aware minimisation, as davda54/sam (github.com/davda54/sam, MIT; Foret et al. 2021)."""

    def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
        super().__init__(params, dict(rho=rho, adaptive=adaptive, **kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups

    @torch.no_grad()
    def first_step(self):
        grads = [((torch.abs(p) if g["adaptive"] else 1.0) * p.grad).norm(p=2)
                 for g in self.param_groups for p in g["params"] if p.grad is not None]
        grad_norm = torch.norm(torch.stack(grads), p=2)
        for group in self.param_groups:
            scale = group["rho"] / (grad_norm + 1e-12)
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.state[p]["old_p"] = p.data.clone()
                p.add_((torch.pow(p, 2) if group["adaptive"] else 1.0) * p.grad * scale.to(p))
        self.zero_grad()

    @torch.no_grad()
    def second_step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.data = self.state[p]["old_p"]
        self.base_optimizer.step()
        self.zero_grad()
'''.splitlines()

POLYAK_CLASS = '''

class Polyak(torch.optim.Optimizer):
    """Polyak step size, capped (SPS_max, Loizou et al. 2021): min((f - f_star) / (c |g|^2), lr)."""

    def __init__(self, params, lr=1.0, c=1.0, f_star=0.0):
        super().__init__(params, dict(lr=lr, c=c, f_star=f_star))

    @torch.no_grad()
    def step(self, loss):
        group = self.param_groups[0]
        grads = [p.grad for p in group["params"] if p.grad is not None]
        squared = float(sum((g * g).sum() for g in grads))
        gap = max(float(loss) - group["f_star"], 0.0)
        size = min(gap / (group["c"] * squared), group["lr"]) if squared > 0 else 0.0
        for p in group["params"]:
            if p.grad is not None:
                p.add_(p.grad, alpha=-size)
'''.splitlines()


def _torch_optimizer(spec: OptimizerSpec, h: dict[str, Any]) -> list[str]:
    """The line that makes the optimizer, after the class it needs when torch.optim has none."""
    if spec.name == "sam":
        base = {k: v for k, v in h.items() if k not in ("rho", "adaptive")}
        return [
            *SAM_CLASS,
            "",
            f"optimizer = SAM(model.parameters(), torch.optim.SGD, rho={h['rho']!r}, "
            f"adaptive={h['adaptive']!r}, {torch_kwargs(base, spec)})",
        ]
    if spec.name == "polyak":
        h = {
            **h,
            "f_star": 0.0 if h["f_star"] is None else h["f_star"],
        }  # as the training: no loss is below 0
        return [*POLYAK_CLASS, "", f"optimizer = Polyak(model.parameters(), {torch_kwargs(h, spec)})"]
    line = f"optimizer = {spec.module}.{spec.torch_class}(model.parameters(), {torch_kwargs(h, spec)})"
    if spec.name == "lbfgs":
        return ["# L-BFGS evaluates the loss several times per step: step() takes a closure.", line]
    return [line]


TORCH_UPDATE = {
    "default": [
        "        optimizer.zero_grad()",
        "        loss = loss_fn(model(xb, masks), yb)",
        "        (loss + penalty()).backward()",
        "        optimizer.step()",
    ],
    "lbfgs": [
        "",
        "        def closure():  # every evaluation of the step sees the same batch and dropout masks",
        "            optimizer.zero_grad()",
        "            objective = loss_fn(model(xb, masks), yb) + penalty()",
        "            objective.backward()",
        "            return objective",
        "",
        "        with torch.no_grad():",
        "            loss = loss_fn(model(xb, masks), yb)  # the batch loss before the update, as reported",
        "        optimizer.step(closure)",
    ],
    "sam": [
        "        loss = loss_fn(model(xb, masks), yb)",
        "        (loss + penalty()).backward()",
        "        optimizer.first_step()  # to the worst nearby point",
        "        (loss_fn(model(xb, masks), yb) + penalty()).backward()",
        "        optimizer.second_step()  # back, then the SGD step with the gradient found there",
    ],
    "polyak": [
        "        optimizer.zero_grad()",
        "        loss = loss_fn(model(xb, masks), yb)",
        "        objective = loss + penalty()",
        "        objective.backward()",
        "        optimizer.step(objective.item())",
    ],
}
"""The body of the batch loop for each optimizer (default: backward, then step)."""

TORCH_METRICS = {
    "regression": [
        "        logs['rmse'] = math.sqrt(((out - y) ** 2).sum().item() / y.numel())",
        "        logs['r2'] = 1 - ((out - y) ** 2).sum().item() / ((y - y.mean()) ** 2).sum().item()",
    ],
    "binary": ["        logs['accuracy'] = ((out > 0).double() == y).double().mean().item()"],
    "multiclass": ["        logs['accuracy'] = (out.argmax(1) == y).double().mean().item()"],
}


def _torch_schedule(config: TrainConfig, lr: float) -> list[str]:
    """``lr_at(t)`` and the line that sets it before each update (as the playground's chain reads it)."""
    expr = _lr_expression(config, lr)
    if expr is None:
        return []
    t = "epoch - 1" if config.schedule_unit == "epoch" else "step"
    return [
        f"        for group in optimizer.param_groups:  # the schedule, t = {t} (from 0)",
        f"            group['lr'] = lr_at({t})",
    ]


def _early_stopping(config: TrainConfig, restore: str, state: tuple[str, str]) -> tuple[list[str], list[str]]:
    """Keras' EarlyStopping rule as app.ml.regularizers.EarlyStopping applies it: setup, epoch-end lines."""
    es = config.early_stopping
    if es is None:
        return [], []
    sign = "<" if resolve_mode(es) == "min" else ">"
    delta = "-" if sign == "<" else "+"
    improved = f"current {sign} best {delta} {es.min_delta!r}"
    baseline = (
        ""
        if es.baseline is None
        else f" if current {sign} {es.baseline!r} {delta} {es.min_delta!r} else wait"
    )
    setup = [
        "# Early stopping as keras.callbacks.EarlyStopping decides it (epochs counted from 1):",
        f"# monitor {es.monitor}, patience {es.patience}, min_delta {es.min_delta!r}, "
        f"restore_best_weights {es.restore_best_weights}, start_from_epoch {es.start_from_epoch}.",
        f"best, best_epoch, wait, best_state = {'math.inf' if sign == '<' else '-math.inf'}, 0, 0, None",
    ]
    keep = state[0] if es.restore_best_weights else "None"
    check = [
        f"    current = logs['{es.monitor}']",
        f"    if epoch > {es.start_from_epoch}:",
        f"        best_state = {keep} if best_state is None else best_state",
        "        wait += 1",
        f"        if {improved}:",
        f"            best, best_epoch, best_state = current, epoch, {keep}",
        f"            wait = 0{baseline}",
        f"        elif wait >= {es.patience} and epoch > 1:",
        "            end = {'reason': 'early_stop', 'epoch': epoch, 'best_epoch': best_epoch}",
    ]
    if es.restore_best_weights:
        check += [
            f"            {state[1]}  # the weights of the best epoch",
            f"            end.update(restored=True, **{restore})",
        ]
    check += [
        "            print(f'Epoch {epoch}: early stopping; best epoch {best_epoch}')",
        "            break",
    ]
    return setup, check


def _epoch_loop(config: TrainConfig, data: TrainData, batch: list[str], state: tuple[str, str]) -> list[str]:
    """The playground's epochs and iterations as script lines, around ``batch``: the lines of one update.

    ``batch`` sees ``rows`` (this iteration's training rows) and ``masks`` (its dropout multipliers) and
    sets ``loss``, the data loss of the batch before the update; ``state`` is how the script copies the
    weights and loads them back (for restore_best_weights). Both exports share this loop, so they make
    the same draws in the same order as :meth:`app.ml.training.Training._iterate`.
    """
    has_val = data.X_val is not None
    restore = "{'loss_after_restore': evaluate(x_tr, y_tr)['loss']" + (
        ", 'val_loss_after_restore': evaluate(x_va, y_va)['loss']}" if has_val else "}"
    )
    setup, check = _early_stopping(config, restore, state)
    return [
        *setup,
        "history, end, step = [], {'reason': 'done', 'epoch': EPOCHS}, 0",
        "for epoch in range(1, EPOCHS + 1):",
        "    order = shuffle_rng.permutation(N_TRAIN)  # the playground's shuffle of this epoch",
        "    total = 0.0",
        "    for start in range(0, N_TRAIN, BATCH_SIZE):",
        "        rows = order[start : start + BATCH_SIZE]",
        "        masks = dropout_masks(len(rows))",
        *batch,
        "        total, step = total + loss * len(rows), step + 1",
        "    logs = {'loss': total / N_TRAIN}  # the mean batch loss, dropout active (Keras' \"loss\")",
        "    logs.update({k: v for k, v in evaluate(x_tr, y_tr).items() if k != 'loss'})",
        *(["    logs.update({'val_' + k: v for k, v in evaluate(x_va, y_va).items()})"] if has_val else []),
        "    if not all(math.isfinite(v) for v in logs.values()):",
        "        end = {'reason': 'diverged', 'epoch': epoch - 1}",
        "        break",
        "    history.append({'epoch': epoch, **logs})",
        "    steps = -(-N_TRAIN // BATCH_SIZE)",
        "    shown = ' - '.join(f'{k}: {v:.4f}' for k, v in logs.items())",
        "    print(f'Epoch {epoch}/{EPOCHS} {steps}/{steps} - {shown}')",
        *check,
        "",
        "if __name__ == '__main__' and len(sys.argv) > 1:",
        "    with open(sys.argv[1], 'w') as out:",
        "        json.dump({'epochs': history, 'end': end}, out, indent=1)",
        "",
    ]


def pytorch_code(config: TrainConfig, data: TrainData) -> str:
    """A PyTorch script (float64) that reproduces the playground's run of ``config`` on ``data``.

    It starts from the weights the playground drew, shuffles every epoch and drops units in every
    iteration exactly as the playground did, so its per-epoch losses are the trace's to rounding. The
    random numbers are regenerated, not embedded: the same NumPy generators (``default_rng``) and seeds
    and the same calls as :mod:`app.ml` (:func:`random_numbers_block`) — embedding every epoch's order and
    every mask would make the script as long as the run (masks: iterations × rows × units), while a
    NumPy install is there wherever torch is. The script checks the first weight it draws against the
    playground's, so a NumPy whose generator ever changed stops it with a message instead of a quiet
    mismatch. Run as ``python script.py out.json`` it also writes the per-epoch logs as JSON.
    """
    _, acts, _, l1, l2 = _layers(config, data)
    h = resolve_hyperparameters(config.optimizer, config.hyperparameters)
    spec = get_optimizer(config.optimizer)
    schedule_free = spec.package == "schedulefree"
    task = data.task
    has_val = data.X_val is not None
    target = "torch.long" if task == "multiclass" else "torch.float64"
    shape = "" if task == "multiclass" else ".reshape(-1, 1)"
    lines = [
        '"""Reproduces a run of the gradient-descent playground in PyTorch (float64).',
        "",
        "The initial weights, the order of the rows in every epoch and every dropout mask are the",
        "playground's (regenerated below with the same NumPy generators and seeds), so the per-epoch losses",
        "printed here are the playground's to about 9 significant digits (only the order of float",
        "roundings differs). Run: python this_script.py [losses.json]",
        *SCRIPT_IMPORTS[:2],
        "import copy",
        *SCRIPT_IMPORTS[2:],
        "import numpy as np",
        "import torch",
        *(
            [f"import {spec.module}  # pip install {spec.package}=={spec.version} (the reference)"]
            if spec.package != "torch"
            else []
        ),
        "from torch import nn",
        "",
        "torch.set_default_dtype(torch.float64)",
        "",
        *_data_block(data),
        "",
        *random_numbers_block(config, data),
        "",
        "",
        "class Net(nn.Module):",
        '    """Dense layers; dropout multiplies a hidden layer\'s output by the playground\'s masks."""',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(SIZES[:-1], SIZES[1:]))",
        f"        self.activations = [{', '.join(TORCH_ACTIVATIONS[a] for a in acts)}]",
        "",
        "    def forward(self, x, masks=None):",
        "        for i, (linear, activation) in enumerate(zip(self.linears, self.activations)):",
        "            x = activation(linear(x))",
        "            if masks is not None and masks[i] is not None:",
        "                x = x * masks[i]",
        "        return self.linears[-1](x)",
        "",
        "",
        "model = Net()",
        "with torch.no_grad():  # the playground's initial weights (its W is torch's W.T)",
        "    for linear, w in zip(model.linears, initial_weights()):",
        "        linear.weight.copy_(torch.from_numpy(w.T))",
        "        linear.bias.zero_()",
        f"assert model.linears[0].weight[0, 0].item() == {_first_weight(config, data)!r}, "
        '"NumPy drew other initial weights than the playground: its generator changed"',
        "",
        f"l1, l2 = {l1!r}, {l2!r}  # per dense layer, on weights only (Keras' L1L2 convention)",
        "# L2 joins the gradient; L1 is a proximal (soft-threshold) step after each update, as in the",
        "# playground: it sets weights to exactly 0 (Keras' L1L2 adds the subgradient l1*sign(w) instead).",
        f"loss_fn = {TORCH_LOSSES[task]}  # on logits: the output activation is inside the loss",
        *_torch_optimizer(spec, h),
        *(
            ["optimizer.train()  # schedule-free: train mode while stepping, eval mode to evaluate"]
            if schedule_free
            else []
        ),
    ]
    expr = _lr_expression(config, float(h["lr"]))
    if expr is not None:
        lines += ["", "", "def lr_at(t):", f"    return {expr}"]
    penalty_sum = "b * (layer.weight**2).sum()" if any(l2) else "0.0"
    proximal = [
        "",
        "",
        "@torch.no_grad()",
        "def l1_proximal_step():",
        '    """L1 as the playground applies it after each update: w = sign(w) max(|w| - lr l1, 0)."""',
        "    lr = optimizer.param_groups[0]['lr']",
        "    for a, layer in zip(l1, model.linears):",
        "        w = layer.weight",
        "        w.copy_(torch.sign(w) * torch.clamp(w.abs() - lr * a, min=0.0))",
    ]
    lines += [
        "",
        "",
        "def tensors(x, y):",
        f"    return torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype={target}){shape}",
        "",
        "",
        "def penalty():",
        '    """The L2 term of the objective (L1 is the proximal step after each update, not here)."""',
        "    total = 0.0",
        "    for b, layer in zip(l2, model.linears):",
        f"        total = total + {penalty_sum}",
        "    return total",
        *(proximal if any(l1) else []),
        "",
        "",
        "def evaluate(x, y):",
        '    """Loss and metrics in evaluation mode (no dropout) on a whole split (as the playground)."""',
        *(["    optimizer.eval()  # the weights become the averaged point x"] if schedule_free else []),
        "    with torch.no_grad():",
        "        out = model(x)",
        "        logs = {'loss': loss_fn(out, y).item()}",
        *TORCH_METRICS[task],
        *(["    optimizer.train()"] if schedule_free else []),
        "    return logs",
        "",
        "",
        "x_tr, y_tr = tensors(x_train, y_train)",
        *(["x_va, y_va = tensors(x_val, y_val)"] if has_val else []),
        *_epoch_loop(
            config,
            data,
            [
                "        xb, yb = x_tr[torch.from_numpy(rows)], y_tr[torch.from_numpy(rows)]",
                "        masks = masks and [None if m is None else torch.from_numpy(m) for m in masks]",
                *_torch_schedule(config, float(h["lr"])),
                *TORCH_UPDATE.get(config.optimizer, TORCH_UPDATE["default"]),
                *(["        l1_proximal_step()"] if any(l1) else []),
                "        loss = loss.item()",
            ],
            ("copy.deepcopy(model.state_dict())", "model.load_state_dict(best_state)"),
        ),
    ]
    return "\n".join(lines)
