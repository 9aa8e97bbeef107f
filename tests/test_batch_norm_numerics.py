"""float32 ManualBatchNorm is no farther from float64 than Keras's float32 layer.

Each float32 layer is compared with a float64 run of the same computation, never
with the other float32 layer: two correct float32 implementations differ by
rounding. benchmarks/bench_batch_norm_numerics.py prints the same figures.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers_numerics import keras_application

from tfweek3 import ManualBatchNorm, swap_batch_norm

pytestmark = pytest.mark.numerics

SHAPE = (16, 16, 16, 8)  # every unit's statistics over m = 4096 values


def one_training_step(layer_class, dtype, loc, scale):
    """z_tilde, dz, dgamma, dbeta and the moving statistics (momentum 0: the batch's)."""
    rng = np.random.default_rng(0)
    layer = layer_class(momentum=0.0, dtype=dtype)
    layer.build(SHAPE)
    layer.gamma.assign(rng.uniform(0.5, 1.5, SHAPE[-1]))
    layer.beta.assign(rng.normal(0, 1, SHAPE[-1]))
    z = tf.constant(rng.normal(loc, scale, SHAPE).astype("float32"), dtype)
    dz_tilde = tf.constant(rng.normal(0, 1, SHAPE).astype("float32"), dtype)
    with tf.GradientTape() as tape:
        tape.watch(z)
        z_tilde = layer(z, training=True)
    grads = tape.gradient(z_tilde, [z, layer.gamma, layer.beta], dz_tilde)
    values = [z_tilde, *grads, layer.moving_mean, layer.moving_variance]
    return [np.asarray(v, np.float64) for v in values]


@pytest.mark.parametrize("loc,scale", [(100.0, 1.0), (0.5, 0.1), (0.0, 1.0)])
def test_single_layer_is_no_farther_from_float64_than_keras(loc, scale):
    names = ["z_tilde", "dz", "dgamma", "dbeta", "moving_mean", "moving_variance"]
    exact = one_training_step(keras.layers.BatchNormalization, "float64", loc, scale)
    errors = {}
    for label, layer_class in (("manual", ManualBatchNorm), ("keras", keras.layers.BatchNormalization)):
        values = one_training_step(layer_class, "float32", loc, scale)
        errors[label] = [np.max(np.abs(v - e)) for v, e in zip(values, exact)]
    for name, manual, keras_error in zip(names, errors["manual"], errors["keras"]):
        assert manual <= keras_error, (name, manual, keras_error)


def training_step(model, x, y):
    """Outputs, gradients of the cross-entropy and moving means after one training step."""
    with tf.GradientTape() as tape:
        logits = model(tf.constant(x, model.compute_dtype), training=True)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tape.gradient(loss, model.trainable_variables)
    means = [layer.moving_mean for layer in model.layers if hasattr(layer, "moving_mean")]
    return [np.asarray(logits, np.float64), [np.asarray(g, np.float64) for g in grads],
            [np.asarray(m, np.float64) for m in means]]


def relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def network_errors(constructor, size, batch, **kwargs):
    """Output error, median gradient error and median moving-mean error of both float32 layers."""
    keras.utils.set_random_seed(0)
    model32 = keras_application(constructor, "float32", input_shape=(size, size, 3), **kwargs)
    model64 = keras_application(constructor, "float64", input_shape=(size, size, 3), **kwargs)
    model64.set_weights([w.astype(np.float64) for w in model32.get_weights()])
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (batch, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int32)
    out64, grads64, means64 = training_step(model64, x, y)
    # Gradients that are 0 in exact arithmetic (a convolution's bias just before batch
    # norm) are rounding noise in both precisions: they are left out of the median.
    largest = max(np.linalg.norm(g) for g in grads64)
    counted = [i for i, g in enumerate(grads64) if np.linalg.norm(g) > 1e-6 * largest]
    errors = {}
    for label, model in (("keras", model32), ("manual", swap_batch_norm(model32))):
        out, grads, means = training_step(model, x, y)
        errors[label] = (
            np.max(np.abs(out - out64)) / np.max(np.abs(out64)),
            np.median([relative(grads[i], grads64[i]) for i in counted]),
            np.median([relative(m, e) for m, e in zip(means, means64)]),
        )
    keras.backend.clear_session()
    return errors


def assert_no_farther_than_keras(errors):
    for name, manual, keras_error in zip(["output", "gradients", "moving_mean"],
                                         errors["manual"], errors["keras"]):
        assert manual <= keras_error, (name, manual, keras_error)


def test_deep_network_is_no_farther_from_float64_than_keras():
    # MobileNetV2: 52 batch-norm layers, small enough for the default suite.
    assert_no_farther_than_keras(
        network_errors(keras.applications.MobileNetV2, 64, 4, alpha=0.35))


@pytest.mark.slow
@pytest.mark.parametrize("constructor", [keras.applications.ResNet50,
                                         keras.applications.EfficientNetB0,
                                         keras.applications.DenseNet121])
def test_deeper_networks_are_no_farther_from_float64_than_keras(constructor):
    assert_no_farther_than_keras(network_errors(constructor, 64, 8))
