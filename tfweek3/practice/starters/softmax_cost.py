"""Exercise 6 of tfweek3: softmax and the cross-entropy cost, in NumPy (the note, section 5).

Check it with:  tfweek3 exercise check softmax_cost
"""

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax of each row of z (shape (m, C): one example per row, one column per class).

        t     = exp(z)
        y_hat = t / sum_j t_j        (each row sums to 1)

    softmax([5, 2, -1, 3]) = [0.842, 0.042, 0.002, 0.114]. exp(1000) overflows
    (in float32 already exp(89) does): subtracting the row's max z first gives
    the same y_hat, because the factor exp(-max z) cancels, and no overflow.
    Return y_hat, of the shape of z.
    """
    # TODO
    raise NotImplementedError


def softmax_cost(z: np.ndarray, y: np.ndarray) -> float:
    """The cost J of the logits z (shape (m, C)) for the one-hot labels y (shape (m, C)).

        L(y_hat, y) = -sum_j y_j log y_hat_j          (one example)
        J           = (1/m) sum_i L(y_hat(i), y(i))  (the mini-batch)

    For logits around 1000, y_hat of a wrong class underflows to 0 and log 0 =
    -inf: compute log y_hat from z directly,
    log y_hat = (z - max z) - log sum_j exp(z_j - max z). Return J, a number.
    """
    # TODO
    raise NotImplementedError
