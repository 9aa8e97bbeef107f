"""A member of a stacked network: one course network and how it trains (stacked.py).

    Member(hidden_units=(25, 12), learning_rate=1e-2, beta=0.9, optimizer="adam",
           batch_norm=True, batch_size=32, seed=0)

is the network `build_network(n_x, C, (25, 12), "manual", seed=0)` trained by
`train` with Adam (alpha = 0.01, beta_1 = 0.9) on mini-batches of 32 drawn
with seed 0: what a trial of the search trains alone, as a slice of a stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from tfweek3.training.network import build_network

STACKED_OPTIMIZERS = ("adam", "momentum")


@dataclass(frozen=True)
class Member:
    """One course network of a stack and how it trains: `build_network`'s hidden_units and
    batch norm, `train`'s optimizer, learning_rate (alpha), beta, batch_size and seed (its
    initial weights and its mini-batch order)."""

    hidden_units: tuple[int, ...]
    learning_rate: float
    beta: float = 0.9
    optimizer: str = "adam"
    batch_norm: bool = True
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self):
        units = tuple(self.hidden_units)
        if not units or any(int(u) != u or u < 1 for u in units):
            raise ValueError(f"hidden_units must be one or more positive integers; got {units!r}")
        object.__setattr__(self, "hidden_units", tuple(int(u) for u in units))
        if self.optimizer not in STACKED_OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {STACKED_OPTIMIZERS}; "
                             f"got {self.optimizer!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be a positive number; got {self.learning_rate}")
        if not 0.0 <= self.beta < 1.0:
            raise ValueError(f"beta must be in [0, 1); got {self.beta}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {self.batch_size!r}")

    def build(self, input_dim: int, num_classes: int) -> keras.Model:
        """This member alone: its course network with the initial weights its seed draws."""
        return build_network(input_dim, num_classes, self.hidden_units,
                             "manual" if self.batch_norm else "none", seed=self.seed)

    def initial_kernels(self, input_dim: int, num_classes: int) -> list[np.ndarray]:
        """The kernels `build` starts with (hidden layers', then the softmax layer's), drawn
        as build_network draws them (layer k from Glorot uniform with seed + k), without
        building the network: the other weights start at 0 or 1."""
        fan_in = (input_dim, *self.hidden_units)
        fan_out = (*self.hidden_units, num_classes)
        return [keras.initializers.GlorotUniform(self.seed + layer)((n_in, n_out)).numpy()
                for layer, (n_in, n_out) in enumerate(zip(fan_in, fan_out), start=1)]
