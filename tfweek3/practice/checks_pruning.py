"""Checks of exercise 8: the median stopping rule, on scripted learning curves (no training).

The reference is tfweek3's own `median_stop` (tfweek3.tuning.pruning), the rule
the tuners apply with prune="median". Each check asks the learner's
`median_prune` about a few scenarios (a trial's curve so far, the other trials'
curves, the epoch) and compares its True/False answers with the reference's.
The answers of one check, taken together, tell the classic slips apart:
`answer(scenario, slip)` is the rule with one slip made in it.
"""

from __future__ import annotations

import copy
import math
import statistics
from dataclasses import dataclass

import numpy as np

from tfweek3.practice.grader import CheckFailed, Checks, Mistake
from tfweek3.tuning.pruning import TIE_TOLERANCE, median_stop

OWN_LAST_VALUE = Mistake(
    "own_last_value",
    "the trial is judged by its value at epoch e: take its best value so far (epochs 1 to e), "
    "what the search scores it on")
OTHERS_VALUE_NOT_BEST = Mistake(
    "others_value_not_best",
    "the others are taken at their value at epoch e (or their last one): take each one's best "
    "value so far, up to epoch e, like the trial's")
OTHERS_LATER_EPOCHS = Mistake(
    "others_later_epochs",
    "the others' best counts their epochs after e: compare at the same epoch, each one's best "
    "of epochs 1 to e (the trial has not trained the later ones yet)")
MEAN_NOT_MEDIAN = Mistake(
    "mean_not_median",
    "the mean of the others' best values, not their median: one hopeless trial drags the mean "
    "down; use statistics.median (or np.median)")
MIN_TRIALS_IGNORED = Mistake(
    "min_trials_ignored",
    "a trial was stopped with fewer than min_trials others at epoch e: until min_trials of them "
    "reached it the median says little, so the trial goes on")
WARMUP_IGNORED = Mistake(
    "warmup_ignored",
    "a trial was stopped before epoch `after`: the first epochs of a good trial can look bad, "
    "so nothing is stopped while epoch < after")
LAST_EPOCH_PRUNED = Mistake(
    "last_epoch_pruned",
    "a trial was stopped at its last planned epoch (epoch == epochs): stopping there saves "
    "nothing, so it goes on")
DIRECTION_IGNORED = Mistake(
    "direction_ignored",
    "losses are treated like accuracies: with direction 'min' the best value is the smallest, "
    "and worse means above the median")
NOT_REACHED_COUNTED = Mistake(
    "others_not_reached_counted",
    "others that stopped before epoch e were counted: only the trials that reported epoch e "
    "count, for the median and for min_trials")
TIE_PRUNED = Mistake(
    "tie_pruned",
    "a trial at the median was stopped: a best value within 1e-6 (relative) of the median is a "
    "tie, float rounding included, and a tie goes on (math.isclose(best, median, rel_tol=1e-6))")

# Each mistake, and the slips (names of `answer`'s branches) that make it.
VARIANTS = (
    (OWN_LAST_VALUE, "own_last_value"),
    (OTHERS_VALUE_NOT_BEST, "others_current_value"),
    (OTHERS_VALUE_NOT_BEST, "others_last_value"),
    (OTHERS_LATER_EPOCHS, "others_later_epochs"),
    (MEAN_NOT_MEDIAN, "mean_not_median"),
    (MIN_TRIALS_IGNORED, "min_trials_ignored"),
    (WARMUP_IGNORED, "warmup_ignored"),
    (LAST_EPOCH_PRUNED, "last_epoch_pruned"),
    (DIRECTION_IGNORED, "direction_ignored"),
    (DIRECTION_IGNORED, "best_ignores_direction"),
    (DIRECTION_IGNORED, "compare_ignores_direction"),
    (NOT_REACHED_COUNTED, "others_not_reached_counted"),
    (TIE_PRUNED, "tie_without_tolerance"),
    (TIE_PRUNED, "tie_is_worse"),
)


@dataclass(frozen=True)
class Scenario:
    """One question: should the trial whose reports so far are `curve` stop after `epoch`?"""

    curve: dict[int, float]
    others: list[dict[int, float]]
    epoch: int
    direction: str = "max"
    epochs: int = 6
    min_trials: int = 3
    after: int = 2

    def args(self) -> tuple:
        return (copy.deepcopy(self.curve), copy.deepcopy(self.others), self.epoch,
                self.direction, self.epochs, self.min_trials, self.after)

    def __str__(self) -> str:
        curve = ", ".join(f"{e}: {v:.6g}" for e, v in self.curve.items())
        rule = f"min_trials={self.min_trials}, after={self.after}, direction={self.direction!r}"
        return f"the trial {{{curve}}} after epoch {self.epoch} of {self.epochs} ({rule})"


