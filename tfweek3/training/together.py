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
member's Keras network itself is built only when it is saved.
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
                   on_epoch_end: EpochHook | None = None) -> None:
    """Train the members of `stack` together on `data` (rows of pixels, one-hot labels) for
    `epochs` epochs."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1; got {epochs}")
    if (data.input_dim, data.num_classes) != (stack.input_dim, stack.num_classes):
        raise ValueError(f"data has {data.input_dim} inputs and {data.num_classes} classes; the "
                         f"stack was built for {stack.input_dim} and {stack.num_classes}")
    x, y = tf.constant(data.x_train, tf.float32), tf.constant(data.y_train, tf.float32)
    x_val, y_val = tf.constant(data.x_val, tf.float32), tf.constant(data.y_val, tf.float32)
    training = list(range(len(stack.members)))
    with stopping.deferred():  # a stop is taken between epochs
        for epoch in range(epochs):
            loss, accuracy = stack.train_epoch(x, y, tf.constant(epoch, tf.int64))
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
    `get_weights` / `set_weights` / `save_weights` / `get_build_config` of its Keras network
    (`Member.build`), which is built the first time it is needed."""

    def __init__(self, stack: StackedNetwork, k: int):
        self.stack, self.k = stack, k
        self.stop_training = False
        self._model: keras.Model | None = None

    def get_weights(self) -> list[np.ndarray]:
        return self.stack.member_weights(self.k)

    def keras_model(self) -> keras.Model:
        """The member's course network, with the member's weights when first built."""
        if self._model is None:
            self._model = self.stack.member_model(self.k)
        return self._model

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.keras_model().set_weights(weights)

    def save_weights(self, path: str) -> None:
        self.keras_model().save_weights(path)

    def get_build_config(self) -> dict:
        return self.keras_model().get_build_config()
