"""StackedNetwork: K course networks trained as one, each as it would train alone.

The reference for a member is a float64 run of it alone, written with Keras's own
pieces (build_network in float64, make_optimizer's Keras optimizer, the mini-batches
of make_batches); the yardstick is today's float32 run of it alone (tfweek3.train).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers_numerics import EPS32, float32_tolerance
from helpers_train_child import small_digits

from tfweek3.layers.softmax import cost
from tfweek3.training.batches import (
    epoch_order,
    epoch_steps,
    lockstep_batches,
    make_batches,
)
from tfweek3.training.loop import train
from tfweek3.training.member import Member
from tfweek3.training.network import build_network, logits_model
from tfweek3.training.optimizers import make_optimizer
from tfweek3.training.stacked import StackedNetwork

EPOCHS = 2
MEMBERS = [  # widths, layers, batch norm, optimizer, alpha, beta and mini-batch size all differ
    Member((25, 12), 1e-2, 0.9, "adam", True, 32, seed=0),
    Member((40,), 0.05, 0.9, "momentum", False, 16, seed=1),
    Member((8, 30, 20), 0.03, 0.8, "momentum", True, 64, seed=2),
    Member((16, 16), 3e-3, 0.95, "adam", False, 50, seed=3),
    *[Member((25, 12), 1e-2, 0.9, "adam", True, 32, seed=s) for s in range(4, 6)],
]


def flat(weights) -> np.ndarray:
    return np.concatenate([np.ravel(w) for w in weights]).astype(np.float64)


def alone_in_float64(member, data, initial):
    """The member trained alone in float64 from `initial`: its epochs' mean costs and weights."""
    keras.config.set_dtype_policy("float64")
    try:
        model = member.build(data.input_dim, data.num_classes)
    finally:
        keras.config.set_dtype_policy("float32")
    model.set_weights([w.astype(np.float64) for w in initial])
    forward = logits_model(model)
    optimizer = make_optimizer(member.optimizer, member.learning_rate, member.beta)
    losses = []
    for epoch in range(EPOCHS):
        total = 0.0
        for x, y in make_batches(data.x_train, data.y_train, member.batch_size, member.seed,
                                 first_epoch=epoch):
            x, y = tf.cast(x, tf.float64), tf.cast(y, tf.float64)
            with tf.GradientTape() as tape:
                loss = cost(y, forward(x, training=True), from_logits=True)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            total += float(loss) * len(x)
        losses.append(total / len(data.x_train))
    return np.array(losses), model.get_weights()


@pytest.fixture(scope="module")
def trained():
    data = small_digits()
    stack = StackedNetwork(MEMBERS, data.input_dim, data.num_classes)
    initial = [stack.member_model(k).get_weights() for k in range(len(MEMBERS))]
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    curves = [stack.train_epoch(x, y, e)[0].numpy() for e in range(EPOCHS)]
    return data, stack, initial, np.array(curves).T


def test_each_member_starts_from_the_weights_build_network_draws_for_its_seed(trained):
    data, _, initial, _ = trained
    for member, weights in zip(MEMBERS, initial):
        alone = build_network(data.input_dim, data.num_classes, member.hidden_units,
                              "manual" if member.batch_norm else "none", seed=member.seed)
        for ours, theirs in zip(weights, alone.get_weights(), strict=True):
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.numerics
def test_each_member_is_no_farther_from_float64_alone_than_its_float32_run_alone(trained):
    """A single run's distance from float64 is rounding noise: with the same code alone, member
    0's moved from 8.8e-6 to 1.85e-5 between oneDNN's AVX-512 and AVX2 kernels. So the promise
    is on the members' median (1.25x), with 2.5x for any one member; the loss curves each within
    1.25x plus two roundings of the cost."""
    data, stack, initial, curves = trained
    ratios = []
    for k, member in enumerate(MEMBERS):
        model = member.build(data.input_dim, data.num_classes)
        model.set_weights(initial[k])
        alone = train(model, data, epochs=EPOCHS, batch_size=member.batch_size,
                      optimizer=member.optimizer, learning_rate=member.learning_rate,
                      beta=member.beta, seed=member.seed, verbose=0)
        losses, weights = alone_in_float64(member, data, initial[k])
        two_roundings = float32_tolerance(2, total=max(losses))
        alone_loss = np.max(np.abs(np.array(alone.history["loss"]) - losses))
        stack_loss = np.max(np.abs(curves[k] - losses))
        assert stack_loss <= 1.25 * alone_loss + two_roundings, (k, stack_loss, alone_loss)
        alone_distance = np.linalg.norm(flat(model.get_weights()) - flat(weights))
        stack_distance = np.linalg.norm(flat(stack.member_model(k).get_weights()) - flat(weights))
        ratios.append(stack_distance / alone_distance)
    print("weights' distance from float64, stacked over alone:", np.round(ratios, 2))
    assert np.median(ratios) <= 1.25 and max(ratios) <= 2.5, ratios


