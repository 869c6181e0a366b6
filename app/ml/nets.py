"""Small dense networks (MLPs): activations and losses as registries, forward and backward on one flat vector.

All parameters of a network live in ONE float64 vector ``(P,)`` so the optimizers of
:mod:`app.ml.optimizers` (which take one array) train a network exactly as they descend a surface.
Layer ``l`` owns ``W_l`` of shape ``(fan_in, fan_out)`` stored row-major, then ``b_l`` of shape
``(fan_out,)``; :meth:`Network.views` returns reshaped views into the vector (no copies), and
:meth:`Network.backward` writes the gradient into the same layout.  ``z = a @ W + b``, so a torch
``nn.Linear`` weight is ``W.T``.

Outputs and losses are fixed by the task, as in Keras' usual pairings, and the loss is computed from
the logits so it never takes ``log(0)``: regression = linear output + mean squared error, binary =
sigmoid + binary cross-entropy, multiclass = softmax + cross-entropy.  Losses are means over the batch
(and, for MSE, over outputs), as ``torch.nn`` and Keras reduce them.  Everything is vectorised over the
batch; the only Python loop is over layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from app.ml.errors import ConfigError, UnknownNameError

MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 32
MAX_INPUTS = 64
MAX_CLASSES = 10
LEAKY_SLOPE = 0.01
"""Negative slope of leaky_relu: torch's default (Keras' LeakyReLU layer defaults differ; export sets it)."""

Array = np.ndarray


# --------------------------------------------------------------------------- activations


class Activation(NamedTuple):
    """``fn(z) -> a`` and ``der(z, a) -> da/dz`` (given both, so tanh and sigmoid reuse ``a``)."""

    fn: Callable[[Array], Array]
    der: Callable[[Array, Array], Array]
    init: str  # "he" (relu family) or "xavier"


def sigmoid(z: Array) -> Array:
    """Logistic function in the tanh form: no overflow warning for large |z|."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _leaky(z: Array) -> Array:
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_der(z: Array, a: Array) -> Array:
    return np.where(z > 0, 1.0, LEAKY_SLOPE)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(lambda z: np.maximum(z, 0.0), lambda z, a: z > 0, "he"),
    "leaky_relu": Activation(_leaky, _leaky_der, "he"),
    "tanh": Activation(np.tanh, lambda z, a: 1.0 - a * a, "xavier"),
    "sigmoid": Activation(sigmoid, lambda z, a: a * (1.0 - a), "xavier"),
    "linear": Activation(lambda z: z, lambda z, a: np.ones_like(z), "xavier"),
}


# --------------------------------------------------------------------------- losses


class Loss(NamedTuple):
    """A task's output function and its loss, both from the logits ``z`` of the last layer."""

    name: str  # the Keras loss name
    output: str  # the output activation that turns logits into predictions
    value_and_grad: Callable[[Array, Array], tuple[float, Array]]  # (mean loss, dloss/dz)
    predict: Callable[[Array], Array]


def _mse(z: Array, y: Array) -> tuple[float, Array]:
    diff = z - y
    return float(np.vdot(diff, diff)) / diff.size, diff * (2.0 / diff.size)


def binary_cross_entropy_rows(z: Array, y: Array) -> Array:
    """Each row's ``-(y log ŷ + (1 - y) log(1 - ŷ))`` with ``ŷ = sigmoid(z)``, from the logits ``z``.

    Computed as ``softplus(z) - y z`` (the same number), which is finite for any z: ``logaddexp(0, z)``
    never overflows, so no probability is ever clipped, unlike a loss on sigmoid outputs. The slide's
    case: ŷ = 0.01 for y = 1 costs ``-ln 0.01 = 4.605``. Shapes broadcast; the mean of the rows is the BCE.
    """
    loss = np.logaddexp(0.0, z)
    loss -= y * z
    return loss


def _bce(z: Array, y: Array) -> tuple[float, Array]:
    """``mean(softplus(z) - y z)`` = BCE(sigmoid(z), y); gradient ``(sigmoid(z) - y)/N``."""
    loss = binary_cross_entropy_rows(z, y)
    return float(loss.sum()) / z.shape[0], (sigmoid(z) - y) * (1.0 / z.shape[0])


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _cross_entropy(z: Array, y: Array) -> tuple[float, Array]:
    """Log-sum-exp after subtracting the row max; ``y`` holds integer class labels."""
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.log(total).sum() - shifted[rows, y].sum()) / n
    grad = e / total
    grad[rows, y] -= 1.0
    return loss, grad * (1.0 / n)


KERAS_EPSILON = 1e-7
"""Keras' ``backend.epsilon()``: a probability is clipped to ``[eps, 1 - eps]`` before its log is taken."""


