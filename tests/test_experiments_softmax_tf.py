"""Notebooks 3 and 4: softmax regression's regions and gradient, the quadratic, the timed step."""

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

from tfweek3.course import softmax_regression, tf_basics, toy_data
from tfweek3.layers.softmax import cost
from tfweek3.training.evaluation import accuracy
from tfweek3.training.network import build_network

matplotlib.use("Agg")


def _regression_with(w: np.ndarray, b: np.ndarray) -> keras.Model:
    model = build_network(2, w.shape[1], hidden_units=(), batch_norm=None)
    head = model.get_layer("softmax")
    head.kernel.assign(w.astype(np.float32))
    head.bias.assign(b.astype(np.float32))
    return model


W = np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -2.0]])
B = np.array([0.2, -0.1, 0.3])


def test_regions_are_the_argmax_of_linear_functions():
    model = _regression_with(W, B)
    x1, x2, classes = softmax_regression.predicted_classes(model, resolution=60)
    points = np.stack([x1.ravel(), x2.ravel()], axis=1)
    expected = np.argmax(points @ W + B, axis=1).reshape(x1.shape)
    agree = np.mean(classes == expected)
    assert agree > 0.999  # float32 ties on the borders aside
    assert set(np.unique(classes)) == {0, 1, 2}


def test_boundary_lines_are_where_two_logits_are_equal():
    model = _regression_with(W, B)
    for i, j, dw, db in softmax_regression.boundary_lines(model):
        np.testing.assert_allclose(dw, W[:, i] - W[:, j], rtol=1e-6)
        x1 = np.array([-2.0, 0.0, 3.0])
        x2 = -(dw[0] * x1 + db) / dw[1]
        z = np.stack([x1, x2], axis=1) @ W + B
        np.testing.assert_allclose(z[:, i], z[:, j], atol=1e-5)
    assert len(softmax_regression.boundary_lines(model)) == 3


def test_softmax_regression_separates_three_blobs():
    data = toy_data.blobs(num_classes=3, per_class=90, seed=0)
    model = softmax_regression.fit(data, epochs=20, seed=0)
    assert accuracy(model, data.x_test, data.y_test) > 0.9
    fig = softmax_regression.plot_regions([(model, data, "3 classes")])
    assert len(fig.axes[0].lines) == 3  # the three lines z_i = z_j


def test_blob_centres_are_on_a_circle():
    centres = toy_data.blob_centres(4, radius=2.0)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0)
    data = toy_data.blobs(num_classes=4, per_class=30)
    np.testing.assert_array_equal(data.y_train.sum(axis=0), [30, 30, 30, 30])


def test_lecture_loss_and_gradient_check():
    loss = softmax_regression.lecture_loss()
    assert loss["L"] == pytest.approx(loss["-log 0.2"], rel=1e-6)
    assert loss["L"] == pytest.approx(1.6094, abs=1e-4)
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3, size=(6, 4))
    y = np.eye(4)[rng.integers(0, 4, 6)]
    check = softmax_regression.gradient_check(z, y)
    assert check["tape_vs_formula"] < 1e-12
    assert check["numeric_vs_formula"] < 1e-8
    assert check["largest_gradient"] > 1e-2


@pytest.mark.numerics
def test_adam_takes_w_to_5_and_its_first_step_is_the_learning_rate():
    run = tf_basics.minimize_quadratic(steps=1000, learning_rate=0.1)
    assert run["w"][0] == 0.0 and run["J"][0] == pytest.approx(25.0)
    # Adam's first step is alpha * m_hat / (sqrt(v_hat) + eps) = alpha * sign(dw): dw = -10 at w = 0.
    assert run["w"][1] == pytest.approx(0.1, abs=1e-6)
    assert run["w"][-1] == pytest.approx(5.0, abs=1e-3)
    assert run["J"][-1] < 1e-5
    # J = (w - 10)**2: same first step, then on towards 10.
    other = tf_basics.minimize_quadratic(steps=50, learning_rate=0.1, coefficients=(1, -20, 100))
    assert other["J"][0] == pytest.approx(100.0) and other["w"][1] == pytest.approx(0.1, abs=1e-6)
    assert np.all(np.diff(other["w"]) > 0) and other["w"][-1] > run["w"][50]


def test_train_step_returns_the_cost_before_the_update_and_changes_the_weights():
    data = toy_data.blobs(num_classes=3, per_class=30)
    keras.utils.set_random_seed(0)
    model = build_network(2, 3, (5,), batch_norm=None)
    x, y = tf.constant(data.x_train[:16]), tf.constant(data.y_train[:16])
    before = float(cost(y, model(x)))
    step = tf.function(tf_basics.make_train_step(model, keras.optimizers.SGD(0.5)))
    assert float(step(x, y)[0]) == pytest.approx(before, rel=1e-5)
    assert float(cost(y, model(x))) < before


def test_time_steps_and_epochs_measure_every_mode():
    data = toy_data.blobs(num_classes=3, per_class=30)
    times = tf_basics.time_steps(data, steps=3, warmup=1)
    assert set(times) == set(tf_basics.MODES) and all(t > 0 for t in times.values())
    epochs = tf_basics.time_epochs(data, epochs=2)
    assert epochs["steps_per_epoch"] == 3 and epochs["seconds_per_epoch"] > 0
    with pytest.raises(ValueError, match="mode"):
        tf_basics.time_steps(data, steps=1, warmup=0, modes=("graph",))
