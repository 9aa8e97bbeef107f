"""The loop's compiled functions: an epoch of training steps and an evaluation, traced once.

The step is the lecture's (loop.py): the forward pass under a GradientTape
with training=True, the cost J, its gradients, the optimizer's update. Here a
whole epoch is one tf.function: it draws the epoch's order of the examples
(batches.epoch_order), cuts it into mini-batches and loops over them in the graph;
evaluating a set is another, so Python runs once per epoch. (A tf.data
pipeline would give the same mini-batches, batches.make_batches, but building one
costs about 25 ms per training run: more than an epoch of a search's trial.)

Compiling is not free: tracing the two functions (running their Python once
to record the graph) and their first run cost about as much as thirty epochs of
the course network on digits.
`train` compiles them for every model it trains; a caller that trains the same
model again and again (a search's trials of one architecture, each from the
same initial weights) compiles them once with `compile_steps` and hands them
to each `train(..., steps=...)`. The functions capture the model's and the
optimizer's variables, not their values: resetting the weights, the optimizer's
moments or its learning rate needs no new trace; changing a Python number that
the step reads (a layer's size, SGD's momentum) does.

A search trains many small networks once each: `without_graph_optimizer` spares
them TensorFlow's graph optimizer, which takes longer on their small graphs
than it saves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import keras
import tensorflow as tf

from tfweek3.layers.softmax import cost
from tfweek3.training.batches import epoch_order, epoch_steps
from tfweek3.training.data import Dataset
from tfweek3.training.evaluation import compile_evaluate, correct
from tfweek3.training.network import loss_forward


@dataclass(frozen=True)
class TrainSteps:
    """A model's compiled epoch and evaluation, for one optimizer, mini-batch size and data size.

    train_epoch(x, y, seed, epoch): one epoch over the training set (x, y), in
    the order drawn from (seed, epoch) (int64 tensors); returns the mean loss
    and accuracy, and the first step whose loss is NaN or infinite (-1 if none)
    with that loss. evaluate(x, y): cost and accuracy
    with training=False. train_step: the XLA-compiled step when jit_compile,
    else None.
    """

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    batch_size: int
    steps_per_epoch: int
    train_epoch: Callable
    evaluate: Callable
    train_step: Callable | None = None

    def serve(self, model: keras.Model, optimizer: keras.optimizers.Optimizer, batch_size: int,
              steps_per_epoch: int) -> bool:
        """Whether these functions train `model` with `optimizer` on mini-batches of this size."""
        return (self.model is model and self.optimizer is optimizer
                and (self.batch_size, self.steps_per_epoch) == (batch_size, steps_per_epoch))

    def traces(self) -> dict[str, int]:
        """How many times each function was traced (1 each: no retracing)."""
        counts = {"train_epoch": self.train_epoch.experimental_get_tracing_count(),
                  "evaluate": self.evaluate.experimental_get_tracing_count()}
        if self.train_step is not None:
            counts["train_step"] = self.train_step.experimental_get_tracing_count()
        return counts


def compile_steps(model: keras.Model, optimizer: keras.optimizers.Optimizer, data: Dataset,
                  batch_size: int, jit_compile: bool = False) -> TrainSteps:
    """The compiled epoch and evaluation of `model` trained by `optimizer` on `data`.

    The optimizer is built here if it is not (its variables must exist before
    the first trace). jit_compile: compile the step with XLA as well.
    """
    if not optimizer.built:  # (a built one may hold restored moments: keep them)
        optimizer.build(model.trainable_variables)
    forward, from_logits = loss_forward(model)
    steps_per_epoch = epoch_steps(len(data.x_train), batch_size)
    train_step = lecture_step(forward, from_logits, optimizer, model.trainable_variables)
    jitted = tf.function(train_step, jit_compile=True) if jit_compile else None
    return TrainSteps(
        model=model, optimizer=optimizer, batch_size=batch_size, steps_per_epoch=steps_per_epoch,
        train_epoch=compile_train_epoch(jitted or train_step, steps_per_epoch, batch_size),
        evaluate=compile_evaluate(forward, from_logits, data.input_dim, data.num_classes),
        train_step=jitted)


@contextlib.contextmanager
def without_graph_optimizer() -> Iterator[None]:
    """TensorFlow's graph optimizer (Grappler) off for the functions called inside.

    Grappler rewrites a function's graph when it is first run. On the course
    network (digits, two hidden layers of 25 to 45 units with batch norm,
    mini-batches of 32) the first epoch, traced and run, took 0.73 s with it and
    0.33 s without, while it saved about 1.4 ms of each later 12 ms epoch: a
    gain for a search's ten-epoch trials, not for one long training. The
    functions must be called inside every time: the setting is part of how
    TensorFlow caches a function's instantiation, so a call outside would
    optimize it anew.
    """
    before = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": before})


def lecture_step(forward, from_logits: bool, optimizer, weights) -> Callable:
    """The step on one mini-batch (x, y): returns J before the update and the examples right."""

    def train_step(x, y):
        with tf.GradientTape() as tape:
            out = forward(x, training=True)  # batch norm: the batch's mu and sigma2
            loss = cost(y, out, from_logits=from_logits)
        grads = tape.gradient(loss, weights)
        optimizer.apply_gradients(zip(grads, weights))
        return loss, correct(y, out)

    return train_step


def compile_train_epoch(train_step: Callable, steps_per_epoch: int, batch_size: int):
    """The compiled epoch: steps_per_epoch mini-batches of batch_size examples (the last one
    the rest), cut from the epoch's order and looped over in the graph."""

    @tf.function
    def train_epoch(x, y, seed, epoch):
        """One epoch over (x, y) in the order drawn from (seed, epoch); returns the mean loss
        and accuracy over its examples, and the first step whose loss is NaN or infinite (-1
        if none) with that loss."""
        order = epoch_order(tf.shape(x)[0], seed, epoch)
        total_loss = tf.constant(0.0)
        total_correct = tf.constant(0.0)
        count = tf.constant(0.0)
        bad_step = tf.constant(-1)
        bad_loss = tf.constant(0.0)
        for step in tf.range(steps_per_epoch):
            batch = order[step * batch_size:(step + 1) * batch_size]
            loss, correct = train_step(tf.gather(x, batch), tf.gather(y, batch))
            m = tf.cast(tf.shape(batch)[0], tf.float32)
            first_bad = (bad_step < 0) & ~tf.math.is_finite(loss)
            bad_step = tf.where(first_bad, step, bad_step)
            bad_loss = tf.where(first_bad, loss, bad_loss)
            total_loss += loss * m
            total_correct += correct
            count += m
        return total_loss / count, total_correct / count, bad_step, bad_loss

    return train_epoch
