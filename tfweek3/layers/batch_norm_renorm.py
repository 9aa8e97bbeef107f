"""Batch renormalization (Ioffe, 2017): the note's "batch norm at test time" problem, attacked in training.

At test time batch norm normalizes with the moving averages of mu and sigma2;
in training, with the batch's own. With small or unrepresentative mini-batches
the two disagree, so the network is tested on a normalization it was never
trained with. Batch renormalization trains with the moving one. Per unit, with
sigma = sqrt(sigma2 + epsilon) and renorm_mean, renorm_stddev moving averages
of mu and sigma kept for training:

    r       = clip(sigma / renorm_stddev, rmin, rmax)
    d       = clip((mu - renorm_mean) / renorm_stddev, -dmax, dmax)
    z_tilde = gamma * (r * z_norm + d) + beta

Unclipped, r * z_norm + d = (z - renorm_mean) / renorm_stddev: the layer's
output is what the moving statistics give. r and d are treated as constants by
the gradient (no gradient flows through them), so it still flows through the
batch's mu and sigma2 as in batch norm; the closed-form backward pass is
batch_norm_passes.backward with these r and d. r = 1, d = 0 is batch norm.

After each training step, with Keras's two momenta:

    renorm_mean     = renorm_momentum * renorm_mean   + (1 - renorm_momentum) * mu
    renorm_stddev   = renorm_momentum * renorm_stddev + (1 - renorm_momentum) * sigma
    moving_mean     = momentum * moving_mean   + (1 - momentum) * mu
    moving_stddev   = momentum * moving_stddev + (1 - momentum) * sigma
    moving_variance = max(moving_stddev^2 - epsilon, 0)

Inference is batch norm's: it uses moving_mean and moving_variance. The
clipping bounds are usually relaxed over training, from r = 1, d = 0 (batch
norm) towards rmax = 3, dmax = 5 in the paper; rmin defaults to 0 and rmax,
dmax to infinity (no clipping), as in Keras.
"""

from __future__ import annotations

import keras
import tensorflow as tf

CLIPPING_KEYS = ("rmax", "rmin", "dmax")


def check_renorm_clipping(renorm_clipping: dict | None) -> dict:
    """Keras's checks on `renorm_clipping`; returns it as a (new) dict."""
    clipping = dict(renorm_clipping or {})
    unknown = set(clipping) - set(CLIPPING_KEYS)
    if unknown:
        raise ValueError(
            f"Received invalid keys for renorm_clipping: {sorted(unknown)}; "
            f"the supported keys are {list(CLIPPING_KEYS)} (got {renorm_clipping})"
        )
    rmax, rmin, dmax = (clipping.get(key) for key in CLIPPING_KEYS)
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(f"rmax should be >= rmin in renorm_clipping; got rmax={rmax}, rmin={rmin}")
    if dmax is not None and dmax < 0:
        raise ValueError(f"dmax should be non-negative in renorm_clipping; got dmax={dmax}")
    return clipping


def renorm_correction(mu, sigma2, epsilon, renorm_mean, renorm_stddev, rmin, rmax, dmax):
    """r and d, per unit, from the batch's mu and sigma2 (clipped; bounds None: no clip)."""
    sigma = tf.sqrt(sigma2 + epsilon)
    # The floor sqrt(epsilon) keeps r and d finite while renorm_stddev is near 0.
    renorm_stddev = tf.maximum(tf.cast(renorm_stddev, mu.dtype), tf.sqrt(tf.cast(epsilon, mu.dtype)))
    r = sigma / renorm_stddev
    d = (mu - tf.cast(renorm_mean, mu.dtype)) / renorm_stddev
    if rmin is not None:
        r = tf.maximum(r, rmin)
    if rmax is not None:
        r = tf.minimum(r, rmax)
    if dmax is not None:
        d = tf.clip_by_value(d, -dmax, dmax)
    return tf.stop_gradient(r), tf.stop_gradient(d)


def sqrt_initializer(variance_initializer):
    """An initializer for moving_stddev and renorm_stddev: sqrt of moving_variance's initial value."""
    if isinstance(variance_initializer, keras.initializers.Initializer):
        # A fresh copy, so that a seeded random initializer does not repeat itself.
        variance_initializer = variance_initializer.from_config(variance_initializer.get_config())

    def initializer(shape, dtype=None):
        return tf.sqrt(variance_initializer(shape, dtype=dtype))

    return initializer


def moving_average(variable, value, momentum: float):
    """momentum * variable + (1 - momentum) * value, in float64 and rounded once to the
    variable's dtype (value, the batch's mu or sigma2, comes in float64)."""
    average = tf.cast(variable, tf.float64) * momentum + tf.cast(value, tf.float64) * (1.0 - momentum)
    return tf.cast(average, variable.dtype)


def update_renorm_statistics(layer, mu, sigma2):
    """The five moving averages above, after a training step with batch statistics mu, sigma2."""
    sigma = tf.sqrt(tf.cast(sigma2, tf.float64) + layer.epsilon)
    layer.renorm_mean.assign(moving_average(layer.renorm_mean, mu, layer.renorm_momentum))
    layer.renorm_stddev.assign(moving_average(layer.renorm_stddev, sigma, layer.renorm_momentum))
    layer.moving_mean.assign(moving_average(layer.moving_mean, mu, layer.momentum))
    stddev = tf.cast(layer.moving_stddev, tf.float64) * layer.momentum + sigma * (1.0 - layer.momentum)
    layer.moving_stddev.assign(tf.cast(stddev, layer.moving_stddev.dtype))
    variance = tf.nn.relu(stddev * stddev - layer.epsilon)
    layer.moving_variance.assign(tf.cast(variance, layer.moving_variance.dtype))
