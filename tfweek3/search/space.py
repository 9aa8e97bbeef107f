"""The course search's space: the seven hyperparameters of the course network (course sections 1-2).

`SearchSpace` holds the ranges `tfweek3 tune` explores, and
`define_hyperparameters` declares them to KerasTuner inside the course
hypermodel's build (hypermodel.py): `learning_rate` (alpha) as hp.Float with
sampling="log", `one_minus_beta` as hp.Float with sampling="log" (beta is
derived as 1 - one_minus_beta: tfweek3.hp_alpha and hp_beta declare the same two
scales for a model of your own), hidden `units` and `layers` as uniform
integers, `batch_size` among powers of two, `batch_norm` on or off and the
`optimizer`. With `grid_points` the same space gets a step, so KerasTuner's
GridSearch sees that many points per numeric dimension.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from tfweek3.training.names import OPTIMIZERS
from tfweek3.tuning.scales import LEARNING_RATE_RANGE

ONE_MINUS_BETA_RANGE = (1e-3, 1e-1)

# The hyperparameter names, as KerasTuner, the CSV files and the figures use them.
HP_NAMES = ("learning_rate", "one_minus_beta", "units", "layers", "batch_size",
            "batch_norm", "optimizer")
LOG_SCALE = ("learning_rate", "one_minus_beta")
# Their labels in the figures and the importance, in the course's words.
LABELS = {"learning_rate": "alpha", "one_minus_beta": "1 - beta", "units": "hidden units",
          "layers": "hidden layers", "batch_size": "mini-batch size", "batch_norm": "batch norm",
          "optimizer": "optimizer"}
# Batch norm in the searched networks is the course's own layer (tfweek3.layers.batch_norm).
BATCH_NORM_LAYER = "manual"


class SearchSpaceError(ValueError):
    """A range or a choice of the search space that cannot be searched."""


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


def space_of_box(box: dict[str, Any], space: SearchSpace) -> SearchSpace:
    """A coarse-to-fine round's box (a KerasTuner HyperParameters config) as a SearchSpace."""
    changes: dict[str, Any] = {}
    for entry in box["space"]:
        config, name = entry["config"], entry["config"]["name"]
        if name in ("learning_rate", "one_minus_beta", "units", "layers"):
            cast = float if name in LOG_SCALE else int
            if entry["class_name"] == "Fixed":
                changes[name] = (cast(config["value"]),) * 2
            else:
                changes[name] = (cast(config["min_value"]), cast(config["max_value"]))
        elif name == "batch_size":
            values = [config["value"]] if entry["class_name"] == "Fixed" else config["values"]
            changes[name] = tuple(int(v) for v in values)
    return dataclasses.replace(space, **changes)
