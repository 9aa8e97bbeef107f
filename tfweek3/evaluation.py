"""Accuracy of a trained model on a set of examples, in inference mode."""

from __future__ import annotations

import keras
import numpy as np


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """The share of examples whose largest output is the true class (one-hot y), training=False.

    training=False matters with batch norm: each example is normalized with the
    layer's moving statistics, not with the other examples of the batch.
    """
    predicted = np.argmax(model(x, training=False).numpy(), axis=1)
    return float(np.mean(predicted == np.argmax(y, axis=1)))
