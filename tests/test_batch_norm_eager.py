"""Eager training loops: many batch-norm layers of different shapes, step after step, no retracing."""

import logging

import keras
import numpy as np
import tensorflow as tf

from tfweek3 import ManualBatchNorm
from tfweek3.layers import batch_norm_passes


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def many_shapes_network():
    """Conv and Dense blocks: nine ManualBatchNorm layers, each seeing its own shape."""
    layers = [keras.Input((12, 12, 3))]
    for filters in (4, 5, 6, 7, 8):
        layers += [keras.layers.Conv2D(filters, 3, padding="same"), ManualBatchNorm(),
                   keras.layers.ReLU()]
    layers.append(keras.layers.GlobalAveragePooling2D())
    for units in (9, 10, 11, 12):
        layers += [keras.layers.Dense(units), ManualBatchNorm(), keras.layers.ReLU()]
    return keras.Sequential(layers + [keras.layers.Dense(1)])


def test_eager_steps_warn_about_nothing_and_stop_tracing_after_the_first():
    model = many_shapes_network()
    rng = np.random.default_rng(0)
    optimizer = keras.optimizers.SGD(0.01)
    passes = (batch_norm_passes.compiled_forward, batch_norm_passes.compiled_backward)
    records = _Records()
    tf.get_logger().addHandler(records)
    before = [f.experimental_get_tracing_count() for f in passes]
    traces = []
    try:
        for _ in range(6):  # eager: no tf.function around the step, as in the course's loop
            x = tf.constant(rng.normal(size=(8, 12, 12, 3)).astype("float32"))
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x, training=True)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            traces.append([f.experimental_get_tracing_count() - b for f, b in zip(passes, before)])
    finally:
        tf.get_logger().removeHandler(records)
    assert not [m for m in records.messages if "retracing" in m], records.messages
    assert sum(isinstance(layer, ManualBatchNorm) for layer in model.layers) == 9
    # Nine layers, nine shapes: a few traces in the first step (a shape-generic one per
    # rank of the passes' view), none after it.
    assert all(count <= 4 for count in traces[0]), traces[0]
    assert traces[-1] == traces[0], traces
