"""The week's search space, sampled on the right scale (course sections 1 and 2).

Two halves, both small:

* Plain NumPy samplers for the notebooks. The learning rate alpha on [1e-4, 1]
  is drawn the way the note does it, r = -4 * rand() and alpha = 10**r, so every
  decade gets the same share of the draws (a uniform draw would put about 90% of
  them in [0.1, 1]). Momentum beta on [0.9, 0.999] is drawn as the lecture says:
  1 - beta = 10**r with r in [-3, -1], because near 1 a tiny change of beta
  changes the averaging window 1 / (1 - beta) a lot.

* `SearchSpace`, the ranges a search explores, and `define_hyperparameters`,
  which declares them to KerasTuner: `learning_rate` as hp.Float with
  sampling="log", `one_minus_beta` as hp.Float with sampling="log" (beta is
  derived as 1 - one_minus_beta), hidden `units` and `layers` as uniform
  integers, `batch_size` among powers of two, `batch_norm` on or off and the
  `optimizer`. With `grid_points` the same space gets a step, so KerasTuner's
  GridSearch sees that many points per numeric dimension.

KerasTuner's own sampling="reverse_log" on [0.9, 0.999] is *not* the lecture's
scale: it is nearly linear there and puts the median beta near 0.95, where the
lecture's scale puts it near 0.99 (see tests/test_search_space.py).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfweek3.training.names import OPTIMIZERS

LEARNING_RATE_RANGE = (1e-4, 1.0)
ONE_MINUS_BETA_RANGE = (1e-3, 1e-1)

# The hyperparameter names, as KerasTuner, the CSV files and the figures use them.
HP_NAMES = ("learning_rate", "one_minus_beta", "units", "layers", "batch_size",
            "batch_norm", "optimizer")
LOG_SCALE = ("learning_rate", "one_minus_beta")
# Batch norm in the searched networks is the course's own layer (tfweek3.layers.batch_norm).
BATCH_NORM_LAYER = "manual"


class SearchSpaceError(ValueError):
    """A range or a choice of the search space that cannot be searched."""


# ---------------------------------------------------------------------------
# Samplers (NumPy, for the notebooks)
# ---------------------------------------------------------------------------

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
        raise SearchSpaceError(f"a log range needs 0 < low <= high, got {low}:{high}")
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


# ---------------------------------------------------------------------------
# The KerasTuner search space
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchSpace:
    """The ranges a search explores; a range whose ends are equal is fixed.

    learning_rate and one_minus_beta are sampled on a log scale, units and
    layers uniformly as integers, batch_size among the listed powers of two.
    """

    learning_rate: tuple[float, float] = LEARNING_RATE_RANGE
    one_minus_beta: tuple[float, float] = ONE_MINUS_BETA_RANGE
    units: tuple[int, int] = (8, 64)
    layers: tuple[int, int] = (1, 3)
    batch_size: tuple[int, ...] = (16, 32, 64, 128)
    batch_norm: tuple[bool, ...] = (False, True)
    optimizer: tuple[str, ...] = ("momentum", "adam")

    def validate(self) -> SearchSpace:
        """Raise SearchSpaceError naming the first bad range; return self."""
        for name in LOG_SCALE:
            low, high = getattr(self, name)
            if low > high:
                raise SearchSpaceError(f"{name}: minimum {low:g} is above maximum {high:g}")
            if low <= 0:
                raise SearchSpaceError(
                    f"{name}: a log-scale range must stay above 0, got {low:g}:{high:g}")
        for name in ("units", "layers"):
            low, high = getattr(self, name)
            if low > high:
                raise SearchSpaceError(f"{name}: minimum {low} is above maximum {high}")
            if low < 1:
                raise SearchSpaceError(f"{name}: must be at least 1, got {low}:{high}")
        if self.one_minus_beta[1] >= 1:
            raise SearchSpaceError("one_minus_beta: must stay below 1 (beta above 0)")
        if not self.batch_size or any(b < 1 or b & (b - 1) for b in self.batch_size):
            raise SearchSpaceError(
                f"batch_size: must be powers of two, got {list(self.batch_size)}")
        if not self.batch_norm:
            raise SearchSpaceError("batch_norm: needs on, off or both")
        bad = [o for o in self.optimizer if o not in OPTIMIZERS]
        if not self.optimizer or bad:
            raise SearchSpaceError(
                f"optimizer: choose among {', '.join(OPTIMIZERS)}, got {list(self.optimizer)}")
        return self

    def to_dict(self) -> dict[str, list]:
        """JSON-friendly form (tuples become lists)."""
        return {f.name: list(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchSpace:
        return cls(**{k: tuple(v) for k, v in values.items()})


@dataclass(frozen=True)
class TrialSettings:
    """What one trial trains with, read from its hyperparameters."""

    learning_rate: float
    one_minus_beta: float
    units: int
    layers: int
    batch_size: int
    batch_norm: bool
    optimizer: str

    @property
    def beta(self) -> float:
        """Momentum beta (RMSprop's rho, Adam's beta1) = 1 - one_minus_beta."""
        return 1.0 - self.one_minus_beta

    @property
    def hidden_units(self) -> tuple[int, ...]:
        """`layers` hidden layers of `units` units each."""
        return (self.units,) * self.layers


def grid_step(low: float, high: float, points: int, log: bool) -> float:
    """The KerasTuner `step` that puts `points` values on [low, high].

    On a log scale the step multiplies: (high / low) ** (1 / (points - 1)).
    """
    if log:
        return (high / low) ** (1.0 / (points - 1))
    return (high - low) / (points - 1)


def define_hyperparameters(hp, space: SearchSpace,
                           grid_points: int | None = None) -> TrialSettings:
    """Declare the space to KerasTuner's `hp` and return this trial's values.

    Called when the tuner builds the model (which registers the space with the
    oracle) and again when the trial trains (which reads the sampled values).
    With `grid_points`, each numeric range gets a step so that GridSearch tries
    that many values of it (an integer range may get fewer when it is short).
    """

    def log_float(name: str) -> float:
        low, high = getattr(space, name)
        if low == high:
            return hp.Fixed(name, float(low))
        step = grid_step(low, high, grid_points, log=True) if grid_points else None
        return hp.Float(name, low, high, step=step, sampling="log")

    def uniform_int(name: str) -> int:
        low, high = getattr(space, name)
        if low == high:
            return hp.Fixed(name, int(low))
        step = 1
        if grid_points:
            step = max(1, int(grid_step(low, high, grid_points, log=False)))
        return hp.Int(name, low, high, step=step)

    def choice(name: str, values: tuple) -> Any:
        if len(values) == 1:
            return hp.Fixed(name, values[0])
        return hp.Choice(name, list(values))

    learning_rate = log_float("learning_rate")
    one_minus_beta = log_float("one_minus_beta")
    units = uniform_int("units")
    layers = uniform_int("layers")
    batch_size = choice("batch_size", tuple(sorted(space.batch_size)))
    if len(space.batch_norm) == 1:
        batch_norm = hp.Fixed("batch_norm", bool(space.batch_norm[0]))
    else:
        batch_norm = hp.Boolean("batch_norm")
    optimizer = choice("optimizer", space.optimizer)
    return TrialSettings(
        learning_rate=float(learning_rate),
        one_minus_beta=float(one_minus_beta),
        units=int(units),
        layers=int(layers),
        batch_size=int(batch_size),
        batch_norm=bool(batch_norm),
        optimizer=str(optimizer),
    )


def grid_size(space: SearchSpace, grid_points: int) -> int:
    """How many points KerasTuner's GridSearch has in this space."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    define_hyperparameters(hp, space, grid_points)
    return math.prod(len(list(p.values)) for p in hp.space)


