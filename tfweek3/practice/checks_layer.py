"""Checks of exercise 5: SimpleBatchNorm, a Keras layer with the training switch.

The learner's layer (float32) is compared with the NumPy reference in float64
(tfweek3.layers.reference: batch_norm_forward, batch_norm_inference,
update_moving, batch_norm_backward) and with keras.layers.BatchNormalization
given the same gamma, beta and moving statistics: the behaviour the layer
imitates (what training=None means, how the moving averages move).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfweek3.layers import reference
from tfweek3.practice.checks_batch_norm import EPSILON_OUTSIDE, UNBIASED
from tfweek3.practice.grader import CheckFailed, Checks, Mistake, expect_close

MOMENTUM, EPSILON, UNITS = 0.9, 1e-3, 4
WEIGHTS = (("gamma", 1.0, True), ("beta", 0.0, True), ("moving_mean", 0.0, False),
           ("moving_variance", 1.0, False))
FLOAT32 = {"rtol": 1e-4, "atol": 1e-5}  # float32 against the float64 reference

INVERTED_SWITCH = Mistake(
    "switch_inverted",
    "the training switch is inverted: training=True must use the batch's mu and sigma2 (and "
    "update the moving averages), training=False the moving averages")
MOMENTUM_SWAPPED = Mistake(
    "moving_average_swapped",
    "the moving average weights are swapped: moving = momentum * moving + (1 - momentum) * batch")
NO_UPDATE = Mistake(
    "moving_average_not_updated",
    "the moving averages did not move in training: assign moving = momentum * moving + "
    "(1 - momentum) * batch when training")
INFERENCE_USES_BATCH = Mistake(
    "inference_uses_batch",
    "with training=False the layer normalized with the batch's own mu and sigma2: at test time "
    "use moving_mean and moving_variance (there may be one example)")
NONE_IS_TRAINING = Mistake(
    "training_none_is_training",
    "called without a training argument (training=None), the layer trained: None means "
    "inference in Keras; default to training=None and test `if training:`")
UPDATES_IN_INFERENCE = Mistake(
    "moving_average_updated_in_inference",
    "the moving averages changed in an inference call: update them only when training")
STATISTICS_CUT = Mistake(
    "statistics_outside_tape",
    "dz treats mu and sigma2 as constants: they were computed outside TensorFlow (NumPy, "
    ".numpy()) or behind tf.stop_gradient, so GradientTape does not see that z moves them")


def data(m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (2.0 + rng.normal(0, 1, UNITS) + rng.uniform(0.5, 2, UNITS)
            * rng.normal(0, 1, (m, UNITS))).astype(np.float32)


PARAMETERS = np.random.default_rng(99).uniform(0.5, 2.0, (4, UNITS)).astype(np.float32)
GAMMA, BETA = PARAMETERS[0], PARAMETERS[1] - 1.0
MOVING_MEAN, MOVING_VARIANCE = PARAMETERS[2], PARAMETERS[3]


def weight(layer, name: str):
    value = getattr(layer, name, None)
    if value is None:
        raise CheckFailed(f"self.{name} is None: not written yet (make it in build with "
                          f"self.add_weight(...))")
    if not isinstance(value, keras.Variable):
        raise CheckFailed(f"the layer has no weight self.{name} after build (it is "
                          f"{type(value).__name__}): make it with self.add_weight(...)")
    return value


def make_layers(learner, moving=None):
    """The learner's layer and Keras's, built for UNITS units with the same weights."""
    cls = learner.get("SimpleBatchNorm")
    mine = learner.run(f"SimpleBatchNorm(momentum={MOMENTUM}, epsilon={EPSILON})",
                       lambda: cls(momentum=MOMENTUM, epsilon=EPSILON))
    learner.run("SimpleBatchNorm.build", lambda: mine.build((None, UNITS)))
    keras_bn = keras.layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON)
    keras_bn.build((None, UNITS))
    moving = moving or (np.zeros(UNITS, np.float32), np.ones(UNITS, np.float32))
    for layer in (mine, keras_bn):
        for name, value in zip(("gamma", "beta", "moving_mean", "moving_variance"),
                               (GAMMA, BETA, *moving)):
            weight(layer, name).assign(value)
    return mine, keras_bn


def call(learner, layer, x, **training):
    """layer(x, training=...) (no argument when `training` is empty), run as the learner's code."""
    return learner.run("SimpleBatchNorm.call", lambda: layer(tf.constant(x), **training))


