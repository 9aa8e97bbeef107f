"""Batch norm on one small batch: the backward pass three ways, and why the bias b goes.

The forward pass step by step is `tfweek3.demo.batch_norm_side_by_side`. Here:

* `backward_side_by_side`: dJ/dz, dJ/dgamma, dJ/dbeta from the course's closed
  form (`tfweek3.reference.batch_norm_backward`), from GradientTape through
  ManualBatchNorm (whose gradient is that closed form, registered with
  tf.custom_gradient) and from GradientTape through Keras's BatchNormalization
  (plain autodiff). They must agree.

* `bias_cancels`: z = W a + b followed by batch norm. Adding any b to every
  example adds b to mu too, so z - mu, z_norm and z_tilde do not change:

      (z + b) - mean(z + b) = z - mean(z)

  and the gradient dJ/db is 0: b can never learn anything. That is why the
  network's hidden Dense layers have no bias when batch norm is on; beta takes
  its role.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfweek3.layers import reference
from tfweek3.layers.batch_norm import ManualBatchNorm


def backward_side_by_side(z: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                          dz_tilde: np.ndarray, epsilon: float = 1e-3) -> dict[str, dict]:
    """dz, dgamma and dbeta for an upstream gradient dz_tilde = dJ/dz_tilde, three ways."""
    _, cache = reference.batch_norm_forward(z, gamma, beta, epsilon)
    dz, dgamma, dbeta = reference.batch_norm_backward(np.asarray(dz_tilde, np.float64), cache)
    results = {"numpy closed form": {"dz": dz, "dgamma": dgamma, "dbeta": dbeta}}
    for name, layer in (("ManualBatchNorm", ManualBatchNorm(epsilon=epsilon)),
                        ("keras BatchNormalization",
                         keras.layers.BatchNormalization(epsilon=epsilon))):
        layer.build(z.shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        x = tf.constant(z, tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x)
            # J = sum(dz_tilde * z_tilde) has exactly dJ/dz_tilde = dz_tilde.
            J = tf.reduce_sum(tf.constant(dz_tilde, tf.float32) * layer(x, training=True))
        dx, dgamma_t, dbeta_t = tape.gradient(J, [x, layer.gamma, layer.beta])
        results[name] = {"dz": dx.numpy(), "dgamma": dgamma_t.numpy(), "dbeta": dbeta_t.numpy()}
    return results


def bias_cancels(a: np.ndarray, units: int = 3, bias: float = 5.0, seed: int = 0) -> dict[str, float]:
    """Dense(with bias) -> ManualBatchNorm on the batch `a`: how much b changes, and dJ/db.

    Returns the largest change of z_tilde when every bias is set to `bias`
    instead of 0, the largest |dJ/db| and, for scale, the largest |dJ/dW|, with
    J = sum(c * z_tilde) for random weights c.
    """
    keras.utils.set_random_seed(seed)
    dense = keras.layers.Dense(units, use_bias=True)
    norm = ManualBatchNorm()
    x = tf.constant(a, tf.float32)
    c = tf.random.normal((len(a), units), seed=seed)

    def z_tilde():
        return norm(dense(x), training=True)

    without = z_tilde().numpy()
    dense.bias.assign(tf.fill((units,), bias))
    with tf.GradientTape() as tape:
        out = z_tilde()
        J = tf.reduce_sum(c * out)
    d_kernel, d_bias = tape.gradient(J, [dense.kernel, dense.bias])
    return {
        "max_change_of_z_tilde": float(np.max(np.abs(out.numpy() - without))),
        "max_abs_dJ_db": float(np.max(np.abs(d_bias.numpy()))),
        "max_abs_dJ_dW": float(np.max(np.abs(d_kernel.numpy()))),
    }


def parameter_table(model: keras.Model) -> str:
    """Each layer's weights with their shapes, trainable or not: b is absent under batch norm."""
    lines = []
    for layer in model.layers:
        if not layer.weights:
            continue
        parts = [f"{w.name}{tuple(w.shape)}{'' if w.trainable else ' (not trained)'}"
                 for w in layer.weights]
        lines.append(f"{layer.name:<14} " + ", ".join(parts))
    return "\n".join(lines)
