"""ManualBatchNorm and SoftmaxClassifier inside a model saved to .keras and loaded back."""

import keras
import numpy as np
import pytest

from tfweek3 import ManualBatchNorm, SoftmaxClassifier

pytestmark = pytest.mark.numerics


def test_model_round_trip_through_a_keras_file(tmp_path):
    inputs = keras.Input((6,))
    h = keras.layers.Dense(5, use_bias=False)(inputs)
    h = ManualBatchNorm(momentum=0.9, epsilon=1e-4, beta_regularizer="l2")(h)
    h = keras.layers.ReLU()(h)
    outputs = SoftmaxClassifier(3)(h)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    model(x, training=True)  # moves the moving statistics away from their initial values
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)  # default safe_mode=True
    bn = next(layer for layer in loaded.layers if isinstance(layer, ManualBatchNorm))
    assert (bn.momentum, bn.epsilon) == (0.9, 1e-4)
    assert isinstance(bn.beta_regularizer, keras.regularizers.L2)
    for original, restored in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(original.numpy(), restored.numpy())
    np.testing.assert_array_equal(model(x, training=False).numpy(), loaded(x, training=False).numpy())


def test_get_config_round_trip():
    layer = ManualBatchNorm(axis=1, momentum=0.5, center=False, gamma_initializer="he_normal")
    clone = ManualBatchNorm.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    classifier = SoftmaxClassifier(4, kernel_regularizer="l2")
    assert SoftmaxClassifier.from_config(classifier.get_config()).get_config() == classifier.get_config()