def reference(s: Scenario) -> bool:
    return median_stop(s.curve, s.others, s.epoch, direction=s.direction, epochs=s.epochs,
                       min_trials=s.min_trials, after=s.after) is not None


def answer(s: Scenario, slip: str | None = None) -> bool:
    """The rule on scenario `s` (slip None: median_stop's answer), or with one slip made in it."""
    accuracy = s.direction == "max"
    pick = max if accuracy or slip in ("direction_ignored", "best_ignores_direction") else min
    below_is_worse = accuracy or slip in ("direction_ignored", "compare_ignores_direction")

    def best(curve, until=s.epoch):
        return pick(value for e, value in curve.items() if e <= until)

    if s.epoch < s.after and slip != "warmup_ignored":
        return False
    if s.epoch >= s.epochs and slip != "last_epoch_pruned":
        return False
    mine = s.curve[s.epoch] if slip == "own_last_value" else best(s.curve)
    counted = [o for o in s.others if s.epoch in o or slip == "others_not_reached_counted"]
    if slip == "others_current_value":
        theirs = [o[s.epoch] for o in counted]
    elif slip == "others_last_value":
        theirs = [o[max(o)] for o in counted]
    elif slip == "others_later_epochs":
        theirs = [best(o, until=max(o)) for o in counted]
    else:
        theirs = [best(o) for o in counted]
    if len(theirs) < (1 if slip == "min_trials_ignored" else s.min_trials):
        return False
    median = (statistics.mean if slip == "mean_not_median" else statistics.median)(theirs)
    if slip == "tie_is_worse":
        return mine <= median if below_is_worse else mine >= median
    if slip != "tie_without_tolerance" and math.isclose(mine, median, rel_tol=TIE_TOLERANCE):
        return False
    return mine < median if below_is_worse else mine > median


def explain(s: Scenario) -> str:
    """Why the reference answers as it does, in a phrase."""
    if s.epoch < s.after:
        return f"epoch {s.epoch} comes before after={s.after}"
    if s.epoch >= s.epochs:
        return f"epoch {s.epoch} is the trial's last"
    pick = max if s.direction == "max" else min
    theirs = [pick(v for e, v in o.items() if e <= s.epoch) for o in s.others if s.epoch in o]
    if len(theirs) < s.min_trials:
        return f"only {len(theirs)} others reached epoch {s.epoch}"
    mine = pick(v for e, v in s.curve.items() if e <= s.epoch)
    return (f"its best so far {mine:.6g} against {statistics.median(theirs):.6g}, the median of "
            f"the best so far of the {len(theirs)} others that reached epoch {s.epoch}")


def ask(learner, s: Scenario) -> bool:
    got = learner.call("median_prune", *s.args())
    if got is None:
        raise CheckFailed("median_prune returned None: not written yet (return True to stop the "
                          "trial, False to let it go on)")
    if not isinstance(got, (bool, np.bool_)):
        raise CheckFailed(f"median_prune returned {got!r} ({type(got).__name__}): return True "
                          f"or False")
    return bool(got)


def expect_answers(learner, scenarios: list[Scenario]) -> None:
    """The learner's answers equal the reference's; else name the slip whose answers they are."""
    got = [ask(learner, s) for s in scenarios]
    expected = [reference(s) for s in scenarios]
    if got == expected:
        return
    matched = [m for m, slip in VARIANTS if [answer(s, slip) for s in scenarios] == got]
    if matched:
        raise CheckFailed.because(*dict.fromkeys(matched))
    s, said = next((s, g) for s, g, e in zip(scenarios, got, expected) if g != e)
    raise CheckFailed(f"{s}: median_prune says {said}, the reference {not said} ({explain(s)})")


