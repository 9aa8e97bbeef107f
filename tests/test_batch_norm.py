"""ManualBatchNorm against keras.layers.BatchNormalization, the NumPy reference and finite differences."""

import itertools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers_numerics import float32_tolerance

from tfweek3 import ManualBatchNorm
from tfweek3.layers import reference

pytestmark = pytest.mark.numerics

LAYOUTS = [  # (input shape, axis)
    ((32, 6), -1),  # after a Dense layer
    ((8, 5, 4), -1),  # sequences
    ((8, 5, 4), 1),
    ((4, 6, 6, 3), -1),  # NHWC images
    ((4, 3, 6, 6), 1),  # NCHW images
]


def make_pair(shape, axis, seed=0, dtype="float32", **kwargs):
    """A ManualBatchNorm and a Keras BatchNormalization with the same random weights."""
    rng = np.random.default_rng(seed)
    layers = [ManualBatchNorm(axis=axis, dtype=dtype, **kwargs),
              keras.layers.BatchNormalization(axis=axis, dtype=dtype, **kwargs)]
    channels = shape[axis]
    values = {
        name: rng.uniform(0.5, 1.5, channels) if name in ("gamma", "moving_variance")
        else rng.normal(0, 1, channels)
        for name in ("gamma", "beta", "moving_mean", "moving_variance")
    }
    for layer in layers:
        layer.build(shape)
        for name, value in values.items():
            variable = getattr(layer, name)
            if variable is not None:
                variable.assign(value.astype("float32").astype(layer.variable_dtype))
    return layers


