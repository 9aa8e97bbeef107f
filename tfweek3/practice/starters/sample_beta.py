"""Exercise 2 of tfweek3: sample momentum beta through 1 - beta on a log scale (the note, section 2).

Check it with:  tfweek3 exercise check sample_beta
"""

import numpy as np


def sample_beta(low: float, high: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Return `size` values of beta in [low, high] (like [0.9, 0.999]), sampled the lecture's way.

    beta averages over about 1 / (1 - beta) steps: 10 for 0.9, 1000 for 0.999.
    Near 1 a small change of beta changes that window a lot, so it is 1 - beta
    that is sampled on a log scale (for [0.9, 0.999]: 1 - beta in [0.001, 0.1]):

        r        = uniform between log10(1 - high) and log10(1 - low)    (here -3 and -1)
        1 - beta = 10**r
        beta     = 1 - 10**r

    size: how many values; return an array of shape (size,).
    rng: a np.random.Generator; draw from it, so that the same seed gives the same values.
    """
    # TODO: draw r, then return beta
    raise NotImplementedError