def wide(x):
    return np.asarray(x, np.float64)


def batch_statistics(x, divisor=None):
    """The reference's mu and sigma2 of the batch x (sigma2 divided by `divisor`, not m, if given)."""
    z = wide(x)
    _, cache = reference.batch_norm_forward(z, 1.0, 0.0, EPSILON)
    scale = 1.0 if divisor is None else z.shape[0] / divisor
    return cache["mu"], cache["sigma2"] * scale


def training_output(x, epsilon_outside=False, divisor=None):
    """z_tilde in training: the reference's, or with one of the forward pass's classic slips."""
    z = wide(x)
    if not epsilon_outside and divisor is None:
        return reference.batch_norm_forward(z, wide(GAMMA), wide(BETA), EPSILON)[0]
    mu, sigma2 = batch_statistics(x, divisor)
    std = np.sqrt(sigma2) + EPSILON if epsilon_outside else np.sqrt(sigma2 + EPSILON)
    return wide(GAMMA) * (z - mu) / std + wide(BETA)


def inference_output(x, mean, variance, epsilon_outside=False):
    if epsilon_outside:
        return wide(GAMMA) * (wide(x) - wide(mean)) / (np.sqrt(wide(variance)) + EPSILON) + wide(BETA)
    return reference.batch_norm_inference(wide(x), wide(GAMMA), wide(BETA), wide(mean),
                                          wide(variance), EPSILON)


def updated(mean, variance, x, swapped=False, divisor=None):
    """The moving statistics after one training batch x (the reference's update, or swapped)."""
    mu, sigma2 = batch_statistics(x, divisor)
    if swapped:
        return (1 - MOMENTUM) * mean + MOMENTUM * mu, (1 - MOMENTUM) * variance + MOMENTUM * sigma2
    return (reference.update_moving(mean, mu, MOMENTUM),
            reference.update_moving(variance, sigma2, MOMENTUM))


def inference_variants(x, none_call=False):
    """What an inference call gives with each slip, the moving statistics set to MOVING_*."""
    def batch():
        return training_output(x)

    if none_call:
        yield NONE_IS_TRAINING, batch
    yield INFERENCE_USES_BATCH, batch
    yield INVERTED_SWITCH, batch
    yield UPDATES_IN_INFERENCE, lambda: inference_output(x, *updated(MOVING_MEAN, MOVING_VARIANCE, x))
    yield EPSILON_OUTSIDE, lambda: inference_output(x, MOVING_MEAN, MOVING_VARIANCE, True)


def training_variants(x):
    """What a training call of a fresh layer (moving statistics 0 and 1) gives with each slip."""
    yield UNBIASED, lambda: training_output(x, divisor=x.shape[0] - 1)
    yield EPSILON_OUTSIDE, lambda: training_output(x, epsilon_outside=True)
    yield INVERTED_SWITCH, lambda: inference_output(x, np.zeros(UNITS), np.ones(UNITS))


def expect_both(got, expected64, keras_value, name, variants):
    """The learner's float32 value against the float64 reference, then against Keras."""
    expect_close(got, expected64, name, variants, **FLOAT32)
    expect_close(got, keras_value, f"{name} (against keras.layers.BatchNormalization)", (),
                 **FLOAT32)


checks = Checks(mistakes=(UNBIASED, EPSILON_OUTSIDE, INVERTED_SWITCH, MOMENTUM_SWAPPED, NO_UPDATE,
                          INFERENCE_USES_BATCH, NONE_IS_TRAINING, UPDATES_IN_INFERENCE,
                          STATISTICS_CUT))


@checks.add("build: gamma (ones) and beta (zeros) trainable, moving_mean (zeros) and "
            "moving_variance (ones) not, each of shape (units,)")