# ---------------------------------------------------------------------------
# Coarse to fine: narrow the box around the best trials
# ---------------------------------------------------------------------------

def narrow_space(space: SearchSpace, best: list[dict[str, Any]],
                 margin: float = 0.1) -> SearchSpace:
    """The next round's box: every numeric range shrinks to the span of `best`.

    `best` holds the hyperparameter values of the best k trials. Each range
    becomes [min, max] of their values widened by `margin` times the old
    range's width, measured in log10 for learning_rate and one_minus_beta (the
    scale they are sampled on), and clipped to the old range. Integer ends are
    rounded outwards; batch sizes keep the powers of two between the best
    ones. Categorical choices (optimizer, batch norm) are left as they are.
    """
    if not best:
        return space
    changes: dict[str, Any] = {}
    for name in LOG_SCALE:
        low, high = getattr(space, name)
        values = [math.log10(trial[name]) for trial in best]
        width = math.log10(high) - math.log10(low)
        new_low = max(math.log10(low), min(values) - margin * width)
        new_high = min(math.log10(high), max(values) + margin * width)
        changes[name] = (max(low, 10.0 ** new_low), min(high, 10.0 ** new_high))
    for name in ("units", "layers"):
        low, high = getattr(space, name)
        values = [trial[name] for trial in best]
        width = high - low
        changes[name] = (max(low, math.floor(min(values) - margin * width)),
                         min(high, math.ceil(max(values) + margin * width)))
    sizes = [trial["batch_size"] for trial in best]
    changes["batch_size"] = tuple(b for b in sorted(space.batch_size)
                                  if min(sizes) <= b <= max(sizes))
    return dataclasses.replace(space, **changes)
