"""tfweek3.train against Keras's Model.fit, a NumPy forward pass, Keras's EarlyStopping, and itself
(same seed, resumed run, killed run)."""

import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers_network import numpy_accuracy, numpy_cost, numpy_forward
from helpers_numerics import float32_tolerance
from helpers_train_child import small_digits

from tfweek3.training.batches import epoch_steps, make_batches
from tfweek3.training.checkpoints import CheckpointError, checkpoint_for_epoch
from tfweek3.training.evaluation import evaluate
from tfweek3.training.loop import DivergedError, train
from tfweek3.training.network import build_network
from tfweek3.training.optimizers import make_optimizer
from tfweek3.training.steps import compile_train_epoch

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def data():
    return small_digits()  # 300 training and 100 validation examples of digits


def fresh(data, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return build_network(data.input_dim, data.num_classes, **kwargs)


def max_difference(weights_a, weights_b):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(weights_a, weights_b, strict=True))


@pytest.mark.numerics
@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam"])
def test_full_batch_training_matches_keras_fit(data, name):
    """One mini-batch per epoch (so the order does not matter): the updates of Model.fit, run
    in float64 from the same initial weights; ours in float32 is within float32 rounding of
    it (sums over the 300 examples, three epochs in a row)."""
    n = len(data.x_train)
    ours = fresh(data)
    initial = ours.get_weights()
    result = train(ours, data, epochs=3, batch_size=n, optimizer=name, learning_rate=0.05,
                   beta=0.8, verbose=0)
    keras.config.set_dtype_policy("float64")
    try:
        reference = fresh(data)
    finally:
        keras.config.set_dtype_policy("float32")
    reference.set_weights([w.astype(np.float64) for w in initial])
    reference.compile(optimizer=make_optimizer(name, 0.05, 0.8),
                      loss="categorical_crossentropy", metrics=["accuracy"])
    history = reference.fit(
        data.x_train.astype(np.float64), data.y_train.astype(np.float64), batch_size=n,
        epochs=3, shuffle=False, verbose=0,
        validation_data=(data.x_val.astype(np.float64), data.y_val.astype(np.float64))).history
    tolerance = float32_tolerance(terms=n, layers=3)
    assert max_difference(ours.get_weights(), reference.get_weights()) < tolerance
    for key in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(result.history[key], history[key], rtol=0,
                                   atol=tolerance * max(map(abs, history[key])))


@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam"])
def test_batch_norm_trains_with_each_optimizer(data, name):
    """The note: batch norm works with gradient descent, momentum, RMSprop and Adam."""
    learning_rate = {"sgd": 0.1, "momentum": 0.05, "rmsprop": 0.003, "adam": 0.003}[name]
    result = train(fresh(data), data, epochs=4, optimizer=name, learning_rate=learning_rate,
                   verbose=0)
    loss = result.history["loss"]
    assert loss[-1] < 0.8 * loss[0]
    assert result.history["val_accuracy"][-1] > 0.5  # 10 classes: chance is 0.1
    np.testing.assert_allclose(result.history["learning_rate"], learning_rate, rtol=1e-6)


def test_make_optimizer_maps_beta():
    assert make_optimizer("sgd", 0.1).momentum == 0.0
    assert make_optimizer("momentum", 0.1, 0.8).momentum == 0.8
    assert make_optimizer("rmsprop", 0.1, 0.8).rho == 0.8
    adam = make_optimizer("adam", 0.01, 0.8)
    assert (adam.beta_1, float(adam.learning_rate)) == (0.8, pytest.approx(0.01))
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("adagrad", 0.1)
    with pytest.raises(ValueError, match="beta"):
        make_optimizer("adam", 0.1, 1.0)


