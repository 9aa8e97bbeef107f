"""Exercise 4: batch norm backward in closed form (section 4)."""

import numpy as np


def batch_norm_backward(dz_tilde: np.ndarray, cache: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dz, dgamma, dbeta from dJ/dz_tilde and the forward pass's cache."""
    m = dz_tilde.shape[0]
    z_norm, gamma = cache["z_norm"], cache["gamma"]
    dbeta = np.sum(dz_tilde, axis=0)
    dgamma = np.sum(dz_tilde * z_norm, axis=0)
    dz = gamma / (m * np.sqrt(cache["sigma2"] + cache["epsilon"])) * (
        m * dz_tilde - dbeta - z_norm * dgamma)
    return dz, dgamma, dbeta
