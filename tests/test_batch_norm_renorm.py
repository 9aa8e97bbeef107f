"""Batch renormalization: the formulas in float64 NumPy, Keras's layer, autodiff and finite differences."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers_numerics import float32_tolerance

from tfweek3 import ManualBatchNorm
from tfweek3.layers import reference

pytestmark = pytest.mark.numerics

EPSILON = 1e-3
RENORM_VARIABLES = ("moving_mean", "moving_variance", "moving_stddev", "renorm_mean",
                    "renorm_stddev")


def renorm_layer(shape, axis=-1, dtype="float64", layer_class=ManualBatchNorm, **kwargs):
    """A built renorm layer whose moving statistics are far from the data's, so r != 1, d != 0."""
    rng = np.random.default_rng(0)
    layer = layer_class(axis=axis, renorm=True, epsilon=EPSILON, momentum=0.9,
                        renorm_momentum=0.8, dtype=dtype, **kwargs)
    layer.build(shape)
    channels = shape[axis]
    layer.gamma.assign(rng.uniform(0.5, 1.5, channels))
    layer.beta.assign(rng.normal(0, 0.5, channels))
    layer.moving_mean.assign(rng.normal(0, 1, channels))
    variance = rng.uniform(0.5, 2.0, channels)
    layer.moving_variance.assign(variance)
    layer.moving_stddev.assign(np.sqrt(variance))
    layer.renorm_mean.assign(rng.normal(1, 1, channels))
    layer.renorm_stddev.assign(rng.uniform(0.5, 3.0, channels))
    return layer


def numpy_renorm(z, layer, clipping):
    """The module's formulas in float64: r, d, z_tilde and the five moving averages."""
    rmin, rmax, dmax = (clipping.get(k) for k in ("rmin", "rmax", "dmax"))
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    renorm_mean, renorm_stddev = layer.renorm_mean.numpy(), layer.renorm_stddev.numpy()
    _, cache = reference.batch_norm_forward(z, 1.0, 0.0, EPSILON)
    mu, sigma2, z_norm = cache["mu"], cache["sigma2"], cache["z_norm"]
    sigma = np.sqrt(sigma2 + EPSILON)
    r = np.clip(sigma / renorm_stddev, rmin if rmin is not None else -np.inf,
                rmax if rmax is not None else np.inf)
    d = (mu - renorm_mean) / renorm_stddev
    if dmax is not None:
        d = np.clip(d, -dmax, dmax)
    moving_stddev = reference.update_moving(layer.moving_stddev.numpy(), sigma, 0.9)
    moving = {
        "renorm_mean": reference.update_moving(renorm_mean, mu, 0.8),
        "renorm_stddev": reference.update_moving(renorm_stddev, sigma, 0.8),
        "moving_mean": reference.update_moving(layer.moving_mean.numpy(), mu, 0.9),
        "moving_stddev": moving_stddev,
        "moving_variance": np.maximum(moving_stddev ** 2 - EPSILON, 0.0),
    }
    return r, d, gamma * (r * z_norm + d) + beta, moving


CLIPPINGS = [{}, {"rmax": 1.2, "rmin": 0.8, "dmax": 0.3}, {"rmax": 2.0}]


@pytest.mark.parametrize("clipping", CLIPPINGS)
def test_training_step_equals_the_formulas_in_float64(clipping):
    shape = (12, 4)
    z = np.random.default_rng(1).normal(2.0, 1.5, shape)
    layer = renorm_layer(shape, renorm_clipping=clipping)
    r, d, expected, moving = numpy_renorm(z, layer, clipping)
    if clipping:  # the bounds bite for some units
        r_free, d_free, _, _ = numpy_renorm(z, layer, {})
        assert np.any(r != r_free) or np.any(d != d_free)
    z_tilde = layer(tf.constant(z), training=True).numpy()
    np.testing.assert_allclose(z_tilde, expected, rtol=1e-12, atol=1e-12)
    for name in RENORM_VARIABLES:
        np.testing.assert_allclose(getattr(layer, name).numpy(), moving[name], rtol=1e-12,
                                   err_msg=name)


def test_unclipped_training_normalizes_with_the_renorm_statistics():
    # r * z_norm + d = (z - renorm_mean) / renorm_stddev: test time's normalization in training.
    shape = (9, 3)
    z = np.random.default_rng(2).normal(-1.0, 2.0, shape)
    layer = renorm_layer(shape)
    renorm_mean, renorm_stddev = layer.renorm_mean.numpy(), layer.renorm_stddev.numpy()
    z_tilde = layer(tf.constant(z), training=True).numpy()
    expected = layer.gamma.numpy() * (z - renorm_mean) / renorm_stddev + layer.beta.numpy()
    np.testing.assert_allclose(z_tilde, expected, rtol=1e-12, atol=1e-12)


