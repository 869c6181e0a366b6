"""Code export: runnable Keras and PyTorch scripts that reproduce a training configuration.

The scripts hold the same layers, activations, initialisers, output and loss, optimizer and
hyperparameters, learning-rate schedule, dropout, L1/L2 (Keras' ``L1L2`` convention, weights only),
batch size, epochs and early stopping.  The data the network saw (already standardised) is embedded
when it has at most ``EMBED_ROWS`` rows; otherwise random stand-in data of the same shape is made and
a comment says to load your own.  The PyTorch script follows our arithmetic exactly (same optimizer
algorithms); Keras' optimizers differ in small details (eps placement, decoupled weight decay), which
the script notes where it matters.  L1 is where the two scripts part: the playground applies L1 as a
proximal (soft-threshold) step after each update (:mod:`app.ml.regularizers`); the PyTorch script does
the same, while Keras' ``L1L2`` adds the plain subgradient ``l1 sign(w)`` to the loss, so its weights
hover near 0 instead of reaching it, and the Keras script says so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.ml.nets import LEAKY_SLOPE, LOSSES
from app.ml.optimizers import OptimizerSpec, get_optimizer, resolve_hyperparameters
from app.ml.regularizers import dropout_rates, resolve_mode
from app.ml.schedules import SCHEDULES
from app.ml.training import TrainConfig, TrainData

EMBED_ROWS = 2_000

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
    return "np.array(" + repr(np.round(values, 8).tolist()) + ")"


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


def _keras_optimizer(spec: OptimizerSpec, h: dict[str, Any]) -> tuple[str, list[str]]:
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
    if spec.keras.lower() != spec.torch_class.lower():
        notes.append(f"# Keras has no {spec.torch_class}; {spec.keras} is the closest built-in optimizer.")
    if spec.name == "prodigy":
        notes.append(
            "# Prodigy's lr scales its own step-size estimate d; Adam keeps its default learning rate."
        )
    if spec.package != "torch":
        notes.append(f"# The playground follows {spec.reference}; the PyTorch export uses it.")
    notes.append("# Keras puts eps in slightly different places than torch: trajectories agree only roughly.")
    return f"keras.optimizers.{spec.keras}({', '.join(args)})", notes


def keras_code(config: TrainConfig, data: TrainData) -> str:
    """A runnable Keras 3 script: ``model.fit(x, y, batch_size=…, epochs=…, validation_data=…)``."""
    hidden, acts, rates, l1, l2 = _layers(config, data)
    h = resolve_hyperparameters(config.optimizer, config.hyperparameters)
    loss = LOSSES[data.task]
    lines = [
        "import math",
        "",
        "import keras",
        "import numpy as np",
        "from keras import layers, regularizers",
        "",
    ]
    lines += _data_block(data)
    lines += ["", f"keras.utils.set_random_seed({config.seed})", "model = keras.Sequential(["]
    lines.append(f"    keras.Input(shape=({data.X_train.shape[1]},)),")
    for i, (units, act) in enumerate(zip(hidden, acts, strict=True)):
        init = "he_normal" if act in ("relu", "leaky_relu") else "glorot_uniform"
        keras_act = "linear" if act == "leaky_relu" else act
        lines.append(
            f'    layers.Dense({units}, activation="{keras_act}", kernel_initializer="{init}", '
            f"kernel_regularizer=regularizers.L1L2(l1={l1[i]!r}, l2={l2[i]!r})),"
        )
        if act == "leaky_relu":
            lines.append(f"    layers.LeakyReLU(negative_slope={LEAKY_SLOPE}),")
        if rates[i]:
            lines.append(f"    layers.Dropout({rates[i]!r}),")
    n_out = data.n_classes if data.task == "multiclass" else 1
    lines.append(
        f'    layers.Dense({n_out}, activation="{loss.output}", '
        f"kernel_regularizer=regularizers.L1L2(l1={l1[-1]!r}, l2={l2[-1]!r})),"
    )
    lines.append("])")
    if any(l1):
        lines += [
            "# L1 differs from the playground: Keras adds the subgradient l1 * sign(w) to the loss's",
            "# gradient, so weights jitter around 0 by about lr * l1 and rarely become exactly 0; the",
            "# playground (and the PyTorch export) applies a proximal step after each update instead,",
            "# w = sign(w) * max(|w| - lr * l1, 0), which sets weights to exactly 0.",
        ]
    opt, notes = _keras_optimizer(get_optimizer(config.optimizer), h)
    lines += notes
    metrics = (
        '[keras.metrics.RootMeanSquaredError(name="rmse"), keras.metrics.R2Score(name="r2")]'
        if data.task == "regression"
        else '["accuracy"]'
    )
    lines.append(f'model.compile(optimizer={opt}, loss="{loss.name}", metrics={metrics})')
    lines += ["", "callbacks = []"]
    expr = _lr_expression(config, float(h["lr"]))
    if expr is not None:
        hook = (
            "on_epoch_begin(self, epoch, logs=None)"
            if config.schedule_unit == "epoch"
            else ("on_train_batch_begin(self, batch, logs=None)")
        )
        lines += [
            "",
            "def lr_at(t):",
            f"    return {expr}",
            "",
            "",
            "class Schedule(keras.callbacks.Callback):",
            f'    """The learning rate per {config.schedule_unit} (t counts from 0)."""',
            "",
            "    t = 0",
            "",
            f"    def {hook}:",
            "        self.model.optimizer.learning_rate.assign(lr_at(self.t))",
            "        self.t += 1",
            "",
            "",
            "callbacks.append(Schedule())",
        ]
    es = config.early_stopping
    if es is not None:
        lines.append(
            "callbacks.append(keras.callbacks.EarlyStopping("
            f'monitor="{es.monitor}", min_delta={es.min_delta!r}, '
            f'patience={es.patience}, mode="{resolve_mode(es)}", baseline={es.baseline!r}, '
            f"restore_best_weights={es.restore_best_weights!r}, start_from_epoch={es.start_from_epoch}))"
        )
    val = ", validation_data=(x_val, y_val)" if data.X_val is not None else ""
    lines += [
        "",
        f"history = model.fit(x_train, y_train, batch_size={config.batch_size}, epochs={config.epochs}{val}, "
        "shuffle=True, callbacks=callbacks)",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- PyTorch


def _torch_kwargs(h: dict[str, Any], spec: OptimizerSpec) -> str:
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
            f"adaptive={h['adaptive']!r}, {_torch_kwargs(base, spec)})",
        ]
    if spec.name == "polyak":
        h = {
            **h,
            "f_star": 0.0 if h["f_star"] is None else h["f_star"],
        }  # as the training: no loss is below 0
        return [*POLYAK_CLASS, "", f"optimizer = Polyak(model.parameters(), {_torch_kwargs(h, spec)})"]
    line = f"optimizer = {spec.module}.{spec.torch_class}(model.parameters(), {_torch_kwargs(h, spec)})"
    if spec.name == "lbfgs":
        return ["# L-BFGS evaluates the loss several times per step: step() takes a closure.", line]
    return [line]


TORCH_UPDATE = {
    "default": [
        "        optimizer.zero_grad()",
        "        loss = loss_fn(model(xb), yb)",
        "        (loss + penalty()).backward()",
        "        optimizer.step()",
    ],
    "lbfgs": [
        "        def closure():",
        "            optimizer.zero_grad()",
        "            objective = loss_fn(model(xb), yb) + penalty()",
        "            objective.backward()",
        "            return objective",
        "",
        "        with torch.no_grad():",
        "            loss = loss_fn(model(xb), yb)  # the batch loss before the update, as reported",
        "        optimizer.step(closure)  # (the playground keeps one dropout mask for a step's calls)",
    ],
    "sam": [
        "        loss = loss_fn(model(xb), yb)",
        "        (loss + penalty()).backward()",
        "        optimizer.first_step()  # to the worst nearby point",
        "        (loss_fn(model(xb), yb) + penalty()).backward()",
        "        optimizer.second_step()  # back, then the SGD step with the gradient found there",
    ],
    "polyak": [
        "        optimizer.zero_grad()",
        "        loss = loss_fn(model(xb), yb)",
        "        objective = loss + penalty()",
        "        objective.backward()",
        "        optimizer.step(objective.item())",
    ],
}
"""The body of the batch loop for each optimizer (default: backward, then step)."""


def pytorch_code(config: TrainConfig, data: TrainData) -> str:
    """A runnable PyTorch script: ``nn.Sequential``, the torch.optim class with our hyperparameters,
    a DataLoader loop with Keras-style epoch lines, L1/L2 on the weights, dropout and early stopping."""
    hidden, acts, rates, l1, l2 = _layers(config, data)
    h = resolve_hyperparameters(config.optimizer, config.hyperparameters)
    spec = get_optimizer(config.optimizer)
    schedule_free = spec.package == "schedulefree"
    sizes = [data.X_train.shape[1], *hidden]
    n_out = data.n_classes if data.task == "multiclass" else 1
    lines = [
        "import copy",
        "import math",
        "",
        "import numpy as np",
        "import torch",
    ]
    if spec.package != "torch":
        lines.append(f"import {spec.module}  # pip install {spec.package}=={spec.version} (the reference)")
    lines += [
        "from torch import nn",
        "from torch.utils.data import DataLoader, TensorDataset",
        "",
    ]
    lines += _data_block(data)
    lines += [
        "",
        f"torch.manual_seed({config.seed})",
        "torch.set_default_dtype(torch.float64)",
        "layers = []",
    ]
    for i, act in enumerate(acts):
        init = (
            'nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")'
            if act in ("relu", "leaky_relu")
            else "nn.init.xavier_uniform_(linear.weight)"
        )
        lines += [
            f"linear = nn.Linear({sizes[i]}, {sizes[i + 1]})",
            init,
            "nn.init.zeros_(linear.bias)",
            f"layers += [linear, {TORCH_ACTIVATIONS[act]}]",
        ]
        if rates[i]:
            lines.append(f"layers.append(nn.Dropout({rates[i]!r}))")
    last_init = acts[-1] if acts else "linear"
    lines += [
        f"linear = nn.Linear({sizes[-1]}, {n_out})",
        'nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")'
        if last_init in ("relu", "leaky_relu")
        else "nn.init.xavier_uniform_(linear.weight)",
        "nn.init.zeros_(linear.bias)",
        "layers.append(linear)",
        "model = nn.Sequential(*layers)",
        "linears = [m for m in model if isinstance(m, nn.Linear)]",
        f"l1, l2 = {l1!r}, {l2!r}  # per dense layer, on weights only (Keras' L1L2 convention)",
        "# L2 joins the gradient; L1 is a proximal (soft-threshold) step after each update, as in the",
        "# playground: it sets weights to exactly 0 (Keras' L1L2 adds the subgradient l1*sign(w) instead).",
        f"loss_fn = {TORCH_LOSSES[data.task]}  # on logits: the output activation is inside the loss",
        *_torch_optimizer(get_optimizer(config.optimizer), h),
    ]
    if schedule_free:
        lines.append("optimizer.train()  # schedule-free: train mode while stepping, eval mode to evaluate")
    expr = _lr_expression(config, float(h["lr"]))
    if expr is not None:
        lines += [
            "",
            "",
            "def lr_at(t):",
            f"    return {expr}",
            "",
            "",
            f"scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: lr_at(t) / {h['lr']!r})"
            f"  # stepped once per {config.schedule_unit}",
        ]
    target = "torch.long" if data.task == "multiclass" else "torch.float64"
    shape = "" if data.task == "multiclass" else ".reshape(-1, 1)"
    lines += [
        "",
        "",
        "def tensors(x, y):",
        f"    return torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype={target}){shape}",
        "",
        "",
        "def penalty():",
        "    total = 0.0",
        "    for b, layer in zip(l2, linears):",
        "        total = total + b * (layer.weight**2).sum()",
        "    return total",
        "",
        "",
        "@torch.no_grad()",
        "def l1_proximal_step(lr):",
        "    for a, layer in zip(l1, linears):",
        "        w = layer.weight",
        "        w.copy_(torch.sign(w) * torch.clamp(w.abs() - lr * a, min=0.0))",
        "",
        "",
        "def evaluate(x, y):",
        "    model.eval()",
        *(["    optimizer.eval()  # the weights become the averaged point x"] if schedule_free else []),
        "    with torch.no_grad():",
        "        out = model(x)",
        "        logs = {'loss': loss_fn(out, y).item()}",
    ]
    if data.task == "regression":
        lines += [
            "        logs['rmse'] = torch.sqrt(((out - y) ** 2).mean()).item()",
            "        logs['r2'] = 1 - ((out - y) ** 2).sum().item() / ((y - y.mean()) ** 2).sum().item()",
        ]
    elif data.task == "binary":
        lines.append("        logs['accuracy'] = ((out > 0).double() == y).double().mean().item()")
    else:
        lines.append("        logs['accuracy'] = (out.argmax(1) == y).double().mean().item()")
    lines += [
        "    model.train()",
        *(["    optimizer.train()"] if schedule_free else []),
        "    return logs",
        "",
        "",
        "x_tr, y_tr = tensors(x_train, y_train)",
        f"loader = DataLoader(TensorDataset(x_tr, y_tr), batch_size={config.batch_size}, shuffle=True)",
    ]
    has_val = data.X_val is not None
    if has_val:
        lines.append("x_va, y_va = tensors(x_val, y_val)")
    es = config.early_stopping
    if es is not None:
        sign = "<" if resolve_mode(es) == "min" else ">"
        delta = "-" if sign == "<" else "+"
        lines += [
            f"best, best_epoch, wait, best_state = {'math.inf' if sign == '<' else '-math.inf'}, 0, 0, None",
            "",
        ]
    lines += [
        f"EPOCHS = {config.epochs}",
        "for epoch in range(1, EPOCHS + 1):",
        "    seen, total = 0, 0.0",
        "    for xb, yb in loader:",
        *TORCH_UPDATE.get(config.optimizer, TORCH_UPDATE["default"]),
        "        l1_proximal_step(optimizer.param_groups[0]['lr'])",
    ]
    if expr is not None and config.schedule_unit == "iteration":
        lines.append("        scheduler.step()")
    lines += [
        "        seen, total = seen + len(xb), total + loss.item() * len(xb)",
    ]
    if expr is not None and config.schedule_unit == "epoch":
        lines.append("    scheduler.step()")
    lines += [
        "    logs = {'loss': total / seen}",
        "    logs.update({k: v for k, v in evaluate(x_tr, y_tr).items() if k != 'loss'})",
    ]
    if has_val:
        lines.append("    logs.update({'val_' + k: v for k, v in evaluate(x_va, y_va).items()})")
    lines.append(
        "    print(f'Epoch {epoch}/{EPOCHS} {len(loader)}/{len(loader)} - ' "
        "+ ' - '.join(f'{k}: {v:.4f}' for k, v in logs.items()))"
    )
    if es is not None:
        lines += [
            f"    current = logs['{es.monitor}']",
            f"    if epoch > {es.start_from_epoch}:",
            "        if best_state is None:",
            "            best_state = copy.deepcopy(model.state_dict())",
            "        wait += 1",
            f"        if current {sign} best {delta} {es.min_delta!r}:",
            "            best, best_epoch = current, epoch",
            "            best_state = copy.deepcopy(model.state_dict())",
            "            wait = 0"
            if es.baseline is None
            else f"            wait = 0 if current {sign} {es.baseline!r} {delta} {es.min_delta!r} else wait",
            f"        elif wait >= {es.patience} and epoch > 1:",
            "            print(f'Early stopping: best epoch {best_epoch}')",
        ]
        if es.restore_best_weights:
            lines.append("            model.load_state_dict(best_state)")
        lines.append("            break")
    lines.append("")
    return "\n".join(lines)
