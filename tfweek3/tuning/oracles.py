"""KerasTuner's random and grid oracles, with what tfweek3's tuners add to them.

An oracle is KerasTuner's search strategy: it hands out trials (sets of
hyperparameters), receives their metrics, scores them and saves its state so
that a search can resume. tfweek3's oracles are KerasTuner's own
RandomSearchOracle and GridSearchOracle, and keep every promise those make
(a report must carry the objective, single or multi-objective; a trial waiting
for a retry is retried; `max_consecutive_failed_trials` failures in a row end
the search with the last one's error). `EpochOracle` adds:

1. epoch reports: a trial reports after every epoch, its metrics named
   "epoch/<metric>" (step = the epoch, from 1), and returns its result at the
   end (tuners.py). Recording an epoch costs O(1), and a running trial's
   trial.json is rewritten at most once a second (the trial's end writes it in
   full; a resumed search reruns a cut-off trial anyway). In a distributed
   search the chief answers each report with the trial's status only.
2. resume: a trial handed out again (a restarted worker, a resumed search)
   forgets the metrics of its cut-off run; on reload, a trial still RUNNING
   on disk is queued to run again, beside KerasTuner's own retry queue.
3. files are written atomically, through tf.io.gfile where the folder is not
   local (keras_tuner_internals.AtomicFiles); an unreadable state file is an
   error naming it (storage.StateFileError).
4. the grid oracle rebuilds its position in the grid on reload.
5. consecutive failures: `end_trial` raises KerasTuner's RuntimeError ("Number
   of consecutive failures exceeded the limit of 3." and the last one's error)
   as KerasTuner's does, but only once the failed trial and the reason
   (`failure_stop`, one line, in oracle.json) are saved, and from then on the
   oracle hands out no more trials: in a distributed search the other workers
   are told to stop, not left to fail. Started again (the cause fixed, say),
   the search tries the next trial.
6. pruning (`pruning=MedianRule(...)`, pruning.py): after each epoch report the
   oracle applies the median stopping rule to the trial's curve against the
   other trials' curves, and answers STOPPED, with the reason in the answer's
   metrics (PRUNED_METRICS), when the trial is losing. The tuner stops
   training and returns its result with them: a pruned trial is COMPLETED for
   KerasTuner, `pruned` in tfweek3's records.

A diverged trial is no failure: it completes with the worst score (tuners.py).
"""

from __future__ import annotations

import math
import os
import time

import keras_tuner as kt

from tfweek3.tuning import keras_tuner_internals as internals
from tfweek3.tuning import storage
from tfweek3.tuning.pruning import Curve, MedianRule, Pruned
from tfweek3.tuning.results import EPOCH_PREFIX, PRUNED_METRICS, epoch_metric

Status = kt.engine.trial.TrialStatus
RUNNING, IDLE, INVALID, STOPPED, COMPLETED, FAILED = (
    Status.RUNNING, Status.IDLE, Status.INVALID, Status.STOPPED, Status.COMPLETED, Status.FAILED)