def layer_build(learner):
    cls = learner.get("SimpleBatchNorm")
    layer = learner.run("SimpleBatchNorm()", lambda: cls(momentum=MOMENTUM, epsilon=EPSILON))
    learner.run("SimpleBatchNorm.build", lambda: layer.build((None, UNITS)))
    for name, initial, trainable in WEIGHTS:
        variable = weight(layer, name)
        if tuple(variable.shape) != (UNITS,):
            raise CheckFailed(f"self.{name} has shape {tuple(variable.shape)}; expected ({UNITS},)")
        if not np.allclose(variable.numpy(), initial):
            raise CheckFailed(f"self.{name} starts at {variable.numpy()}; expected {initial:g} "
                              f"everywhere")
        if variable.trainable != trainable:
            raise CheckFailed(f"self.{name} has trainable={variable.trainable}; it must be "
                              f"{trainable}")


@checks.add("training=True on a (16, 4) batch: z_tilde as the reference and Keras")
def layer_training(learner):
    mine, keras_bn = make_layers(learner)
    x = data(16, seed=1)
    expect_both(call(learner, mine, x, training=True), training_output(x),
                keras_bn(x, training=True), "z_tilde in training", training_variants(x))


@checks.add(f"moving_mean and moving_variance after 3 training steps (momentum {MOMENTUM}), "
            f"as the reference and Keras")
def layer_moving_averages(learner):
    mine, keras_bn = make_layers(learner)
    batches = [data(8, seed) for seed in (2, 3, 4)]
    right = swapped = unbiased = (np.zeros(UNITS), np.ones(UNITS))
    for x in batches:
        call(learner, mine, x, training=True)
        keras_bn(x, training=True)
        right = updated(*right, x)
        swapped = updated(*swapped, x, swapped=True)
        unbiased = updated(*unbiased, x, divisor=7)
    unchanged = (np.zeros(UNITS), np.ones(UNITS))
    for i, name in enumerate(("moving_mean", "moving_variance")):
        expect_both(weight(mine, name), right[i], weight(keras_bn, name), name, [
            (MOMENTUM_SWAPPED, lambda i=i: swapped[i]), (NO_UPDATE, lambda i=i: unchanged[i]),
            (INVERTED_SWITCH, lambda i=i: unchanged[i]), (UNBIASED, lambda i=i: unbiased[i])])


def expect_inference(learner, m: int, seed: int, what: str, **training) -> None:
    """An inference call (`training` = {} or {"training": False}) on m examples, the moving
    statistics set to MOVING_*, against the reference and Keras."""
    mine, keras_bn = make_layers(learner, moving=(MOVING_MEAN, MOVING_VARIANCE))
    x = data(m, seed=seed)
    expect_both(call(learner, mine, x, **training),
                inference_output(x, MOVING_MEAN, MOVING_VARIANCE), keras_bn(x, **training),
                what, inference_variants(x, none_call=not training))


@checks.add("training=False normalizes with the moving averages (set to known values)")
def layer_inference(learner):
    expect_inference(learner, 16, 5, "z_tilde at inference", training=False)


@checks.add("training=False leaves the moving averages as they are")
def layer_inference_keeps_moving(learner):
    mine, _ = make_layers(learner, moving=(MOVING_MEAN, MOVING_VARIANCE))
    x = data(16, seed=6)
    call(learner, mine, x, training=False)
    after = updated(MOVING_MEAN, MOVING_VARIANCE, x)
    for i, name, value in ((0, "moving_mean", MOVING_MEAN), (1, "moving_variance", MOVING_VARIANCE)):
        expect_close(weight(mine, name), value, f"{name} after an inference call", [
            (UPDATES_IN_INFERENCE, lambda i=i: after[i]), (INVERTED_SWITCH, lambda i=i: after[i])],
            **FLOAT32)


@checks.add("no training argument means inference, as in Keras")
def layer_default_is_inference(learner):
    expect_inference(learner, 16, 7, "z_tilde without a training argument")


@checks.add("a batch of one example at inference: finite, as the reference and Keras")
def layer_one_example(learner):
    expect_inference(learner, 1, 8, "z_tilde of one example", training=False)


