"""swap_batch_norm: a copy of a Keras model with ManualBatchNorm in place of every BatchNormalization."""

import keras
import numpy as np
import pytest
from helpers_numerics import float32_tolerance, keras_application

from tfweek3 import ManualBatchNorm, swap_batch_norm


def batch_norms(model, layer_class):
    return [layer for layer in model._flatten_layers() if type(layer) is layer_class]


@pytest.mark.numerics
def test_a_real_network_computes_what_it_did():
    keras.utils.set_random_seed(0)
    model = keras_application(keras.applications.MobileNetV2, "float32",
                              input_shape=(32, 32, 3), alpha=0.35)
    # Moving statistics away from their initial 0 and 1, so that copying them matters.
    x_train = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype("float32")
    model(x_train, training=True)
    exact = keras_application(keras.applications.MobileNetV2, "float64",
                              input_shape=(32, 32, 3), alpha=0.35)
    exact.set_weights([w.astype(np.float64) for w in model.get_weights()])
    swapped = swap_batch_norm(model)

    originals = batch_norms(model, keras.layers.BatchNormalization)
    copies = batch_norms(swapped, ManualBatchNorm)
    assert len(originals) == len(copies) == 52
    assert batch_norms(swapped, keras.layers.BatchNormalization) == []
    assert swapped is not model and len(batch_norms(model, ManualBatchNorm)) == 0
    for original, copy in zip(originals, copies):
        assert (copy.name, copy.axis, copy.momentum, copy.epsilon) == (
            original.name, original.axis, original.momentum, original.epsilon)
        for ours, theirs in zip(copy.weights, original.weights):
            assert ours.path == theirs.path
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())

    # Against the network run in float64, the swapped copy is no farther than the original's
    # float32 run, to a factor 2: a batch of 4 through 52 batch norms is ill-conditioned, and
    # both float32 runs are ~1e-4 (relative) from float64 in training mode; ours was within
    # 1.05 to 1.25 times Keras's distance with oneDNN's AVX-512, AVX2 and SSE4.1 kernels.
    x = np.random.default_rng(1).normal(size=(4, 32, 32, 3))
    for training in (False, True):
        expected = exact(x, training=training).numpy()
        keras_error = np.max(np.abs(model(x.astype("float32"), training=training) - expected))
        error = np.max(np.abs(swapped(x.astype("float32"), training=training) - expected))
        one_rounding = float32_tolerance(1, np.max(np.abs(expected)))
        assert error <= 2 * keras_error + one_rounding, (training, error, keras_error)


def test_renorm_settings_and_statistics_carry_over_into_nested_models():
    inner = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6),
                              keras.layers.BatchNormalization(
                                  renorm=True, renorm_clipping={"rmax": 2.0, "dmax": 1.0},
                                  renorm_momentum=0.5, momentum=0.8)])
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    rng = np.random.default_rng(2)
    for _ in range(3):  # renorm_mean, renorm_stddev and moving_stddev move away from their start
        model(rng.normal(3.0, 2.0, (16, 5)).astype("float32"), training=True)
    swapped = swap_batch_norm(model)

    (copy,) = batch_norms(swapped, ManualBatchNorm)
    (original,) = batch_norms(model, keras.layers.BatchNormalization)
    assert (copy.renorm, copy.renorm_clipping, copy.renorm_momentum) == (
        True, {"rmax": 2.0, "dmax": 1.0}, 0.5)
    assert [w.path for w in copy.weights] == [w.path for w in original.weights]
    for ours, theirs in zip(copy.weights, original.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = rng.normal(3.0, 2.0, (16, 5)).astype("float32")
    for training in (False, True):
        np.testing.assert_allclose(swapped(x, training=training), model(x, training=training),
                                   rtol=1e-5, atol=1e-5)


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.norm = keras.layers.BatchNormalization()

    def call(self, inputs):
        return self.norm(inputs)


def test_subclassed_models_and_non_models_are_refused_clearly():
    with pytest.raises(ValueError, match="Functional and Sequential"):
        swap_batch_norm(_Subclassed())
    with pytest.raises(TypeError, match="keras.Model"):
        swap_batch_norm(keras.layers.BatchNormalization())
