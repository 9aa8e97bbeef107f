"""softmax, hardmax, the cross-entropy loss and SoftmaxClassifier against the note and NumPy."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers_numerics import skip_half_precision_matmul_when_capped

from tfweek3 import SoftmaxClassifier, categorical_cross_entropy, cost, hardmax, softmax
from tfweek3.layers import reference
from tfweek3.layers.softmax import log_softmax

pytestmark = pytest.mark.numerics


def test_softmax_of_the_lecture_example():
    y_hat = softmax(tf.constant([5.0, 2.0, -1.0, 3.0])).numpy()
    np.testing.assert_allclose(y_hat, [0.842, 0.042, 0.002, 0.114], atol=5e-4)
    np.testing.assert_allclose(y_hat.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y_hat, reference.softmax([5.0, 2.0, -1.0, 3.0]), rtol=1e-6)


def test_hardmax_of_the_lecture_example():
    z = tf.constant([5.0, 2.0, -1.0, 3.0])
    np.testing.assert_array_equal(hardmax(softmax(z)).numpy(), [1, 0, 0, 0])
    batch = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    np.testing.assert_array_equal(hardmax(tf.constant(batch)).numpy(), reference.hardmax(batch))


def test_loss_of_the_lecture_example():
    L = categorical_cross_entropy(tf.constant([0.0, 1.0, 0.0, 0.0]), tf.constant([0.3, 0.2, 0.1, 0.4]))
    np.testing.assert_allclose(L.numpy(), -np.log(0.2), rtol=1e-6)


def test_cost_is_the_mean_loss_and_matches_keras():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(8, 4)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 8)]
    J = cost(tf.constant(y), softmax(tf.constant(z))).numpy()
    np.testing.assert_allclose(J, reference.cross_entropy(y, reference.softmax(z)).mean(), rtol=1e-5)
    keras_J = keras.losses.CategoricalCrossentropy(from_logits=True)(y, z).numpy()
    np.testing.assert_allclose(cost(y, tf.constant(z), from_logits=True).numpy(), keras_J, rtol=1e-5)


def test_gradient_of_the_cost_is_y_hat_minus_y_over_m():
    rng = np.random.default_rng(2)
    m = 16
    z = tf.constant(rng.normal(size=(m, 5)))
    y = tf.constant(np.eye(5)[rng.integers(0, 5, m)])
    for from_logits in (False, True):
        with tf.GradientTape() as tape:
            tape.watch(z)
            J = cost(y, z if from_logits else softmax(z), from_logits=from_logits)
        dz = tape.gradient(J, z).numpy()
        np.testing.assert_allclose(dz, (softmax(z).numpy() - y.numpy()) / m, atol=1e-6)
    _, dz_ref = reference.softmax_cost_and_grad(z.numpy(), y.numpy())
    np.testing.assert_allclose(dz, dz_ref, atol=1e-12)
    np.testing.assert_allclose(
        dz_ref, reference.numerical_gradient(lambda z_: reference.softmax_cost_and_grad(z_, y.numpy())[0],
                                             z.numpy()), atol=1e-8)


def test_huge_logits_stay_finite_with_correct_gradients():
    z = tf.constant([[1e4, -1e4, 0.0], [-1e4, 1e4 - 1.0, 1e4]], tf.float32)
    y = tf.constant([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    y_hat = softmax(z)
    assert np.all(np.isfinite(y_hat.numpy()))
    np.testing.assert_allclose(y_hat.numpy()[1], reference.softmax(z.numpy()[1]), atol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(z)
        J = cost(y, z, from_logits=True)
    dz = tape.gradient(J, z).numpy()
    assert np.isfinite(J.numpy())
    # Example 1 puts y_hat = 1 on class 0 while y is class 1: L = 2e4 exactly.
    np.testing.assert_allclose(categorical_cross_entropy(y, z, from_logits=True).numpy(),
                               [2e4, 1.0 + np.log1p(np.exp(-1.0))], rtol=1e-5)
    np.testing.assert_allclose(dz, (reference.softmax(z.numpy()) - y.numpy()) / 2, atol=1e-6)
    np.testing.assert_allclose(log_softmax(z).numpy()[0], [0.0, -2e4, -1e4])


def test_shape_and_dtype_errors():
    with pytest.raises(ValueError, match=r"y.shape=\(2, 3\).*y_hat.shape=\(2, 4\)"):
        categorical_cross_entropy(tf.zeros((2, 3)), tf.zeros((2, 4)))
    with pytest.raises(TypeError, match="z must be a float"):
        softmax(tf.constant([1, 2, 3]))
    with pytest.raises(ValueError, match="num_classes"):
        SoftmaxClassifier(1)


def test_softmax_classifier_is_a_linear_layer_then_softmax():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(5, 7)).astype("float32")
    layer = SoftmaxClassifier(4)
    y_hat = layer(a).numpy()
    W, b = layer.kernel.numpy(), layer.bias.numpy()
    z = a @ W + b
    np.testing.assert_allclose(layer(a, return_logits=True).numpy(), z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_hat, reference.softmax(z), rtol=1e-5, atol=1e-7)
    assert layer.compute_output_shape((None, 7)) == (None, 4)


@skip_half_precision_matmul_when_capped
def test_softmax_classifier_outputs_float32_under_mixed_precision():
    layer = SoftmaxClassifier(3, dtype="mixed_float16")
    y_hat = layer(tf.ones((2, 4)))
    assert y_hat.dtype == tf.float32
    np.testing.assert_allclose(tf.reduce_sum(y_hat, -1).numpy(), 1.0, rtol=1e-6)
