"""Checks of exercise 7: one tf.GradientTape training step of the course network.

The reference is tfweek3's own step, `tfweek3.training.loop.make_train_step`
(the loop `tfweek3.train` compiles), run on a twin of the learner's network:
the same weights, the same optimizer, the same mini-batch. The network is the
course's (`build_network`: 12 inputs, 25 and 12 hidden units, Keras's batch
norm, 4 classes), so that training=True visibly matters. A wrong variant is
the same step with one slip, run on another twin.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfweek3.practice.checks_softmax import COST_SUM
from tfweek3.practice.grader import CheckFailed, Checks, Mistake, expect_close
from tfweek3.practice.learner import LearnerError
from tfweek3.training.loop import make_train_step
from tfweek3.training.network import build_network

INPUTS, CLASSES, M, SEED = 12, 4, 32, 0
TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}

NO_TRAINING = Mistake(
    "called_without_training",
    "the model was called without training=True, so batch norm used its moving statistics "
    "(and did not update them)")
NO_UPDATE = Mistake(
    "optimizer_not_applied",
    "the weights did not move: apply the gradients with "
    "optimizer.apply_gradients(zip(gradients, model.trainable_variables))")
PROBABILITIES_AS_LOGITS = Mistake(
    "probabilities_as_logits",
    "the cost treats the model's output as logits (from_logits=True), but the course network "
    "already ends in softmax: its outputs are probabilities y_hat")
OUTSIDE_TAPE = Mistake(
    "forward_outside_tape",
    "no gradients: the forward pass (the model's call) and the cost J must run inside "
    "`with tf.GradientTape() as tape:` for the tape to see them")


def batch(seed: int = 1):
    rng = np.random.default_rng(seed)
    x = (1.0 + 2.0 * rng.normal(0, 1, (M, INPUTS))).astype(np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, M)]
    return tf.constant(x), tf.constant(y)


def network() -> keras.Model:
    """The course network, with the same initial weights every time."""
    keras.utils.set_random_seed(SEED)
    return build_network(INPUTS, CLASSES, hidden_units=(25, 12), batch_norm="keras")


def optimizer_factory(kind: str) -> Callable[[], keras.optimizers.Optimizer]:
    if kind == "sgd":
        return lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    return lambda: keras.optimizers.Adam(learning_rate=0.01)


def variant_step(training: bool = True, reduce=tf.reduce_mean, from_logits: bool = False,
                 apply: bool = True):
    """The lecture's step with one knob per classic slip."""

    def step(model, optimizer, x, y):
        with tf.GradientTape() as tape:
            y_hat = model(x, training=training) if training else model(x)
            J = reduce(keras.losses.categorical_crossentropy(y, y_hat, from_logits=from_logits))
        grads = tape.gradient(J, model.trainable_variables)
        if apply:
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return J

    return step


VARIANTS = ((NO_TRAINING, variant_step(training=False)), (COST_SUM, variant_step(reduce=tf.reduce_sum)),
            (PROBABILITIES_AS_LOGITS, variant_step(from_logits=True)),
            (NO_UPDATE, variant_step(apply=False)))


def run_steps(step, kind: str, steps: int, compiled: bool = False):
    """A fresh network trained `steps` steps by `step` with the optimizer `kind`:
    {"J": the first step's J, "trainable": the weights, "moving": batch norm's statistics}."""
    model, optimizer = network(), optimizer_factory(kind)()
    x, y = batch()
    if compiled:
        step_fn = tf.function(lambda x_, y_: step(model, optimizer, x_, y_))
    else:
        step_fn = lambda x_, y_: step(model, optimizer, x_, y_)
    first = None
    for _ in range(steps):
        J = step_fn(x, y)
        first = J if first is None else first
    return {"J": first, "trainable": flat(model.trainable_variables),
            "moving": flat(model.non_trainable_variables)}


def reference_step(model, optimizer, x, y):
    """tfweek3's step, the one `tfweek3.train` compiles into its epochs; returns J."""
    return make_train_step(model, optimizer)(x, y)[0]


@functools.cache
def known_steps(which: int, kind: str, steps: int) -> dict:
    """The reference's results (which = -1) or those of VARIANTS[which]; computed once."""
    if which < 0:
        return run_steps(reference_step, kind, steps)
    return run_steps(VARIANTS[which][1], kind, steps)


def learner_steps(learner, kind: str, steps: int, compiled: bool = False):
    """The learner's step run like the reference; a step without gradients gets its hint."""
    step = learner.get("train_step")
    label = "train_step in tf.function" if compiled else "train_step"
    try:
        return learner.run(label, lambda: run_steps(step, kind, steps, compiled))
    except LearnerError as error:
        if "No gradients provided" in str(error):
            raise CheckFailed.because(OUTSIDE_TAPE) from None
        raise


def flat(variables) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(v)) for v in variables])


def expect_step(learner, kind: str, steps: int, what: str, compiled: bool = False):
    """J of the first step, the weights ("trainable") or the moving statistics ("moving")
    after `steps` steps, against the reference's; on a mismatch, against each variant's."""
    got = learner_steps(learner, kind, steps, compiled)
    names = {"J": "J", "trainable": "the weights", "moving": "batch norm's moving statistics"}
    name = names[what] if what == "J" else f"{names[what]} after {steps} step(s), flattened"
    variants = [(mistake, lambda i=i: known_steps(i, kind, steps)[what])
                for i, (mistake, _) in enumerate(VARIANTS)]
    expect_close(got[what], known_steps(-1, kind, steps)[what], name, variants, **TOLERANCE)


checks = Checks(mistakes=(NO_TRAINING, NO_UPDATE, COST_SUM, PROBABILITIES_AS_LOGITS, OUTSIDE_TAPE))


@checks.add(f"returns J, the mean cross-entropy of a batch of {M} in training mode, before the "
            f"update")
def step_cost(learner):
    expect_step(learner, "sgd", 1, "J")


@checks.add("the weights after one step (SGD, momentum 0.9) are those of tfweek3's "
            "make_train_step")
def step_weights(learner):
    expect_step(learner, "sgd", 1, "trainable")


@checks.add("batch norm's moving statistics after one step moved as in training")
def step_moving_statistics(learner):
    expect_step(learner, "sgd", 1, "moving")


@checks.add("three steps with Adam: the weights are those of make_train_step")
def step_adam(learner):
    expect_step(learner, "adam", 3, "trainable")


@checks.add("inside tf.function (as tfweek3.train compiles it): the same weights after one step")
def step_compiled(learner):
    expect_step(learner, "sgd", 1, "trainable", compiled=True)


CHECKS = {"train_step": checks}