def run(layer, x, dz_tilde, training, mask=None):
    """Output, gradients of sum(z_tilde * dz_tilde) to x and the trainable weights, moving stats."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        z_tilde = layer(x, training=training, mask=mask)
        loss = tf.reduce_sum(tf.cast(z_tilde, x.dtype) * dz_tilde)
    grads = tape.gradient(loss, [x, *layer.trainable_weights])
    return (z_tilde.numpy(), [None if g is None else g.numpy() for g in grads],
            layer.moving_mean.numpy(), layer.moving_variance.numpy())


def assert_close(actual, expected, rel):
    scale = max(float(np.max(np.abs(expected))), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rel, atol=rel * scale)


def assert_same_as_keras(shape, axis, training, mask=None, seed=0, **kwargs):
    """ManualBatchNorm in float32 computes what Keras's layer computes in float64, to float32
    rounding: its sums run over the m values of a unit (helpers_numerics.py)."""
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(3.0, 2.0, shape).astype("float32")
    dz_tilde = rng.normal(0, 1, shape).astype("float32")
    manual, _ = make_pair(shape, axis, seed, **kwargs)
    _, keras64 = make_pair(shape, axis, seed, dtype="float64", **kwargs)
    y_m, g_m, mean_m, var_m = run(manual, tf.constant(x), tf.constant(dz_tilde), training, mask)
    y_k, g_k, mean_k, var_k = run(keras64, tf.constant(x, tf.float64),
                                  tf.constant(dz_tilde, tf.float64), training, mask)
    m = math.prod(shape) // shape[axis]
    rel = float32_tolerance(m, layers=2)  # mu, then sigma2 (the gradients: two sums each)
    assert_close(y_m, y_k, rel)
    assert_close(mean_m, mean_k, rel)
    assert_close(var_m, var_k, rel)
    assert len(g_m) == len(g_k)
    for gm, gk in zip(g_m, g_k):
        assert_close(gm, gk, rel)
    return y_m, mean_m


@pytest.mark.parametrize("shape,axis", LAYOUTS)
@pytest.mark.parametrize("center,scale", list(itertools.product([True, False], repeat=2)))
def test_training_step_matches_keras(shape, axis, center, scale):
    y, _ = assert_same_as_keras(shape, axis, True, center=center, scale=scale)
    # The batch statistics were used: each unit of the output has mean beta (0 without center).
    reduce_axes = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    if not center:
        np.testing.assert_allclose(y.mean(axis=reduce_axes), 0, atol=1e-5)


@pytest.mark.parametrize("shape,axis", LAYOUTS)
@pytest.mark.parametrize("training", [False, None])
def test_inference_matches_keras_and_does_not_update(shape, axis, training):
    manual, _ = make_pair(shape, axis)
    before = manual.moving_mean.numpy()
    _, moving_mean = assert_same_as_keras(shape, axis, training)
    np.testing.assert_array_equal(moving_mean, before)


@pytest.mark.parametrize("momentum,epsilon", [(0.99, 1e-3), (0.9, 1e-5), (0.5, 0.1), (0.0, 1e-3)])
def test_momentum_and_epsilon_match_keras(momentum, epsilon):
    assert_same_as_keras((16, 7), -1, True, momentum=momentum, epsilon=epsilon)
    assert_same_as_keras((16, 7), -1, False, momentum=momentum, epsilon=epsilon)


def test_trainable_false_means_inference_and_no_update():
    shape = (16, 4)
    x = tf.constant(np.random.default_rng(3).normal(2, 3, shape).astype("float32"))
    manual, keras_bn = make_pair(shape, -1)
    manual.trainable = keras_bn.trainable = False
    before = manual.moving_mean.numpy()
    y_m = manual(x, training=True).numpy()
    y_k = keras_bn(x, training=True).numpy()
    assert_close(y_m, y_k, 1e-5)
    np.testing.assert_array_equal(manual.moving_mean.numpy(), before)
    expected = reference.batch_norm_inference(
        x.numpy(), manual.gamma.numpy(), manual.beta.numpy(), before,
        manual.moving_variance.numpy(), manual.epsilon)
    assert_close(y_m, expected, 1e-5)
    assert manual.trainable_weights == []


@pytest.mark.parametrize("shape,axis", [((6, 5, 4), -1), ((6, 5, 3, 4), -1), ((6, 4, 5), 1)])
def test_masked_statistics_match_keras(shape, axis):
    rng = np.random.default_rng(7)
    mask = tf.constant(rng.uniform(size=shape[:-1]) > 0.4)
    y, _ = assert_same_as_keras(shape, axis, True, mask=mask)
    if axis == -1:  # the unmasked positions of each unit have mean 0 and variance ~1
        kept = y[mask.numpy()]
        manual, _ = make_pair(shape, axis)
        z_norm = (kept - manual.beta.numpy()) / manual.gamma.numpy()
        np.testing.assert_allclose(z_norm.mean(axis=0), 0, atol=1e-4)


@pytest.mark.parametrize("shape,mask_shape", [((6, 5, 3, 4), (6, 5, 1)), ((6, 5, 3, 4), (1, 5, 3)),
                                              ((6, 5, 4), (6, 1))])
def test_masks_broadcast_as_in_keras(shape, mask_shape):
    mask = tf.constant(np.random.default_rng(12).uniform(size=mask_shape) > 0.4)
    assert_same_as_keras(shape, -1, True, mask=mask)


def test_masked_positions_do_not_move_the_statistics():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    mask = np.ones((4, 6), bool)
    mask[:, 4:] = False
    x_changed = x.copy()
    x_changed[:, 4:] = 1e3  # padding with huge values, masked out
    outs = []
    for data in (x, x_changed):
        layer = ManualBatchNorm()
        y = layer(tf.constant(data), training=True, mask=tf.constant(mask))
        outs.append((y.numpy()[mask], layer.moving_mean.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-5)
    np.testing.assert_allclose(outs[0][1], outs[1][1], atol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_matches_keras(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        shape = (16, 5)
        rng = np.random.default_rng(4)
        x = tf.constant(rng.normal(3, 2, shape).astype("float32"))
        manual, keras_bn = make_pair(shape, -1)
        compute = manual.compute_dtype
        x_low = tf.cast(x, compute)
        y_m = manual(x_low, training=True)
        y_k = keras_bn(x_low, training=True)
        assert y_m.dtype == y_k.dtype == compute
        for layer in (manual,):
            for w in layer.weights:
                assert w.dtype == "float32", w.name
        tolerance = 1e-2 if policy == "mixed_bfloat16" else 1e-3
        np.testing.assert_allclose(tf.cast(y_m, "float32"), tf.cast(y_k, "float32"),
                                   atol=tolerance * 4)
        np.testing.assert_allclose(manual.moving_mean.numpy(), keras_bn.moving_mean.numpy(),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(manual.moving_variance.numpy(),
                                   keras_bn.moving_variance.numpy(), rtol=1e-6, atol=1e-6)
    finally:
        keras.config.set_dtype_policy(previous)


def test_float16_statistics_do_not_overflow():
    # Squares of 300 overflow float16 (max 65504); the layer computes them in float32.
    layer = ManualBatchNorm(dtype="mixed_float16")
    x = tf.constant(np.linspace(-300, 300, 64, dtype=np.float32).reshape(32, 2), tf.float16)
    y = layer(x, training=True).numpy().astype(np.float64)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-2)


def float64_layer_and_data(shape=(10, 3), seed=5):
    rng = np.random.default_rng(seed)
    layer = ManualBatchNorm(dtype="float64", epsilon=1e-3)
    layer.build(shape)
    layer.gamma.assign(rng.uniform(0.5, 2, shape[-1]))
    layer.beta.assign(rng.normal(size=shape[-1]))
    z = rng.normal(1, 2, shape)
    dz_tilde = rng.normal(size=shape)
    return layer, z, dz_tilde


def test_forward_and_backward_equal_the_numpy_reference():
    layer, z, dz_tilde = float64_layer_and_data()
    z_tf = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(z_tf)
        z_tilde = layer(z_tf, training=True)
    dz, dgamma, dbeta = tape.gradient(z_tilde, [z_tf, layer.gamma, layer.beta],
                                      output_gradients=tf.constant(dz_tilde))
    ref_out, cache = reference.batch_norm_forward(z, layer.gamma.numpy(), layer.beta.numpy(), 1e-3)
    ref_dz, ref_dgamma, ref_dbeta = reference.batch_norm_backward(dz_tilde, cache)
    np.testing.assert_allclose(z_tilde.numpy(), ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dz.numpy(), ref_dz, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma.numpy(), ref_dgamma, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dbeta.numpy(), ref_dbeta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.01 * cache["mu"], rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.99 + 0.01 * cache["sigma2"],
                               rtol=1e-12)


def autodiff_batch_norm(z, gamma, beta, epsilon):
    """The note's four lines in TF ops, differentiated by autodiff (no custom gradient)."""
    mu = tf.reduce_mean(z, axis=0)
    sigma2 = tf.reduce_mean(tf.square(z - mu), axis=0)
    z_norm = (z - mu) / tf.sqrt(sigma2 + epsilon)
    return gamma * z_norm + beta