def binary_cross_entropy(y: Array | float, y_hat: Array | float) -> Array:
    """Each row's loss ``-(y ln ŷ + (1 - y) ln(1 - ŷ))`` from a probability ŷ, the slide's formula.

    Per row, not averaged: a table shows what each prediction costs (the mean over a batch is the
    ``binary_crossentropy`` the network trains on).  A confident wrong answer costs most: ŷ = 0.01 for
    y = 1 gives ``-ln 0.01 = 4.605``, the slide's 4.6; ŷ = 0.99 costs 0.01.  ŷ is clipped to
    ``[1e-7, 1 - 1e-7]`` as Keras clips it, so ŷ = 0 or 1 gives a finite loss (at most 16.12).
    """
    p = np.clip(np.asarray(y_hat, dtype=np.float64), KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    y = np.asarray(y, dtype=np.float64)
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


LOSSES: dict[str, Loss] = {
    "regression": Loss("mean_squared_error", "linear", _mse, lambda z: z),
    "binary": Loss("binary_crossentropy", "sigmoid", _bce, sigmoid),
    "multiclass": Loss("sparse_categorical_crossentropy", "softmax", _cross_entropy, _softmax),
}
TASKS = tuple(LOSSES)


# --------------------------------------------------------------------------- the network


class Cache(NamedTuple):
    """What backward needs from a forward pass: the inputs of each layer, pre-activations, logits."""

    inputs: list[Array]  # input of each dense layer (after dropout)
    pre: list[Array]  # z of each hidden layer
    post: list[Array]  # activation of each hidden layer before dropout
    multipliers: Sequence[Array | None] | None
    logits: Array
    views: list[tuple[Array, Array]]  # (W, b) of each layer at the parameters used


def _as_names(value: str | Sequence[str], count: int) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) * count
    names = tuple(value)
    if len(names) != count:
        raise ConfigError(
            f"give one activation per hidden layer ({count}), got {len(names)}", field="activations"
        )
    return names


