"""Median stopping: cut a trial that is clearly losing, so its epochs go to other trials.

Random and grid search train every trial to the last epoch, even one whose
validation accuracy after two epochs is worse than most trials ever were at
that point. The median stopping rule (Optuna's MedianPruner, Ray Tune's
MedianStoppingRule; Golovin et al. 2017, "Google Vizier") stops it:

    after epoch e, stop the trial when its best value so far is worse than
    the median, at epoch e, of the best values so far of the other trials
    that reached epoch e,

but only once at least `min_trials` other trials reached epoch e (before that
the median says little), only from epoch `after` on (the first epochs of a
good trial can look bad), and never at the last epoch (stopping there saves
nothing). "Best so far" on both sides: a trial's best epoch is what the search
scores it on, so like is compared with like.

`median_stop` is a pure function of the reports; the oracle (oracles.py) calls
it on the chief after every epoch report and answers STOPPED when it says so.
No TensorFlow here.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

PRUNERS = (None, "none", "median")  # tuners' prune=: None or "none" train every trial to its end
# A curve: one trial's objective, epoch (from 1) -> value, as reported so far.
Curve = dict[int, float]
TIE_TOLERANCE = 1e-6  # relative: closer than this to the median is not worse than it


@dataclass(frozen=True)
class Pruned:
    """Why a trial was stopped: its best value so far lost to `median` after `epoch`."""

    epoch: int
    best: float     # the trial's best value up to `epoch`
    median: float   # the median of the others' best values up to `epoch`
    trials: int     # how many other trials reached `epoch`


@dataclass(frozen=True)
class MedianRule:
    """The settings of the rule: `tfweek3 tune --prune median --prune-min-trials --prune-after`."""

    direction: str          # "max" (accuracies) or "min" (losses)
    epochs: int | None = None  # a trial's full length: never stopped after it (None: no limit)
    min_trials: int = 5
    after: int = 2

    def decide(self, curve: Curve, others: list[Curve], epoch: int) -> Pruned | None:
        return median_stop(curve, others, epoch, direction=self.direction, epochs=self.epochs,
                           min_trials=self.min_trials, after=self.after)


def best_so_far(curve: Curve, epoch: int, direction: str) -> float | None:
    """The best finite value of `curve` at epochs 1..epoch (None if there is none)."""
    values = [v for e, v in curve.items() if e <= epoch and math.isfinite(v)]
    if not values:
        return None
    return max(values) if direction == "max" else min(values)


def median_stop(curve: Curve, others: list[Curve], epoch: int, *, direction: str,
                epochs: int | None = None, min_trials: int = 5, after: int = 2) -> Pruned | None:
    """Whether a trial whose reports so far are `curve` should stop after `epoch`.

    others: the curves of the other trials (running, completed or stopped;
    only those that reported `epoch` count). Returns the reason to stop, or
    None to go on. `epochs` is the trial's planned length (None: the caller
    does not ask at a trial's last epoch, as tfweek3's tuners do).
    """
    if epoch < after or (epochs is not None and epoch >= epochs):
        return None
    best = best_so_far(curve, epoch, direction)
    if best is None:
        return None
    reached = [best_so_far(other, epoch, direction) for other in others if epoch in other]
    reached = [value for value in reached if value is not None]
    if len(reached) < min_trials:
        return None
    median = statistics.median(reached)
    # A tie goes on, float32 rounding included: accuracies are multiples of 1/m, and the median
    # of an even number of them, (a + b) / 2, can land on a trial's own value give or take 1e-8.
    tie = math.isclose(best, median, rel_tol=TIE_TOLERANCE)
    worse = not tie and (best < median if direction == "max" else best > median)
    return Pruned(epoch=epoch, best=best, median=median, trials=len(reached)) if worse else None


def epochs_saved(records: list[dict], epochs: int) -> int:
    """Epochs the pruned trials did not train: sum of (epochs - the epochs each trained)."""
    return sum(epochs - r["epochs"] for r in records if r["status"] == "pruned")


def pruning_rule(objective, prune: str | None, min_trials: int, after: int) -> MedianRule | None:
    """The oracle's rule for `prune` (None or "none": every trial trains to its end)."""
    if prune not in PRUNERS:
        raise ValueError(f"prune must be None or 'median'; got {prune!r}")
    if prune in (None, "none"):
        return None
    return MedianRule(direction=objective.direction, min_trials=min_trials, after=after)
