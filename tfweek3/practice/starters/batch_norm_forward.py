"""Exercise 3 of tfweek3: batch norm of a mini-batch, forward, in NumPy (the note, section 4).

Check it with:  tfweek3 exercise check batch_norm_forward
"""

import numpy as np


def batch_norm_forward(z: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                       epsilon: float) -> tuple[np.ndarray, dict]:
    """Normalize the mini-batch z with its own statistics, then scale and shift it.

    z: shape (m, units), one example per row (Keras's layout; the note puts
    examples in columns, the formulas are the same). gamma, beta: shape (units,).
    For each unit, over the m examples i:

        mu      = (1/m) sum_i z(i)
        sigma2  = (1/m) sum_i (z(i) - mu)^2
        z_norm  = (z(i) - mu) / sqrt(sigma2 + epsilon)
        z_tilde = gamma * z_norm + beta

    Return z_tilde (shape (m, units)) and the cache below (mu and sigma2 of
    shape (units,)), which exercise 4 (batch_norm_backward) reads.
    """
    mu = None  # TODO
    sigma2 = None  # TODO
    z_norm = None  # TODO
    z_tilde = None  # TODO
    cache = {"mu": mu, "sigma2": sigma2, "z_norm": z_norm, "gamma": gamma, "epsilon": epsilon}
    return z_tilde, cache
