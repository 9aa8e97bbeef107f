"""The KerasTuner tuner of a course search: each trial trains with tfweek3's GradientTape loop.

KerasTuner's `Tuner` asks the oracle for a trial, calls `run_trial`, and hands
the result back to the oracle. Here `run_trial` builds the course network from
the trial's hyperparameters (`Week3HyperModel`), trains it with
`tfweek3.training.loop.train`, sends the oracle each epoch's metrics as they
come ("epoch/val_accuracy", ...; see oracles.py), and returns the trial's
result: the best epoch's value of the objective, with the number of epochs and
the time it took. A trial whose loss becomes NaN or inf is recorded as
*diverged*: it completes with the worst possible score and the epoch and step
where it happened, so the search goes on. Any other exception fails the trial,
its traceback kept in the trial's folder as error.txt.
"""

from __future__ import annotations

import importlib.util
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import keras
import keras_tuner as kt

from tfweek3.training import stopping
from tfweek3.training.data import Dataset
from tfweek3.training.loop import DivergedError, train
from tfweek3.training.names import HISTORY_KEYS
from tfweek3.training.network import build_network
from tfweek3.tuning import keras_tuner_internals as internals
from tfweek3.tuning import storage
from tfweek3.tuning.config import SearchConfig, round_number
from tfweek3.tuning.oracles import GridOracle, RandomOracle
from tfweek3.tuning.pruning import MedianRule
from tfweek3.tuning.results import (
    PRUNED_METRICS,
    epoch_metric,
    progress_line,
    record_from_state,
)
from tfweek3.tuning.search_space import (
    BATCH_NORM_LAYER,
    SearchSpace,
    define_hyperparameters,
)


class Week3HyperModel(kt.HyperModel):
    """Declares the search space and builds the week's network from a trial's values."""

    def __init__(self, input_dim: int, num_classes: int, space: SearchSpace,
                 grid_points: int | None):
        super().__init__()
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.space = space
        self.grid_points = grid_points

    def build(self, hp):
        settings = define_hyperparameters(hp, self.space, self.grid_points)
        return build_network(self.input_dim, self.num_classes, hidden_units=settings.hidden_units,
                             batch_norm=BATCH_NORM_LAYER if settings.batch_norm else None)


