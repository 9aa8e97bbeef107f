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
draws (its real fan-in and fan-out), and `member_model(k)` takes it out of the
stack as that plain Keras network, with its trained weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tfweek3.training.batches import epoch_order, epoch_steps
from tfweek3.training.network import build_network

EPSILON = 1e-3    # ManualBatchNorm's epsilon and momentum, as build_network leaves them
MOMENTUM = 0.99
ADAM_BETA_2 = 0.999   # Keras's Adam, as make_optimizer leaves it
ADAM_EPSILON = 1e-7
STACKED_OPTIMIZERS = ("adam", "momentum")


@dataclass(frozen=True)
class Member:
    """One course network of a stack and how it trains: `build_network`'s hidden_units and
    batch norm, `train`'s optimizer, learning_rate (alpha), beta, batch_size and seed (its
    initial weights and its mini-batch order)."""

    hidden_units: tuple[int, ...]
    learning_rate: float
    beta: float = 0.9
    optimizer: str = "adam"
    batch_norm: bool = True
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self):
        units = tuple(self.hidden_units)
        if not units or any(int(u) != u or u < 1 for u in units):
            raise ValueError(f"hidden_units must be one or more positive integers; got {units!r}")
        object.__setattr__(self, "hidden_units", tuple(int(u) for u in units))
        if self.optimizer not in STACKED_OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {STACKED_OPTIMIZERS}; "
                             f"got {self.optimizer!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be a positive number; got {self.learning_rate}")
        if not 0.0 <= self.beta < 1.0:
            raise ValueError(f"beta must be in [0, 1); got {self.beta}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {self.batch_size!r}")

    def build(self, input_dim: int, num_classes: int) -> keras.Model:
        """This member alone: its course network with the initial weights its seed draws."""
        return build_network(input_dim, num_classes, self.hidden_units,
                             "manual" if self.batch_norm else "none", seed=self.seed)


def _per_member(values, rank: int) -> tf.Tensor:
    """A (K,) tensor shaped to broadcast against a (K, ...) tensor of this rank."""
    return tf.reshape(values, [-1] + [1] * (rank - 1))


