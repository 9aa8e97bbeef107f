"""train_together: K course networks trained at once, epoch by epoch, as `train` trains one.

    stack = StackedNetwork(members, data.input_dim, data.num_classes)
    train_together(stack, data, epochs=10, on_epoch_end=report)

The members of a `StackedNetwork` (stacked.py) train together: each epoch trains every
member still in the running on its own mini-batches, then evaluates them all
on the validation set (training=False), and calls `on_epoch_end(k, epoch,
logs)` for each member k still training, with the logs `train` gives one
network (loss, accuracy, val_loss, val_accuracy, learning_rate; epoch numbered
from 1). It returns True to stop member k there (a pruned trial, one its
caller's callbacks stopped); a member whose loss or val_loss is no longer a
finite number is stopped after its logs are handed over (it diverged: the
caller records it). Ctrl-C is honoured between epochs, as in `train`.

`MemberView` stands in for member k's Keras model where the callbacks of a
trial look at one (its `stop_training`, its weights, where to save them): the
member's Keras network is filled from the stack only when it is saved.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfweek3.training import stopping
from tfweek3.training.data import Dataset
from tfweek3.training.stacked import StackedNetwork

EpochHook = Callable[[int, int, dict[str, float]], bool | None]


def train_together(stack: StackedNetwork, data: Dataset, epochs: int, *,
                   initial_epoch: int = 0, on_epoch_end: EpochHook | None = None) -> None:
    """Train the members of `stack` together on `data` (rows of pixels, one-hot labels) up to
    epoch `epochs`, from epoch `initial_epoch` + 1 (as `train`: a member continued from a
    network trained that far, with that epoch's order of the examples)."""
    if not 0 <= initial_epoch < epochs:
        raise ValueError(f"epochs must be above initial_epoch ({initial_epoch}) and at least 1; "
                         f"got {epochs}")
    if (data.input_dim, data.num_classes) != (stack.input_dim, stack.num_classes):
        raise ValueError(f"data has {data.input_dim} inputs and {data.num_classes} classes; the "
                         f"stack was built for {stack.input_dim} and {stack.num_classes}")
    x, y = tf.constant(data.x_train, tf.float32), tf.constant(data.y_train, tf.float32)
    x_val, y_val = tf.constant(data.x_val, tf.float32), tf.constant(data.y_val, tf.float32)
    training = list(range(len(stack.members)))
    with stopping.deferred():  # a stop is taken between epochs
        for epoch in range(initial_epoch, epochs):
            loss, accuracy = stack.train_epoch(x, y, epoch)
            val_loss, val_accuracy = stack.evaluate(x_val, y_val)
            columns = {"loss": loss, "accuracy": accuracy, "val_loss": val_loss,
                       "val_accuracy": val_accuracy, "learning_rate": stack.learning_rate}
            columns = {name: np.asarray(values, np.float64) for name, values in columns.items()}
            for k in list(training):
                logs = {name: float(values[k]) for name, values in columns.items()}
                stop = on_epoch_end is not None and on_epoch_end(k, epoch + 1, logs)
                if stop or not (math.isfinite(logs["loss"]) and math.isfinite(logs["val_loss"])):
                    stack.stop(k)
                    training.remove(k)
            if not training:
                break
            stopping.check()


class MemberView:
    """Member k of a stack as a trial's callbacks see its model: `stop_training`, and
    `get_weights` / `set_weights` / `save_weights` / `get_build_config` of its Keras network.

    The network is `vessel()`, a compiled network of the member's architecture (the
    search's own, kept from trial to trial: building one costs more than an epoch),
    filled from the stack when it is saved; weights given to `set_weights` (a best
    epoch's) are kept here until then. A view is good until its stack is reset.
    """

    def __init__(self, stack: StackedNetwork, k: int, vessel: Callable[[], keras.Model]):
        self.stack, self.k, self.vessel = stack, k, vessel
        self.stop_training = False
        self._weights: list[np.ndarray] | None = None
        self._build_config: dict | None = None

    def get_weights(self) -> list[np.ndarray]:
        return self.stack.member_weights(self.k) if self._weights is None else self._weights

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self._weights = [np.asarray(w) for w in weights]

    def save_weights(self, path: str) -> None:
        model = self.vessel()
        self.stack.copy_member_to(self.k, model, self._weights)
        model.save_weights(path)
        self._build_config = model.get_build_config()

    def get_build_config(self) -> dict:
        if self._build_config is None:
            self._build_config = self.vessel().get_build_config()
        return self._build_config
