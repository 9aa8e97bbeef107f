"""The week's search methods as KerasTuner tuners for any model written the KerasTuner way.

    def build_model(hp):
        alpha = hp.Float("learning_rate", 1e-4, 1, sampling="log")
        model = keras.Sequential([...])
        model.compile(optimizer=keras.optimizers.SGD(alpha), loss=..., metrics=["accuracy"])
        return model

    tuner = tfweek3.RandomSearch(build_model, objective="val_accuracy", max_trials=30,
                                 prune="median", directory="runs/mine")
    tuner.search(x, y, epochs=10, validation_data=(x_val, y_val))
    best_model = tuner.get_best_models(1)[0]

`RandomSearch`, `GridSearch` and `CoarseToFine` (coarse_to_fine.py) are
`keras_tuner.Tuner` subclasses, built and driven as KerasTuner's own tuners:
the same arguments, `search(...)` training each trial with the model's own
`fit` (its compile, metrics, callbacks, tf.data inputs), `get_best_models`,
`get_best_hyperparameters`, `results_summary`, reloading a folder, and
KerasTuner's distributed mode (KERASTUNER_TUNER_ID, _ORACLE_IP, _ORACLE_PORT).
`EpochTuner`, their base, adds to every trial:

* an epoch report to the oracle after every epoch ("epoch/val_accuracy", ...,
  oracles.py); with `prune="median"` the oracle answers whether the trial goes
  on, and a losing trial stops after that epoch and is recorded as pruned
  (pruning.py). A trial's last planned epoch, or one after which the model's
  own callbacks (EarlyStopping) stopped it, is reported but never judged;
* a trial whose loss becomes NaN or inf is recorded as diverged, with the
  worst score, and the search goes on; a trial that raises is recorded as
  failed, its traceback in the trial's error.txt; `max_consecutive_failed_trials`
  failures in a row end the search with KerasTuner's RuntimeError;
* the results of the search when it ends, for any hyperparameter names
  (results.py, figures.py): trials.csv / trials.json, best_hyperparameters.json,
  scores.png, curves.png, parallel.png, importance.csv / importance.png, and
  TensorBoard logs with each trial's hyperparameters (HParams dashboard);
* with `seed`, each trial's model is built after keras.utils.set_random_seed(seed)
  (or by the hypermodel's own build_for_trial, which draws them itself, models.py):
  the same draw of initial weights in every trial, so that trials differ by
  their hyperparameters only, and a search is the same run after run.
"""

from __future__ import annotations

import importlib.util
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import keras_tuner as kt

from tfweek3.training import stopping
from tfweek3.training.divergence import DivergedError
from tfweek3.tuning import groups, models, storage
from tfweek3.tuning.dimensions import dimensions
from tfweek3.tuning.figures import write_figures
from tfweek3.tuning.importance import hyperparameter_importance
from tfweek3.tuning.outcomes import (
    diverged_outcome,
    trial_outcome,
    validate_result,
)
from tfweek3.tuning.reports import (
    EpochReports,
    SaveBestEpoch,
    TunerCallback,
    trial_callbacks,
)
from tfweek3.tuning.results import (
    PRUNED_METRICS,
    SearchResult,
    collect_records,
    epoch_metric,
    progress_line,
    rank,
    record_from_state,
    write_tables,
)
from tfweek3.tuning.results import describe as describe_values
from tfweek3.tuning.roles import distributed_role

FAILURES = "Number of consecutive failures exceeded the limit"  # KerasTuner's RuntimeError


@dataclass
class TrialRun:
    """What one trial's run keeps while it trains."""

    reports: EpochReports
    planned_epochs: int | None = None
    logs: list[dict[str, float]] = field(default_factory=list)  # this execution's epochs
    pruned: dict[str, float] = field(default_factory=dict)


