"""What a trial sends and keeps while it trains: its epoch reports, its best weights, its logs.

    EpochReports     sends each epoch's metrics to the oracle from a thread, in order
    TunerCallback    the Keras callback a tuner adds to every fit: forwards each epoch to
                     the tuner (Tuner.on_epoch_end and the other hooks), as KerasTuner's own
                     callback of that name does
    SaveBestEpoch    keeps the best epoch's weights in memory, written once when training
                     ends (KerasTuner's callback of that name writes them at every new best)
    EpochSummaries   TensorBoard scalars of every epoch (train/ and validation/)
    write_hparams    the trial's hyperparameters for TensorBoard's HParams dashboard
                     (hparams_callback: beside a TensorBoard callback of the user's)
    trial_callbacks  all of a trial's callbacks but the tuner's own, for one execution
"""

from __future__ import annotations

import copy
import os
import queue
import threading
from typing import Any

import keras
import keras_tuner as kt

from tfweek3.tuning.keras_internals import keep_saving_skipsets
from tfweek3.tuning.results import PRUNED_METRICS


class EpochReports:
    """Sends a trial's metrics to the oracle, epoch by epoch and in order, from a thread.

    In a distributed search every report is a gRPC round trip to the chief,
    which serves one request at a time; sent from a thread, the next epoch
    trains meanwhile instead of waiting for the answer. `send(..., wait=True)`
    (a pruned search) waits for the answer instead, so that a trial the oracle
    stops after epoch e has trained e epochs, not e + 1. `stopped` turns True
    when the oracle answers that the trial should stop, and `pruned` then holds
    why (PRUNED_METRICS, when the median rule stopped it). `close` waits until
    every report has arrived and raises the first error, if sending failed.
    """

    def __init__(self, oracle: kt.Oracle, trial_id: str):
        self._oracle = oracle
        self._trial_id = trial_id
        self._queue: queue.Queue = queue.Queue()
        self._error: Exception | None = None
        self.stopped = False
        self.pruned: dict[str, float] = {}
        self._thread = threading.Thread(target=self._send_all, daemon=True,
                                        name=f"reports-trial-{trial_id}")
        self._thread.start()

    def send(self, metrics: dict[str, float], epoch: int, wait: bool = False) -> None:
        self._queue.put((metrics, epoch))
        if wait:
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


class TunerCallback(keras.callbacks.Callback):
    """Forwards a fit's epochs and batches to the tuner's hooks (on_epoch_end reports)."""

    def __init__(self, tuner, trial):
        super().__init__()
        self.tuner = tuner
        self.trial = trial

    def on_train_begin(self, logs=None):
        self.tuner.on_fit_begin(self.trial, self.model, self.params)

    def on_epoch_begin(self, epoch, logs=None):
        self.tuner.on_epoch_begin(self.trial, self.model, epoch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        self.tuner.on_batch_begin(self.trial, self.model, batch, logs)

    def on_batch_end(self, batch, logs=None):
        self.tuner.on_batch_end(self.trial, self.model, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.tuner.on_epoch_end(self.trial, self.model, epoch, logs=logs)


class SaveBestEpoch(keras.callbacks.Callback):
    """Keeps the weights of the best epoch by the objective (with `last`, of the last epoch),
    in memory; `save` writes them, with the optimizer's state, where get_best_models reads them.

    KerasTuner's own tuners write a checkpoint file every time an epoch beats
    the best so far; holding the weights until the trial ends writes one file
    per trial instead.
    """

    def __init__(self, objective, last: bool = False):
        super().__init__()
        self.objective = objective
        self.last = last
        self.best_value: float | None = None
        self.weights: list | None = None   # the best epoch's; None: the model's own (the last)
        self.trained: keras.Model | None = None

    def on_epoch_end(self, epoch, logs=None):
        self.trained = self.model
        logs = logs or {}
        if self.last or not self.objective.has_value(logs):
            self.weights = None  # (no objective in the logs: KerasTuner keeps the last epoch too)
            return
        value = float(self.objective.get_value(logs))
        if self.best_value is None or self.objective.better_than(value, self.best_value):
            self.best_value = value
            self.weights = self.model.get_weights()

    def save(self, path: str) -> None:
        """Write the kept weights (if an epoch ended) to `path`, a .weights.h5 file."""
        if self.trained is None:
            return
        if self.weights is not None:
            self.trained.set_weights(self.weights)
        keep_saving_skipsets()
        self.trained.save_weights(path)


class EpochSummaries(keras.callbacks.Callback):
    """TensorBoard scalars after every epoch: log_dir/train (loss, accuracy, ...) and
    log_dir/validation (the val_ metrics, without their prefix)."""

    def __init__(self, log_dir: str):
        super().__init__()
        self.log_dir = log_dir
        self.writers: dict[str, Any] = {}

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if not self.writers:
            self.writers = {side: tf.summary.create_file_writer(os.path.join(self.log_dir, side))
                            for side in ("train", "validation")}
        for name, value in (logs or {}).items():
            side = "validation" if name.startswith("val_") else "train"
            with self.writers[side].as_default(step=epoch + 1):
                tf.summary.scalar(name.removeprefix("val_"), float(value))
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()


def hparams_callback(log_dir: str, trial) -> keras.callbacks.Callback:
    """TensorBoard's own callback recording a trial's hyperparameters beside a user's
    TensorBoard callback's curves (as KerasTuner's tuners add it)."""
    from tensorboard.plugins.hparams import api as hparams_api

    return hparams_api.KerasCallback(writer=log_dir, hparams=_scalars(trial.hyperparameters.values),
                                     trial_id=trial.trial_id)


def _scalars(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items()
            if isinstance(value, (bool, int, float, str))}


def write_hparams(log_dir: str, trial_id: str, values: dict[str, Any]) -> None:
    """Record a trial's hyperparameters for TensorBoard's HParams dashboard.

    The curves beside them (train/ and validation/ under log_dir) are the
    epoch summaries; the dashboard lists their tags as the metrics.
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hparams_api

    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        hparams_api.hparams(_scalars(values), trial_id=trial_id)
    writer.close()



def trial_callbacks(user_callbacks: list, trial, execution: int, log_dir: str | None) -> list:
    """The search's callbacks, copied for this execution of a trial, with a user's TensorBoard
    callback pointed at the trial's folder (as KerasTuner's tuners do); without one, the
    trial's hyperparameters and epoch summaries in `log_dir` (None: no TensorBoard logs)."""
    try:
        callbacks = copy.deepcopy(list(user_callbacks))
    except Exception as error:
        raise kt.errors.FatalValueError(
            "All callbacks used during a search should be deep-copyable (they are reused "
            f"across trials); copy.deepcopy({user_callbacks}) failed: {error}") from error
    boards = [c for c in callbacks if isinstance(c, keras.callbacks.TensorBoard)]
    for board in boards:  # the user's own TensorBoard: a folder per trial and execution
        board.log_dir = os.path.join(str(board.log_dir), str(trial.trial_id),
                                     f"execution{execution}")
        callbacks.append(hparams_callback(board.log_dir, trial))
    if log_dir is not None and execution == 0 and not boards:
        write_hparams(log_dir, trial.trial_id, trial.hyperparameters.values)
        callbacks.append(EpochSummaries(log_dir))
    return callbacks
