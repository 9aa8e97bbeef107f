"""build_network against a NumPy forward pass: LINEAR -> BN -> RELU per hidden layer, softmax."""

import keras
import numpy as np
import pytest
from helpers_network import numpy_forward

from tfweek3 import ManualBatchNorm, SoftmaxClassifier
from tfweek3.training.network import build_network, logits_model

pytestmark = pytest.mark.numerics

X = np.random.default_rng(0).normal(size=(16, 7)).astype(np.float32)


def randomize_batch_norm(model):
    """Non-trivial gamma, beta and moving statistics, so that using the wrong ones shows."""
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if hasattr(layer, "moving_mean"):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 2.0, n))
            layer.beta.assign(rng.normal(size=n))
            layer.moving_mean.assign(rng.normal(size=n))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n))


@pytest.mark.parametrize("batch_norm", ["manual", "keras", "none", None])
@pytest.mark.parametrize("training", [True, False])
def test_network_matches_numpy(batch_norm, training):
    keras.utils.set_random_seed(0)
    model = build_network(7, 4, hidden_units=(5, 3), batch_norm=batch_norm)
    randomize_batch_norm(model)
    y_hat = model(X, training=training).numpy()
    np.testing.assert_allclose(y_hat, numpy_forward(model, X, training), atol=2e-6)
    np.testing.assert_allclose(y_hat.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("batch_norm, norm_type", [("manual", ManualBatchNorm),
                                                   ("keras", keras.layers.BatchNormalization)])
def test_layers_in_course_order_and_no_bias_with_batch_norm(batch_norm, norm_type):
    model = build_network(64, 10, batch_norm=batch_norm)
    kinds = [type(layer) for layer in model.layers[1:]]
    assert kinds == [keras.layers.Dense, norm_type, keras.layers.ReLU] * 2 + [SoftmaxClassifier]
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)] == [25, 12]
    # W of each hidden layer (no b), gamma and beta per hidden unit, W and b of the softmax layer;
    # the moving mean and variance are not trained.
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 64 * 25 + 25 * 12 + 2 * (25 + 12) + 12 * 10 + 10
    assert model.count_params() - trainable == 2 * (25 + 12)
    plain = build_network(64, 10, batch_norm="none")
    assert plain.count_params() == 64 * 25 + 25 + 25 * 12 + 12 + 12 * 10 + 10


@pytest.mark.parametrize("batch_norm", ["manual", "keras"])
def test_a_bias_before_batch_norm_changes_nothing(batch_norm):
    """The note: with BN, b is useless; z + b - mean(z + b) = z - mean(z)."""
    keras.utils.set_random_seed(0)
    model = build_network(7, 4, hidden_units=(5, 3), batch_norm=batch_norm)
    randomize_batch_norm(model)

    def with_bias(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Dense):
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    biased = keras.models.clone_model(model, clone_function=with_bias)
    rng = np.random.default_rng(2)
    for source, target in zip(model.layers, biased.layers, strict=True):
        target.set_weights(source.get_weights() if not isinstance(source, keras.layers.Dense)
                           else [source.kernel.numpy(), rng.normal(size=source.units) * 3])
    dense = biased.get_layer("linear_1")
    assert np.abs(dense.bias.numpy()).min() > 0.01
    np.testing.assert_allclose(biased(X, training=True), model(X, training=True), atol=1e-5)
    # Before the BN layer the bias does change z (so the equality above is not vacuous).
    z = keras.Model(model.input, model.get_layer("linear_1").output)(X)
    z_biased = keras.Model(biased.input, dense.output)(X)
    assert np.abs(z_biased - z).max() > 0.01


def test_softmax_regression_is_one_softmax_layer():
    keras.utils.set_random_seed(0)
    model = build_network(7, 4, hidden_units=())
    layer = model.layers[-1]
    assert len(model.layers) == 2 and model.count_params() == (7 + 1) * 4
    z = X @ layer.kernel.numpy() + layer.bias.numpy()
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model(X).numpy(), expected, rtol=1e-5)


def test_logits_model_shares_the_weights():
    keras.utils.set_random_seed(0)
    model = build_network(7, 4, hidden_units=(5,))
    z_model = logits_model(model)
    model.layers[-1].bias.assign([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(z_model(X, training=False).numpy(),
                               numpy_forward(model, X, training=False, logits=True), atol=2e-6)
    sequential = keras.Sequential([keras.Input((7,)), keras.layers.Dense(4, activation="softmax")])
    assert logits_model(sequential) is None


@pytest.mark.parametrize("kwargs, word", [({"batch_norm": "batch"}, "batch_norm"),
                                          ({"hidden_units": (5, 0)}, "hidden_units"),
                                          ({"input_dim": 0}, "input_dim")])
def test_bad_arguments_are_named(kwargs, word):
    arguments = {"input_dim": 7, "num_classes": 4, **kwargs}
    with pytest.raises(ValueError, match=word):
        build_network(**arguments)
