"""Exercise 2: momentum beta through 1 - beta on a log scale (section 2, the right scale)."""

import numpy as np


def sample_beta(low: float, high: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` values of beta in [low, high]: 1 - beta = 10**r with r uniform, beta = 1 - 10**r."""
    r = rng.uniform(np.log10(1 - high), np.log10(1 - low), size)
    return 1 - 10.0 ** r
