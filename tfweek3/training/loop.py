"""The training loop of the note's "using TensorFlow" section: tf.GradientTape, compiled.

One training step on a mini-batch (x, y), as the lecture writes it: only the
forward pass is ours, the framework does the backward pass.

    with tf.GradientTape() as tape:
        z = network(x, training=True)      # batch norm uses the batch's mu, sigma2
        J = cost(y, z, from_logits=True)   # J = (1/m) sum_i L(y_hat(i), y(i))
    grads = tape.gradient(J, weights)      # dJ/dW, dJ/dgamma, dJ/dbeta, ...
    optimizer.apply_gradients(zip(grads, weights))

`training=True` matters: it is what makes batch norm normalize with the
mini-batch's statistics and update its moving averages. Evaluation calls the
network with `training=False`, which uses those moving averages (the note's
"at test time"). Forgetting it in a hand-written loop fails silently.

Speed: the course's assignment runs this loop eagerly, one Python iteration per
mini-batch. Here a whole epoch is one call of a tf.function that shuffles the
examples, cuts them into mini-batches and loops over them in the graph, and
evaluation is one compiled call, so Python runs once per epoch, not once per
step (steps.py; a caller that trains one model many times compiles them once
and passes them as `steps`).

Checkpoints (tf.train.CheckpointManager, one per epoch) hold the model, the
optimizer (its moments and iteration count), the number of epochs done, the
data-order seed and the history. The mini-batch order of epoch e is drawn from
(seed, e) alone, so a run killed at any point and resumed sees the same
mini-batches and ends with the same weights as a run that never stopped.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tfweek3.training import stopping
from tfweek3.training.batches import epoch_steps
from tfweek3.training.checkpoints import (
    CHECKPOINT_NAME,
    checkpoint_to_resume,
    forget_checkpoints_after,
    restore,
)
from tfweek3.training.data import Dataset
from tfweek3.training.divergence import DivergedError
from tfweek3.training.names import DIRECTIONS, HISTORY_KEYS, best_epoch
from tfweek3.training.network import loss_forward
from tfweek3.training.optimizers import make_optimizer
from tfweek3.training.steps import TrainSteps, compile_steps, lecture_step


@dataclass
class TrainResult:
    """What `train` returns.

    history: one list per key of HISTORY_KEYS, one entry per epoch (those
    restored from a checkpoint included). loss/accuracy are the mean over the
    epoch's mini-batches in training mode, as Model.fit reports them;
    val_loss/val_accuracy are measured after the epoch with training=False.
    epochs_run: len(history["loss"]), the epochs done in total.
    stopped_early: True when early stopping or `on_epoch_end` ended the run.
    best_epoch: the epoch (from 1) with the best value of the monitored metric.
    traces: how many times each compiled function was traced (1 each: no retracing).
    """

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    history: dict[str, list[float]]
    epochs_run: int
    stopped_early: bool
    best_epoch: int | None
    traces: dict[str, int] = field(default_factory=dict)


def train(
    model: keras.Model,
    data: Dataset,
    *,
    epochs: int = 20,
    initial_epoch: int = 0,
    batch_size: int = 32,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    learning_rate: float = 1e-3,
    beta: float = 0.9,
    seed: int = 0,
    patience: int | None = None,
    monitor: str = "val_accuracy",
    checkpoint_dir: str | None = None,
    resume: bool | str = False,
    max_to_keep: int | None = None,
    log_dir: str | None = None,
    jit_compile: bool = False,
    verbose: int = 1,
    on_epoch_end: Callable[[int, dict[str, float]], bool | None] | None = None,
    steps: TrainSteps | None = None,
) -> TrainResult:
    """Train `model` on `data` with mini-batch gradient descent; return the model and its history.

    epochs: the total number of epochs; a resumed run does only those left.
    initial_epoch: the epochs already trained elsewhere, as Model.fit's: training
    starts at epoch initial_epoch + 1 (with its data order), and the history
    holds this run's epochs only (population-based training continues a
    parent's model this way; a checkpoint to resume from has the last word).
    optimizer: "sgd", "momentum", "rmsprop" or "adam" (see make_optimizer), or
    a Keras optimizer (then learning_rate and beta are ignored).
    seed: the mini-batch order of epoch e is the permutation drawn from (seed, e).
    patience: stop when `monitor` (a history key; accuracies are maximized,
    losses minimized) has not improved for `patience` epochs, as Keras's
    EarlyStopping. The weights are those of the last epoch, not of the best.
    checkpoint_dir: save a checkpoint after every epoch (max_to_keep None: all).
    resume: True continues from the last checkpoint of checkpoint_dir (or starts
    fresh if there is none); a checkpoint path (see checkpoint_for_epoch) goes
    on from that one. The checkpoint's data-order seed is used, and the
    learning rate of this call replaces the checkpointed one, so a caller may
    change it between runs. Starting at epoch k deletes the checkpoints after k.
    log_dir: TensorBoard scalars every epoch in log_dir/train and log_dir/validation.
    on_epoch_end(epoch, logs): called after each epoch (numbered from 1) with
    that epoch's history entries; returning True stops training.
    steps: the compiled functions of an earlier call for this model, optimizer
    and batch_size (steps.compile_steps), reused instead of traced again.
    Raises DivergedError when the loss becomes NaN or infinite.
    """
    _check_arguments(data, epochs, batch_size, patience, monitor, resume, checkpoint_dir)
    if isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer, learning_rate, beta)
    learning_rate = float(optimizer.learning_rate)
    steps_per_epoch = epoch_steps(len(data.x_train), batch_size)
    if steps is None:
        steps = compile_steps(model, optimizer, data, batch_size, jit_compile)
    elif not steps.serve(model, optimizer, batch_size, steps_per_epoch):
        raise ValueError("steps were compiled for another model, optimizer, batch_size or "
                         "number of training examples")
    train_epoch, evaluate_fn = steps.train_epoch, steps.evaluate

    # --- state: fresh, or restored from a checkpoint ---
    data_seed = tf.Variable(seed, dtype=tf.int64, trainable=False)
    epochs_done = tf.Variable(int(initial_epoch), dtype=tf.int64, trainable=False)
    saved_history = tf.Variable(
        np.zeros((0, len(HISTORY_KEYS))), shape=tf.TensorShape([None, len(HISTORY_KEYS)]),
        dtype=tf.float64, trainable=False,
    )
    checkpoint = tf.train.Checkpoint(
        model=model, optimizer=optimizer, epoch=epochs_done, data_seed=data_seed,
        history=saved_history,
    )
    manager = None
    if checkpoint_dir is not None:
        path = checkpoint_to_resume(checkpoint_dir, resume)
        if path is not None:
            restore(checkpoint, path)
            optimizer.learning_rate = learning_rate
        forget_checkpoints_after(checkpoint_dir, int(epochs_done.numpy()))
        manager = tf.train.CheckpointManager(
            checkpoint, checkpoint_dir, max_to_keep=max_to_keep, checkpoint_name=CHECKPOINT_NAME
        )
    rows = saved_history.numpy()
    history = {key: [float(v) for v in rows[:, i]] for i, key in enumerate(HISTORY_KEYS)}
    start = int(epochs_done.numpy())

    writers = None
    if log_dir is not None:
        writers = {
            "train": tf.summary.create_file_writer(os.path.join(log_dir, "train")),
            "validation": tf.summary.create_file_writer(os.path.join(log_dir, "validation")),
        }
    if verbose and start:
        print(f"Resuming at epoch {start + 1}/{epochs}.")
    x_val = tf.constant(data.x_val, tf.float32)
    y_val = tf.constant(data.y_val, tf.float32)
    x_train = tf.constant(data.x_train, tf.float32)
    y_train = tf.constant(data.y_train, tf.float32)
    order_seed = tf.constant(int(data_seed.numpy()), tf.int64)
    stopped_early = False
    try:
        with stopping.deferred():  # a stop is taken between epochs
            for epoch in range(start, epochs):
                progbar = None
                if verbose:
                    print(f"Epoch {epoch + 1}/{epochs}")
                    progbar = keras.utils.Progbar(
                        steps_per_epoch, verbose=verbose, stateful_metrics=HISTORY_KEYS
                    )
                loss, accuracy, bad_step, bad_loss = train_epoch(
                    x_train, y_train, order_seed, tf.constant(epoch, tf.int64))
                if int(bad_step) >= 0:
                    raise DivergedError(epoch + 1, int(bad_step) + 1, _copy(history), float(bad_loss))
                val_loss, val_accuracy = evaluate_fn(x_val, y_val)
                if not math.isfinite(float(val_loss)):
                    raise DivergedError(epoch + 1, None, _copy(history), float(val_loss))

                logs = {
                    "loss": float(loss),
                    "accuracy": float(accuracy),
                    "val_loss": float(val_loss),
                    "val_accuracy": float(val_accuracy),
                    "learning_rate": float(optimizer.learning_rate),
                }
                for key in HISTORY_KEYS:
                    history[key].append(logs[key])
                if writers is not None:
                    _write_summaries(writers, epoch + 1, logs)
                if manager is not None:
                    epochs_done.assign(epoch + 1)
                    saved_history.assign(np.array([history[key] for key in HISTORY_KEYS]).T)
                    manager.save(checkpoint_number=epoch + 1)
                if progbar is not None:
                    progbar.update(steps_per_epoch, list(logs.items()))

                if patience is not None:
                    wait = _epochs_without_improvement(history[monitor], monitor)
                    stopped_early = wait > 0 and wait >= patience
                if on_epoch_end is not None and on_epoch_end(epoch + 1, dict(logs)):
                    stopped_early = True
                if stopped_early:
                    break
                stopping.check()  # a Ctrl-C during the epoch ends the run here
    finally:
        for writer in (writers or {}).values():
            writer.close()

    return TrainResult(
        model=model,
        optimizer=optimizer,
        history=history,
        epochs_run=len(history["loss"]),
        stopped_early=stopped_early,
        best_epoch=best_epoch(history[monitor], monitor),
        traces=steps.traces(),
    )


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> Callable:
    """The lecture's step on one mini-batch (x, y), uncompiled: `train` compiles it into an epoch.

    Forward under a GradientTape with training=True, the cost J (from the logits
    when the model ends in a SoftmaxClassifier), its gradients, the optimizer's
    update. Returns J before the update and the number of examples classified right.
    """
    return lecture_step(*loss_forward(model), optimizer, model.trainable_variables)


class OneTracePerModel(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to <function train_epoch> triggered
    tf.function retracing": `train` compiles new functions for each model it trains, traced
    once each (TrainResult.traces), and a search trains many models in one process, which that
    warning's count takes for retracing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_retracing() -> None:
    """Install OneTracePerModel on TensorFlow's logger, once."""
    logger = tf.get_logger()
    if not any(isinstance(f, OneTracePerModel) for f in logger.filters):
        logger.addFilter(OneTracePerModel())


