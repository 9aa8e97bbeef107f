"""Exercise 1 of tfweek3: sample the learning rate alpha on a log scale (the note, section 2).

Check it with:  tfweek3 exercise check sample_alpha
"""

import numpy as np


def sample_alpha(low: float, high: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Return `size` values of alpha in [low, high], sampled on a log scale.

    A uniform draw on [0.0001, 1] puts 90% of the values in [0.1, 1]. The note
    samples the exponent instead, so that every decade gets the same share:

        r     = uniform between log10(low) and log10(high)    (for [1e-4, 1]: r = -4 * rand())
        alpha = 10**r

    low, high: the range, 0 < low <= high.
    size: how many values; return an array of shape (size,).
    rng: a np.random.Generator; draw from it (rng.uniform, rng.random), so that
         the same seed gives the same values.
    """
    # TODO: draw r, then return alpha
    raise NotImplementedError
