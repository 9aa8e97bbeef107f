"""The cost J and the accuracy of a model, in inference mode (batch norm's moving statistics)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfweek3.layers.softmax import cost
from tfweek3.training.network import loss_forward


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The cost J and the accuracy of `model` on (x, y) with training=False (moving statistics)."""
    fn = compile_evaluate(*loss_forward(model), x.shape[1], y.shape[1])
    loss, share = fn(tf.constant(x, tf.float32), tf.constant(y, tf.float32))
    return {"loss": float(loss), "accuracy": float(share)}


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """The share of examples whose largest output is the true class (one-hot y), training=False.

    training=False matters with batch norm: each example is normalized with the
    layer's moving statistics, not with the other examples of the batch.
    """
    predicted = np.argmax(model(x, training=False).numpy(), axis=1)
    return float(np.mean(predicted == np.argmax(y, axis=1)))


def compile_evaluate(forward, from_logits: bool, input_dim: int, num_classes: int):
    """One compiled call for a whole set, of any number of examples (so no retracing)."""

    @tf.function(input_signature=[
        tf.TensorSpec([None, input_dim], tf.float32),
        tf.TensorSpec([None, num_classes], tf.float32),
    ])
    def evaluate_set(x, y):
        """Cost and accuracy with training=False: batch norm uses its moving averages."""
        out = forward(x, training=False)
        m = tf.cast(tf.shape(x)[0], tf.float32)
        return cost(y, out, from_logits=from_logits), correct(y, out) / m

    return evaluate_set


def correct(y, out):
    """The number of examples whose largest output is the true class (argmax z = argmax y_hat)."""
    hits = tf.equal(tf.argmax(out, axis=-1), tf.argmax(y, axis=-1))
    return tf.reduce_sum(tf.cast(hits, tf.float32))