@pytest.mark.numerics
def test_moving_statistics_move_in_training_and_evaluation_uses_them(data):
    model = fresh(data)
    result = train(model, data, epochs=2, verbose=0)
    norm = model.get_layer("batch_norm_1")
    assert np.abs(norm.moving_mean.numpy()).max() > 0.01  # it starts at 0
    assert np.abs(norm.moving_variance.numpy() - 1).max() > 0.01  # it starts at 1
    # The loop's validation metrics are those of the network with the moving statistics...
    y_hat = numpy_forward(model, data.x_val, training=False)
    assert result.history["val_loss"][-1] == pytest.approx(numpy_cost(data.y_val, y_hat), abs=1e-5)
    assert result.history["val_accuracy"][-1] == pytest.approx(numpy_accuracy(data.y_val, y_hat))
    # ... not with the validation batch's own statistics, which give another cost.
    batch_stats = numpy_cost(data.y_val, numpy_forward(model, data.x_val, training=True))
    assert abs(batch_stats - result.history["val_loss"][-1]) > 1e-3
    scores = evaluate(model, data.x_val, data.y_val)
    assert scores["loss"] == pytest.approx(result.history["val_loss"][-1], abs=1e-6)


@pytest.mark.numerics
@pytest.mark.parametrize("jit_compile", [False, True])
def test_no_retracing_across_epochs(data, jit_compile):
    # 300 examples in batches of 32: the last batch of each epoch has 12.
    result = train(fresh(data), data, epochs=3, verbose=0, jit_compile=jit_compile)
    assert result.epochs_run == 3
    assert result.traces["train_epoch"] == 1 and result.traces["evaluate"] == 1
    if jit_compile:
        assert result.traces["train_step"] == 1
        plain = train(fresh(data), data, epochs=3, verbose=0)
        np.testing.assert_allclose(result.history["loss"], plain.history["loss"], rtol=1e-4)


def test_same_seed_same_history_and_another_seed_another(data):
    a = train(fresh(data), data, epochs=3, seed=5, verbose=0)
    b = train(fresh(data), data, epochs=3, seed=5, verbose=0)
    c = train(fresh(data), data, epochs=3, seed=6, verbose=0)
    assert a.history == b.history
    assert a.history["loss"][1:] != c.history["loss"][1:]  # another mini-batch order
    assert max_difference(a.model.get_weights(), b.model.get_weights()) == 0.0


@pytest.mark.numerics
def test_train_loss_is_the_mean_over_the_epochs_mini_batches(data):
    """One epoch of plain SGD with learning rate ~0: every mini-batch sees the initial weights."""
    model = fresh(data)
    initial = [w.copy() for w in model.get_weights()]
    result = train(model, data, epochs=1, batch_size=64, optimizer="sgd",
                   learning_rate=1e-12, seed=2, verbose=0)
    reference = fresh(data)
    reference.set_weights(initial)
    losses, sizes = [], []
    for x, y in make_batches(data.x_train, data.y_train, 64, seed=2):
        losses.append(numpy_cost(y.numpy(), numpy_forward(reference, x.numpy(), training=True)))
        sizes.append(len(x))
    assert result.history["loss"][0] == pytest.approx(np.average(losses, weights=sizes), abs=1e-5)


def test_the_compiled_epoch_trains_on_the_mini_batches_of_make_batches():
    """The epoch cuts its order into mini-batches in the graph: the same batches, in the same
    order and sizes (the last one the rest), as the tf.data pipeline for (seed, epoch)."""
    m, batch_size = 70, 16
    index = np.arange(m, dtype=np.float32)[:, None]
    seen = tf.Variable(tf.fill([m], -1.0))
    sizes = tf.Variable(tf.zeros(epoch_steps(m, batch_size), tf.int32))
    filled, step = tf.Variable(0), tf.Variable(0)

    def record(x, y):
        n = tf.shape(x)[0]
        seen.scatter_nd_update((filled + tf.range(n))[:, None], x[:, 0])
        sizes.scatter_nd_update([[step]], [n])
        filled.assign_add(n)
        step.assign_add(1)
        return tf.reduce_sum(y), tf.constant(0.0)

    epoch = compile_train_epoch(record, epoch_steps(m, batch_size), batch_size)
    loss, *_ = epoch(tf.constant(index), tf.constant(index), tf.constant(5, tf.int64),
                     tf.constant(2, tf.int64))
    expected = [x.numpy()[:, 0] for x, _ in make_batches(index, index, batch_size, seed=5,
                                                          first_epoch=2)]
    np.testing.assert_array_equal(seen.numpy(), np.concatenate(expected))
    assert sizes.numpy().tolist() == [16, 16, 16, 16, 6] == [len(b) for b in expected]
    # the mean of the steps' losses weighted by their batch sizes
    assert float(loss) == pytest.approx(sum(b.sum() * len(b) for b in expected) / m)


