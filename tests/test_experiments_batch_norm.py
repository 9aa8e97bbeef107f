"""Notebook 2's experiments: the batch-norm formulas, the sweep, covariate shift, noise, test time."""

import keras
import matplotlib
import numpy as np
import pytest

from tfweek3.course import (
    bn_formulas,
    bn_noise,
    bn_test_time,
    covariate_shift,
    demo,
    learning_rate_sweep,
    toy_data,
)
from tfweek3.course.learning_rate_sweep import Run
from tfweek3.training.loop import train
from tfweek3.training.network import build_network

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def blobs():
    return toy_data.blobs(num_classes=3, per_class=60, seed=0)


@pytest.fixture(scope="module")
def trained_bn_model(blobs):
    keras.utils.set_random_seed(0)
    model = build_network(2, 3, (8, 6), batch_norm="manual")
    train(model, blobs, epochs=3, optimizer="sgd", learning_rate=0.1, verbose=0)
    return model


def test_backward_three_ways_agree_with_the_closed_form():
    dz_tilde = np.random.default_rng(1).normal(size=demo.Z.shape)
    results = bn_formulas.backward_side_by_side(demo.Z, demo.GAMMA, demo.BETA, dz_tilde)
    closed = results["numpy closed form"]
    np.testing.assert_allclose(closed["dbeta"], dz_tilde.sum(axis=0))
    np.testing.assert_allclose(closed["dz"].sum(axis=0), 0.0, atol=1e-12)  # mean subtraction
    for name in ("ManualBatchNorm", "keras BatchNormalization"):
        for key in ("dz", "dgamma", "dbeta"):
            np.testing.assert_allclose(results[name][key], closed[key], atol=1e-5, err_msg=name)


def test_a_bias_before_batch_norm_changes_nothing_and_gets_no_gradient():
    a = np.random.default_rng(0).normal(size=(16, 5))
    result = bn_formulas.bias_cancels(a, units=4, bias=3.0)
    assert result["max_change_of_z_tilde"] < 1e-4
    assert result["max_abs_dJ_db"] < 1e-4 * result["max_abs_dJ_dW"]
    assert result["max_abs_dJ_dW"] > 0.1


def test_parameter_table_has_no_bias_in_hidden_layers_under_batch_norm():
    with_bn = bn_formulas.parameter_table(build_network(4, 3, (5,), batch_norm="manual"))
    without = bn_formulas.parameter_table(build_network(4, 3, (5,), batch_norm=None))
    assert "linear_1       kernel(4, 5)\n" in with_bn + "\n"
    assert "linear_1       kernel(4, 5), bias(5,)" in without
    assert "moving_mean(5,) (not trained)" in with_bn


def test_epochs_to_accuracy():
    assert learning_rate_sweep.epochs_to_accuracy([0.5, 0.96, 0.97], 0.95) == 2
    assert learning_rate_sweep.epochs_to_accuracy([0.5, 0.94], 0.95) is None
    assert learning_rate_sweep.epochs_to_accuracy([0.95], 0.95) == 1


def _history(values):
    return {"val_accuracy": list(values), "loss": [1.0] * len(values)}


def test_summary_medians_trains_and_only_batch_norm_rates():
    runs = [
        Run("none", 1.0, 0, _history([0.1, 0.2])), Run("none", 1.0, 1, _history([0.1, 0.3])),
        Run("manual", 1.0, 0, _history([0.96, 0.97])), Run("manual", 1.0, 1, _history([0.9, 0.96])),
        Run("none", 0.1, 0, _history([0.5, 0.95])), Run("none", 0.1, 1, _history([0.96, 0.97])),
        Run("manual", 0.1, 0, _history([0.95, 0.99])),
        Run("manual", 0.1, 1, _history([0.97]), diverged_epoch=1),
    ]
    rows = learning_rate_sweep.summarize(runs, target=0.95, trains_at=0.9)
    by_key = {(r["learning_rate"], r["batch_norm"]): r for r in rows}
    assert by_key[(1.0, "manual")]["epochs_to_target"] == pytest.approx(1.5)
    assert by_key[(1.0, "none")]["epochs_to_target"] is None
    assert by_key[(0.1, "none")]["epochs_to_target"] == pytest.approx(1.5)
    assert by_key[(0.1, "manual")]["diverged"] == 1
    assert by_key[(0.1, "manual")]["epochs_to_target"] is None  # a diverged seed never counts
    assert not by_key[(0.1, "manual")]["trains"]
    assert by_key[(1.0, "manual")]["final_val_accuracy"] == pytest.approx(0.965)
    assert learning_rate_sweep.only_batch_norm_trains(rows) == [1.0]
    assert "never" in learning_rate_sweep.format_summary(rows)
    fig = learning_rate_sweep.plot_sweep(runs)
    assert len([ax for ax in fig.axes if ax.axison]) == 2


def test_train_once_records_divergence_instead_of_raising(blobs):
    run = learning_rate_sweep.train_once(blobs, "none", 1e12, epochs=3, hidden_units=(4,))
    assert run.diverged_epoch == 1 and run.final_val_accuracy == 0.0


def test_layer_input_to_next_is_what_the_layer_computes_in_a_training_step(trained_bn_model, blobs):
    x = blobs.x_val[:40]
    copy = bn_test_time.copy_model(trained_bn_model)
    keras_view = keras.Model(copy.input, copy.get_layer("batch_norm_2").output)(x, training=True)
    ours = covariate_shift.layer_input_to_next(trained_bn_model, 2, x)
    np.testing.assert_allclose(ours, keras_view.numpy(), atol=1e-4)
    # Over the batch it was normalized on, z_tilde has mean beta.
    np.testing.assert_allclose(ours.mean(axis=0),
                               trained_bn_model.get_layer("batch_norm_2").beta.numpy(), atol=1e-5)
    keras.utils.set_random_seed(1)
    plain = build_network(2, 3, (8, 6), batch_norm=None)
    np.testing.assert_allclose(covariate_shift.layer_input_to_next(plain, 2, x),
                               covariate_shift.linear_output(plain, 2, x), atol=1e-5)


