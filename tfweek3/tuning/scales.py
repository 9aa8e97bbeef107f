"""The right scale for a hyperparameter (course section 2): NumPy samplers, and helpers for build(hp).

Sampling uniformly is fine for hidden units or layers, not for the learning
rate alpha on [1e-4, 1]: a uniform draw puts about 90% of the points in
[0.1, 1]. Sample the exponent instead, r = -4 * rand() and alpha = 10**r, so
that every decade gets the same share. Momentum beta on [0.9, 0.999] is drawn
as 1 - beta = 10**r with r in [-3, -1]: near 1 a tiny change of beta changes
the averaging window 1 / (1 - beta) a lot (0.999 -> 0.9995 doubles it).

Two halves:

* NumPy samplers for the notebooks and the exercises (`sample_log_uniform`,
  `sample_learning_rate`, `sample_beta`, `sample_uniform`).
* `hp_alpha` and `hp_beta`, which declare the same two scales to KerasTuner
  inside any `build(hp)`:

      def build_model(hp):
          alpha = tfweek3.hp_alpha(hp)              # hp.Float("learning_rate", sampling="log")
          beta = tfweek3.hp_beta(hp)                # 1 - hp.Float("one_minus_beta", log)
          model = ...
          model.compile(optimizer=keras.optimizers.SGD(alpha, momentum=beta), ...)

KerasTuner's own sampling="reverse_log" on [0.9, 0.999] is *not* the
lecture's scale for beta. reverse_log draws beta = max + min - min *
(max / min) ** (1 - u): the log of (max + min - beta) is uniform, an interval
anchored at min = 0.9, so over [0.9, 0.999] (a ratio of 1.11) it is nearly
linear and puts the median beta near 0.95. The lecture's scale makes the log
of 1 - beta uniform, with its median at 1 - 10**-2 = 0.99: as many draws in
[0.9, 0.99] as in [0.99, 0.999]. `hp_beta` declares that scale by searching
1 - beta itself with sampling="log" (tests/test_scales.py measures both).
"""

from __future__ import annotations

import math

import numpy as np

LEARNING_RATE_RANGE = (1e-4, 1.0)
BETA_RANGE = (0.9, 0.999)


class ScaleError(ValueError):
    """A range that cannot be sampled on the scale asked for."""


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def sample_log_uniform(low: float, high: float, size: int | None = None,
                       seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Draw values whose log10 is uniform on [log10 low, log10 high].

    Equal mass per decade: the right scale for anything that spans several
    powers of ten, like the learning rate.
    """
    if not 0 < low <= high:
        raise ScaleError(f"a log range needs 0 < low <= high, got {low}:{high}")
    r = _rng(seed).uniform(math.log10(low), math.log10(high), size)
    return 10.0 ** r


def sample_learning_rate(size: int | None = None,
                         seed: int | np.random.Generator | None = None) -> np.ndarray:
    """The note's recipe for alpha on [1e-4, 1]: r = -4 * rand(), alpha = 10**r."""
    r = -4.0 * _rng(seed).random(size)
    return 10.0 ** r


def sample_beta(size: int | None = None,
                seed: int | np.random.Generator | None = None) -> np.ndarray:
    """The lecture's recipe for momentum beta on [0.9, 0.999].

    r uniform on [-3, -1], 1 - beta = 10**r, beta = 1 - 10**r: as many draws in
    [0.9, 0.99] as in [0.99, 0.999].
    """
    r = _rng(seed).uniform(-3.0, -1.0, size)
    return 1.0 - 10.0 ** r


def sample_uniform(low: float, high: float, size: int | None = None,
                   seed: int | np.random.Generator | None = None) -> np.ndarray:
    """A plain uniform draw: fine for hidden units or layers, wrong for alpha."""
    return _rng(seed).uniform(low, high, size)


def decade_fractions(values: np.ndarray, low: float = 1e-4,
                     high: float = 1.0) -> dict[str, float]:
    """Share of `values` in each decade [10**k, 10**(k+1)) between low and high."""
    values = np.asarray(values, dtype=float)
    shares = {}
    for k in range(round(math.log10(low)), round(math.log10(high))):
        inside = (values >= 10.0 ** k) & (values < 10.0 ** (k + 1))
        shares[f"[1e{k}, 1e{k + 1})"] = float(inside.mean())
    return shares


def hp_alpha(hp, name: str = "learning_rate", low: float = LEARNING_RATE_RANGE[0],
             high: float = LEARNING_RATE_RANGE[1]) -> float:
    """Declare the learning rate alpha on a log scale (alpha = 10**r, r uniform) and return it.

    The same as hp.Float(name, low, high, sampling="log"), with the course's
    range by default; the hyperparameter is recorded as alpha itself.
    """
    if not 0 < low <= high:
        raise ScaleError(f"{name}: a log-scale range needs 0 < low <= high, got {low}:{high}")
    if low == high:
        return hp.Fixed(name, float(low))
    return hp.Float(name, low, high, sampling="log")


def hp_beta(hp, name: str = "one_minus_beta", low: float = BETA_RANGE[0],
            high: float = BETA_RANGE[1]) -> float:
    """Declare momentum beta on the lecture's scale (1 - beta = 10**r) and return beta.

    The hyperparameter KerasTuner searches, records and reports is 1 - beta,
    named `name`, with sampling="log" on [1 - high, 1 - low]; the value
    returned is beta = 1 - that. tfweek3's results add a `beta` column beside
    any hyperparameter named "one_minus_<x>" (an `<x>` column: 1 - its value).
    """
    if not 0 <= low <= high < 1:
        raise ScaleError(f"{name}: beta's range needs 0 <= low <= high < 1, got {low}:{high}")
    if low == high:
        return 1.0 - hp.Fixed(name, round(1.0 - low, 12))
    # (rounded: 1 - 0.999 is 0.0010000000000000009 in floating point)
    return 1.0 - hp.Float(name, round(1.0 - high, 12), round(1.0 - low, 12), sampling="log")
