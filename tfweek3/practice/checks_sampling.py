"""Checks of exercises 1 and 2: alpha on a log scale, beta through 1 - beta on a log scale.

The reference is tfweek3's `sample_log_uniform` (tfweek3.tuning.scales).
A draw is judged by its spread on the scale it should be uniform on, t =
log10(alpha) or t = log10(1 - beta): the deciles of 20000 of the learner's
draws against those of the reference. A variant matches when the learner's
deciles are those of its draws, within 3% of the variant's own spread (the
sampling noise of a decile of 20000 draws is about 0.5% of it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tfweek3.practice.grader import CheckFailed, Checks, Mistake, as_array
from tfweek3.tuning.scales import sample_log_uniform

DRAWS = 20000
DECILES = np.linspace(0.1, 0.9, 9)
TOLERANCE = 0.03  # of the spread between the 5% and 95% quantiles

RNG_IGNORED = Mistake(
    "rng_ignored",
    "the draws do not come from rng (the same seed gave different values, or another seed the "
    "same ones): draw with rng.uniform(...) or rng.random(...)")

ALPHA_UNIFORM = Mistake(
    "alpha_uniform",
    "alpha sampled uniformly, not on a log scale (most draws fall in the top decade): "
    "draw r uniformly between log10(low) and log10(high), then alpha = 10**r")
ALPHA_ENDS_NOT_LOGGED = Mistake(
    "alpha_ends_not_logged",
    "r was drawn between low and high themselves: its ends are log10(low) and log10(high)")
ALPHA_MIXED_BASES = Mistake(
    "alpha_mixed_bases",
    "log10 and exp are mixed (or log and 10**r): r between log10(low) and log10(high) goes "
    "with alpha = 10**r")
ALPHA_FIXED_RANGE = Mistake(
    "alpha_fixed_range",
    "the range is fixed to the note's [1e-4, 1] (r = -4 * rand()): take r's ends from low "
    "and high")

BETA_UNIFORM = Mistake(
    "beta_uniform",
    "beta sampled uniformly (or beta itself on a log scale), not 1 - beta on a log scale: few "
    "draws come near 1, where the averaging window 1/(1 - beta) changes most")
BETA_IS_ONE_MINUS = Mistake(
    "beta_is_one_minus",
    "10**r is 1 - beta, not beta: return beta = 1 - 10**r")
BETA_ENDS_OF_BETA = Mistake(
    "beta_ends_of_beta",
    "r was drawn between log10(low) and log10(high): the log scale is for 1 - beta, so r runs "
    "from log10(1 - high) to log10(1 - low)")
BETA_FIXED_RANGE = Mistake(
    "beta_fixed_range",
    "the range is fixed to [0.9, 0.999] (r between -3 and -1): take r's ends from low and high")

Sampler = Callable[[float, float, int, np.random.Generator], np.ndarray]


def reference_alpha(low, high, size, rng):
    return sample_log_uniform(low, high, size, seed=rng)


def reference_beta(low, high, size, rng):
    return 1.0 - sample_log_uniform(1.0 - high, 1.0 - low, size, seed=rng)


ALPHA_VARIANTS: tuple[tuple[Mistake, Sampler], ...] = (
    (ALPHA_UNIFORM, lambda low, high, size, rng: rng.uniform(low, high, size)),
    (ALPHA_ENDS_NOT_LOGGED, lambda low, high, size, rng: 10.0 ** rng.uniform(low, high, size)),
    (ALPHA_MIXED_BASES,
     lambda low, high, size, rng: np.exp(rng.uniform(np.log10(low), np.log10(high), size))),
    (ALPHA_MIXED_BASES,
     lambda low, high, size, rng: 10.0 ** rng.uniform(np.log(low), np.log(high), size)),
    (ALPHA_FIXED_RANGE, lambda low, high, size, rng: 10.0 ** (-4.0 * rng.random(size))),
)

BETA_VARIANTS: tuple[tuple[Mistake, Sampler], ...] = (
    (BETA_UNIFORM, lambda low, high, size, rng: rng.uniform(low, high, size)),
    (BETA_UNIFORM,
     lambda low, high, size, rng: 10.0 ** rng.uniform(np.log10(low), np.log10(high), size)),
    (BETA_IS_ONE_MINUS,
     lambda low, high, size, rng: 10.0 ** rng.uniform(np.log10(1 - high), np.log10(1 - low), size)),
    (BETA_ENDS_OF_BETA,
     lambda low, high, size, rng: 1 - 10.0 ** rng.uniform(np.log10(low), np.log10(high), size)),
    (BETA_FIXED_RANGE, lambda low, high, size, rng: 1 - 10.0 ** rng.uniform(-3.0, -1.0, size)),
)


def log_alpha(values: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.log10(np.where(values > 0, values, np.nan))


def log_one_minus_beta(values: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.log10(np.where(values < 1, 1.0 - values, np.nan))


def quantiles(t: np.ndarray, q) -> np.ndarray | None:
    """Quantiles of t, or None when some of t is not a number (a draw off the scale)."""
    return np.quantile(t, q) if np.isfinite(t).all() else None


def same_spread(got: np.ndarray, other: np.ndarray, scale) -> bool:
    """Whether two samples have the same deciles on `scale`, within TOLERANCE of other's spread."""
    mine, theirs = quantiles(scale(got), DECILES), quantiles(scale(other), DECILES)
    if mine is None or theirs is None:
        return False
    low, high = quantiles(scale(other), [0.05, 0.95])
    return bool(np.max(np.abs(mine - theirs)) <= TOLERANCE * (high - low) + 1e-12)


