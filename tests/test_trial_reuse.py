"""A search's trials of one architecture share a network and its compiled steps (issue: a trial
costs its epochs): each trial still trains exactly as on a network built for it alone."""

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf
from helpers_train_child import small_digits

from tfweek3.search.hypermodel import CourseHyperModel
from tfweek3.search.space import SearchSpace
from tfweek3.training.loop import train
from tfweek3.training.network import build_network
from tfweek3.training.optimizers import (
    hold_beta_in_variable,
    make_optimizer,
    reset_optimizer,
)
from tfweek3.training.steps import compile_steps
from tfweek3.tuning.random_search import RandomSearch


@pytest.fixture(scope="module")
def data():
    return small_digits()  # 300 training and 100 validation examples of digits


def space(optimizer: str) -> SearchSpace:
    """One architecture (2 x 16 units, batch norm, mini-batches of 32); alpha and beta drawn."""
    return SearchSpace(units=(16, 16), layers=(2, 2), batch_size=(32,), batch_norm=(True,),
                       optimizer=(optimizer,))


def trial_hp(hypermodel: CourseHyperModel, alpha: float, one_minus_beta: float):
    hp = kt.HyperParameters()
    hypermodel.build(hp)  # declares the space
    hp.values.update(learning_rate=alpha, one_minus_beta=one_minus_beta)
    return hp


def history_of(hypermodel, hp, model, epochs=3):
    return hypermodel.fit(hp, model, epochs=epochs).history


def test_compiled_steps_serve_every_call_and_refuse_another_batch_size(data):
    keras.utils.set_random_seed(0)
    model = build_network(data.input_dim, data.num_classes, (16,))
    optimizer = make_optimizer("adam", 1e-2)
    steps = compile_steps(model, optimizer, data, 32)
    initial = model.get_weights()
    first = train(model, data, epochs=2, optimizer=optimizer, verbose=0, steps=steps)
    model.set_weights(initial)
    reset_optimizer(optimizer)
    optimizer.learning_rate = 1e-2
    second = train(model, data, epochs=2, optimizer=optimizer, verbose=0, steps=steps)
    assert first.history == second.history
    assert second.traces == {"train_epoch": 1, "evaluate": 1}
    with pytest.raises(ValueError, match="batch_size"):
        train(model, data, epochs=1, batch_size=64, optimizer=optimizer, verbose=0, steps=steps)


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_a_beta_variable_changes_the_update_without_a_new_trace(name):
    """Three steps with beta = 0.9, then three with beta = 0.6 assigned to the variable, against
    the update rule written in NumPy in float64."""
    gradients = np.array([[0.5, -1.0, 2.0], [0.1, 0.3, -0.2], [1.5, 0.0, -0.7]] * 2)
    w = keras.Variable(np.ones(3, np.float32))
    optimizer = make_optimizer(name, learning_rate=0.1, beta=0.9)
    beta = hold_beta_in_variable(optimizer, name)
    optimizer.build([w])

    @tf.function
    def step(g):
        optimizer.apply_gradients([(g, w)])

    expected, m, v = np.ones(3), np.zeros(3), np.zeros(3)
    for t, g in enumerate(gradients, start=1):
        b = 0.9 if t <= 3 else 0.6
        beta.assign(b)
        step(tf.constant(g, tf.float32))
        if name == "adam":  # Keras's Adam: alpha_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)
            m += (g - m) * (1 - b)
            v += (g * g - v) * (1 - 0.999)
            alpha = 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - b ** t)
            expected -= alpha * m / (np.sqrt(v) + 1e-7)
        else:  # RMSprop: v = rho v + (1 - rho) g^2
            v = b * v + (1 - b) * g * g
            expected -= 0.1 * g / np.sqrt(v + 1e-7)
    np.testing.assert_allclose(w.numpy(), expected, rtol=2e-5)
    assert step.experimental_get_tracing_count() == 1


def test_reset_optimizer_zeroes_its_moments_and_iterations():
    w = keras.Variable(np.ones(3, np.float32))
    optimizer = make_optimizer("adam", 0.1)
    optimizer.apply_gradients([(tf.ones(3), w)])
    reset_optimizer(optimizer)
    assert all(not np.any(v.numpy()) for v in optimizer.variables)


@pytest.mark.parametrize("name", ["adam", "momentum"])
def test_trials_of_one_architecture_share_a_network_and_train_as_a_new_one(data, name):
    hypermodel = CourseHyperModel(data, space(name), seed=3)
    first_hp = trial_hp(hypermodel, 0.02, 0.05)
    model = hypermodel.build_for_trial(first_hp)
    history_of(hypermodel, first_hp, model)

    second_hp = trial_hp(hypermodel, 0.005, 0.01)
    again = hypermodel.build_for_trial(second_hp)
    assert again is model
    fresh = hypermodel.build(second_hp)
    for kept, new in zip(again.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, new)  # the seed's initial draw, moving averages too
    assert float(again.optimizer.learning_rate) == pytest.approx(0.005)
    shared = history_of(hypermodel, second_hp, again)
    alone = history_of(hypermodel, second_hp, fresh)
    for key in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(shared[key], alone[key], rtol=1e-4, err_msg=key)
    steps = hypermodel.networks[next(iter(hypermodel.networks))].steps
    # Adam's beta is a variable: one trace for both trials; SGD's momentum: one per beta.
    assert steps.traces()["train_epoch"] == 1


def test_get_best_models_are_built_anew_and_later_trials_leave_them_alone(data, tmp_path):
    hypermodel = CourseHyperModel(data, space("adam"), seed=0)
    tuner = RandomSearch(hypermodel, objective="val_accuracy", max_trials=2, seed=1,
                         directory=str(tmp_path), tensorboard=False, write_results=False)
    tuner.search(epochs=2)
    best = tuner.get_best_models(1)[0]
    kept = next(iter(hypermodel.networks.values())).model
    assert best is not kept
    weights = [w.copy() for w in best.get_weights()]
    tuner.oracle.max_trials = 3
    tuner.search(epochs=2)
    for before, after in zip(weights, best.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    score = tuner.oracle.get_best_trials(1)[0].score
    x, y = data.x_val, data.y_val
    accuracy = float(np.mean(np.argmax(tuner.get_best_models(1)[0](x), 1) == np.argmax(y, 1)))
    assert accuracy == pytest.approx(score, abs=1e-6)
