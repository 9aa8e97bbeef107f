"""The course network: LINEAR -> BN -> RELU for each hidden layer, then softmax.

The week's assignment trains LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SOFTMAX
with 25 and 12 hidden units. Here each hidden layer can also normalize its
pre-activations z before the RELU, as the note recommends:

    z       = W a_prev            (no + b: see below)
    z_tilde = gamma * z_norm + beta
    a       = relu(z_tilde)

With batch norm the bias b of the hidden layers is useless: z + b - mean(z + b)
= z - mean(z), the mean subtraction cancels it, and beta takes its role. So the
hidden Dense layers have no bias when batch norm is on.

With no hidden layer (hidden_units=()) the network is softmax regression, the
note's generalization of logistic regression to C classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tfweek3.layers.batch_norm import ManualBatchNorm
from tfweek3.layers.softmax import SoftmaxClassifier
from tfweek3.training.names import BATCH_NORMS


def build_network(
    input_dim: int,
    num_classes: int,
    hidden_units: Sequence[int] = (25, 12),
    batch_norm: str | None = "manual",
    seed: int | None = None,
) -> keras.Model:
    """LINEAR -> BN -> RELU per hidden layer, then SoftmaxClassifier; returns probabilities.

    batch_norm: "manual" (ManualBatchNorm, the note's formulas), "keras"
    (keras.layers.BatchNormalization) or None / "none" (the assignment's network).
    seed: the initial weights are drawn from it alone (layer k from seed + k),
    the same for every network of the same shape. None: from Keras's global
    random state, reproducible after `keras.utils.set_random_seed(seed)` (which
    also empties TensorFlow's caches of compiled kernels, a cost a search that
    builds many networks avoids by passing `seed`).
    """
    if batch_norm is None:
        batch_norm = "none"
    if batch_norm not in BATCH_NORMS:
        raise ValueError(f"batch_norm must be one of {BATCH_NORMS} or None; got {batch_norm!r}")
    if int(input_dim) != input_dim or input_dim < 1:
        raise ValueError(f"input_dim must be a positive integer; got {input_dim!r}")
    hidden_units = tuple(hidden_units)
    for units in hidden_units:
        if int(units) != units or units < 1:
            raise ValueError(f"hidden_units must be positive integers; got {hidden_units!r}")

    def glorot(layer: int):
        return "glorot_uniform" if seed is None else keras.initializers.GlorotUniform(seed + layer)

    inputs = keras.Input(shape=(int(input_dim),), name="x")
    a = inputs
    for layer, units in enumerate(hidden_units, start=1):
        a = keras.layers.Dense(int(units), use_bias=batch_norm == "none", name=f"linear_{layer}",
                               kernel_initializer=glorot(layer))(a)
        if batch_norm == "manual":
            a = ManualBatchNorm(name=f"batch_norm_{layer}")(a)
        elif batch_norm == "keras":
            a = keras.layers.BatchNormalization(name=f"batch_norm_{layer}")(a)
        a = keras.layers.ReLU(name=f"relu_{layer}")(a)
    outputs = SoftmaxClassifier(num_classes, kernel_initializer=glorot(len(hidden_units) + 1),
                                name="softmax")(a)
    name = "softmax_regression" if not hidden_units else "course_network"
    return keras.Model(inputs, outputs, name=name)


def logits_model(model: keras.Model) -> keras.Model | None:
    """The same network (same weights) returning z = W a + b instead of softmax(z).

    The training loss is computed from z, the numerically stable way
    (`cost(y, z, from_logits=True)`). Returns None when the model is not a
    functional model ending in a SoftmaxClassifier; then train from probabilities.
    """
    head = model.layers[-1] if model.layers else None
    if not isinstance(head, SoftmaxClassifier) or not hasattr(head, "input"):
        return None
    try:
        z = head(head.input, return_logits=True)
        return keras.Model(model.input, z, name=f"{model.name}_logits")
    except (ValueError, AttributeError):
        return None


def loss_forward(model: keras.Model):
    """The function to compute the cost from, and whether it returns logits.

    The cost from the logits z is the stable form; models without a
    SoftmaxClassifier head are trained from their probabilities.
    """
    forward = logits_model(model)
    return (forward, True) if forward is not None else (model, False)