@pytest.mark.numerics
def test_a_member_taken_out_is_its_plain_network_with_the_same_predictions(trained):
    data, stack, _, _ = trained
    logits, _ = stack.forward(tf.constant(data.x_val))
    for k, member in enumerate(MEMBERS):
        model = stack.member_model(k)
        alone = member.build(data.input_dim, data.num_classes)
        assert [layer.name for layer in model.layers] == [layer.name for layer in alone.layers]
        expected = tf.nn.softmax(logits[k]).numpy()
        ours = model(data.x_val, training=False).numpy()
        # a sum over the widest layer's units, three layers deep
        np.testing.assert_allclose(ours, expected, rtol=0, atol=float32_tolerance(64, layers=4))
    cost_, accuracy = (t.numpy() for t in stack.evaluate(tf.constant(data.x_val),
                                                         tf.constant(data.y_val)))
    for k in range(len(MEMBERS)):
        y_hat = stack.member_model(k)(data.x_val, training=False).numpy()
        assert accuracy[k] == pytest.approx(np.mean(y_hat.argmax(1) == data.y_val.argmax(1)))
        assert cost_[k] == pytest.approx(
            -np.mean(np.sum(data.y_val * np.log(y_hat), axis=1)), abs=64 * EPS32 * 4)


def test_padded_units_and_missing_layers_stay_zero_with_zero_moments(trained):
    _, stack, _, _ = trained
    k = 1  # one hidden layer of 40 units in a stack three deep and 40 wide
    member = MEMBERS[k]
    assert (stack.depth, stack.width) == (3, 40)
    for layer in (1, 2):  # the layers it lacks
        assert not np.any(stack.kernels[layer][k].numpy())
    k = 2  # 8, 30 and 20 units
    kernels = [stack.kernels[i][k].numpy() for i in range(3)]
    assert not np.any(kernels[0][:, 8:]) and not np.any(kernels[1][8:]) \
        and not np.any(kernels[1][:, 30:]) and not np.any(kernels[2][30:, 20:])
    assert not np.any(stack.output_kernel[k].numpy()[20:])
    for variable, m, v in zip(stack.trainable, stack.moment_1, stack.moment_2):
        name = variable.name.split(":")[0]
        if name.startswith(("kernel_2", "gamma_2", "beta_2", "bias_2")):
            assert not np.any(m[k].numpy()[..., 30:]) and not np.any(v[k].numpy()[..., 30:])
    assert member.hidden_units == (40,)


def test_members_step_on_their_own_mini_batches_and_a_stopped_one_not_at_all(trained):
    data, stack, _, _ = trained
    steps = [epoch_steps(len(data.x_train), m.batch_size) for m in MEMBERS]
    np.testing.assert_array_equal(stack.iterations.numpy(), [EPOCHS * s for s in steps])
    stack.stop(0)
    before = stack.member_model(0).get_weights()
    iterations = stack.iterations.numpy()
    stack.train_epoch(tf.constant(data.x_train), tf.constant(data.y_train), EPOCHS)
    for ours, theirs in zip(stack.member_model(0).get_weights(), before):
        np.testing.assert_array_equal(ours, theirs)
    assert stack.iterations.numpy()[0] == iterations[0]
    assert np.all(stack.iterations.numpy()[1:] == iterations[1:] + steps[1:])


@pytest.mark.parametrize("kwargs,word", [
    ({"hidden_units": ()}, "hidden_units"), ({"hidden_units": (4, 0)}, "hidden_units"),
    ({"optimizer": "rmsprop"}, "optimizer"), ({"learning_rate": 0.0}, "learning_rate"),
    ({"beta": 1.0}, "beta"), ({"batch_size": 0}, "batch_size")])
