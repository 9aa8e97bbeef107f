"""Batch normalization written from the note's formulas: `ManualBatchNorm`.

For one layer's pre-activations over a mini-batch of m examples, per unit:

    mu      = (1/m) sum_i z(i)
    sigma2  = (1/m) sum_i (z(i) - mu)^2              biased: divide by m
    z_norm  = (z(i) - mu) / sqrt(sigma2 + epsilon)
    z_tilde = gamma * z_norm + beta                  gamma, beta learned like W

At test time there may be one example at a time, so mu and sigma2 come from an
exponentially weighted average of the training batches' statistics:

    moving_mean     = momentum * moving_mean     + (1 - momentum) * mu
    moving_variance = momentum * moving_variance + (1 - momentum) * sigma2

This is the note's v = beta * v + (1 - beta) * theta with beta = momentum
(Keras's convention, default 0.99). PyTorch's `momentum` is the other weight:
PyTorch momentum = 1 - Keras momentum (its default 0.1 is Keras's 0.9).

The backward pass is the closed form of the course (see `reference.batch_norm_backward`):

    dbeta  = sum_i dz_tilde(i)
    dgamma = sum_i dz_tilde(i) * z_norm(i)
    dz(i)  = gamma / sqrt(sigma2 + epsilon) * (dz_tilde(i) - (dbeta + z_norm(i) * dgamma) / m)

registered with `tf.custom_gradient`, instead of letting autodiff differentiate
through mu and sigma2 op by op; it is both the formula a learner derives and
faster. With a mask, m is the number of unmasked positions and the sums of the
last line weigh each position by its mask. The sums of both passes are taken in
float32 over short rows, then in float64 (batch_norm_passes.py, "Accuracy"): in
float32 the layer is closer to a float64 computation than Keras's own layer.

With `renorm=True` the layer does batch renormalization (batch_norm_renorm.py):
the batch's mu and sigma2 are corrected toward moving ones during training, so
that training and test time normalize alike.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfweek3.layers.batch_norm_passes import (
    batch_statistics,
    no_all_reduce,
    normalize_with_batch_statistics,
    xla_pays,
)
from tfweek3.layers.batch_norm_renorm import (
    check_renorm_clipping,
    moving_average,
    sqrt_initializer,
    update_renorm_statistics,
)

# A Dense output's batch is summed in rows of up to this many examples (see _flatten).
DENSE_ROW = 64


@keras.saving.register_keras_serializable(package="tfweek3")
class ManualBatchNorm(keras.layers.Layer):
    """Batch normalization from the note's formulas; a drop-in for keras.layers.BatchNormalization.

    Same arguments, defaults, weights and variable names as Keras 3's
    BatchNormalization, batch renormalization included. `axis` is the axis of
    the units or channels (-1 for Dense outputs and NHWC images, 1 for NCHW);
    the statistics are taken over every other axis.

    The switch, as in Keras: the batch's own mu and sigma2 are used (and the
    moving statistics updated) only when `training` is truthy and the layer is
    trainable. `training=None` or False means inference with the moving
    statistics; a layer with `trainable=False` is frozen: inference, no update.

    float16 and bfloat16 inputs are normalized in float32 and returned in the
    layer's compute dtype; gamma, beta and the moving statistics stay float32.
    With `synchronized=True`, under a tf.distribute strategy, mu and sigma2 are
    those of the global batch (sums all-reduced across replicas).

    Masks: as in Keras, a mask covers every axis but the last one and broadcasts
    against them, e.g. a mask of shape (1, 2, 1) for inputs of shape (1, 2, 3, 4).

    Speed: the forward pass (mu, sigma2, z_norm, z_tilde) and the closed-form
    backward pass are each compiled with XLA into one computation, a few passes
    over the batch instead of one per operation (benchmarks/ measure it).
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm: bool = False,
        renorm_clipping: dict | None = None,
        renorm_momentum: float = 0.99,
        synchronized: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"axis must be a single int (the channel axis); got axis={axis!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1]; got momentum={momentum}")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be > 0; got epsilon={epsilon}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.moving_mean_initializer = keras.initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = keras.initializers.get(moving_variance_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)
        self.renorm = bool(renorm)
        # Stored as given, as Keras does ({} with renorm and no clipping).
        self.renorm_clipping = check_renorm_clipping(renorm_clipping) if renorm else renorm_clipping
        self.renorm_momentum = float(renorm_momentum)
        self.synchronized = bool(synchronized)
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"axis={self.axis} is out of range for an input of rank {rank} "
                f"(input shape {tuple(input_shape)})"
            )
        channel_axis = self.axis % rank
        channels = input_shape[channel_axis]
        if channels is None:
            raise ValueError(
                f"The channel dimension (axis={self.axis}) must be known; "
                f"got input shape {tuple(input_shape)}"
            )
        self._rank = rank
        self._channel_axis = channel_axis
        self._channels = int(channels)
        # The input is seen in one of three views (see _flatten), so that every layout reduces
        # alike; per-unit tensors are shaped to broadcast against it.
        if channel_axis < rank - 1:  # channels first: (before, C, after, inner)
            view = [range(channel_axis), [channel_axis], range(channel_axis + 1, rank - 1),
                    [rank - 1]]
            self._axes, unit_index = ((0, 2), 3), 1
        elif rank >= 3:  # channels last: (before, inner, C)
            view = [range(rank - 2), [rank - 2], [channel_axis]]
            self._axes, unit_index = ((0,), 1), 2
        else:  # (batch, C), seen as (batch / k, k, C): see _flatten
            view = [[0], [], [1]]
            self._axes, unit_index = ((0,), 1), 2
        self._view = tuple(tuple(axes) for axes in view)
        self._flat_unit_shape = tuple(self._channels if i == unit_index else 1
                                      for i in range(len(view)))

        shape = (self._channels,)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                trainable=True, autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape, name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                trainable=True, autocast=False,
            )
        # Not trained: the moving statistics, and with renorm Keras's three more, in its order
        # (moving_stddev for inference, renorm_mean and renorm_stddev for r and d in training).
        statistics = [("moving_mean", self.moving_mean_initializer),
                      ("moving_variance", self.moving_variance_initializer)]
        if self.renorm:
            stddev_initializer = sqrt_initializer(self.moving_variance_initializer)
            statistics += [("moving_stddev", stddev_initializer),
                           ("renorm_mean", self.moving_mean_initializer),
                           ("renorm_stddev", stddev_initializer)]
        for name, initializer in statistics:
            setattr(self, name, self.add_weight(shape=shape, name=name, initializer=initializer,
                                                trainable=False, autocast=False))

    def call(self, inputs, training=None, mask=None):
        inputs = tf.convert_to_tensor(inputs)
        self._check_inputs(inputs, mask)
        # Statistics of float16/bfloat16 overflow or lose precision: compute in float32.
        dtype = tf.float64 if inputs.dtype == tf.float64 else tf.float32
        z, weights, shape = self._flatten(tf.cast(inputs, dtype), mask)
        gamma = self._per_unit(self.gamma, dtype, default=1.0)
        beta = self._per_unit(self.beta, dtype, default=0.0)

        if training and self.trainable:
            all_reduce_sum = self._replica_sum()
            z_tilde, mu, sigma2 = normalize_with_batch_statistics(
                z, gamma, beta, weights, self.epsilon, self._axes,
                renorm=self._renorm_arguments(), all_reduce_sum=all_reduce_sum,
                jit_compile=xla_pays(inputs.shape),
            )
            mu = tf.reshape(mu, (self._channels,))
            sigma2 = tf.reshape(sigma2, (self._channels,))
            if self.renorm:
                update_renorm_statistics(self, mu, sigma2)
            else:
                self._update_moving_statistics(mu, sigma2)
        else:
            mu = self._per_unit(self.moving_mean, dtype)
            sigma2 = self._per_unit(self.moving_variance, dtype)
            # gamma * (z - mu) / sqrt(sigma2 + epsilon) + beta, as one multiply and one add.
            scale = gamma * tf.math.rsqrt(sigma2 + self.epsilon)
            z_tilde = z * scale + (beta - mu * scale)
        return tf.cast(tf.reshape(z_tilde, shape), self.compute_dtype)

    def moments(self, inputs, mask=None):
        """The batch's mu and sigma2 (each of shape (C,)), as a training step computes them.

        Nothing is updated: this is for looking at the statistics, e.g. how the
        distribution of a hidden layer's z moves during training.
        """
        inputs = tf.convert_to_tensor(inputs)
        if not self.built:
            self.build(inputs.shape)
        self._check_inputs(inputs, mask)
        z = tf.cast(inputs, tf.float64 if inputs.dtype == tf.float64 else tf.float32)
        z, weights, _ = self._flatten(z, mask)
        all_reduce_sum = self._replica_sum() or no_all_reduce
        mu, sigma2, _ = batch_statistics(z, weights, self._axes, all_reduce_sum)
        return tuple(tf.cast(tf.reshape(t, (self._channels,)), z.dtype) for t in (mu, sigma2))

    def _flatten(self, z, mask):
        """z (and the mask's weights, or None) in the passes' view, and z's shape to restore.

        The view groups the input's axes: (before, inner, C) with channels last, and
        (before, C, after, inner) with channels first, where `inner` is the input's
        innermost axis other than C (an image's width) and before/after the products
        of the axes around them; batch_norm_passes._sum adds along `inner` first. A
        Dense output (batch, C) is seen as (batch / k, k, C): rows of k examples, k the
        largest divisor of the batch size up to DENSE_ROW (1 if the size is unknown).
        """
        weights = None if mask is None else self._mask_weights(mask, z)
        shape = z.shape.as_list()
        if None not in shape:  # known when traced: plain ints, no extra graph ops
            view = [math.prod(shape[i] for i in axes) for axes in self._view]
            if self._rank == 2 and self._channel_axis == 1:
                k = max(d for d in range(1, min(DENSE_ROW, shape[0]) + 1) if shape[0] % d == 0)
                view = [shape[0] // k, k, shape[1]]
        else:
            shape = tf.shape(z)
            view = tf.stack([tf.reduce_prod(tf.gather(shape, tf.constant(axes, tf.int32)))
                             for axes in self._view])
        if weights is not None:
            weights = tf.reshape(weights, view)
        return tf.reshape(z, view), weights, shape

    def _update_moving_statistics(self, mu, sigma2):
        for moving, batch_value in ((self.moving_mean, mu), (self.moving_variance, sigma2)):
            moving.assign(moving_average(moving, batch_value, self.momentum))

    def _renorm_arguments(self):
        """What batch_norm_renorm.renorm_correction needs besides mu and sigma2 (None: no renorm)."""
        if not self.renorm:
            return None
        clipping = self.renorm_clipping
        return (self._per_unit(self.renorm_mean, self.renorm_mean.dtype),
                self._per_unit(self.renorm_stddev, self.renorm_stddev.dtype),
                clipping.get("rmin"), clipping.get("rmax"), clipping.get("dmax"))

    def _replica_sum(self):
        """A function summing a tensor over the replicas when the statistics are synchronized
        under a strategy with more than one replica; None when there is nothing to sum."""
        if not self.synchronized:
            return None
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return None
        return lambda value: context.all_reduce(tf.distribute.ReduceOp.SUM, value)

    def _per_unit(self, variable, dtype, default=None):
        """A per-unit weight shaped (1, C) or (1, C, 1) like mu (`default` when the layer has none)."""
        if variable is None:
            variable = tf.fill((self._channels,), default)
        return tf.reshape(tf.cast(variable, dtype), self._flat_unit_shape)

    def _mask_weights(self, mask, z):
        # Keras's convention: the mask covers every axis but the last one, and broadcasts.
        weights = tf.cast(tf.expand_dims(mask, -1), z.dtype)
        return tf.broadcast_to(weights, tf.shape(z))

    def _check_inputs(self, inputs, mask):
        if not inputs.dtype.is_floating:
            raise TypeError(
                f"{self.name} expects float inputs; got dtype={inputs.dtype.name} "
                f"with shape {inputs.shape}"
            )
        shape = inputs.shape
        if shape.rank != self._rank:
            raise ValueError(
                f"{self.name} was built for inputs of rank {self._rank}; got an input of "
                f"rank {shape.rank} with shape {shape}"
            )
        if shape[self._channel_axis] is not None and shape[self._channel_axis] != self._channels:
            raise ValueError(
                f"{self.name} was built for {self._channels} channels on axis={self.axis}; "
                f"got an input of shape {shape} with {shape[self._channel_axis]}"
            )
        if mask is not None:
            mask_shape = tf.TensorShape(getattr(mask, "shape", None))
            if mask_shape.rank != self._rank - 1 or not all(
                m is None or n is None or m in (1, n) for m, n in zip(mask_shape, shape[:-1])
            ):
                raise ValueError(
                    f"mask must have the shape of the inputs without their last axis, "
                    f"{shape[:-1]}, or one that broadcasts to it; got mask.shape={mask_shape} "
                    f"for inputs.shape={shape}"
                )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        initializers, regularizers, constraints = (
            keras.initializers, keras.regularizers, keras.constraints)
        return {
            **super().get_config(),
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized, "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum,
        }