class EpochOracle(internals.AtomicFiles):
    """The additions above; mixed in before a KerasTuner oracle class."""

    SAVE_RUNNING_TRIAL_SECONDS = 1.0

    def __init__(self, *args, max_consecutive_failed_trials: int | None = 3,
                 pruning: MedianRule | None = None, **kwargs):
        super().__init__(*args, max_consecutive_failed_trials=None, **kwargs)
        self.pruning = pruning
        self._verdicts: dict[str, Pruned] = {}  # trial id -> why status_after_epoch stopped it
        self.failure_limit = max_consecutive_failed_trials
        self.failure_stop: str | None = None  # why the search stopped, once it has
        self.failed_trial: str | None = None  # the trial whose failure stopped it
        self._saved_at: dict[str, float] = {}  # trial id -> when update_trial last wrote it

    def get_state(self):
        # Saved for the record, not reloaded: a search started again tries the next trial.
        return {**super().get_state(), "failure_stop": self.failure_stop,
                "failed_trial": self.failed_trial}

    def populate_space(self, trial_id):
        if self.failure_stop is not None:
            return {"status": STOPPED, "values": None}
        return super().populate_space(trial_id)

    def failure_error(self) -> str | None:
        """KerasTuner's message for a search that failures ended (None if they did not):
        "Number of consecutive failures exceeded the limit of 3." and the last one's error."""
        if self.failure_stop is None or self.failed_trial not in self.trials:
            return None
        return (f"Number of consecutive failures exceeded the limit of {self.failure_limit}.\n"
                + (self.trials[self.failed_trial].message or ""))

    def end_trial(self, trial, status=None):
        """KerasTuner's end_trial, then KerasTuner's RuntimeError when failures in a row reach the
        limit. Raised outside the oracle's lock: KerasTuner's @synchronized releases it only
        when the call returns, and a chief whose lock stayed taken would serve no worker again."""
        if isinstance(trial, str):  # the legacy call, end_trial(trial_id, status)
            trial = kt.engine.trial.Trial(self.get_space(), trial, status)
        if self._end_and_count(trial):
            raise RuntimeError(self.failure_error())  # the trials and the reason are saved

    @kt.synchronized
    def _end_and_count(self, trial) -> bool:
        """End the trial; True when it makes `failure_limit` failures in a row."""
        super().end_trial(trial)
        failed_in_a_row = []  # the trials that ended last, as long as they failed
        for trial_id in reversed(self.end_order):
            if self.trials[trial_id].status != FAILED:
                break
            failed_in_a_row.insert(0, trial_id)
        if not (self.failure_limit and len(failed_in_a_row) >= self.failure_limit):
            return False
        first = self.trials[failed_in_a_row[0]]
        lines = [line for line in (first.message or "").splitlines() if line.strip()]
        self.failure_stop = (f"{len(failed_in_a_row)} trials failed in a row; the first, "
                             f"trial {int(first.trial_id) + 1}: "
                             f"{lines[-1].strip() if lines else 'no message'}")
        self.failed_trial = failed_in_a_row[-1]
        self.save()
        return True

    def score_trial(self, trial):
        name = self.objective.name
        parts = getattr(self.objective, "objectives", None)
        if parts and not trial.metrics.exists(name) and all(
                trial.metrics.exists(part.name) for part in parts):
            # A multi-objective result reported by its parts: their combination is the score.
            value = self.objective.get_value({part.name: trial.metrics.get_last_value(part.name)
                                              for part in parts})
            trial.metrics.register(name, self.objective.direction)
            trial.metrics.update(name, value)
        super().score_trial(trial)  # the objective's value in the trial's result
        per_epoch = epoch_metric(self.objective.name)
        if trial.metrics.exists(per_epoch):
            trial.best_step = trial.metrics.get_best_step(per_epoch)

    def reload(self):
        check_state_files(os.path.dirname(internals.oracle_file(self)))
        try:
            super().reload()
        except storage.SearchMismatch:
            raise
        except (KeyError, TypeError, RuntimeError) as error:  # a state file of another search
            raise storage.StateFileError(internals.oracle_file(self), error) from error
        # To run again: the trials cut off mid-run (still RUNNING on disk) and those waiting for
        # KerasTuner's retry (INVALID). Not the others: KerasTuner's own reload also queues the
        # trial that ended last, which end_trial saves before taking it off ongoing_trials.
        state = self.get_state()
        queued = {trial_id for trial_id, trial in self.trials.items() if trial.status == RUNNING}
        queued |= {trial_id for trial_id in state["retry_queue"]
                   if self.trials[trial_id].status in (RUNNING, INVALID)}
        state["retry_queue"] = sorted(queued, reverse=True)  # popped from the end: lowest id first
        self.set_state(state)

    @kt.synchronized
    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == RUNNING and trial.metrics.metrics:
            trial.metrics = type(trial.metrics)()  # the cut-off run's epochs are gone
            self._save_trial(trial)
        return trial

    def update_trial(self, trial_id, metrics, step=0):
        """KerasTuner's update_trial for a trial's result; an epoch's report ("epoch/...")
        is recorded here. A report without the objective is refused before the oracle's lock
        is taken (KerasTuner's @synchronized does not release it when a call raises)."""
        epoch = {name[len(EPOCH_PREFIX):]: value for name, value in metrics.items()
                 if name.startswith(EPOCH_PREFIX)}
        reported = epoch or metrics
        if not (self.objective.name in reported or self.objective.has_value(reported)):
            raise ValueError(
                f"Objective value missing in metrics reported to the Oracle, expected "
                f"{objective_names(self.objective)} (as 'epoch/<name>' for an epoch), found: "
                f"{list(metrics)}")
        if not epoch:
            return super().update_trial(trial_id, metrics, step=step)  # the trial's result
        return self._record_epoch(trial_id, metrics, step)

    @kt.synchronized
    def _record_epoch(self, trial_id, metrics, step):
        trial = self.trials[trial_id]
        for name, value in metrics.items():
            if not trial.metrics.exists(name):
                is_objective = name == epoch_metric(self.objective.name)
                trial.metrics.register(name, self.objective.direction if is_objective else None)
            internals.record_epoch(trial, name, value, step)
        now = time.monotonic()
        if now - self._saved_at.get(trial_id, -math.inf) >= self.SAVE_RUNNING_TRIAL_SECONDS:
            self._save_trial(trial)
            self._saved_at[trial_id] = now
        answer = kt.engine.trial.Trial(trial.hyperparameters, trial_id=trial_id,
                                       status=self.status_after_epoch(trial, step))
        verdict = self._verdicts.pop(trial_id, None)
        if verdict is not None and answer.status == STOPPED:
            # Why, for the tuner to return with its result (tuners.py).
            answer.metrics.update(PRUNED_METRICS["median"], verdict.median, step=step)
            answer.metrics.update(PRUNED_METRICS["trials"], float(verdict.trials), step=step)
        return answer

    def status_after_epoch(self, trial, epoch: int) -> str:
        """The status a trial is told after reporting `epoch`: RUNNING goes on, STOPPED stops.

        With pruning, the median rule against the other running and finished
        trials (pruned ones included) decides.
        """
        if self.pruning is not None:
            others = [self._curve(other) for other in self.peers(trial)]
            verdict = self.pruning.decide(self._curve(trial), others, epoch)
            if verdict is not None:
                self._verdicts[trial.trial_id] = verdict
                return STOPPED
        return trial.status

    def peers(self, trial) -> list:
        """The trials a trial is judged against: the others running or finished (pruned ones
        included)."""
        return [other for other in self.trials.values()
                if other.trial_id != trial.trial_id and other.status in (RUNNING, COMPLETED)]

    def _curve(self, trial) -> Curve:
        """The trial's objective so far, epoch -> value."""
        name = epoch_metric(self.objective.name)
        if not trial.metrics.exists(name):
            return {}
        return {obs.step: obs.mean() for obs in trial.metrics.get_history(name)}


class RandomOracle(EpochOracle, kt.oracles.RandomSearchOracle):
    """KerasTuner's RandomSearchOracle with epoch reports, pruning, resuming and atomic files."""


class GridOracle(EpochOracle, kt.oracles.GridSearchOracle):
    """KerasTuner's GridSearchOracle with epoch reports, pruning, resuming and atomic files."""

    def reload(self):
        super().reload()
        internals.rebuild_grid_position(self)


def objective_names(objective) -> list[str]:
    """The metric names an objective needs: one, or each of a multi-objective's."""
    return [o.name for o in getattr(objective, "objectives", [objective])]


def check_state_files(project_dir: str) -> None:
    """Raise StateFileError naming the first JSON file of a project folder that does not parse.

    The project's oracle.json, tuner*.json and trial_*/trial.json: KerasTuner
    reads them all when a search resumes.
    """
    patterns = ("oracle.json", "tuner*.json", storage.join("trial_*", "trial.json"))
    for pattern in patterns:
        for path in storage.glob(storage.join(project_dir, pattern)):
            storage.read_json(path)
