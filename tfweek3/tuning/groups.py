"""Trials trained together: a search's trials handed out in groups and trained at once.

An EpochTuner made with `together=K` whose hypermodel has a method
`fit_together(hps, *fit_args, epochs=..., callbacks=[...per trial...])` (the
course network's, search/hypermodel.py: one stacked network) runs its search
in groups of up to K trials:

1. the oracle creates each trial of the group, as it does for one tuner at a
   time: each member asks under its own tuner id (`tuner0.m3`), so that
   KerasTuner's oracle, which keeps one ongoing trial per tuner id, holds the
   K of them; a round or a generation that is not over (IDLE) ends the group
   early, and a group of one trains alone;
2. the hypermodel trains them together, each trial with the callbacks it would
   have alone: its epoch reports (with `prune="median"` the oracle's answer
   after each epoch can stop that member), TensorBoard, its best epoch's weights;
   each from the model the tuner says it continues from (`starting_model`: a
   PBT member from its parent's last weights and optimizer state), over the
   epochs the tuner gives it (`fit_arguments`: trials of other epochs, PBT
   members of another generation, train in another stack);
3. each trial then ends as a trial trained alone (EpochTuner.run_trial): its
   result sent to the oracle, its checkpoint, diverged or failed recorded, its
   line printed, the oracle's end_trial. Each is charged its share of the
   group's time.

A kill leaves the group's trials RUNNING in the oracle's state; a search
started again on the folder trains them again from scratch (at most the group
in flight is lost). Trials the hypermodel cannot stack (`trains_together(hp)`
false: the course network with RMSprop) train alone, one after another.
"""

from __future__ import annotations

import functools
import time
import traceback
from dataclasses import dataclass
from typing import Any

import keras_tuner as kt

from tfweek3.training import stopping

IDLE, STOPPED = kt.engine.trial.TrialStatus.IDLE, kt.engine.trial.TrialStatus.STOPPED


@dataclass
class Trained:
    """What a trial of a group brings to its EpochTuner.run_trial: its TrialRun, its
    SaveBestEpoch, what fit_together gave it (a History or an error), its share of time."""

    run: Any
    best: Any
    result: Any
    seconds: float

    def history(self):
        """What fit_together gave the trial; raises the error it ended with instead."""
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def member_id(tuner_id: str, k: int) -> str:
    """The tuner id under which member k of a group asks the oracle for its trial."""
    return f"{tuner_id}.m{k}"


def can_train_together(tuner) -> bool:
    """Whether the tuner's search runs in groups: together > 1 and a hypermodel that can."""
    return tuner.together > 1 and hasattr(tuner.hypermodel, "fit_together")


def search_in_groups(tuner, *fit_args, **fit_kwargs) -> None:
    """KerasTuner's search loop (BaseTuner.search), a group of trials at a time."""
    if "verbose" in fit_kwargs:  # as KerasTuner's loop: its own display follows fit's verbose
        tuner.oracle.verbose = fit_kwargs["verbose"]
    tuner.on_search_begin()
    while True:
        tuner.pre_create_trial()
        trials, over = next_group(tuner)
        if trials:
            run_group(tuner, trials, *fit_args, **fit_kwargs)
        if over:
            break
    tuner.on_search_end()


def next_group(tuner) -> tuple[list, bool]:
    """Up to `together` new trials from the oracle, and whether the oracle said it is done."""
    trials = []
    for k in range(tuner.together):
        trial = tuner.oracle.create_trial(member_id(tuner.tuner_id, k))
        if trial.status == STOPPED:
            return trials, True
        if trial.status == IDLE:
            break
        trials.append(trial)
    return trials, False


def run_group(tuner, trials: list, *fit_args, **fit_kwargs) -> None:
    """Train `trials` together (the ones the hypermodel can stack, in stacks of the same
    epochs), then end each one."""
    stacks: dict[tuple, list] = {}  # (epochs, initial_epoch) -> [fit's arguments, trials]
    for trial in trials:
        if tuner.hypermodel.trains_together(trial.hyperparameters):
            arguments = tuner.fit_arguments(trial, fit_kwargs)  # (PBT: a generation's epochs)
            key = (arguments.get("epochs"), arguments.get("initial_epoch", 0))
            stacks.setdefault(key, [arguments, []])[1].append(trial)
    stacked = [t for _, stack in stacks.values() if len(stack) > 1 for t in stack]
    for trial in stacked:  # (a stack of one is a trial alone)
        tuner.on_trial_begin(trial)
    for arguments, stack in stacks.values():
        if len(stack) > 1:
            train_group(tuner, stack, *fit_args, **arguments)
    for trial in trials:
        if trial not in stacked:
            tuner.on_trial_begin(trial)
        end_trial(tuner, trial, *fit_args, **fit_kwargs)


def train_group(tuner, trials: list, *fit_args, **fit_kwargs) -> None:
    """Train the group with the hypermodel's fit_together (fit_kwargs: the group's, from
    tuner.fit_arguments); keep each trial's outcome for its run_trial (EpochTuner.run_trial
    looks in tuner.trained)."""
    stopping.check()
    start = time.monotonic()
    runs, bests, callbacks = [], [], []
    for trial in trials:
        run, best = tuner.start_run(trial)
        runs.append(run)
        bests.append(best)
        callbacks.append(tuner.execution_callbacks(fit_kwargs.get("callbacks") or [], trial, 0,
                                                   best))
    kwargs = {name: value for name, value in fit_kwargs.items() if name != "callbacks"}
    if tuner.log is not None:  # (the group's lines come when it ends)
        first, last = kwargs.get("initial_epoch", 0) + 1, kwargs.get("epochs")
        tuner.log(f"training {len(trials)} trials together as one stacked network, epochs "
                  f"{first} to {last}")
    try:
        starts = [functools.partial(tuner.starting_model, trial) for trial in trials]
        results = tuner.hypermodel.fit_together(
            [t.hyperparameters for t in trials], *fit_args, callbacks=callbacks, starts=starts,
            **kwargs)
    except Exception as error:
        if stopping.requested():
            raise KeyboardInterrupt from error
        results = [error] * len(trials)
    share = (time.monotonic() - start) / len(trials)
    for trial, run, best, result in zip(trials, runs, bests, results):
        tuner.trained[trial.trial_id] = Trained(run, best, result, share)


def end_trial(tuner, trial, *fit_args, **fit_kwargs) -> None:
    """Run (or, for a trained member, conclude) the trial and end it, as KerasTuner's search
    loop does with each trial (BaseTuner._try_run_and_update_trial, then on_trial_end)."""
    status = kt.engine.trial.TrialStatus
    try:
        outcome = tuner.run_trial(trial, *fit_args, **fit_kwargs)
        tuner.oracle.update_trial(trial.trial_id, outcome)
        trial.status = status.COMPLETED
    except kt.errors.FatalError:
        raise
    except Exception as error:  # noqa: BLE001 -- recorded with the trial, as KerasTuner does
        trial.status = (status.FAILED if isinstance(error, kt.errors.FailedTrialError)
                        else status.INVALID)
        trial.message = "".join(traceback.format_exception(error))
    tuner.on_trial_end(trial)
