"""Batch norm's two passes over a mini-batch: the note's forward lines and the closed-form backward.

`ManualBatchNorm` (batch_norm.py) calls `normalize_with_batch_statistics` in
training mode. For z in the layer's view of it (ManualBatchNorm._flatten), per unit:

    mu      = (1/m) sum_i z(i)
    sigma2  = (1/m) sum_i (z(i) - mu)^2
    z_norm  = (z(i) - mu) / sqrt(sigma2 + epsilon)
    z_tilde = gamma * (r * z_norm + d) + beta

where r = 1 and d = 0, except with batch renormalization (batch_norm_renorm.py),
whose r and d are constants as far as the gradient is concerned. Given
dz_tilde, the backward pass in closed form:

    dbeta      = sum_i dz_tilde(i)
    dgamma     = sum_i dz_tilde(i) * (r * z_norm(i) + d)
    dz(i)      = gamma * r / sqrt(sigma2 + epsilon)
                 * (dz_tilde(i) - (dbeta + z_norm(i) * dz_norm_sum) / m)

with dz_norm_sum = sum_i dz_tilde(i) * z_norm(i). With a mask, m counts the
unmasked positions only and the last line's correction applies only to them:
only they moved mu and sigma2.

Accuracy: the sums run over m = batch x height x width values, tens of
thousands in a convolutional network. Added one after the other in float32,
their rounding errors grow with m, and with them the error of mu, sigma2, dbeta
and dgamma (most for inputs whose mean is large next to their spread). Each
sum is taken in two levels (`_sum`): the rows of the input's innermost axis
other than C (an image's rows: tens to hundreds of values) in float32, then
those partial sums in float64. Per unit, mu, sigma2, inv_std, r and d are
computed in float64, and so is the forward pass's last line, rounded once to
give z_tilde (the next layer's input); the backward pass's loops stay float32.
Measured on this CPU: the float64 last line costs no time that shows (the loop
is bound by memory traffic), while whole sums in float64 made a layer of shape
(16, 48, 48, 16) up to 1.8 times slower; the two levels cost nothing that shows.
benchmarks/bench_batch_norm_numerics.py measures the accuracy this buys.
"""

from __future__ import annotations

import functools
import math

import tensorflow as tf

from tfweek3.layers.batch_norm_renorm import renorm_correction

# Keras adds this to the count of unmasked positions before dividing (backend.epsilon()).
MASK_COUNT_EPSILON = 1e-7


def no_all_reduce(value):
    return value


def _sum(values, axes):
    """The sum of `values` over `axes` in two levels, kept as dimensions of size 1.

    axes = (outer axes, inner axis or None). First each row along the inner axis
    (e.g. one row of an image: a few dozen to a few hundred values) is summed in
    values' own dtype, then those partial sums are added in float64: see
    "Accuracy" in the module's docstring.
    """
    outer, inner = axes
    if inner is not None:
        values = tf.reduce_sum(values, inner, keepdims=True)
    return tf.reduce_sum(tf.cast(values, tf.float64), outer, keepdims=True)


def _count(z, axes):
    """How many values of z each unit's statistics run over (float64)."""
    outer, inner = axes
    reduced = [*outer] + ([] if inner is None else [inner])
    sizes = [z.shape[i] for i in reduced]
    if None in sizes:
        sizes = [tf.shape(z)[i] for i in reduced]
    return tf.cast(math.prod(sizes), tf.float64)


def batch_statistics(z, weights, axes, all_reduce_sum=no_all_reduce):
    """mu and sigma2 of the batch (per unit, biased), and the count m they divide by.

    z is seen as in ManualBatchNorm._flatten and `axes` = (outer axes, inner
    axis) are all its axes but C; `weights` is the mask (1 for the positions that
    count) or None. `all_reduce_sum` sums across replicas when the statistics are
    synchronized. Returned in float64.
    """
    if weights is None:
        m = _count(z, axes)
        total = _sum(z, axes)
    else:
        m = _sum(weights, axes)
        total = _sum(weights * z, axes)
    m = all_reduce_sum(m)
    if weights is not None:
        m = m + MASK_COUNT_EPSILON
    mu = all_reduce_sum(total) / m
    squared = tf.math.squared_difference(z, tf.cast(mu, z.dtype))
    if weights is not None:
        squared = weights * squared
    sigma2 = all_reduce_sum(_sum(squared, axes)) / m
    return mu, sigma2, m


def forward(z, gamma, beta, weights, epsilon, axes, renorm=None, all_reduce_sum=no_all_reduce):
    """The note's four lines: mu, sigma2, z_norm, z_tilde (and what the backward pass reuses).

    `renorm` is None for plain batch norm (r = 1, d = 0), else batch
    renormalization's (renorm_mean, renorm_stddev, rmin, rmax, dmax). mu and
    sigma2 come back in float64 (for the moving averages), the rest in z's dtype.
    """
    mu, sigma2, m = batch_statistics(z, weights, axes, all_reduce_sum)
    inv_std = tf.math.rsqrt(sigma2 + epsilon)
    if renorm is None:
        r, d = tf.ones_like(mu), tf.zeros_like(mu)
    else:
        r, d = renorm_correction(mu, sigma2, epsilon, *renorm)
    # gamma * (r * (z - mu) * inv_std + d) + beta, as one multiply and one add per value,
    # in float64 and rounded once (z_tilde is the next layer's input).
    gamma, beta = tf.cast(gamma, tf.float64), tf.cast(beta, tf.float64)
    z_tilde = (tf.cast(z, tf.float64) - mu) * (gamma * r * inv_std) + (gamma * d + beta)
    z_tilde = tf.cast(z_tilde, z.dtype)
    per_unit = [tf.cast(t, z.dtype) for t in (mu, inv_std, r, d)]
    return (z_tilde, mu, sigma2, *per_unit, m)


