"""The note's four optimizers by name, each with its learning rate alpha and averaging weight beta."""

from __future__ import annotations

import math

import keras

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