class NoRetracingWarning(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing".

    Every trial builds a new network and compiles its own epoch and evaluation
    functions, each traced once (TrainResult.traces). Short trials (pruned ones,
    a few epochs) make that look like retracing to TensorFlow's heuristic.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


class EpochReports:
    """Sends a trial's metrics to the oracle, epoch by epoch and in order, from a thread.

    In a --workers search every report is a gRPC round trip to the chief, which
    serves one request at a time; sent from a thread, the next epoch trains
    meanwhile instead of waiting for the answer. With `wait` (a pruned search),
    `send` waits for the answer instead, so that a trial the oracle stops after
    epoch e has trained e epochs, not e + 1. `stopped` turns True when the
    oracle answers that the trial should stop, and `pruned` then holds why
    (PRUNED_METRICS, when the median rule stopped it). `close` waits until
    every report has arrived and raises the first error, if sending failed.
    """

    def __init__(self, oracle: kt.Oracle, trial_id: str, wait: bool = False):
        self._oracle = oracle
        self._trial_id = trial_id
        self._wait = wait
        self._queue: queue.Queue = queue.Queue()
        self._error: Exception | None = None
        self.stopped = False
        self.pruned: dict[str, float] = {}
        self._thread = threading.Thread(target=self._send_all, daemon=True,
                                        name=f"reports-trial-{trial_id}")
        self._thread.start()

    def send(self, metrics: dict[str, float], epoch: int) -> None:
        self._queue.put((metrics, epoch))
        if self._wait:
            self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _send_all(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                metrics, epoch = item
                try:
                    answer = self._oracle.update_trial(self._trial_id, metrics, step=epoch)
                    if answer.status == kt.engine.trial.TrialStatus.STOPPED:
                        self.stopped = True
                        self.pruned = {name: answer.metrics.get_last_value(name)
                                       for name in PRUNED_METRICS.values()
                                       if answer.metrics.exists(name)}
                except Exception as error:  # noqa: BLE001 -- re-raised by close(), in the trial
                    self._error = error
            self._queue.task_done()


class Week3Tuner(kt.Tuner):
    """Runs each trial with tfweek3's training loop, reporting every epoch to the oracle."""

    def __init__(self, config: SearchConfig, space: SearchSpace, grid_points: int | None,
                 trials: int, label: str, log: Callable[[str], None], **kwargs):
        self.config = config
        self.space = space
        self.grid_points = grid_points
        self.total_trials = trials
        self.label = label
        self.log = log
        # TensorBoard logs need the tensorboard package (TensorFlow's tf.summary does).
        self.tensorboard = (config.tensorboard
                            and importlib.util.find_spec("tensorboard") is not None)
        super().__init__(**kwargs)

    def run_trial(self, trial, data: Dataset, **kwargs) -> dict[str, float]:
        stopping.check()
        config = self.config
        settings = define_hyperparameters(trial.hyperparameters, self.space, self.grid_points)
        keras.backend.clear_session()
        keras.utils.set_random_seed(config.seed)  # the same initial draw in every trial
        model = self.hypermodel.build(trial.hyperparameters)
        log_dir = None
        if self.tensorboard:
            log_dir = storage.join(config.directory, "tensorboard", self.project_name,
                                   f"trial_{trial.trial_id}")
            _write_hparams(log_dir, trial.trial_id, trial.hyperparameters.values)
        start = time.monotonic()
        reports = EpochReports(self.oracle, trial.trial_id, wait=config.prune != "none")

        def report(epoch: int, logs: dict[str, float]) -> bool:
            reports.send({epoch_metric(name): float(logs[name]) for name in HISTORY_KEYS}, epoch)
            return reports.stopped

        try:
            result = train(
                model, data, epochs=config.epochs, batch_size=settings.batch_size,
                optimizer=settings.optimizer, learning_rate=settings.learning_rate,
                beta=settings.beta, seed=config.seed, log_dir=log_dir, verbose=0,
                on_epoch_end=report)
            history = result.history[config.objective]
            best = max(history) if config.direction == "max" else min(history)
            outcome = {config.objective: best, "epochs": float(len(history))}
            if reports.pruned:  # stopped by the median rule: the marker and the median
                outcome.update({PRUNED_METRICS["marker"]: 1.0, **reports.pruned})
        except DivergedError as error:
            outcome = diverged_outcome(config, error, epochs=len(error.history["loss"]))
        except Exception as error:
            keep_error(self.get_trial_dir(trial.trial_id), error)
            raise
        finally:
            reports.close()  # every epoch has reached the oracle before the trial ends
        outcome["duration_seconds"] = time.monotonic() - start
        return outcome

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        state = self.oracle.get_trial(trial.trial_id).get_state()
        ended = record_from_state(state, self.config.direction, self.project_dir)
        best = self.oracle.get_best_trials(1)
        best_score = best[0].score if best and best[0].score is not None else None
        self.log(progress_line(ended, self.config.objective, self.total_trials, best_score,
                               self.label))


def diverged_outcome(config: SearchConfig, error: DivergedError, epochs: int) -> dict[str, float]:
    """A diverged trial's report: recorded, not fatal; the worst score, and where it happened."""
    return {config.objective: config.worst_score(), "diverged": 1.0,
            "diverged_epoch": float(error.epoch),
            "diverged_step": -1.0 if error.step is None else float(error.step),
            "epochs": float(epochs)}


def keep_error(trial_dir: str, error: Exception) -> None:
    """Write a failing trial's traceback to its error.txt (call inside the `except`).

    KerasTuner records the trial as failed; the traceback goes beside it too,
    since in a --workers search the chief is another process. A Ctrl-C that
    surfaced as another error stops the search instead of failing the trial.
    """
    if stopping.requested():
        raise KeyboardInterrupt from error
    storage.write_text(storage.join(trial_dir, "error.txt"), traceback.format_exc())


def make_tuner(config: SearchConfig, data: Dataset, *, strategy: str, space: SearchSpace,
               trials: int, project: str, label: str = "",
               log: Callable[[str], None] = print) -> Week3Tuner:
    """A KerasTuner tuner for one project folder, resumed if the folder exists.

    The oracle's seed is config.seed + 1000 * the round (each coarse-to-fine
    round draws new points); the data split and the initial weights use
    config.seed in every trial.
    """
    internals.keep_failed_trials_off_stderr()
    _quiet_retracing()
    grid_points = config.grid_points if strategy == "grid" else None
    oracle_class = GridOracle if strategy == "grid" else RandomOracle
    oracle = oracle_class(
        objective=kt.Objective(config.objective, config.direction),
        max_trials=trials,
        # KerasTuner takes a seed of 0 for "pick one at random": start at 1.
        seed=config.seed + 1000 * (round_number(project) or 0) + 1,
        pruning=pruning_rule(config),
    )
    return Week3Tuner(
        config, space, grid_points, trials, label, log,
        oracle=oracle, hypermodel=Week3HyperModel(data.input_dim, data.num_classes, space,
                                                  grid_points),
        directory=config.directory, project_name=project, overwrite=False,
    )


def _quiet_retracing() -> None:
    """Install NoRetracingWarning on TensorFlow's logger, once."""
    import tensorflow as tf

    logger = tf.get_logger()
    if not any(isinstance(f, NoRetracingWarning) for f in logger.filters):
        logger.addFilter(NoRetracingWarning())


def pruning_rule(config: SearchConfig) -> MedianRule | None:
    """The oracle's pruning rule for `config` (None: every trial trains to the end)."""
    if config.prune == "none":
        return None
    return MedianRule(direction=config.direction, epochs=config.epochs,
                      min_trials=config.prune_min_trials, after=config.prune_after)


def _write_hparams(log_dir: str, trial_id: str, values: dict[str, Any]) -> None:
    """Record the trial's hyperparameters for TensorBoard's HParams dashboard.

    The curves beside them (train/ and validation/ under log_dir) are written by
    the training loop; the dashboard lists their tags as the metrics.
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hparams_api

    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        hparams_api.hparams(dict(values), trial_id=trial_id)
    writer.close()