def test_closed_form_gradient_equals_autodiff_and_finite_differences():
    layer, z, dz_tilde = float64_layer_and_data(shape=(7, 4))
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    z_tf = tf.constant(z)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z_tf)
        manual = tf.reduce_sum(layer(z_tf, training=True) * dz_tilde)
        auto = tf.reduce_sum(autodiff_batch_norm(z_tf, layer.gamma, layer.beta, 1e-3) * dz_tilde)
    manual_grads = tape.gradient(manual, [z_tf, layer.gamma, layer.beta])
    auto_grads = tape.gradient(auto, [z_tf, layer.gamma, layer.beta])
    for m, a in zip(manual_grads, auto_grads):
        np.testing.assert_allclose(m.numpy(), a.numpy(), rtol=1e-10, atol=1e-12)

    def cost(z_, gamma_=gamma, beta_=beta):
        return float(np.sum(reference.batch_norm_forward(z_, gamma_, beta_, 1e-3)[0] * dz_tilde))

    np.testing.assert_allclose(manual_grads[0].numpy(), reference.numerical_gradient(cost, z),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(manual_grads[1].numpy(),
                               reference.numerical_gradient(lambda g: cost(z, g), gamma),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(manual_grads[2].numpy(),
                               reference.numerical_gradient(lambda b: cost(z, gamma, b), beta),
                               rtol=1e-6, atol=1e-7)


def test_masked_gradient_equals_finite_differences():
    rng = np.random.default_rng(9)
    z = rng.normal(size=(3, 4, 2))
    mask = rng.uniform(size=(3, 4)) > 0.3
    dz_tilde = rng.normal(size=z.shape)
    layer = ManualBatchNorm(dtype="float64")
    layer.build(z.shape)

    def cost(z_):
        fresh = ManualBatchNorm(dtype="float64")
        return float(tf.reduce_sum(fresh(tf.constant(z_), training=True, mask=mask) * dz_tilde))

    z_tf = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(z_tf)
        loss = tf.reduce_sum(layer(z_tf, training=True, mask=mask) * dz_tilde)
    np.testing.assert_allclose(tape.gradient(loss, z_tf).numpy(),
                               reference.numerical_gradient(cost, z), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_function_and_xla_give_the_eager_result(jit_compile):
    shape = (4, 6, 6, 3)
    rng = np.random.default_rng(11)
    x = tf.constant(rng.normal(size=shape).astype("float32"))
    eager_layer, compiled_layer = ManualBatchNorm(), ManualBatchNorm()

    @tf.function(jit_compile=jit_compile)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = compiled_layer(x, training=True)
            loss = tf.reduce_sum(y * y * x)
        return y, tape.gradient(loss, [x, *compiled_layer.trainable_weights])

    with tf.GradientTape() as tape:
        tape.watch(x)
        y_eager = eager_layer(x, training=True)
        loss = tf.reduce_sum(y_eager * y_eager * x)
    grads_eager = tape.gradient(loss, [x, *eager_layer.trainable_weights])
    y_compiled, grads_compiled = step(x)
    np.testing.assert_allclose(y_compiled.numpy(), y_eager.numpy(), rtol=1e-5, atol=1e-5)
    for c, e in zip(grads_compiled, grads_eager):
        np.testing.assert_allclose(c.numpy(), e.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(compiled_layer.moving_variance.numpy(),
                               eager_layer.moving_variance.numpy(), rtol=1e-6)


def test_unknown_batch_size_in_a_graph():
    layer = ManualBatchNorm(axis=1)
    step = tf.function(lambda x: layer(x, training=True),
                       input_signature=[tf.TensorSpec([None, 3, None], tf.float32)])
    x = np.random.default_rng(0).normal(size=(5, 3, 7)).astype("float32")
    y = step(tf.constant(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2)), x.var(axis=(0, 2)) / (x.var(axis=(0, 2)) + 1e-3),
                               rtol=1e-4)


# Bad input: a clear error that names the argument and the shapes.

def test_axis_out_of_range():
    with pytest.raises(ValueError, match=r"axis=3 .*rank 2"):
        ManualBatchNorm(axis=3)(tf.zeros((4, 5)))


def test_axis_must_be_an_int():
    with pytest.raises(TypeError, match="axis"):
        ManualBatchNorm(axis=[1, 2])


def test_rank_different_from_the_built_one():
    layer = ManualBatchNorm()
    layer(tf.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"rank 2.*rank 3"):
        layer(tf.zeros((4, 2, 5)))


def test_channel_size_different_from_the_built_one():
    layer = ManualBatchNorm()
    layer(tf.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"5 channels.*\(4, 6\)"):
        layer(tf.zeros((4, 6)), training=True)


def test_unknown_channel_dimension():
    with pytest.raises(ValueError, match="channel dimension"):
        ManualBatchNorm().build((None, None))


def test_integer_input():
    layer = ManualBatchNorm()
    layer.build((4, 3))
    with pytest.raises(TypeError, match="float"):
        layer.call(tf.zeros((4, 3), tf.int32), training=True)


def test_mask_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"mask.shape=\(4, 5, 3\)"):
        ManualBatchNorm()(tf.zeros((4, 5, 3)), training=True, mask=tf.ones((4, 5, 3), bool))


def test_mask_that_does_not_broadcast():
    with pytest.raises(ValueError, match=r"broadcasts.*mask.shape=\(4, 2\)"):
        ManualBatchNorm()(tf.zeros((4, 5, 3)), training=True, mask=tf.ones((4, 2), bool))


def test_keras_configs_load_with_their_renorm_settings():
    config = keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-4, center=False, renorm=True,
        renorm_clipping={"rmax": 2.0}, renorm_momentum=0.8).get_config()
    layer = ManualBatchNorm.from_config(config)
    assert (layer.momentum, layer.epsilon, layer.center) == (0.9, 1e-4, False)
    assert (layer.renorm, layer.renorm_clipping, layer.renorm_momentum) == (True, {"rmax": 2.0}, 0.8)
    assert layer.get_config() == {**config, "name": layer.name}
