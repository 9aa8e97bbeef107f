"""Eager training loops: many batch-norm layers of different shapes, step after step, no retracing."""

import logging

import keras
import numpy as np
import tensorflow as tf

from tfweek3 import ManualBatchNorm


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


def test_eager_steps_trace_each_layer_once_and_warn_about_nothing():
    model = many_shapes_network()
    rng = np.random.default_rng(0)
    optimizer = keras.optimizers.SGD(0.01)
    records = _Records()
    tf.get_logger().addHandler(records)
    try:
        for _ in range(6):  # eager: no tf.function around the step, as in the course's loop
            x = tf.constant(rng.normal(size=(8, 12, 12, 3)).astype("float32"))
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x, training=True)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
    finally:
        tf.get_logger().removeHandler(records)
    assert not [m for m in records.messages if "retracing" in m], records.messages
    batch_norms = [layer for layer in model.layers if isinstance(layer, ManualBatchNorm)]
    assert len(batch_norms) == 9
    for layer in batch_norms:  # one trace per layer: later steps reuse the compiled passes
        assert layer._passes.forward.experimental_get_tracing_count() == 1
        assert layer._passes.backward.experimental_get_tracing_count() == 1
