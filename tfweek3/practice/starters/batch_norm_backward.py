"""Exercise 4 of tfweek3: batch norm backward in closed form, in NumPy (the note, section 4).

Check it with:  tfweek3 exercise check batch_norm_backward
"""

import numpy as np


def batch_norm_backward(dz_tilde: np.ndarray, cache: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the cost J with respect to z, gamma and beta, given dz_tilde = dJ/dz_tilde.

    dz_tilde: shape (m, units). cache: what batch_norm_forward (exercise 3)
    returns: mu and sigma2 (shape (units,)), z_norm (shape (m, units)), gamma
    (shape (units,)) and epsilon. From z_tilde = gamma * z_norm + beta:

        dbeta  = sum_i dz_tilde(i)
        dgamma = sum_i dz_tilde(i) * z_norm(i)

    dz is the chain rule through z_norm, mu and sigma2 at once: each z(i)
    moves mu and sigma2, which move every z_norm of the batch. Derived, and
    written with dbeta and dgamma (m examples in the batch):

        dz(i) = gamma / (m * sqrt(sigma2 + epsilon)) * (m * dz_tilde(i) - dbeta - z_norm(i) * dgamma)

    Return dz (shape (m, units)), dgamma and dbeta (shape (units,)).
    """
    dbeta = None  # TODO
    dgamma = None  # TODO
    dz = None  # TODO
    return dz, dgamma, dbeta