class StackedNetwork(tf.Module):
    """K course networks (`Member`s) in one set of variables with a member axis.

    `train_epoch(x, y, epoch)` trains every member one epoch on its own mini-batches
    (epoch: an int64 tensor) and returns each member's mean cost and accuracy; `evaluate(x, y)` gives each
    member's cost and accuracy with training=False (batch norm's moving averages);
    `stop(k)` freezes member k (a pruned trial); `member_model(k)` is member k as a
    plain Keras network.
    """

    def __init__(self, members: Sequence[Member], input_dim: int, num_classes: int,
                 jit_compile: bool = True):
        super().__init__(name="stacked_network")
        if not members:
            raise ValueError("members must hold at least one Member")
        self.members = tuple(members)
        self.input_dim, self.num_classes = int(input_dim), int(num_classes)
        k = len(self.members)
        self.depth = max(len(m.hidden_units) for m in self.members)
        self.width = max(max(m.hidden_units) for m in self.members)
        units = np.zeros((self.depth, k, self.width), np.float32)
        for i, member in enumerate(self.members):
            for layer, n in enumerate(member.hidden_units):
                units[layer, i, :n] = 1.0
        self.unit_mask = tf.constant(units)                                  # (L, K, H)
        self.has_layer = tf.constant(units.max(axis=2) > 0)                  # (L, K)
        self.batch_norm = tf.constant([m.batch_norm for m in self.members])  # (K,)
        self.adam = tf.constant([m.optimizer == "adam" for m in self.members])
        self.batch_sizes = [m.batch_size for m in self.members]
        self.learning_rate = tf.Variable([m.learning_rate for m in self.members], dtype=tf.float32,
                                         trainable=False, name="learning_rate")
        self.beta = tf.Variable([m.beta for m in self.members], dtype=tf.float32,
                                trainable=False, name="beta")
        self.stopped = tf.Variable(tf.zeros(k, tf.bool), trainable=False, name="stopped")
        self.iterations = tf.Variable(tf.zeros(k, tf.int64), trainable=False, name="iterations")
        self._build_weights()
        self.trainable = [*self.kernels, *self.biases, *self.gammas, *self.betas,
                          self.output_kernel, self.output_bias]
        self.moment_1 = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.trainable]
        self.moment_2 = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.trainable]
        # An epoch's mini-batches are drawn first, then the whole epoch runs as one XLA program
        # (the loop over its steps included): 30 members of the default search on digits took
        # 0.53 s an epoch after 4.2 s of compilation, against 0.99 s after 6.9 s with XLA on
        # each step only, and 2.4 s without XLA.
        self._epoch_batches = tf.function(self.epoch_batches)
        self._train_batches = tf.function(self._train_on_batches, jit_compile=jit_compile)
        self.evaluate = tf.function(self._evaluate)

    def _build_weights(self):
        """The initial weights each member's own `build_network(seed=...)` draws, padded."""
        k, depth, width, c = len(self.members), self.depth, self.width, self.num_classes
        fan_in = [self.input_dim] + [width] * (depth - 1)
        kernels = [np.zeros((k, n, width), np.float32) for n in fan_in]
        output_kernel = np.zeros((k, width, c), np.float32)
        for i, member in enumerate(self.members):
            model = member.build(self.input_dim, c)
            previous = self.input_dim
            for layer, n in enumerate(member.hidden_units):
                kernels[layer][i, :previous, :n] = model.get_layer(f"linear_{layer + 1}").kernel
                previous = n
            output_kernel[i, :previous] = model.get_layer("softmax").kernel
        self.kernels = [tf.Variable(w, name=f"kernel_{i + 1}") for i, w in enumerate(kernels)]
        zeros, ones = np.zeros((k, width), np.float32), np.ones((k, width), np.float32)
        self.biases = [tf.Variable(zeros, name=f"bias_{i + 1}") for i in range(depth)]
        self.gammas = [tf.Variable(ones, name=f"gamma_{i + 1}") for i in range(depth)]
        self.betas = [tf.Variable(zeros, name=f"beta_{i + 1}") for i in range(depth)]
        self.moving_means = [tf.Variable(zeros, trainable=False, name=f"moving_mean_{i + 1}")
                             for i in range(depth)]
        self.moving_variances = [tf.Variable(ones, trainable=False,
                                             name=f"moving_variance_{i + 1}")
                                 for i in range(depth)]
        self.output_kernel = tf.Variable(output_kernel, name="output_kernel")
        self.output_bias = tf.Variable(np.zeros((k, c), np.float32), name="output_bias")

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
        for layer, (mu, sigma2) in enumerate(statistics):
            for moving, value in ((self.moving_means[layer], mu),
                                  (self.moving_variances[layer], sigma2)):
                average = MOMENTUM * tf.cast(moving, tf.float64) + (1.0 - MOMENTUM) * value
                moving.assign(tf.where(active[:, None], tf.cast(average, tf.float32), moving))
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

    def epoch_batches(self, m: int, epoch):
        """Each member's mini-batches of epoch `epoch`: example indices and weights, both of
        shape (steps, K, largest batch size); a member whose epoch is over has weights 0."""
        steps = max(epoch_steps(m, b) for b in self.batch_sizes)
        largest = max(self.batch_sizes)
        indices, weights = [], []
        for member in self.members:
            b, pad = member.batch_size, steps * member.batch_size - m
            order = tf.cast(epoch_order(m, member.seed, epoch), tf.int32)
            index = tf.reshape(tf.concat([order, tf.zeros(pad, tf.int32)], 0), (steps, b))
            weight = tf.reshape(tf.concat([tf.ones(m), tf.zeros(pad)], 0), (steps, b))
            indices.append(tf.pad(index, [[0, 0], [0, largest - b]]))
            weights.append(tf.pad(weight, [[0, 0], [0, largest - b]]))
        return tf.stack(indices, axis=1), tf.stack(weights, axis=1)

    def train_epoch(self, x, y, epoch) -> tuple[tf.Tensor, tf.Tensor]:
        """One epoch of every member still training (epoch: an int64 tensor, from 0); returns
        each member's mean cost and accuracy over its examples."""
        indices, weights = self._epoch_batches(int(x.shape[0]), epoch)
        return self._train_batches(x, y, indices, weights)

    def _train_on_batches(self, x, y, indices, weights):
        k = len(self.members)
        loss, right, count = tf.zeros(k), tf.zeros(k), tf.zeros(k)
        for step in tf.range(tf.shape(indices)[0]):
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

    def member_weights(self, k: int) -> list[np.ndarray]:
        """Member k's weights without the padding, in the order of its Keras network's
        `get_weights()` (per hidden layer: kernel, then bias or gamma, beta, moving_mean,
        moving_variance; then the softmax layer's kernel and bias)."""
        member, weights, previous = self.members[k], [], self.input_dim
        for layer, n in enumerate(member.hidden_units):
            weights.append(self.kernels[layer][k, :previous, :n])
            if member.batch_norm:
                weights += [stacked[layer][k, :n] for stacked in (
                    self.gammas, self.betas, self.moving_means, self.moving_variances)]
            else:
                weights.append(self.biases[layer][k, :n])
            previous = n
        weights += [self.output_kernel[k, :previous], self.output_bias[k]]
        return [w.numpy() for w in weights]

    def member_model(self, k: int) -> keras.Model:
        """Member k taken out of the stack: its course network (`Member.build`) with its
        weights and batch norm's moving averages, without the padding."""
        model = self.members[k].build(self.input_dim, self.num_classes)
        model.set_weights(self.member_weights(k))
        return model
