"""Batch norm's two passes over a mini-batch: the note's forward lines and the closed-form backward.

`ManualBatchNorm` (batch_norm.py) calls `normalize_with_batch_statistics` in
training mode. For z seen as (before, C) or (before, C, after), per unit:

    mu      = (1/m) sum_i z(i)
    sigma2  = (1/m) sum_i (z(i) - mu)^2
    z_norm  = (z(i) - mu) / sqrt(sigma2 + epsilon)
    z_tilde = gamma * z_norm + beta

and, given dz_tilde, the backward pass in closed form:

    dbeta  = sum_i dz_tilde(i)
    dgamma = sum_i dz_tilde(i) * z_norm(i)
    dz(i)  = gamma / sqrt(sigma2 + epsilon) * (dz_tilde(i) - (dbeta + z_norm(i) * dgamma) / m)
"""

from __future__ import annotations

import math

import tensorflow as tf

# Keras adds this to the count of unmasked positions before dividing (backend.epsilon()).
MASK_COUNT_EPSILON = 1e-7


def no_all_reduce(value):
    return value


def batch_statistics(z, weights, axes, all_reduce_sum=no_all_reduce):
    """mu and sigma2 of the batch (per unit, biased), and the count m they divide by.

    z has the shape (before, C) or (before, C, after) and the sums run over `axes`,
    all but C; `weights` is the mask (1 for the positions that count) or None.
    `all_reduce_sum` sums across replicas when the statistics are synchronized.
    """
    if weights is None:
        sizes = [z.shape[i] for i in axes]
        if None in sizes:
            sizes = [tf.shape(z)[i] for i in axes]
        m = tf.cast(math.prod(sizes), z.dtype)
        total = tf.reduce_sum(z, axes, keepdims=True)
    else:
        m = tf.reduce_sum(weights, axes, keepdims=True)
        total = tf.reduce_sum(weights * z, axes, keepdims=True)
    m = all_reduce_sum(m)
    if weights is not None:
        m = m + MASK_COUNT_EPSILON
    mu = all_reduce_sum(total) / m
    squared = tf.math.squared_difference(z, mu)
    if weights is not None:
        squared = weights * squared
    sigma2 = all_reduce_sum(tf.reduce_sum(squared, axes, keepdims=True)) / m
    return mu, sigma2, m


def _forward(z, gamma, beta, weights, epsilon, axes, all_reduce_sum=no_all_reduce):
    """The note's four lines: mu, sigma2, z_norm, z_tilde (and what the backward pass reuses)."""
    mu, sigma2, m = batch_statistics(z, weights, axes, all_reduce_sum)
    inv_std = tf.math.rsqrt(sigma2 + epsilon)
    z_norm = (z - mu) * inv_std
    z_tilde = gamma * z_norm + beta
    return z_tilde, mu, sigma2, inv_std, m


def _backward(dz_tilde, z, gamma, mu, inv_std, m, weights, axes, all_reduce_sum=no_all_reduce):
    """The closed-form backward pass: dz, dgamma, dbeta from dz_tilde.

    mu and sigma2 depend on every z(i) of the (global) batch, hence the sums over
    all of it; with a mask, only the positions that count moved mu and sigma2.
    """
    z_norm = (z - mu) * inv_std
    dbeta = tf.reduce_sum(dz_tilde, axes, keepdims=True)
    dgamma = tf.reduce_sum(dz_tilde * z_norm, axes, keepdims=True)
    correction = (all_reduce_sum(dbeta) + z_norm * all_reduce_sum(dgamma)) / m
    if weights is not None:
        correction = weights * correction
    dz = gamma * inv_std * (dz_tilde - correction)
    return dz, dgamma, dbeta


# Compiled with XLA, each of the two passes is one fused computation over the batch
# instead of one pass (and one full-size temporary tensor) per operation. A
# synchronized layer calls the plain functions: its all-reduces cannot run inside XLA.
_forward_xla = tf.function(_forward, jit_compile=True)
_backward_xla = tf.function(_backward, jit_compile=True)


def normalize_with_batch_statistics(z, gamma, beta, weights, epsilon, axes, all_reduce_sum):
    """z_tilde = gamma * z_norm + beta with the batch's statistics, and its closed-form gradient.

    Returns z_tilde, mu and sigma2 (for the moving averages; no gradient flows through them).
    `all_reduce_sum` is None when the statistics need no synchronization.
    """
    if all_reduce_sum is None:
        forward, backward, extra = _forward_xla, _backward_xla, ()
    else:
        forward, backward, extra = _forward, _backward, (all_reduce_sum,)
    statistics = []

    @tf.custom_gradient
    def normalize(z, gamma, beta):
        z_tilde, mu, sigma2, inv_std, m = forward(z, gamma, beta, weights, epsilon, axes, *extra)
        statistics.extend((mu, sigma2))

        def gradient(dz_tilde):
            return backward(dz_tilde, z, gamma, mu, inv_std, m, weights, axes, *extra)

        return z_tilde, gradient

    z_tilde = normalize(z, gamma, beta)
    mu, sigma2 = statistics
    return z_tilde, mu, sigma2