def backward(dz_tilde, z, gamma, mu, inv_std, r, d, m, weights, axes,
             all_reduce_sum=no_all_reduce):
    """The closed-form backward pass: dz, dgamma, dbeta from dz_tilde.

    mu and sigma2 depend on every z(i) of the (global) batch, hence the sums over
    all of it; with a mask, only the positions that count moved mu and sigma2.
    """
    z_norm = (z - mu) * inv_std
    dbeta = _sum(dz_tilde, axes)
    dz_norm_sum = _sum(dz_tilde * z_norm, axes)
    dgamma = tf.cast(r, tf.float64) * dz_norm_sum + tf.cast(d, tf.float64) * dbeta
    mean_dbeta = tf.cast(all_reduce_sum(dbeta) / m, z.dtype)
    mean_dz_norm = tf.cast(all_reduce_sum(dz_norm_sum) / m, z.dtype)
    correction = mean_dbeta + z_norm * mean_dz_norm
    if weights is not None:
        correction = weights * correction
    dz = gamma * r * inv_std * (dz_tilde - correction)
    return dz, tf.cast(dgamma, z.dtype), tf.cast(dbeta, z.dtype)


# Compiled with XLA, each pass is a few fused loops over the batch instead of one pass
# (and one full-size temporary tensor) per operation. One pair of functions serves every
# layer: XLA compiles each input shape once, shared by the layers of that shape. With
# reduce_retracing, TensorFlow traces a shape-generic version after a few shapes instead
# of retracing for each; eagerly, the passes run through call_eagerly, so that these few
# traces bring no retracing warning in loops over many layers.
compiled_forward = tf.function(forward, jit_compile=True, reduce_retracing=True)
compiled_backward = tf.function(backward, jit_compile=True, reduce_retracing=True)
# Small inputs run the passes unfused (xla_pays): in a graph as its own operations, and
# eagerly as one graph call instead of one eager call per operation.
graph_forward = tf.function(forward, reduce_retracing=True)
graph_backward = tf.function(backward, reduce_retracing=True)


def call_eagerly(function, *args):
    """function(*args) for one of the tf.functions above, called eagerly, through the
    concrete function that get_concrete_function traces or finds for these arguments.

    The traces are those a call of the tf.function makes: for each configuration (the
    tensors' dtypes and ranks and the Python values: epsilon, axes, mask or not,
    renorm's clipping), the first shape it sees, then versions with the axes that
    differed relaxed, up to one for any shape; then no more. A call would also count
    them toward TensorFlow's retracing warning ("5 out of the last 10 calls traced"),
    and that count pools every tf.function of one Python function: MobileNetV2's first
    layers, some with XLA and some without, made 5 traces of `forward` in 11 calls.
    get_concrete_function is left out of that count.
    """
    return function.get_concrete_function(*args)(*args)


# XLA's compilation costs about 0.25 s per input shape, and its fusion pays only on large
# inputs. Measured on this CPU, forward and backward in one tf.function, XLA's time over
# the plain graph's: 0.82 to 0.93 up to 32768 values (32x1024, 64x512, 256x128), 1.17 at
# 65536 (1024x64), 1.41 (256x256) and 2.5 (4096x512) above.
XLA_MIN_VALUES = 1 << 16
ASSUMED_BATCH = 32  # Keras's default mini-batch size, for a batch axis unknown when traced


def xla_pays(shape: tf.TensorShape) -> bool:
    """Whether the passes over an input of this shape are worth compiling with XLA: from
    XLA_MIN_VALUES values (unknown axes counted as ASSUMED_BATCH, e.g. a mini-batch axis
    in a traced epoch). The small networks of a search compile none: each would pay XLA's
    compilation for every new layer width and mini-batch size, for no speed."""
    dims = [ASSUMED_BATCH if d is None else d for d in tf.TensorShape(shape).as_list()]
    return math.prod(dims) >= XLA_MIN_VALUES


def normalize_with_batch_statistics(z, gamma, beta, weights, epsilon, axes, *,
                                    renorm=None, all_reduce_sum=None, jit_compile=True):
    """z_tilde = gamma * (r * z_norm + d) + beta with the batch's statistics, and its gradient.

    Returns z_tilde, mu and sigma2 (for the moving averages; no gradient flows
    through them). jit_compile: run the passes compiled with XLA (see
    xla_pays). `all_reduce_sum` is None when the statistics need no
    synchronization; otherwise the passes run unjitted: all-reduces cannot run
    inside XLA.
    """
    if all_reduce_sum is not None:
        run_forward, run_backward, extra = forward, backward, (all_reduce_sum,)
    elif tf.executing_eagerly():
        passes = (compiled_forward, compiled_backward) if jit_compile else (
            graph_forward, graph_backward)
        run_forward, run_backward = (functools.partial(call_eagerly, f) for f in passes)
        extra = (no_all_reduce,)  # a concrete function takes every argument, defaults too
    elif jit_compile:
        run_forward, run_backward, extra = compiled_forward, compiled_backward, ()
    else:
        run_forward, run_backward, extra = forward, backward, ()
    statistics = []

    @tf.custom_gradient
    def normalize(z, gamma, beta):
        # saved: mu, inv_std, r, d (in z's dtype) and m, what the backward pass reuses.
        z_tilde, mu, sigma2, *saved = run_forward(
            z, gamma, beta, weights, epsilon, axes, renorm, *extra)
        statistics.extend((mu, sigma2))

        def gradient(dz_tilde):
            return run_backward(dz_tilde, z, gamma, *saved, weights, axes, *extra)

        return z_tilde, gradient

    z_tilde = normalize(z, gamma, beta)
    mu, sigma2 = statistics
    return z_tilde, mu, sigma2
