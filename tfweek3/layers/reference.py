"""The course's formulas from scratch in NumPy: what to read beside the note.

Batch norm and softmax with cross-entropy, forward and backward, written with
the note's names and nothing else. The TensorFlow layers of this package are
tested against these functions, and these functions against finite differences.

Layout: one example per row (m rows) and one unit per column, as in Keras.
The note puts examples in columns; the formulas are the same per unit.
"""

from __future__ import annotations

import numpy as np


def batch_norm_forward(
    z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, epsilon: float = 1e-3
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Batch norm of a mini-batch z (shape (m, units)) with the batch's own statistics.

        mu      = (1/m) sum_i z(i)
        sigma2  = (1/m) sum_i (z(i) - mu)^2        biased: divide by m
        z_norm  = (z(i) - mu) / sqrt(sigma2 + epsilon)
        z_tilde = gamma * z_norm + beta

    Returns z_tilde and a cache with mu, sigma2, z_norm (what backward needs).
    """
    z = np.asarray(z, dtype=np.float64)
    m = z.shape[0]
    mu = z.sum(axis=0) / m
    sigma2 = ((z - mu) ** 2).sum(axis=0) / m
    z_norm = (z - mu) / np.sqrt(sigma2 + epsilon)
    z_tilde = gamma * z_norm + beta
    cache = {"mu": mu, "sigma2": sigma2, "z_norm": z_norm, "gamma": np.asarray(gamma),
             "epsilon": np.asarray(epsilon)}
    return z_tilde, cache


def batch_norm_backward(
    dz_tilde: np.ndarray, cache: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the cost with respect to z, gamma and beta, given dJ/dz_tilde.

        dbeta  = sum_i dz_tilde(i)
        dgamma = sum_i dz_tilde(i) * z_norm(i)
        dz(i)  = gamma / (m * sqrt(sigma2 + epsilon))
                 * (m * dz_tilde(i) - dbeta - z_norm(i) * dgamma)

    The last line is the chain rule through z_norm, mu and sigma2 at once: each
    z(i) moves mu and sigma2, which move every z_norm of the batch.
    """
    z_norm, gamma = cache["z_norm"], cache["gamma"]
    m = dz_tilde.shape[0]
    dbeta = dz_tilde.sum(axis=0)
    dgamma = (dz_tilde * z_norm).sum(axis=0)
    inv_std = 1.0 / np.sqrt(cache["sigma2"] + cache["epsilon"])
    dz = gamma * inv_std / m * (m * dz_tilde - dbeta - z_norm * dgamma)
    return dz, dgamma, dbeta


def batch_norm_inference(
    z: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    moving_mean: np.ndarray,
    moving_variance: np.ndarray,
    epsilon: float = 1e-3,
) -> np.ndarray:
    """At test time: the same formula with the moving (averaged) mu and sigma2."""
    z_norm = (z - moving_mean) / np.sqrt(moving_variance + epsilon)
    return gamma * z_norm + beta


def update_moving(moving: np.ndarray, batch_value: np.ndarray, momentum: float = 0.99) -> np.ndarray:
    """Exponentially weighted average: v = beta * v + (1 - beta) * theta, with beta = momentum."""
    return momentum * moving + (1.0 - momentum) * batch_value


def softmax(z: np.ndarray) -> np.ndarray:
    """y_hat = t / sum_j t_j with t = exp(z - max z), row by row."""
    z = np.asarray(z, dtype=np.float64)
    t = np.exp(z - z.max(axis=-1, keepdims=True))
    return t / t.sum(axis=-1, keepdims=True)


def hardmax(z: np.ndarray) -> np.ndarray:
    """1 at the largest entry of each row, 0 elsewhere."""
    z = np.asarray(z)
    out = np.zeros(z.shape)
    np.put_along_axis(out, z.argmax(axis=-1)[..., None], 1.0, axis=-1)
    return out


def cross_entropy(y: np.ndarray, y_hat: np.ndarray) -> np.ndarray:
    """L(y_hat, y) = -sum_j y_j log y_hat_j for each row (0 log 0 counts as 0)."""
    y = np.asarray(y, dtype=np.float64)
    y_hat = np.asarray(y_hat, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(y_hat), 0.0)
    return -terms.sum(axis=-1)


def softmax_cost_and_grad(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """J = (1/m) sum_i L(softmax(z(i)), y(i)) and its gradient dJ/dz = (y_hat - y) / m."""
    m = z.shape[0]
    y_hat = softmax(z)
    J = float(cross_entropy(y, y_hat).mean())
    return J, (y_hat - y) / m


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences (f(x + h) - f(x - h)) / 2h, one entry at a time."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        f_plus = f(x)
        x[index] = old - h
        f_minus = f(x)
        x[index] = old
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad
