"""The note's four optimizers by name, each with its learning rate alpha and averaging weight beta."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfweek3.training.names import OPTIMIZERS


def make_optimizer(name: str, learning_rate: float = 1e-3,
                   beta: float = 0.9) -> keras.optimizers.Optimizer:
    """The note's four optimizers by name, with learning rate alpha and the averaging weight beta.

    "sgd": W -= alpha dW.  "momentum": SGD with momentum beta (an exponentially
    weighted average of the gradients).  "rmsprop": rho = beta (the average of
    dW^2).  "adam": beta_1 = beta (beta_2 = 0.999 and epsilon = 1e-7 as Keras).
    """
    if not learning_rate > 0 or not math.isfinite(learning_rate):
        raise ValueError(f"learning_rate must be a positive number; got {learning_rate}")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1); got {beta}")
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=beta)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate, rho=beta)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {name!r}")


# The optimizers that read beta through a tensor cast in their update, and where they keep it:
# there it may be a variable. SGD compares `momentum != 0` in Python, so its momentum must stay
# a number (a compiled step keeps the value it was traced with).
VARIABLE_BETA = {"rmsprop": "rho", "adam": "beta_1"}


def hold_beta_in_variable(optimizer: keras.optimizers.Optimizer, name: str) -> tf.Variable | None:
    """Replace the beta of Adam or RMSprop (`name` as make_optimizer's) by a tf.Variable of
    its value and return it: assigning it changes beta without tracing the step again.
    None for "sgd" and "momentum", whose beta stays a float."""
    attribute = VARIABLE_BETA.get(name)
    if attribute is None:
        return None
    variable = tf.Variable(float(getattr(optimizer, attribute)), trainable=False,
                           dtype=tf.float32, name=attribute)
    setattr(optimizer, attribute, variable)
    return variable


def reset_optimizer(optimizer: keras.optimizers.Optimizer) -> None:
    """Put a built optimizer back as it was before its first step: every moment and the
    iteration count to zero (the learning rate too: set it after)."""
    for variable in optimizer.variables:
        variable.assign(keras.ops.zeros_like(variable))


# Keras 3 names a slot variable after the variable it follows and the slot ("linear_1/kernel"
# -> ".../linear_1_kernel_momentum"); Keras has no public way to ask for a variable's slots.
# tests/test_keras_internals.py fails, naming this function, when a release names them otherwise.
SLOTS = {"Adam": ("momentum", "velocity"), "SGD": ("momentum",)}


def optimizer_slots(optimizer: keras.optimizers.Optimizer,
                    variable: keras.Variable) -> list[keras.Variable]:
    """The built optimizer's state for one of its model's variables: Adam's momentum and
    velocity (m and v), SGD's momentum (its velocity; none with momentum 0)."""
    kind = type(optimizer).__name__
    if kind not in SLOTS:
        raise ValueError(f"optimizer: {kind} has no known slots; one of {sorted(SLOTS)}")
    if kind == "SGD" and not optimizer.momentum:
        return []
    names = {v.path.rsplit("/", 1)[-1]: v for v in optimizer.variables}
    stem = variable.path.replace("/", "_")
    missing = [slot for slot in SLOTS[kind] if f"{stem}_{slot}" not in names]
    if missing:
        raise ValueError(f"optimizer: no {', '.join(missing)} for {variable.path} (is it built "
                         f"on the model's trainable variables?)")
    return [names[f"{stem}_{slot}"] for slot in SLOTS[kind]]
