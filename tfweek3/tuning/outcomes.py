"""A trial's result, the metrics a tuner returns to the oracle when the trial ends.

KerasTuner scores a trial on what `run_trial` returns: for a Keras History,
the epoch with the best value of the objective (each execution's, averaged).
tfweek3's tuners return the same, and beside it how many epochs the trial
trained and, for a pruned trial, why it stopped (PRUNED_METRICS). A diverged
trial returns the worst score and where its loss became NaN or inf. PBT scores
a member on its last epoch instead (pbt_tuner.py): how good it is now.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import keras_tuner as kt

from tfweek3.training.divergence import DivergedError
from tfweek3.tuning.results import worst_score


class ObjectiveMissing(kt.errors.FatalValueError):
    """The model's fit does not report the search's objective: every trial would fail alike,
    so the search stops at the first (the trial stays, to run again once this is fixed)."""


def validate_result(result: Any, objective, where: str) -> None:
    """Refuse, as KerasTuner does, what a fit or run_trial may not return: None, a string, a
    dict without the objective, or anything but a number when no objective was given."""
    if isinstance(result, list):
        for element in result:
            validate_result(element, objective, where)
        return
    if isinstance(result, numbers.Real):
        return
    if result is None:
        raise kt.errors.FatalTypeError(f"The return value of {where} is None. Did you forget "
                                       "to return the metrics?")
    if objective.name == "default_objective" and not (
            isinstance(result, Mapping) and objective.name in result):
        raise kt.errors.FatalTypeError(
            f"Expected the return value of {where} to be a single float when `objective` is "
            f"left unspecified; received {result!r} of type {type(result)}.")
    if isinstance(result, Mapping):
        if not objective.has_value(result):
            raise ObjectiveMissing(f"{where} returned {', '.join(sorted(result))}, not the "
                                   f"objective {objective.name!r}")
        return
    if not hasattr(result, "history"):
        raise kt.errors.FatalTypeError(
            f"Expected the return value of {where} to be one of float, dict, "
            "keras.callbacks.History, or a list of one of these types; received "
            f"{result!r} of type {type(result)}.")
    if result.history and not objective.has_value(result.history):
        raise ObjectiveMissing(
            f"the model reports {', '.join(sorted(result.history))} after an epoch, not the "
            f"objective {objective.name!r}: compile it with that metric, or choose the "
            "objective among those")


def epochs_of(history: Any) -> list[dict[str, float]]:
    """A Keras History (or anything with a .history dict of lists) as one dict per epoch."""
    return [dict(zip(history.history, values)) for values in zip(*history.history.values())]


def best_epoch(epochs: Sequence[Mapping[str, float]], objective) -> dict[str, float]:
    """The first epoch with the best value of the objective (single or multi-objective)."""
    best = epochs[0]
    for logs in epochs[1:]:
        if objective.better_than(objective.get_value(logs), objective.get_value(best)):
            best = logs
    return dict(best)


def trial_outcome(histories: Sequence[Any], objective, epochs: int,
                  pruned: Mapping[str, float] | None = None, last: bool = False) -> dict[str, float]:
    """What a trial returns: its executions' best epochs (or `last` epochs), averaged, with
    the combined value of a multi-objective, the epochs trained and the pruning reason.

    Each of `histories` is what the hypermodel's fit returned: a History, a
    dict of metrics or a number (the objective's value), as KerasTuner accepts.
    """
    picked = []
    for history in histories:
        if isinstance(history, numbers.Real):
            picked.append({objective.name: float(history)})
        elif isinstance(history, Mapping):
            picked.append(dict(history))
        else:
            per_epoch = epochs_of(history)
            picked.append(dict(per_epoch[-1]) if last else best_epoch(per_epoch, objective))
    outcome = {name: float(sum(p[name] for p in picked) / len(picked))
               for name in picked[0] if all(name in p for p in picked)}
    if objective.name not in outcome:
        outcome[objective.name] = float(objective.get_value(outcome))
    outcome["epochs"] = float(epochs)
    outcome.update(pruned or {})
    return outcome


def diverged_outcome(error: DivergedError, objective) -> dict[str, float]:
    """A diverged trial's result: recorded, not fatal; the worst score, and where it happened."""
    outcome = {o.name: worst_score(o.direction, o.name)
               for o in getattr(objective, "objectives", [objective])}
    outcome[objective.name] = worst_score(objective.direction, objective.name)
    return {**outcome, "diverged": 1.0, "diverged_epoch": float(error.epoch),
            "diverged_step": -1.0 if error.step is None else float(error.step),
            "epochs": float(len(error.history.get("loss", [])))}
