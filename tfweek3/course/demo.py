"""The batch-norm formulas on one small batch, three ways side by side, and softmax([5, 2, -1, 3]).

`batch_norm_side_by_side` runs the NumPy reference, ManualBatchNorm and
keras.layers.BatchNormalization on the same mini-batch with the same gamma and
beta, and returns what each computed: mu, sigma2, z_norm, z_tilde and the moving
statistics after one training step. `tfweek3 demo` prints it.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfweek3.layers import reference
from tfweek3.layers.batch_norm import ManualBatchNorm
from tfweek3.layers.softmax import hardmax, softmax

# A mini-batch of m = 4 examples with 3 units each, and the layer's gamma and beta.
Z = np.array([[1.0, 2.0, -3.0], [3.0, 6.0, 0.0], [5.0, 4.0, 3.0], [7.0, 0.0, 6.0]], np.float32)
GAMMA = np.array([1.0, 2.0, 0.5], np.float32)
BETA = np.array([0.0, 1.0, -1.0], np.float32)
LECTURE_Z = [5.0, 2.0, -1.0, 3.0]


def batch_norm_side_by_side(z: np.ndarray = Z, gamma: np.ndarray = GAMMA, beta: np.ndarray = BETA,
                            epsilon: float = 1e-3, momentum: float = 0.99) -> dict[str, dict]:
    """What the NumPy reference, ManualBatchNorm and Keras compute for one training step."""
    results = {}
    z_tilde, cache = reference.batch_norm_forward(z, gamma, beta, epsilon)
    results["numpy reference"] = {
        "mu": cache["mu"], "sigma2": cache["sigma2"], "z_norm": cache["z_norm"], "z_tilde": z_tilde,
        "moving_mean": reference.update_moving(np.zeros_like(gamma), cache["mu"], momentum),
        "moving_variance": reference.update_moving(np.ones_like(gamma), cache["sigma2"], momentum),
    }
    for name, layer in [("ManualBatchNorm", ManualBatchNorm(momentum=momentum, epsilon=epsilon)),
                        ("keras BatchNormalization",
                         keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon))]:
        layer.build(z.shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        out = layer(tf.constant(z), training=True).numpy()
        mu, sigma2 = keras.ops.moments(tf.constant(z), axes=[0]) if name.startswith("keras") \
            else layer.moments(z)
        results[name] = {
            "mu": np.asarray(mu), "sigma2": np.asarray(sigma2), "z_norm": (out - beta) / gamma,
            "z_tilde": out, "moving_mean": layer.moving_mean.numpy(),
            "moving_variance": layer.moving_variance.numpy(),
        }
    return results


def format_side_by_side(results: dict[str, dict]) -> str:
    """A text table: one block per quantity, one line per implementation."""
    names = list(results)
    width = max(len(n) for n in names) + 2
    lines = []
    for quantity in results[names[0]]:
        lines.append(f"{quantity}:")
        for name in names:
            value = np.round(np.asarray(results[name][quantity], np.float64), 4)
            text = np.array2string(value, precision=4, floatmode="fixed", suppress_small=True,
                                   max_line_width=200).replace("\n", "\n" + " " * (width + 2))
            lines.append(f"  {name:<{width}}{text}")
    return "\n".join(lines)


def softmax_example(z: list[float] = LECTURE_Z) -> dict[str, np.ndarray]:
    """softmax and hardmax of the lecture's z = [5, 2, -1, 3]."""
    y_hat = softmax(tf.constant(z)).numpy()
    return {"z": np.array(z), "softmax": y_hat, "hardmax": hardmax(tf.constant(z)).numpy()}