def test_tightest_clipping_is_batch_norm():
    shape = (10, 5)
    z = tf.constant(np.random.default_rng(3).normal(1.0, 2.0, shape))
    layer = renorm_layer(shape, renorm_clipping={"rmin": 1.0, "rmax": 1.0, "dmax": 0.0})
    plain = ManualBatchNorm(dtype="float64", epsilon=EPSILON)
    plain.build(shape)
    plain.gamma.assign(layer.gamma)
    plain.beta.assign(layer.beta)
    dz_tilde = tf.constant(np.random.default_rng(4).normal(size=shape))
    results = []
    for bn in (layer, plain):
        with tf.GradientTape() as tape:
            tape.watch(z)
            z_tilde = bn(z, training=True)
        results.append([z_tilde, *tape.gradient(z_tilde, [z, bn.gamma, bn.beta], dz_tilde)])
    for renormalized, batch_normalized in zip(*results):
        np.testing.assert_allclose(renormalized.numpy(), batch_normalized.numpy(), rtol=1e-12,
                                   atol=1e-12)


def autodiff_renorm(z, gamma, beta, renorm_mean, renorm_stddev, clipping):
    """The formulas in TF ops, differentiated by autodiff, r and d behind stop_gradient."""
    mu = tf.reduce_mean(z, axis=0)
    sigma2 = tf.reduce_mean(tf.square(z - mu), axis=0)
    sigma = tf.sqrt(sigma2 + EPSILON)
    r = tf.clip_by_value(sigma / renorm_stddev, clipping.get("rmin", 0.0),
                         clipping.get("rmax", np.inf))
    d = (mu - renorm_mean) / renorm_stddev
    if "dmax" in clipping:
        d = tf.clip_by_value(d, -clipping["dmax"], clipping["dmax"])
    z_norm = (z - mu) / sigma
    return gamma * (tf.stop_gradient(r) * z_norm + tf.stop_gradient(d)) + beta


@pytest.mark.parametrize("clipping", CLIPPINGS)
def test_closed_form_gradient_equals_autodiff_and_finite_differences(clipping):
    shape = (7, 3)
    rng = np.random.default_rng(5)
    z = rng.normal(0.5, 2.0, shape)
    dz_tilde = rng.normal(size=shape)
    layer = renorm_layer(shape, renorm_clipping=clipping)
    z_tf = tf.constant(z)
    variables = [z_tf, layer.gamma, layer.beta]
    statistics = (layer.renorm_mean.numpy(), layer.renorm_stddev.numpy())
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z_tf)
        auto = tf.reduce_sum(autodiff_renorm(z_tf, layer.gamma, layer.beta, *statistics,
                                             clipping) * dz_tilde)
        manual = tf.reduce_sum(layer(z_tf, training=True) * dz_tilde)
    manual_grads = [g.numpy() for g in tape.gradient(manual, variables)]
    for m, a in zip(manual_grads, tape.gradient(auto, variables)):
        np.testing.assert_allclose(m, a.numpy(), rtol=1e-10, atol=1e-12)

    # Finite differences of the cost with r and d held at this step's values.
    fresh = renorm_layer(shape, renorm_clipping=clipping)
    r, d, _, _ = numpy_renorm(z, fresh, clipping)
    gamma, beta = fresh.gamma.numpy(), fresh.beta.numpy()

    def cost(z_, gamma_=gamma, beta_=beta):
        z_norm = reference.batch_norm_forward(z_, 1.0, 0.0, EPSILON)[0]
        return float(np.sum((gamma_ * (r * z_norm + d) + beta_) * dz_tilde))

    numerical = [reference.numerical_gradient(cost, z),
                 reference.numerical_gradient(lambda g: cost(z, g), gamma),
                 reference.numerical_gradient(lambda b: cost(z, gamma, b), beta)]
    for m, n in zip(manual_grads, numerical):
        np.testing.assert_allclose(m, n, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape,axis", [((16, 6), -1), ((4, 5, 5, 3), -1), ((4, 3, 5, 5), 1)])
def test_float32_training_steps_match_keras(shape, axis):
    """Three steps of ManualBatchNorm in float32 against Keras's layer in float64, to float32
    rounding of each step's sums over the m values of a unit."""
    clipping = {"rmax": 1.5, "rmin": 0.7, "dmax": 1.0}
    layers = [renorm_layer(shape, axis, dtype, layer_class=cls, renorm_clipping=clipping)
              for cls, dtype in ((ManualBatchNorm, "float32"),
                                 (keras.layers.BatchNormalization, "float64"))]
    results = []
    for layer in layers:
        rng = np.random.default_rng(6)
        out = []
        for step in range(3):  # the renorm statistics move between steps
            z = tf.constant(rng.normal(1.0 + step, 2.0, shape).astype("float32"), layer.dtype)
            dz_tilde = tf.constant(rng.normal(size=shape).astype("float32"), layer.dtype)
            with tf.GradientTape() as tape:
                tape.watch(z)
                z_tilde = layer(z, training=True)
            out += [z_tilde, *tape.gradient(z_tilde, [z, *layer.trainable_weights], dz_tilde)]
        out += [getattr(layer, name) for name in RENORM_VARIABLES]
        results.append([np.asarray(t, np.float64) for t in out])
    m = math.prod(shape) // shape[axis]
    rel = float32_tolerance(m, layers=2 * 3)  # mu and sigma2, three steps in a row
    for manual, exact in zip(*results):
        scale = max(float(np.max(np.abs(exact))), 1.0)
        np.testing.assert_allclose(manual, exact, rtol=rel, atol=rel * scale)