def _epochs_without_improvement(values: list[float], monitor: str) -> int:
    return len(values) - best_epoch(values, monitor)


def _write_summaries(writers, epoch: int, logs: dict[str, float]) -> None:
    with writers["train"].as_default(step=epoch):
        tf.summary.scalar("loss", logs["loss"])
        tf.summary.scalar("accuracy", logs["accuracy"])
        tf.summary.scalar("learning_rate", logs["learning_rate"])
    with writers["validation"].as_default(step=epoch):
        tf.summary.scalar("loss", logs["val_loss"])
        tf.summary.scalar("accuracy", logs["val_accuracy"])
    for writer in writers.values():
        writer.flush()


def _copy(history: dict[str, list[float]]) -> dict[str, list[float]]:
    return {key: list(values) for key, values in history.items()}


def _check_arguments(data, epochs, batch_size, patience, monitor, resume, checkpoint_dir) -> None:
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer; got {epochs!r}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    if patience is not None and (int(patience) != patience or patience < 0):
        raise ValueError(f"patience must be None or a non-negative integer; got {patience!r}")
    if monitor not in DIRECTIONS:
        raise ValueError(f"monitor must be one of {tuple(DIRECTIONS)}; got {monitor!r}")
    if resume is not False and checkpoint_dir is None:
        raise ValueError("resume needs checkpoint_dir (where the checkpoints are written)")
    if len(data.x_train) == 0 or len(data.x_val) == 0:
        raise ValueError(f"{data.name}: the training and validation sets must not be empty")
    for x, y, split in ((data.x_train, data.y_train, "train"), (data.x_val, data.y_val, "val")):
        if len(x) != len(y) or y.ndim != 2 or y.shape[1] != data.num_classes:
            raise ValueError(
                f"{data.name}: x_{split} {x.shape} and y_{split} {y.shape} must have as many rows, "
                f"and y_{split} one column per class ({data.num_classes})"
            )
