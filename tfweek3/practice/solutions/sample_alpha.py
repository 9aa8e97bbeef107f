"""Exercise 1: the learning rate alpha on a log scale (section 2, the right scale)."""

import numpy as np


def sample_alpha(low: float, high: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` values of alpha in [low, high], as many per decade: r uniform, alpha = 10**r."""
    r = rng.uniform(np.log10(low), np.log10(high), size)
    return 10.0 ** r