def draw(learner, name: str, low: float, high: float, size: int, seed: int) -> np.ndarray:
    values = as_array(learner.call(name, low, high, size, np.random.default_rng(seed)), name)
    if values.shape != (size,):
        raise CheckFailed(f"{name}({low:g}, {high:g}, {size}, rng) returned shape {values.shape}; "
                          f"expected ({size},)")
    return values


def check_spread(learner, name: str, low: float, high: float, reference: Sampler,
                 variants, scale, scale_name: str) -> None:
    """The learner's draws lie in [low, high] and spread like the reference's on `scale`."""
    values = draw(learner, name, low, high, DRAWS, seed=1)
    expected = reference(low, high, DRAWS, np.random.default_rng(2))
    inside = (values >= low) & (values <= high)
    if inside.all() and same_spread(values, expected, scale):
        return
    for mistake, variant in variants:
        if same_spread(values, variant(low, high, DRAWS, np.random.default_rng(3)), scale):
            raise CheckFailed.because(mistake)
    if not inside.all():
        outside = values[~inside]
        raise CheckFailed(f"{outside.size} of {DRAWS} draws fall outside [{low:g}, {high:g}], "
                          f"like {outside[0]:.6g}")
    mine, theirs = quantiles(scale(values), [0.1, 0.5, 0.9]), quantiles(scale(expected), [0.1, 0.5, 0.9])
    ends = sorted(float(scale(np.array(end))) for end in (low, high))
    raise CheckFailed(f"{scale_name} should be uniform on [{ends[0]:.3g}, {ends[1]:.3g}]; its "
                      f"10%, 50%, 90% quantiles are {_three(mine)}, expected {_three(theirs)}")


def _three(values) -> str:
    return ", ".join(f"{v:.3g}" for v in values)


def check_rng(learner, name: str, low: float, high: float) -> None:
    first = draw(learner, name, low, high, 100, seed=7)
    again = draw(learner, name, low, high, 100, seed=7)
    other = draw(learner, name, low, high, 100, seed=8)
    if not np.array_equal(first, again) or np.array_equal(first, other):
        raise CheckFailed.because(RNG_IGNORED)


def check_one(learner, name: str, low: float, high: float) -> None:
    values = draw(learner, name, low, high, 1, seed=5)
    if not low <= values[0] <= high:
        raise CheckFailed(f"the one draw {values[0]:.6g} is outside [{low:g}, {high:g}]")


alpha = Checks(mistakes=(ALPHA_UNIFORM, ALPHA_ENDS_NOT_LOGGED, ALPHA_MIXED_BASES,
                         ALPHA_FIXED_RANGE, RNG_IGNORED))


@alpha.add(f"alpha on [1e-4, 1]: {DRAWS} draws, log10(alpha) uniform on [-4, 0]")
def alpha_note_range(learner):
    check_spread(learner, "sample_alpha", 1e-4, 1.0, reference_alpha, ALPHA_VARIANTS, log_alpha,
                 "log10(alpha)")


@alpha.add(f"alpha on [1e-3, 10]: {DRAWS} draws, log10(alpha) uniform on [-3, 1]")
def alpha_other_range(learner):
    check_spread(learner, "sample_alpha", 1e-3, 10.0, reference_alpha, ALPHA_VARIANTS, log_alpha,
                 "log10(alpha)")


@alpha.add("one draw (size=1): an array of shape (1,) inside [1e-5, 1e-2]")
def alpha_one(learner):
    check_one(learner, "sample_alpha", 1e-5, 1e-2)


@alpha.add("the draws come from rng: the same seed gives the same values, another seed others")
def alpha_rng(learner):
    check_rng(learner, "sample_alpha", 1e-4, 1.0)


beta = Checks(mistakes=(BETA_UNIFORM, BETA_IS_ONE_MINUS, BETA_ENDS_OF_BETA, BETA_FIXED_RANGE,
                        RNG_IGNORED))


@beta.add(f"beta on [0.9, 0.999]: {DRAWS} draws, log10(1 - beta) uniform on [-3, -1]")
def beta_lecture_range(learner):
    check_spread(learner, "sample_beta", 0.9, 0.999, reference_beta, BETA_VARIANTS,
                 log_one_minus_beta, "log10(1 - beta)")


@beta.add(f"beta on [0.5, 0.99]: {DRAWS} draws, log10(1 - beta) uniform on [-2, -0.301]")
def beta_other_range(learner):
    check_spread(learner, "sample_beta", 0.5, 0.99, reference_beta, BETA_VARIANTS,
                 log_one_minus_beta, "log10(1 - beta)")


@beta.add("one draw (size=1): an array of shape (1,) inside [0.9, 0.999]")
def beta_one(learner):
    check_one(learner, "sample_beta", 0.9, 0.999)


@beta.add("the draws come from rng: the same seed gives the same values, another seed others")
def beta_rng(learner):
    check_rng(learner, "sample_beta", 0.9, 0.999)


CHECKS = {"sample_alpha": alpha, "sample_beta": beta}
