"""Exercise 3: batch norm of a mini-batch in NumPy (section 4)."""

import numpy as np


def batch_norm_forward(z: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                       epsilon: float) -> tuple[np.ndarray, dict]:
    """z_tilde for a mini-batch z of shape (m, units), and the cache backward needs."""
    m = z.shape[0]
    mu = np.sum(z, axis=0) / m
    sigma2 = np.sum((z - mu) ** 2, axis=0) / m
    z_norm = (z - mu) / np.sqrt(sigma2 + epsilon)
    z_tilde = gamma * z_norm + beta
    cache = {"mu": mu, "sigma2": sigma2, "z_norm": z_norm, "gamma": gamma, "epsilon": epsilon}
    return z_tilde, cache