class EpochTuner(kt.Tuner):
    """A KerasTuner Tuner whose trials report every epoch; see the module's docstring.

    Arguments beyond keras_tuner.Tuner's: seed (the initial weights of every
    trial), together (train up to this many trials at once, when the hypermodel
    can: groups.py), tensorboard (logs per trial), log (a function given one line per
    finished trial, e.g. print), labels (hyperparameter name -> label in the
    figures), describe (a record -> its hyperparameters on one line) and
    write_results (False: leave the results files to the caller).
    """

    # Between two requests while the oracle has nothing to hand out (IDLE): FIRST_WAIT, then
    # twice as long after each IDLE answer in a row, at most WAIT_SECONDS.
    FIRST_WAIT = 0.02
    WAIT_SECONDS = 0.5
    score_last_epoch = False  # a trial's score: its best epoch (PBT: its last)
    free_memory = True  # a full garbage collection before each trial's model, as KerasTuner does
    importance = True   # learn each hyperparameter's importance from the trials' scores

    def __init__(self, oracle, hypermodel=None, *, seed: int | None = None, together: int = 1,
                 tensorboard: bool = True, log: Callable[[str], None] | None = None,
                 labels: dict[str, str] | None = None,
                 describe: Callable[[dict[str, Any]], str] = describe_values,
                 write_results: bool = True, **kwargs):
        self.seed = seed
        if int(together) != together or together < 1:
            raise ValueError(f"together must be a positive integer; got {together!r}")
        self.together = int(together)
        self.trained: dict[str, groups.Trained] = {}  # trials of a group, trained, not yet ended
        self.tensorboard = tensorboard and importlib.util.find_spec("tensorboard") is not None
        self.log = log
        self.labels = dict(labels or {})
        self.describe = describe
        self.write_results = write_results
        self.epochs: int | None = None  # a trial's planned epochs, from search(epochs=...)
        self._runs: dict[str, TrialRun] = {}
        self._asked_in_vain = 0  # requests in a row that the oracle answered IDLE
        # Whether the oracle judges epochs; known here, before a worker's oracle becomes a client.
        self.pruning = getattr(oracle, "pruning", None) is not None
        if hypermodel is None and type(self).run_trial is EpochTuner.run_trial:
            raise ValueError("Received `hypermodel=None`. We only allow not specifying "
                             "`hypermodel` if the user defines the search space in "
                             "`Tuner.run_trial()` by subclassing a `Tuner` class without using a "
                             "`HyperModel` instance.")
        super().__init__(oracle, hypermodel, **kwargs)
        if self.together > 1 and self.executions_per_trial > 1:
            raise ValueError("together trains each trial once: executions_per_trial must be 1")

    # --- the search -------------------------------------------------------------------------

    def search(self, *fit_args, **fit_kwargs):
        """KerasTuner's search; then the results files, and KerasTuner's RuntimeError if
        failures in a row ended it."""
        self.epochs = fit_kwargs.get("epochs", self.epochs)
        failure = None
        try:
            if groups.can_train_together(self) and distributed_role() != "chief":
                groups.search_in_groups(self, *fit_args, **fit_kwargs)
            else:
                super().search(*fit_args, **fit_kwargs)
        except RuntimeError as error:  # failures in a row (oracles.py): the results first
            if FAILURES not in str(error):
                raise
            failure = error
        if distributed_role() != "worker" and self.write_results:
            self.results(write=True)
        if failure is not None:
            raise failure

    def pre_create_trial(self):
        # KerasTuner asks again at once when the oracle answers IDLE (a round or a generation
        # is not over): wait between requests instead of keeping a core busy, briefly at first
        # (the other workers' trials may be ending), longer while the answer stays IDLE.
        stopping.check()
        if self._asked_in_vain:
            time.sleep(min(self.WAIT_SECONDS, self.FIRST_WAIT * 2 ** (self._asked_in_vain - 1)))
        self._asked_in_vain += 1

    def on_trial_begin(self, trial):
        self._asked_in_vain = 0
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        try:
            super().on_trial_end(trial)
        except Exception as error:
            if FAILURES not in str(error):
                raise
            if self.log is not None:  # the trial that made the limit has its line too
                self.log(self.trial_line(trial))
            if isinstance(error, RuntimeError):
                raise
            # A worker: the chief's end_trial raised it, and gRPC hands it over as its own error.
            details = error.details() if hasattr(error, "details") else str(error)
            raise RuntimeError(details) from None
        if self.log is not None:
            self.log(self.trial_line(trial))

    def trial_line(self, trial) -> str:
        """The line printed when a trial ends: its hyperparameters, its score, the best so far."""
        record = record_from_state(self.oracle.get_trial(trial.trial_id).get_state(),
                                   self.oracle.objective.direction, self.project_dir,
                                   objective=self.oracle.objective.name)
        best = self.oracle.get_best_trials(1)
        best_score = best[0].score if best and best[0].score is not None else None
        number = self.round_of(trial.trial_id)
        return progress_line(record, self.oracle.objective.name, self.oracle.max_trials,
                             best_score, label=f"round {number} " if number else "",
                             describe=self.describe)

    # --- one trial ----------------------------------------------------------------------------

    def run_trial(self, trial, *args, **kwargs) -> dict[str, float]:
        stopping.check()
        trained = self.trained.pop(trial.trial_id, None)  # a trial of a group (groups.py)
        start = time.monotonic()
        if trained is None:
            run, best = self.start_run(trial)
            user_callbacks = kwargs.pop("callbacks", None) or []
        else:
            run, best = trained.run, trained.best
        try:
            if trained is None:
                histories = []
                for execution in range(self.executions_per_trial):
                    histories.append(self._build_and_fit_model(
                        trial, *args, **self.fit_arguments(trial, kwargs),
                        callbacks=self.execution_callbacks(user_callbacks, trial, execution,
                                                           best)))
            else:
                histories = [trained.history()]  # (raises the error the trial ended with)
                models.keep_build_config(self, trial.trial_id, best.trained)
            best.save(models.checkpoint_path(self, trial.trial_id))
            outcome = trial_outcome(histories, self.oracle.objective, len(run.logs), run.pruned,
                                    last=self.score_last_epoch)
        except DivergedError as error:
            outcome = diverged_outcome(error, self.oracle.objective)
        except Exception as error:
            if stopping.requested():  # a Ctrl-C that surfaced as another error (stopping.py)
                raise KeyboardInterrupt from error
            keep_error(self.get_trial_dir(trial.trial_id), error)
            raise
        finally:
            self._runs.pop(trial.trial_id, None)
            run.reports.close()  # every epoch has reached the oracle before the trial ends
        outcome["duration_seconds"] = time.monotonic() - start + (trained.seconds if trained
                                                                  else 0.0)
        return outcome

    def start_run(self, trial) -> tuple[TrialRun, SaveBestEpoch]:
        """What a trial keeps while it trains (registered for on_epoch_end), and its best
        epoch's weights."""
        run = TrialRun(EpochReports(self.oracle, trial.trial_id))
        self._runs[trial.trial_id] = run
        return run, SaveBestEpoch(self.oracle.objective, last=self.score_last_epoch)

    def execution_callbacks(self, user_callbacks: list, trial, execution: int,
                            best: SaveBestEpoch) -> list:
        """An execution's callbacks: the search's and the tuner's own (its epochs from 0)."""
        self._runs[trial.trial_id].logs = []
        log_dir = self.log_dir(trial) if self.tensorboard else None
        return [*trial_callbacks(user_callbacks, trial, execution, log_dir),
                TunerCallback(self, trial), best]

    def _build_and_fit_model(self, trial, *args, **kwargs):
        """Build the trial's model and fit it; returns what the hypermodel's fit returned.

        KerasTuner's own Tuner.run_trial calls a method of this name for each
        execution, and AutoKeras overrides it: it is kept under this name so that
        an override of it still runs (keras_tuner_internals.PRIVATE_NAMES).
        """
        model = models.build(self, trial.hyperparameters, for_trial=True)
        self.start_from(trial, model)
        result = self.hypermodel.fit(trial.hyperparameters, model, *args, **kwargs)
        models.keep_build_config(self, trial.trial_id, model)
        validate_result(result, self.oracle.objective, "HyperModel.fit()")
        return result

    def start_from(self, trial, model: keras.Model) -> None:
        """Called with the trial's freshly built model before it trains (PBT loads its parent)."""

    def starting_model(self, trial) -> keras.Model | None:
        """The model a trial trained together continues from (None: its initial weights)."""
        return None

    def fit_arguments(self, trial, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of the trial's fit (PBT sets its epochs)."""
        return kwargs

    def log_dir(self, trial) -> str:
        """The trial's TensorBoard folder: DIRECTORY/tensorboard/PROJECT/trial_<id>."""
        return storage.join(self.directory, "tensorboard", self.project_name,
                            f"trial_{trial.trial_id}")

    def load_model(self, trial) -> keras.Model:
        return models.load(self, trial)

    # --- each epoch ---------------------------------------------------------------------------

    def on_fit_begin(self, trial, model, params: dict[str, Any]) -> None:
        """Called when a trial's fit starts, with Keras's params (epochs, steps)."""
        self._runs[trial.trial_id].planned_epochs = params.get("epochs")

    def on_epoch_end(self, trial, model, epoch, logs=None):
        """Check the epoch, report it to the oracle, and stop the trial when the oracle says so."""
        run = self._runs[trial.trial_id]
        objective = self.oracle.objective
        logs = {name: float(value) for name, value in (logs or {}).items()
                if isinstance(value, (int, float)) or getattr(value, "shape", None) == ()}
        if not objective.has_value(logs):
            run.logs.append(logs)  # the objective comes with the trial's result: nothing to judge
            return
        for name, step in (("loss", 0), ("val_loss", None)):  # step 0: some step of the epoch
            if name in logs and not math.isfinite(logs[name]):
                history = {key: [e[key] for e in run.logs] for key in logs}
                raise DivergedError(epoch + 1, step, history, logs[name])
        run.logs.append(logs)
        metrics = {epoch_metric(name): value for name, value in logs.items()}
        metrics[epoch_metric(objective.name)] = float(objective.get_value(logs))
        ending = model.stop_training or (run.planned_epochs is not None
                                         and epoch + 1 >= run.planned_epochs)
        decide = self.pruning and not ending
        run.reports.send(metrics, epoch + 1, wait=decide)
        if decide and run.reports.stopped:
            model.stop_training = True
            run.pruned = {PRUNED_METRICS["marker"]: 1.0, **run.reports.pruned}

    # --- results --------------------------------------------------------------------------------

    def results(self, write: bool = False) -> SearchResult:
        """The search's records (results.py) read from its folder; with `write`, its files too."""
        objective = self.oracle.objective
        records = collect_records(self.project_dir, objective.direction, objective.name,
                                  rounds={t: self.round_of(t) for t in self.oracle.trials})
        ranked = rank(records, objective.direction)
        best = ranked[0] if ranked and ranked[0]["status"] == "completed" else None
        dims = dimensions(self.oracle.get_space().get_config(), self.labels)
        result = SearchResult(records=records, best=best, directory=self.project_dir,
                              objective=objective.name, direction=objective.direction,
                              dims=dims, strategy=type(self).__name__, epochs=self.epochs)
        if self.importance:
            result.importance = hyperparameter_importance(records, dims, seed=self.seed or 0)
        if write:
            write_tables(result)
            write_figures(result)
        return result

    def round_of(self, trial_id: str) -> int | None:
        """The round a trial belongs to (coarse to fine); None for a one-round search."""
        return None


def keep_error(trial_dir: str, error: Exception) -> None:
    """Write a failing trial's traceback to its error.txt (call inside the `except`).

    KerasTuner records the trial as failed; the traceback goes beside it too,
    since in a distributed search the chief is another process. A Ctrl-C that
    surfaced as another error stops the search instead of failing the trial.
    """
    if stopping.requested():
        raise KeyboardInterrupt from error
    storage.write_text(storage.join(trial_dir, "error.txt"), traceback.format_exc())