def test_a_bad_member_is_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Member(**{"hidden_units": (4,), "learning_rate": 0.1, **kwargs})


def test_a_member_out_and_back_in_carries_its_weights_and_optimizer_state(trained):
    """member_model(k) holds member k's weights, moments and step count in Keras's own
    optimizer; load_member puts them back: a stack of those models is the stack again."""
    data, stack, _, _ = trained
    again = StackedNetwork(MEMBERS, data.input_dim, data.num_classes)
    for k in range(len(MEMBERS)):
        model = stack.member_model(k)
        assert int(model.optimizer.iterations) == int(stack.iterations[k])
        again.load_member(k, model)
    for theirs, ours in zip(
            [*stack.trainable, *stack.moment_1, *stack.moment_2, *stack.moving_means,
             *stack.moving_variances, stack.iterations],
            [*again.trainable, *again.moment_1, *again.moment_2, *again.moving_means,
             *again.moving_variances, again.iterations]):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=theirs.name)
    with pytest.raises(ValueError, match=r"member 1 has weights of shapes"):
        again.load_member(1, stack.member_model(0))


@pytest.mark.numerics
def test_a_member_taken_out_trains_on_in_keras_as_it_would_in_the_stack(trained):
    """The moments land in Keras's slots for them (Adam's m and v, SGD's momentum): one more
    epoch with `train` and Keras's optimizer is one more epoch in the stack, to rounding."""
    data, stack, _, _ = trained
    again = StackedNetwork(MEMBERS, data.input_dim, data.num_classes)
    models = [stack.member_model(k) for k in range(len(MEMBERS))]
    for k, model in enumerate(models):
        again.load_member(k, model)
    again.train_epoch(tf.constant(data.x_train), tf.constant(data.y_train), EPOCHS + 1)
    for k, (member, model) in enumerate(zip(MEMBERS, models)):
        train(model, data, epochs=EPOCHS + 2, initial_epoch=EPOCHS + 1,
              batch_size=member.batch_size, optimizer=model.optimizer, seed=member.seed,
              verbose=0)
        # a step with moments in the wrong slots moves a weight by about alpha (1e-3 and more)
        for ours, theirs in zip(again.member_weights(k), model.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)


def test_a_reset_stack_trains_new_members_as_a_new_stack_without_compiling_again():
    data = small_digits()
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    stack = StackedNetwork(MEMBERS, data.input_dim, data.num_classes)
    stack.train_epoch(x, y, 0)
    traced = stack._train_batches.experimental_get_tracing_count()
    others = [Member((12,), 0.02, 0.8, "momentum", True, 64, seed=7),
              Member((30, 30, 30), 3e-3, 0.9, "adam", False, 16, seed=8),
              *[Member((n,), 1e-2, 0.95, "adam", True, 32, seed=n) for n in (5, 9, 40, 2)]]
    stack.reset(others)
    new = StackedNetwork(others, data.input_dim, data.num_classes, depth=stack.depth,
                         width=stack.width)
    for epoch in range(2):
        for ours, theirs in zip(stack.train_epoch(x, y, epoch), new.train_epoch(x, y, epoch)):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for k in range(len(others)):
        for ours, theirs in zip(stack.member_weights(k), new.member_weights(k)):
            np.testing.assert_array_equal(ours, theirs)
    assert stack._train_batches.experimental_get_tracing_count() == traced
    with pytest.raises(ValueError, match="cannot take"):
        stack.reset([*others[:-1], Member((41,), 0.1)])


def test_lockstep_batches_give_each_member_its_own_mini_batches_in_turn():
    m, members, epoch = 10, [(4, 0), (3, 1), (10, 0)], 2
    indices, weights, steps = lockstep_batches(m, members, epoch, at_least=(6, 12))
    assert indices.shape == weights.shape == (6, 3, 12) and steps == 4
    for k, (b, seed) in enumerate(members):
        n = epoch_steps(m, b)
        taken = [indices[t, k, j] for t in range(n) for j in range(b) if weights[t, k, j]]
        assert taken == list(epoch_order(m, seed, epoch).numpy())  # its own order, in turn
        assert weights[:, k].sum() == m and not weights[n:, k].any() \
            and not weights[:, k, b:].any()