def test_progress_bar_per_epoch_and_silence(data, capsys):
    train(fresh(data), data, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    result = train(fresh(data), data, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert f"val_accuracy: {result.history['val_accuracy'][-1]:.4f}" in out
    assert "10/10" in out  # ceil(300 / 32) steps


def test_tensorboard_scalars_are_the_history(data, tmp_path):
    result = train(fresh(data), data, epochs=3, verbose=0, log_dir=str(tmp_path))
    found = {}
    for split in ("train", "validation"):
        for path in tf.io.gfile.glob(str(tmp_path / split / "events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(path):
                for value in event.summary.value:
                    name = value.tag if split == "train" else f"val_{value.tag}"
                    found.setdefault(name, {})[event.step] = float(tf.make_ndarray(value.tensor))
    assert set(found) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    for key, by_step in found.items():
        assert sorted(by_step) == [1, 2, 3]  # epochs count from 1
        np.testing.assert_allclose([by_step[s] for s in (1, 2, 3)], result.history[key], rtol=1e-6)


def test_resume_continues_exactly(data, tmp_path):
    whole = train(fresh(data), data, epochs=4, verbose=0)
    first = train(fresh(data), data, epochs=2, verbose=0, checkpoint_dir=str(tmp_path))
    assert first.epochs_run == 2
    # A new process would build a new network: its initial weights must not matter.
    resumed = train(fresh(data, seed=9), data, epochs=4, verbose=0,
                    checkpoint_dir=str(tmp_path), resume=True)
    assert resumed.history == whole.history  # 4 entries: 2 restored, 2 trained
    assert max_difference(resumed.model.get_weights(), whole.model.get_weights()) == 0.0
    assert int(resumed.optimizer.iterations) == int(whole.optimizer.iterations) == 4 * 10


def test_killed_run_resumed_ends_like_an_uninterrupted_one(data, tmp_path):
    """SIGKILL in the middle of a run (after the second epoch's checkpoint), then resume, in subprocesses."""
    script = os.path.join(HERE, "helpers_train_child.py")
    checkpoints = str(tmp_path / "checkpoints")
    child = subprocess.Popen([sys.executable, script, checkpoints, "4", str(tmp_path / "no.npz"),
                              "--pause-after", "2"], stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in child.stdout:
            lines.append(line.strip())
            if line.strip() == "paused":
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
    assert lines == ["saved epoch 1", "saved epoch 2", "paused"] and child.returncode == -9
    assert tf.train.latest_checkpoint(checkpoints).endswith("ckpt-2")

    subprocess.run([sys.executable, script, checkpoints, "4", str(tmp_path / "resumed.npz")],
                   check=True, stdout=subprocess.DEVNULL, timeout=300)
    resumed = np.load(tmp_path / "resumed.npz")
    resumed = [resumed[f"arr_{i}"] for i in range(len(resumed.files))]

    uninterrupted = fresh(data)
    train(uninterrupted, data, epochs=4, batch_size=32, seed=0, verbose=0)
    assert max_difference(resumed, uninterrupted.get_weights()) < 1e-6


def test_roll_back_to_an_epoch_with_another_learning_rate(data, tmp_path):
    directory = str(tmp_path)
    first = train(fresh(data), data, epochs=3, verbose=0, checkpoint_dir=directory)
    assert [os.path.basename(checkpoint_for_epoch(directory, k)) for k in (1, 2, 3)] == [
        "ckpt-1", "ckpt-2", "ckpt-3"]
    again = train(fresh(data), data, epochs=3, verbose=0, checkpoint_dir=directory,
                  resume=checkpoint_for_epoch(directory, 1), learning_rate=1e-2)
    assert again.history["loss"][0] == first.history["loss"][0]
    assert again.history["learning_rate"] == pytest.approx([1e-3, 1e-2, 1e-2])
    assert again.history["loss"][1] != first.history["loss"][1]
    assert float(again.optimizer.learning_rate) == pytest.approx(1e-2)
    # Rolling back to epoch 1 with epochs=1 restores it and drops the checkpoints after it.
    back = train(fresh(data, seed=3), data, epochs=1, verbose=0, checkpoint_dir=directory,
                 resume=checkpoint_for_epoch(directory, 1))
    assert back.history["loss"] == first.history["loss"][:1]
    assert tf.train.latest_checkpoint(directory).endswith("ckpt-1")
    with pytest.raises(FileNotFoundError, match="after epoch 2"):
        checkpoint_for_epoch(directory, 2)


def test_early_stopping_agrees_with_keras_early_stopping(data):
    # A tiny learning rate: the validation accuracy soon stops improving.
    result = train(fresh(data), data, epochs=15, optimizer="sgd", learning_rate=1e-4,
                   patience=2, verbose=0)
    accuracies = result.history["val_accuracy"]
    assert result.stopped_early and result.epochs_run < 15

    class Holder:
        stop_training = False

    keras_rule = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2, mode="max")
    keras_rule.set_model(Holder())
    keras_rule.on_train_begin()
    for epoch, value in enumerate(accuracies):
        keras_rule.on_epoch_end(epoch, {"val_accuracy": value})
        assert keras_rule.model.stop_training == (epoch == len(accuracies) - 1)
    # Epochs count from 1 here, from 0 in Keras's callback.
    assert result.best_epoch == keras_rule.best_epoch + 1 == int(np.argmax(accuracies)) + 1


def test_on_epoch_end_gets_the_logs_and_can_stop(data):
    seen = []

    def callback(epoch, logs):
        seen.append((epoch, logs))
        return epoch == 2

    result = train(fresh(data), data, epochs=5, verbose=0, on_epoch_end=callback)
    assert result.epochs_run == 2 and result.stopped_early
    assert [epoch for epoch, _ in seen] == [1, 2]  # epochs count from 1
    for epoch, logs in seen:
        assert logs == {key: values[epoch - 1] for key, values in result.history.items()}


def test_nan_loss_stops_with_epoch_and_step_and_keeps_the_good_checkpoint(data, tmp_path):
    directory = str(tmp_path)
    model = fresh(data)
    train(model, data, epochs=1, verbose=0, checkpoint_dir=directory)
    good = [w.copy() for w in model.get_weights()]

    poisoned = small_digits()
    poisoned.x_train = poisoned.x_train.copy()
    poisoned.x_train[123, 5] = np.nan
    # Where example 123 falls in the second epoch (make_batches counts epochs from 0):
    # the mini-batch whose loss becomes NaN, counted from 1 as DivergedError does.
    index = np.arange(300, dtype=np.float32)[:, None]
    batches = [x.numpy()[:, 0] for x, _ in make_batches(index, index, 32, seed=0, first_epoch=1)]
    step = next(i for i, batch in enumerate(batches, start=1) if 123 in batch)

    with pytest.raises(DivergedError) as error:
        train(model, poisoned, epochs=3, verbose=0, checkpoint_dir=directory, resume=True)
    assert (error.value.epoch, error.value.step) == (2, step)
    assert f"epoch 2, step {step}" in str(error.value) and "nan" in str(error.value)
    assert len(error.value.history["loss"]) == 1
    assert tf.train.latest_checkpoint(directory).endswith("ckpt-1")
    restored = fresh(data, seed=4)
    tf.train.Checkpoint(model=restored).restore(
        tf.train.latest_checkpoint(directory)).expect_partial()
    assert max_difference(restored.get_weights(), good) == 0.0


def test_bad_arguments_are_named(data):
    model = fresh(data)
    with pytest.raises(ValueError, match="optimizer"):
        train(model, data, optimizer="adagrad", verbose=0)
    with pytest.raises(ValueError, match="monitor"):
        train(model, data, monitor="val_acc", verbose=0)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        train(model, data, resume=True, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        train(model, data, batch_size=0, verbose=0)


def test_a_damaged_checkpoint_is_an_error_naming_it(data, tmp_path):
    directory = str(tmp_path)
    train(fresh(data), data, epochs=1, verbose=0, checkpoint_dir=directory)
    index = tmp_path / "ckpt-1.index"
    index.write_bytes(index.read_bytes()[:20])  # truncated, as by a full disk
    with pytest.raises(CheckpointError, match="ckpt-1"):
        train(fresh(data), data, epochs=2, verbose=0, checkpoint_dir=directory, resume=True)