def slipped_gradients(x, dz_tilde, **slip):
    """dz (by finite differences) and dgamma of J = sum(dz_tilde * z_tilde) for a slipped forward."""
    z = wide(x)
    dz = reference.numerical_gradient(lambda v: np.sum(dz_tilde * training_output(v, **slip)), z)
    z_norm = (training_output(z, **slip) - wide(BETA)) / wide(GAMMA)
    return {"dz": dz, "dgamma": np.sum(dz_tilde * z_norm, axis=0)}


@checks.add("GradientTape through the layer in training: dz, dgamma, dbeta as the closed form")
def layer_gradients(learner):
    mine, _ = make_layers(learner)
    x = tf.constant(data(12, seed=9))
    dz_tilde = np.random.default_rng(10).normal(0, 1, (12, UNITS)) / 12
    with tf.GradientTape() as tape:
        tape.watch(x)
        z_tilde = learner.run("SimpleBatchNorm.call", lambda: mine(x, training=True))
        cost = tf.reduce_sum(tf.constant(dz_tilde, tf.float32) * tf.cast(z_tilde, tf.float32))
    gradients = tape.gradient(cost, [x, weight(mine, "gamma"), weight(mine, "beta")])
    for name, gradient in zip(("z", "gamma", "beta"), gradients):
        if gradient is None:
            raise CheckFailed(f"no gradient reaches {name}: write call with TensorFlow ops "
                              f"(tf.reduce_mean, tf.sqrt), not NumPy or .numpy()")
    _, cache = reference.batch_norm_forward(wide(x), wide(GAMMA), wide(BETA), EPSILON)
    expected = reference.batch_norm_backward(dz_tilde, cache)
    m = x.shape[0]
    naive = wide(GAMMA) * dz_tilde / np.sqrt(cache["sigma2"] + EPSILON)
    # Inverted, training normalizes with the fresh moving statistics 0 and 1.
    inverted = {"dz": wide(GAMMA) * dz_tilde / np.sqrt(1 + EPSILON),
                "dgamma": np.sum(dz_tilde * wide(x) / np.sqrt(1 + EPSILON), axis=0)}
    slips = ((UNBIASED, {"divisor": m - 1}), (EPSILON_OUTSIDE, {"epsilon_outside": True}))
    for name, gradient, value in zip(("dz", "dgamma", "dbeta"), gradients, expected):
        if name == "dbeta":  # sum_i dz_tilde(i) whatever the slip
            variants = []
        else:
            variants = [(INVERTED_SWITCH, lambda n=name: inverted[n])]
            variants += [(mistake, lambda n=name, k=slip: slipped_gradients(x, dz_tilde, **k)[n])
                         for mistake, slip in slips]
        if name == "dz":
            variants.append((STATISTICS_CUT, lambda: naive))
        expect_close(gradient, value, f"{name} (by GradientTape, m = {m})", variants, **FLOAT32)



@checks.add("inside tf.function (as Model.fit runs it): the same z_tilde in training")
def layer_in_tf_function(learner):
    mine, _ = make_layers(learner)
    x = data(16, seed=11)
    step = tf.function(lambda batch: mine(batch, training=True))
    got = learner.run("SimpleBatchNorm.call in tf.function", lambda: step(tf.constant(x)))
    expect_close(got, training_output(x), "z_tilde in tf.function", training_variants(x),
                 **FLOAT32)


@checks.add("get_config holds momentum and epsilon; from_config rebuilds the layer")
def layer_config(learner):
    cls = learner.get("SimpleBatchNorm")
    layer = learner.run("SimpleBatchNorm()", lambda: cls(momentum=MOMENTUM, epsilon=EPSILON))
    config = learner.run("SimpleBatchNorm.get_config", layer.get_config)
    for key, value in (("momentum", MOMENTUM), ("epsilon", EPSILON)):
        if config.get(key) != value:
            raise CheckFailed(f"get_config()[{key!r}] is {config.get(key)!r}; expected {value} "
                              f"(add it with config.update)")
    again = learner.run("SimpleBatchNorm.from_config", lambda: cls.from_config(config))
    again_config = learner.run("SimpleBatchNorm.get_config", again.get_config)
    if (again_config.get("momentum"), again_config.get("epsilon")) != (MOMENTUM, EPSILON):
        raise CheckFailed("from_config(get_config()) did not keep momentum and epsilon")


CHECKS = {"batch_norm_layer": checks}