# Validation accuracies of five other trials, 6 epochs planned; the last was stopped after epoch 2.
# Their best so far at epoch 3: 0.70, 0.66, 0.68 (not 0.64), 0.60; median 0.67.
A = {1: 0.50, 2: 0.62, 3: 0.70, 4: 0.74, 5: 0.76, 6: 0.70}
B = {1: 0.45, 2: 0.58, 3: 0.66, 4: 0.70, 5: 0.73, 6: 0.74}
C = {1: 0.55, 2: 0.68, 3: 0.64, 4: 0.76, 5: 0.80, 6: 0.72}
D = {1: 0.40, 2: 0.52, 3: 0.60, 4: 0.63, 5: 0.65, 6: 0.66}
E = {1: 0.30, 2: 0.35}
OTHERS = [A, B, C, D, E]
STUCK = {e: 0.10 for e in range(1, 7)}  # alpha far too large: chance level throughout
RUNNING = [{1: 0.50, 2: 0.60, 3: 0.65}, {1: 0.45, 2: 0.55, 3: 0.62}]  # at epoch 3 now
STOPPED = [{1: 0.30, 2: 0.32}, {1: 0.25, 2: 0.30}]
# The same five trials' validation losses (here 2 * (1 - accuracy)): best so far at epoch 3 is
# the smallest, 0.60, 0.68, 0.64, 0.80; median 0.66.
LOSSES = [{e: round(2 * (1 - v), 2) for e, v in other.items()} for other in OTHERS]
# Accuracies as float32 multiples of 1/288, as a trial reports them: the median of the others'
# best, (low + high) / 2, misses mid by 3e-8.
low, mid, high = (float(np.float32(k / 288)) for k in (208, 209, 210))
TIED = [{1: 0.1, 2: v} for v in (0.0, 0.0, low, high, 0.9, 0.9)]
EXACT = [{1: 0.5, 2: v} for v in (0.6, 0.7, 0.8)]


def hopeless(epochs: int) -> dict[int, float]:
    return {e: 0.10 for e in range(1, epochs + 1)}


GROUPS = (
    ("a clear loser stops after epoch 3 of 6, a clear winner goes on (accuracies)",
     [Scenario({1: 0.20, 2: 0.30, 3: 0.35}, OTHERS, 3),
      Scenario({1: 0.60, 2: 0.72, 3: 0.80}, OTHERS, 3)]),
    ("best so far on both sides: the trial's and each other's best of epochs 1 to e",
     [Scenario({1: 0.55, 2: 0.72, 3: 0.62}, OTHERS, 3),
      Scenario({1: 0.50, 2: 0.60, 3: 0.655}, OTHERS, 3),
      Scenario({1: 0.50, 2: 0.60, 3: 0.69}, OTHERS, 3)]),
    ("the median, not the mean: a trial stuck at 0.10 among the others",
     [Scenario({1: 0.50, 2: 0.58, 3: 0.62}, OTHERS + [STUCK], 3),
      Scenario({1: 0.30, 2: 0.40, 3: 0.50}, OTHERS + [STUCK], 3)]),
    ("only the others that reached epoch e count, and only once min_trials of them did",
     [Scenario({1: 0.3, 2: 0.4, 3: 0.45, 4: 0.5}, [A, B, *RUNNING, E], 4),
      Scenario({1: 0.3, 2: 0.4, 3: 0.45, 4: 0.5}, [A, B, C, *RUNNING, E], 4),
      Scenario({1: 0.50, 2: 0.60, 3: 0.64}, OTHERS + STOPPED, 3)]),
    ("never before epoch `after`, never at the last planned epoch",
     [Scenario(hopeless(1), OTHERS, 1),
      Scenario(hopeless(2), OTHERS, 2),
      Scenario(hopeless(2), OTHERS, 2, after=3),
      Scenario(hopeless(5), OTHERS, 5),
      Scenario(hopeless(6), OTHERS, 6)]),
    ("losses (direction 'min'): the best is the smallest, worse is above the median",
     [Scenario({1: 1.20, 2: 1.00, 3: 0.90}, LOSSES, 3, "min"),
      Scenario({1: 0.90, 2: 0.60, 3: 0.50}, LOSSES, 3, "min"),
      Scenario({1: 1.30, 2: 0.80, 3: 0.50}, LOSSES, 3, "min")]),
    ("a tie goes on: a best equal to the median, or within float32 rounding of it",
     [Scenario({1: 0.5, 2: 0.7}, EXACT, 2),
      Scenario({1: 0.5, 2: 0.69}, EXACT, 2),
      Scenario({1: 0.1, 2: mid}, TIED, 2)]),
)

checks = Checks(mistakes=tuple(dict.fromkeys(mistake for mistake, _ in VARIANTS)))
for what, scenarios in GROUPS:
    checks.add(what)(lambda learner, scenarios=scenarios: expect_answers(learner, scenarios))

CHECKS = {"median_prune": checks}