def test_layer_track_drift_and_spread():
    track = covariate_shift.LayerTrack(
        "none", means=np.array([[0.0, 0.0], [1.0, -3.0]]),
        stds=np.array([[1.0, 3.0], [2.0, 3.0]]), history={})
    np.testing.assert_allclose(track.mean_drift(), [0.0, 2.0 / 2.0])
    np.testing.assert_allclose(track.spread_ratio(), [1.0, 1.5])


def test_cats_follow_one_rule_in_two_regions():
    data = toy_data.cats("black", "coloured", n_train=300, n_test=200, seed=0)
    assert data.x_train[:, 0].max() <= 0 and data.x_test[:, 0].min() >= 0
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        np.testing.assert_array_equal(np.argmax(y, axis=1), (x[:, 1] > np.abs(x[:, 0]) - 1))
    with pytest.raises(ValueError, match="region"):
        toy_data.cats("white")


def test_a_model_trained_on_black_cats_fails_on_coloured_cats():
    result = covariate_shift.shifted_cats(epochs=20)
    assert result.black_model_on_black > 0.93
    assert result.black_model_on_coloured < result.black_model_on_black - 0.2
    assert result.all_model_on_coloured > 0.9


def test_batch_mean_noise_follows_the_formula():
    assert bn_noise.predicted_batch_mean_noise(2.0, m=1, n=100) == pytest.approx(2.0)
    assert bn_noise.predicted_batch_mean_noise(2.0, m=100, n=100) == pytest.approx(0.0)
    values = np.random.default_rng(0).normal(scale=[1.0, 5.0], size=(1000, 2))
    noise = bn_noise.batch_mean_noise(values, (4, 64, 512), draws=600)
    np.testing.assert_allclose(noise["measured"], noise["predicted"], rtol=0.1)
    assert noise["predicted"][0] / noise["predicted"][1] == pytest.approx(4.0, rel=0.05)


def test_prediction_noise_shrinks_with_the_batch_and_leaves_the_model_alone(trained_bn_model, blobs):
    moving = trained_bn_model.get_layer("batch_norm_1").moving_mean.numpy().copy()
    noise = bn_noise.prediction_noise(trained_bn_model, blobs.x_train, blobs.y_train, (2, 64),
                                      examples=4, draws=8)
    assert noise[0] > noise[1]
    np.testing.assert_array_equal(trained_bn_model.get_layer("batch_norm_1").moving_mean.numpy(),
                                  moving)


def test_gap_reduction():
    rows = [{"batch_size": 8, "batch_norm": "none", "gap": 0.3},
            {"batch_size": 8, "batch_norm": "manual", "gap": 0.1},
            {"batch_size": 64, "batch_norm": "none", "gap": 0.2},
            {"batch_size": 64, "batch_norm": "manual", "gap": 0.25}]
    assert bn_noise.gap_reduction(rows) == pytest.approx({8: 0.2, 64: -0.05})


def test_exact_statistics_replace_the_moving_ones_layer_by_layer(trained_bn_model, blobs):
    exact_model, statistics = bn_test_time.exact_statistics(trained_bn_model, blobs.x_train)
    assert list(statistics) == ["batch_norm_1", "batch_norm_2"]
    z1 = covariate_shift.linear_output(trained_bn_model, 1, blobs.x_train)
    np.testing.assert_allclose(statistics["batch_norm_1"][0], z1.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(statistics["batch_norm_1"][1], z1.var(axis=0), rtol=1e-4)
    # With exact statistics, layer 2 in inference mode normalizes the training set exactly.
    out = keras.Model(exact_model.input, exact_model.get_layer("batch_norm_2").output)(
        blobs.x_train, training=False).numpy()
    np.testing.assert_allclose(out.mean(axis=0),
                               exact_model.get_layer("batch_norm_2").beta.numpy(), atol=1e-4)
    # The original model keeps its moving statistics.
    assert not np.allclose(trained_bn_model.get_layer("batch_norm_1").moving_mean.numpy(),
                           statistics["batch_norm_1"][0])
    accuracies = bn_test_time.compare_accuracies(exact_model, blobs)
    assert accuracies["val_moving"] == accuracies["val_exact"]


def test_a_single_example_normalized_alone_gives_the_same_answer_for_every_input(
        trained_bn_model, blobs):
    before = trained_bn_model.get_layer("batch_norm_1").moving_variance.numpy().copy()
    alone = bn_test_time.one_example_at_a_time(trained_bn_model, blobs.x_val[:10])
    np.testing.assert_allclose(alone, np.repeat(alone[:1], 10, axis=0), atol=1e-7)
    np.testing.assert_array_equal(
        trained_bn_model.get_layer("batch_norm_1").moving_variance.numpy(), before)
    assert bn_test_time.initial_value_weight(0.99, 36) == pytest.approx(0.99**36)


def test_track_moving_vs_exact_shapes_and_shrinking_variance_gap(blobs):
    track = bn_test_time.track_moving_vs_exact(blobs, epochs=4, learning_rate=0.1)
    assert track.mean_gap.shape == (4, 2) and track.variance_gap.shape == (4, 2)
    assert track.steps_per_epoch == 6 and track.momentum == 0.99
    # The starting variance 1 fades out of the moving average.
    assert track.variance_gap[-1, 0] < track.variance_gap[0, 0]
