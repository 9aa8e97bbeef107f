"""Caviar in one graph: K course networks trained together, as one stacked network.

The note's caviar trains many models in parallel and keeps the best. Small
networks leave a CPU mostly idle when each trains alone: every step is a handful
of tiny matrix products, and the time goes to running them one by one. Here K
members share one set of variables with a leading member axis, so that each
step of all K members is the same handful of (batched) products:

    z[k] = a[k] @ W[k]          for k = 1..K at once:  einsum("kbi,kij->kbj")

Members differ in their hyperparameters and their architecture:

* hidden widths: every hidden layer is as wide as the widest member's; a
  member's extra (padded) units are multiplied by 0 after the RELU, so they
  contribute nothing, their weights get zero gradients and their optimizer
  moments stay zero (an update of zero moments is zero);
* fewer hidden layers: a member's activations pass unchanged through the
  layers after its last (and those layers' weights get no gradient);
* batch norm on or off (the bias of a hidden layer is used only without it, as
  in `build_network`), with each member's own mu, sigma2 and moving averages;
* alpha, beta and the optimizer ("adam": Adam's beta1 = beta; "momentum": SGD
  with momentum beta), in Keras's update formulas;
* the mini-batch size: members step in lockstep, each on its own mini-batches
  of its own epoch order (batches.epoch_order, as `train` draws it); a member
  whose epoch has ended waits without updating. Its cost is the mean over its
  own mini-batch: each mini-batch is padded to the largest size with examples
  of weight 0, which count in no sum of batch norm or of the cost.

Each member starts from the weights `build_network(..., seed=member.seed)`
draws (its real fan-in and fan-out). `member_model(k)` takes it out of the
stack as that plain Keras network, with its trained weights and its
optimizer's state; `load_member(k, model)` puts such a network back (a PBT
member continues from its parent's). `reset(members)` starts the stack afresh
with new members, keeping its compiled epoch: a search compiles once per shape.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tfweek3.training.batches import lockstep_batches
from tfweek3.training.member import Member
from tfweek3.training.optimizers import make_optimizer, optimizer_slots

EPSILON = 1e-3    # ManualBatchNorm's epsilon and momentum, as build_network leaves them
MOMENTUM = 0.99
ADAM_BETA_2 = 0.999   # Keras's Adam, as make_optimizer leaves it
ADAM_EPSILON = 1e-7
def _per_member(values, rank: int) -> tf.Tensor:
    """A (K,) tensor shaped to broadcast against a (K, ...) tensor of this rank."""
    return tf.reshape(values, [-1] + [1] * (rank - 1))


class StackedNetwork(tf.Module):
    """K course networks (`Member`s) in one set of variables with a member axis.

    `train_epoch(x, y, epoch)` trains every member one epoch (from 0) on its own
    mini-batches and returns each member's mean cost and accuracy; `evaluate(x, y)`
    gives each member's cost and accuracy with training=False (batch norm's moving
    averages); `stop(k)` freezes member k (a pruned trial); `member_model(k)` is
    member k as a plain Keras network, `load_member(k, model)` its way back in, and
    `reset(members)` new members in the same compiled stack.
    """

    def __init__(self, members: Sequence[Member], input_dim: int, num_classes: int,
                 jit_compile: bool = True, depth: int = 0, width: int = 0):
        super().__init__(name="stacked_network")
        if not members:
            raise ValueError("members must hold at least one Member")
        self.input_dim, self.num_classes = int(input_dim), int(num_classes)
        k, c = len(members), self.num_classes
        # As deep and wide as the deepest and widest member, or as asked (room for later ones)
        self.depth = max(depth, *(len(m.hidden_units) for m in members))
        self.width = max(width, *(max(m.hidden_units) for m in members))
        depth, width = self.depth, self.width

        def state(shape, dtype=tf.float32, name=None, trainable=False) -> tf.Variable:
            return tf.Variable(tf.zeros(shape, dtype), trainable=trainable, name=name)

        # Which member has which units, layers, batch norm and optimizer: variables, like
        # alpha and beta, so that `reset` gives the stack new members without compiling again.
        self.unit_mask = state((depth, k, width), name="unit_mask")
        self.has_layer = state((depth, k), tf.bool, "has_layer")
        self.batch_norm = state((k,), tf.bool, "batch_norm")
        self.adam = state((k,), tf.bool, "adam")
        self.learning_rate = state((k,), name="learning_rate")
        self.beta = state((k,), name="beta")
        self.stopped = state((k,), tf.bool, "stopped")
        self.iterations = state((k,), tf.int64, "iterations")
        fan_in = [self.input_dim] + [width] * (depth - 1)
        self.kernels = [state((k, n, width), name=f"kernel_{i + 1}", trainable=True)
                        for i, n in enumerate(fan_in)]
        self.biases, self.gammas, self.betas = (
            [state((k, width), name=f"{name}_{i + 1}", trainable=True) for i in range(depth)]
            for name in ("bias", "gamma", "beta"))
        self.moving_means, self.moving_variances = (
            [state((k, width), name=f"{name}_{i + 1}") for i in range(depth)]
            for name in ("moving_mean", "moving_variance"))
        self.output_kernel = state((k, width, c), name="output_kernel", trainable=True)
        self.output_bias = state((k, c), name="output_bias", trainable=True)
        self.trainable = [*self.kernels, *self.biases, *self.gammas, *self.betas,
                          self.output_kernel, self.output_bias]
        self.moment_1 = [state(v.shape) for v in self.trainable]
        self.moment_2 = [state(v.shape) for v in self.trainable]
        # A whole epoch is one XLA program, the loop over its steps included: 30 members of the
        # default search took 0.53 s an epoch, against 0.99 s with XLA on each step only and
        # 2.4 s without XLA.
        self._train_batches = tf.function(self._train_on_batches, jit_compile=jit_compile)
        self._padded = (0, 0)  # the largest (steps, batch size) trained on
        self.evaluate = tf.function(self._evaluate)
        self.reset(members)

    def reset(self, members: Sequence[Member]) -> None:
        """Start afresh with `members` (as many as the stack holds, none deeper or wider than
        it): their initial weights and hyperparameters, zero moments and steps. The compiled
        epoch is kept (one compilation per shape of the epoch's mini-batches): a search
        trains group after group in one stack."""
        k, depth, width = self.learning_rate.shape[0], self.depth, self.width
        if not self.fits(members):
            raise ValueError(f"members: a stack of {k} members, {depth} layers deep and "
                             f"{width} units wide, cannot take {len(members)} of "
                             f"{sorted({m.hidden_units for m in members})}")
        self.members = tuple(members)
        units = np.zeros((depth, k, width), np.float32)
        for i, member in enumerate(self.members):
            for layer, n in enumerate(member.hidden_units):
                units[layer, i, :n] = 1.0
        self.unit_mask.assign(units)
        self.has_layer.assign(units.max(axis=2) > 0)
        self.batch_norm.assign([m.batch_norm for m in self.members])
        self.adam.assign([m.optimizer == "adam" for m in self.members])
        self.learning_rate.assign([m.learning_rate for m in self.members])
        self.beta.assign([m.beta for m in self.members])
        self.stopped.assign(tf.zeros(k, tf.bool))
        self.iterations.assign(tf.zeros(k, tf.int64))
        kernels, output_kernel = self._initial_kernels()
        for variable, value in zip(self.kernels, kernels):
            variable.assign(value)
        self.output_kernel.assign(output_kernel)
        for variable in (*self.biases, *self.betas, *self.moving_means, self.output_bias,
                         *self.moment_1, *self.moment_2):
            variable.assign(tf.zeros_like(variable))
        for variable in (*self.gammas, *self.moving_variances):
            variable.assign(tf.ones_like(variable))

    def fits(self, members: Sequence[Member]) -> bool:
        """Whether `reset` can take `members`: as many as the stack holds, none deeper or wider."""
        return len(members) == self.learning_rate.shape[0] and all(
            len(m.hidden_units) <= self.depth and max(m.hidden_units) <= self.width for m in members)

    def _initial_kernels(self) -> tuple[list[np.ndarray], np.ndarray]:
        """The initial kernels each member's own `build_network(seed=...)` draws, padded."""
        k, depth, width, c = len(self.members), self.depth, self.width, self.num_classes
        fan_in = [self.input_dim] + [width] * (depth - 1)
        kernels = [np.zeros((k, n, width), np.float32) for n in fan_in]
        output_kernel = np.zeros((k, width, c), np.float32)
        for i, member in enumerate(self.members):
            *hidden, output = member.initial_kernels(self.input_dim, c)
            for layer, kernel in enumerate(hidden):
                kernels[layer][i, :kernel.shape[0], :kernel.shape[1]] = kernel
            output_kernel[i, :output.shape[0]] = output
        return kernels, output_kernel

    def forward(self, x, weights=None):
        """Each member's logits z of the output layer, (K, B, C), and each layer's (mu, sigma2).

        x: (K, B, n_x), each member's own mini-batch, or (B, n_x), one set for all.
        weights: (K, B), 1 for the examples of a member's mini-batch and 0 for its padding,
        for training (the batch's statistics); None for inference (the moving averages).
        """
        a, statistics = x, []
        spec = "kbi,kij->kbj" if x.shape.rank == 3 else "bi,kij->kbj"
        for layer in range(self.depth):
            z = tf.einsum(spec, a, self.kernels[layer])
            spec = "kbi,kij->kbj"
            bias = self.biases[layer] * tf.cast(~self.batch_norm, tf.float32)[:, None]
            z_plain = z + bias[:, None, :]
            # Batch norm in float64, rounded once to z_tilde, as ManualBatchNorm computes it.
            z64 = tf.cast(z, tf.float64)
            if weights is None:
                mu, sigma2 = self.moving_means[layer], self.moving_variances[layer]
                mu, sigma2 = (tf.cast(t, tf.float64)[:, None, :] for t in (mu, sigma2))
            else:
                w = tf.cast(weights, tf.float64)[:, :, None]
                m = tf.maximum(tf.reduce_sum(w, axis=1, keepdims=True), 1.0)
                mu = tf.reduce_sum(w * z64, axis=1, keepdims=True) / m
                sigma2 = tf.reduce_sum(w * tf.square(z64 - mu), axis=1, keepdims=True) / m
                statistics.append((mu[:, 0], sigma2[:, 0]))
            gamma, beta = (tf.cast(t[layer], tf.float64)[:, None, :]
                           for t in (self.gammas, self.betas))
            z_tilde = tf.cast((z64 - mu) * (gamma * tf.math.rsqrt(sigma2 + EPSILON)) + beta,
                              tf.float32)
            z = tf.where(self.batch_norm[:, None, None], z_tilde, z_plain)
            out = tf.nn.relu(z) * self.unit_mask[layer][:, None, :]
            if layer == 0:
                a = out
            else:  # the layers after a member's last pass its activations on unchanged
                a = tf.where(self.has_layer[layer][:, None, None], out, a)
        logits = tf.einsum("kbi,kij->kbj", a, self.output_kernel) + self.output_bias[:, None, :]
        return logits, statistics

    def _train_step(self, x, y, weights, active):
        """One step of every active member on its mini-batch; returns each member's summed
        loss and the examples it got right."""
        with tf.GradientTape() as tape:
            logits, statistics = self.forward(x, weights)
            losses = weights * tf.nn.softmax_cross_entropy_with_logits(y, logits)  # (K, B)
            count = tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
            cost = tf.reduce_sum(losses, axis=1) / count  # each member's J over its mini-batch
            total = tf.reduce_sum(cost)  # member k's weights get dJ_k: the members are apart
        grads = tape.gradient(total, self.trainable)
        self._update(grads, active)
        keep = active & self.batch_norm  # (a member without batch norm has no averages)
        for layer, (mu, sigma2) in enumerate(statistics):
            kept = keep[:, None] & (self.unit_mask[layer] > 0)  # nor its padded units
            for moving, value in ((self.moving_means[layer], mu),
                                  (self.moving_variances[layer], sigma2)):
                average = MOMENTUM * tf.cast(moving, tf.float64) + (1.0 - MOMENTUM) * value
                moving.assign(tf.where(kept, tf.cast(average, tf.float32), moving))
        right = tf.cast(tf.argmax(logits, -1) == tf.argmax(y, -1), tf.float32)
        return tf.reduce_sum(losses, axis=1), tf.reduce_sum(weights * right, axis=1)

    def _update(self, grads, active):
        """Keras's Adam and SGD-with-momentum updates, each member with its own alpha and beta,
        applied to the active members only (the others keep weights, moments and step count)."""
        step = tf.cast(self.iterations + 1, tf.float32)
        for variable, grad, m, v in zip(self.trainable, grads, self.moment_1, self.moment_2):
            rank = variable.shape.rank
            alpha = _per_member(self.learning_rate, rank)
            beta = _per_member(self.beta, rank)
            adam = _per_member(self.adam, rank)
            # Adam: beta_1 = beta, bias-corrected step size.
            adam_m = m + (grad - m) * (1.0 - beta)
            adam_v = v + (tf.square(grad) - v) * (1.0 - ADAM_BETA_2)
            size = alpha * tf.sqrt(1.0 - ADAM_BETA_2 ** _per_member(step, rank)) / (
                1.0 - beta ** _per_member(step, rank))
            adam_variable = variable - (adam_m * size) / (tf.sqrt(adam_v) + ADAM_EPSILON)
            # SGD with momentum beta: the velocity, then the step.
            velocity = -grad * alpha + m * beta
            new_variable = tf.where(adam, adam_variable, variable + velocity)
            new_m = tf.where(adam, adam_m, velocity)
            new_v = tf.where(adam, adam_v, v)
            on = _per_member(active, rank)
            variable.assign(tf.where(on, new_variable, variable))
            m.assign(tf.where(on, new_m, m))
            v.assign(tf.where(on, new_v, v))
        self.iterations.assign(tf.where(active, self.iterations + 1, self.iterations))

    def epoch_batches(self, m: int, epoch: int) -> tuple[np.ndarray, np.ndarray, int]:
        """The members' mini-batches of epoch `epoch` in lockstep (batches.lockstep_batches),
        padded to the largest this stack has trained on, so that later groups reuse its
        compiled epoch (the padding is never run)."""
        indices, weights, steps = lockstep_batches(
            m, [(member.batch_size, member.seed) for member in self.members], epoch,
            at_least=self._padded)
        self._padded = indices.shape[0], indices.shape[2]
        return indices, weights, steps

    def train_epoch(self, x, y, epoch) -> tuple[tf.Tensor, tf.Tensor]:
        """One epoch of every member still training (epoch: from 0); returns each member's
        mean cost and accuracy over its examples."""
        indices, weights, steps = self.epoch_batches(int(x.shape[0]), int(epoch))
        return self._train_batches(x, y, indices, weights, tf.constant(steps, tf.int32))

    def _train_on_batches(self, x, y, indices, weights, steps):
        k = len(self.members)
        loss, right, count = tf.zeros(k), tf.zeros(k), tf.zeros(k)
        for step in tf.range(steps):
            active = (tf.reduce_max(weights[step], axis=1) > 0) & ~self.stopped
            w = weights[step] * tf.cast(active, tf.float32)[:, None]
            batch_loss, batch_right = self._train_step(
                tf.gather(x, indices[step]), tf.gather(y, indices[step]), w, active)
            loss, right, count = loss + batch_loss, right + batch_right, count + tf.reduce_sum(w, 1)
        count = tf.maximum(count, 1.0)
        return loss / count, right / count

    def _evaluate(self, x, y):
        logits, _ = self.forward(x)
        y = tf.broadcast_to(y, tf.shape(logits))
        cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, logits), axis=1)
        right = tf.cast(tf.argmax(logits, -1) == tf.argmax(y, -1), tf.float32)
        return cost, tf.reduce_mean(right, axis=1)

    def stop(self, k: int) -> None:
        """Member k updates no more (a pruned trial): weights, moments and statistics kept."""
        self.stopped.scatter_nd_update([[k]], [True])

    def _member_slices(self, k: int) -> list[tuple[tf.Variable, tuple]]:
        """Where member k's weights are in the stack, without the padding: a (stacked variable,
        index) pair per weight of its Keras network, in the order of its `weights` (per hidden
        layer: kernel, bias or gamma, beta, moving_mean, moving_variance; then the softmax's)."""
        member, found, previous = self.members[k], [], self.input_dim
        for layer, n in enumerate(member.hidden_units):
            found.append((self.kernels[layer], (k, slice(0, previous), slice(0, n))))
            kept = ((self.gammas, self.betas, self.moving_means, self.moving_variances)
                    if member.batch_norm else (self.biases,))
            found += [(stacked[layer], (k, slice(0, n))) for stacked in kept]
            previous = n
        return found + [(self.output_kernel, (k, slice(0, previous))), (self.output_bias, (k,))]

    def member_weights(self, k: int) -> list[np.ndarray]:
        """Member k's weights without the padding, as its Keras network's `get_weights()`."""
        return [variable[index].numpy() for variable, index in self._member_slices(k)]

    def _moments(self, variable: tf.Variable) -> tuple[tf.Variable, tf.Variable]:
        """A trainable stacked variable's moments: Adam's m and v, or SGD's velocity and 0."""
        i = next(i for i, v in enumerate(self.trainable) if v is variable)
        return self.moment_1[i], self.moment_2[i]

    def member_model(self, k: int) -> keras.Model:
        """Member k taken out of the stack: its course network (`Member.build`) with its
        weights and moving averages, compiled with its optimizer (make_optimizer) holding its
        step count and moments, as a network trained alone keeps them (and its weights file)."""
        member = self.members[k]
        model = member.build(self.input_dim, self.num_classes)
        model.compile(optimizer=make_optimizer(member.optimizer, member.learning_rate,
                                               member.beta))
        model.optimizer.build(model.trainable_variables)
        self.copy_member_to(k, model)
        return model

    def copy_member_to(self, k: int, model: keras.Model, weights: list | None = None) -> None:
        """Write member k into a compiled network of its architecture whose optimizer (of
        the member's kind) is built: its weights (or `weights`, in the order of
        get_weights), its optimizer's step count and moments."""
        model.set_weights(self.member_weights(k) if weights is None else weights)
        optimizer = model.optimizer
        optimizer.iterations.assign(self.iterations[k])
        for weight, (variable, index) in zip(model.weights, self._member_slices(k)):
            if weight.trainable:
                for slot, moment in zip(optimizer_slots(optimizer, weight),
                                        self._moments(variable)):
                    slot.assign(moment[index])

    def load_member(self, k: int, model: keras.Model) -> None:
        """Put a trained network of member k's architecture into slice k: its weights, moving
        averages and, from its built optimizer (the member's kind), step count and moments.
        The member keeps its own alpha and beta (a PBT copy takes its parent's weights and
        optimizer state, not its parent's hyperparameters)."""
        slices = self._member_slices(k)
        shapes = [tuple(w.shape) for w in model.weights]
        expected = [tuple(variable[index].shape) for variable, index in slices]
        if shapes != expected:
            raise ValueError(f"model: member {k} has weights of shapes {expected}; the model's "
                             f"are {shapes}")
        optimizer = model.optimizer
        if optimizer is None or not optimizer.built:
            raise ValueError("model: its optimizer must be built, with the state to carry over")
        for weight, (variable, index) in zip(model.weights, slices):
            variable[index].assign(weight)
            if weight.trainable:
                slots = optimizer_slots(optimizer, weight)
                for moment, slot in itertools.zip_longest(self._moments(variable), slots):
                    moment[index].assign(tf.zeros(moment[index].shape) if slot is None else slot)
        self.iterations.scatter_nd_update([[k]], [int(optimizer.iterations)])