class Network:
    """An MLP ``n_inputs -> hidden... -> n_outputs``: shapes, init, forward and backward on a flat vector."""

    def __init__(
        self,
        n_inputs: int,
        hidden: Sequence[int],
        activations: str | Sequence[str] = "relu",
        task: str = "binary",
        n_classes: int = 2,
    ) -> None:
        hidden = tuple(hidden)
        if not 1 <= n_inputs <= MAX_INPUTS:
            raise ConfigError(f"a network takes 1 to {MAX_INPUTS} input features, got {n_inputs}", "n_inputs")
        if len(hidden) > MAX_HIDDEN_LAYERS:
            raise ConfigError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(hidden)}", "hidden")
        for i, units in enumerate(hidden):
            if (
                isinstance(units, bool)
                or not isinstance(units, int | np.integer)
                or not 1 <= units <= MAX_UNITS
            ):
                raise ConfigError(f"a hidden layer has 1 to {MAX_UNITS} units, got {units!r}", f"hidden.{i}")
        names = _as_names(activations, len(hidden))
        for i, name in enumerate(names):
            if name not in ACTIVATIONS:
                raise UnknownNameError("activation", name, ACTIVATIONS, field=f"activations.{i}")
        if task not in LOSSES:
            raise UnknownNameError("task", task, LOSSES, field="task")
        if task == "multiclass" and not 2 <= n_classes <= MAX_CLASSES:
            raise ConfigError(
                f"a multiclass task has 2 to {MAX_CLASSES} classes, got {n_classes}", "n_classes"
            )
        self.n_inputs = int(n_inputs)
        self.hidden = tuple(int(u) for u in hidden)
        self.activation_names = names
        self.activations = [ACTIVATIONS[n] for n in names]
        self.task = task
        self.loss = LOSSES[task]
        self.n_classes = n_classes if task == "multiclass" else (2 if task == "binary" else 0)
        self.n_outputs = n_classes if task == "multiclass" else 1
        self.sizes = (self.n_inputs, *self.hidden, self.n_outputs)
        self.layers: list[tuple[int, int, int, int]] = []  # (w_start, b_start, b_stop, fan_in)
        offset = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            b_start = offset + fan_in * fan_out
            self.layers.append((offset, b_start, b_start + fan_out, fan_in))
            offset = b_start + fan_out
        self.size = offset
        self._backward_plan = [
            (layer, (w_start, b_start, b_stop, (fan_in, fan_out)))
            for layer, ((w_start, b_start, b_stop, fan_in), fan_out) in enumerate(
                zip(self.layers, self.sizes[1:], strict=True)
            )
        ][::-1]
        self._view_plan = [(w, b, e, shape) for _, (w, b, e, shape) in self._backward_plan[::-1]]
        self.weight_mask = np.zeros(self.size, dtype=bool)
        for w_start, b_start, _, _ in self.layers:
            self.weight_mask[w_start:b_start] = True

    def __repr__(self) -> str:
        inner = "-".join(str(s) for s in self.sizes)
        return f"Network({inner}, {'/'.join(self.activation_names) or 'no hidden'}, {self.task})"

    @property
    def n_layers(self) -> int:
        """Number of dense layers (hidden layers + the output layer)."""
        return len(self.layers)

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """The tensors packed in the flat vector, in order: ``(fan_in, fan_out)`` W, then ``(fan_out,)`` b,
        per layer; per-tensor optimizer rules (Adafactor's factored second moment) need them."""
        return tuple(
            shape
            for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True)
            for shape in ((fan_in, fan_out), (fan_out,))
        )

    def layer_slices(self, layer: int) -> tuple[slice, slice]:
        """Where ``W`` and ``b`` of dense layer ``layer`` live in the flat vector."""
        w_start, b_start, b_stop, _ = self.layers[layer]
        return slice(w_start, b_start), slice(b_start, b_stop)

    def views(self, params: Array) -> list[tuple[Array, Array]]:
        """``(W, b)`` of each dense layer as views into ``params`` (writing to them writes the vector)."""
        return [(params[w:b].reshape(shape), params[b:e]) for w, b, e, shape in self._view_plan]

    def init(self, seed: int = 0) -> Array:
        """He normal (relu family) or Glorot uniform (tanh/sigmoid/linear) weights, zero biases.

        He: ``N(0, 2 / fan_in)`` keeps the activation variance through ReLUs; Glorot:
        ``U(±sqrt(6 / (fan_in + fan_out)))`` keeps it through symmetric squashing functions. The output
        layer follows the last hidden activation (Glorot if there is none).
        """
        rng = np.random.default_rng(seed)
        params = np.zeros(self.size)
        kinds = [a.init for a in self.activations]
        kinds.append(kinds[-1] if kinds else "xavier")
        for (w, _), kind in zip(self.views(params), kinds, strict=True):
            fan_in, fan_out = w.shape
            if kind == "he":
                w[...] = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=w.shape)
            else:
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                w[...] = rng.uniform(-limit, limit, size=w.shape)
        return params

    def targets(self, y: Array) -> Array:
        """Targets in the shape the loss wants: ``(N, 1)`` floats, or ``(N,)`` integer class labels."""
        y = np.asarray(y)
        if self.task == "multiclass":
            return y.reshape(-1).astype(np.intp)
        return y.reshape(-1, 1).astype(np.float64)

    # ------------------------------------------------------------------ passes
    def forward(self, params: Array, X: Array, multipliers: Sequence[Array | None] | None = None) -> Cache:
        """One forward pass; ``multipliers[l]`` (dropout mask / keep probability) scales hidden layer l."""
        views = self.views(params)
        inputs, pre, post = [X], [], []
        a = X
        for i, act in enumerate(self.activations):
            w, b = views[i]
            z = a @ w
            z += b
            a = act.fn(z)
            pre.append(z)
            post.append(a)
            if multipliers is not None and multipliers[i] is not None:
                a = a * multipliers[i]
            inputs.append(a)
        w, b = views[-1]
        logits = a @ w
        logits += b
        return Cache(inputs, pre, post, multipliers, logits, views)

    def backward(self, params: Array, cache: Cache, y: Array) -> tuple[float, Array]:
        """Mean data loss and its gradient as a new flat vector (``y`` as from :meth:`targets`)."""
        loss, dz = self.loss.value_and_grad(cache.logits, y)
        grad = np.empty(self.size)
        mult = cache.multipliers
        for layer, (w_start, b_start, b_stop, w_shape) in self._backward_plan:
            np.matmul(cache.inputs[layer].T, dz, out=grad[w_start:b_start].reshape(w_shape))
            np.add.reduce(dz, axis=0, out=grad[b_start:b_stop])
            if layer:
                h = layer - 1
                da = dz @ cache.views[layer][0].T
                if mult is not None and mult[h] is not None:
                    da *= mult[h]
                dz = da * self.activations[h].der(cache.pre[h], cache.post[h])
        return loss, grad

    def loss_and_grad(
        self, params: Array, X: Array, y: Array, multipliers: Sequence[Array | None] | None = None
    ) -> tuple[float, Array]:
        """Data loss and flat gradient on a batch (``y`` as from :meth:`targets`)."""
        return self.backward(params, self.forward(params, X, multipliers), y)

    def evaluate(self, params: Array, X: Array, y: Array) -> tuple[float, Array]:
        """Data loss in evaluation mode (no dropout) and the logits, without a gradient."""
        logits = self.forward(params, X).logits
        loss, _ = self.loss.value_and_grad(logits, y)
        return loss, logits

    def predict(self, params: Array, X: Array) -> Array:
        """Evaluation-mode predictions: values or P(class 1) as ``(N,)``; class probabilities ``(N, C)``."""
        out = self.loss.predict(self.forward(params, X).logits)
        return out[:, 0] if self.task != "multiclass" else out


def predicted_labels(task: str, logits: Array) -> Array:
    """Class labels from logits: ``z > 0`` for binary (P > 0.5), argmax for multiclass."""
    if task == "binary":
        return (logits[:, 0] > 0).astype(np.intp)
    return np.argmax(logits, axis=1)
