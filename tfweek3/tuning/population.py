"""A PBT population's settings and its bookkeeping, in plain Python (no TensorFlow).

The command line checks a search's settings, and the process that supervises
a `--workers` search draws its figures, without importing TensorFlow: what
they need of population-based training (pbt.py) is here.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Population:
    """The settings of a PBT search (the flags of `tfweek3 tune --strategy pbt`)."""

    population: int = 8             # members trained side by side
    epochs: int = 10                # each member's epochs in all
    ready_epochs: int = 2           # epochs between two exploit/explore steps
    exploit_quantile: float = 0.25  # the bottom share copies the top share
    perturb_factor: float = 1.25    # a copy's values times 1.25 or 1/1.25
    resample_probability: float = 0.2  # ...or drawn afresh from the declared space
    seed: int = 0

    @property
    def generations(self) -> int:
        """The steps of ready_epochs epochs that make `epochs` (the last may be shorter)."""
        return -(-self.epochs // self.ready_epochs)

    def validate(self) -> Population:
        """Raise ValueError naming the first bad setting; return self."""
        if self.population < 2:
            raise ValueError("population: must be at least 2 (members copy each other)")
        if self.ready_epochs < 1 or self.ready_epochs >= self.epochs:
            raise ValueError(f"ready_epochs: must be at least 1 and below epochs ({self.epochs}), "
                             "or no member would ever copy another")
        if not 0 < self.exploit_quantile <= 0.5:
            raise ValueError("exploit_quantile: must be in (0, 0.5]")
        if not self.perturb_factor > 1:
            raise ValueError("perturb_factor: must be above 1 (a value is multiplied by it or "
                             "divided by it)")
        if not 0 <= self.resample_probability <= 1:
            raise ValueError("resample_probability: must be in [0, 1]")
        return self


@dataclass(frozen=True)
class Ended:
    """One member's finished generation: its trial, its values and its score (None when the
    generation diverged or failed)."""

    member: int
    trial_id: str
    values: Mapping[str, Any]
    score: float | None


def generation_epochs(generation: int, ready_epochs: int, epochs: int) -> tuple[int, int]:
    """The first and last epoch (from 1, both included) of a generation (from 1)."""
    return (generation - 1) * ready_epochs + 1, min(generation * ready_epochs, epochs)


def member_random(seed: int, generation: int, member: int) -> random.Random:
    """The random generator of one member's step: the same draws whenever and wherever it runs."""
    return random.Random(f"pbt:{seed}:{generation}:{member}")


def rank_members(ended: list[Ended], direction: str) -> list[Ended]:
    """Best first (ties: the lower member number first); diverged and failed members last."""
    sign = -1.0 if direction == "max" else 1.0
    scored = sorted((e for e in ended if e.score is not None),
                    key=lambda e: (sign * e.score, e.member))
    return scored + sorted((e for e in ended if e.score is None), key=lambda e: e.member)
