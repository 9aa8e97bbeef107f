"""The training side of population-based training: one trial trains one member for one generation.

A trial of the PBT oracle (pbt.py) names a member, its generation and its
parent trial. `PBTTuner.run_trial`:

1. builds the member's network (its units, layers and batch norm; the search's
   seed draws the initial weights, as in every tfweek3 trial);
2. restores the parent trial's last checkpoint, unless this is generation 1:
   the weights, the optimizer's state (its moments and iteration count), the
   epochs done, the data order and the history, all of the lineage so far;
3. trains the generation's epochs with `tfweek3.train`, with the member's alpha
   (train puts the call's learning rate in place of the checkpoint's) and beta
   (the optimizer is built with it before the moments are restored), sending
   the oracle each epoch's metrics, epochs numbered over the member's whole
   life from 1;
4. writes a checkpoint after each epoch into its own folder,
   trial_<id>/checkpoints/, keeping only the last: the one the next generation
   starts from. Checkpoints go through tf.io.gfile, so --dir may be a folder
   all the hosts of a search share (NFS, gs://...).

The trial's score is the objective after its last epoch: PBT ranks members by
how good they are now, not by their best epoch so far. A generation whose loss
becomes NaN or inf is recorded as diverged (the worst score); its member copies
a good one at the next step. A trial cut off mid-run (a killed worker, a
stopped search) runs again from its parent's checkpoint, and the run starts by
deleting the checkpoints the cut-off run left.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable

import keras
import keras_tuner as kt

from tfweek3.training import stopping
from tfweek3.training.checkpoints import checkpoint_for_epoch
from tfweek3.training.data import Dataset
from tfweek3.training.loop import DivergedError, train
from tfweek3.training.names import HISTORY_KEYS
from tfweek3.tuning import keras_tuner_internals as internals
from tfweek3.tuning import storage
from tfweek3.tuning.config import SearchConfig
from tfweek3.tuning.pbt import PBTOracle
from tfweek3.tuning.pbt_results import CHECKPOINTS, generation_epochs, generation_line
from tfweek3.tuning.results import epoch_metric, record_from_state
from tfweek3.tuning.search_space import SearchSpace, define_hyperparameters
from tfweek3.tuning.tuner import (
    EpochReports,
    Week3HyperModel,
    diverged_outcome,
    keep_error,
)


class PBTTuner(kt.Tuner):
    """Trains each member's generation from its parent's checkpoint; one line per generation."""

    WAIT_SECONDS = 0.5  # between two requests while the generation's last members train

    def __init__(self, config: SearchConfig, space: SearchSpace, log: Callable[[str], None],
                 **kwargs):
        self.config = config
        self.space = space
        self.log = log
        self.tensorboard = (config.tensorboard
                            and importlib.util.find_spec("tensorboard") is not None)
        self._asked_in_vain = False
        super().__init__(**kwargs)

    def pre_create_trial(self):
        # KerasTuner asks again at once when the oracle answers IDLE (the generation is not over):
        # wait a little between requests instead of keeping a core (and the chief) busy.
        stopping.check()
        if self._asked_in_vain:
            time.sleep(self.WAIT_SECONDS)
        self._asked_in_vain = True

    def on_trial_begin(self, trial):
        self._asked_in_vain = False
        super().on_trial_begin(trial)

    def checkpoint_dir(self, trial_id: str) -> str:
        """Where a trial writes its checkpoint (the same path on every host of the search)."""
        return storage.join(self.get_trial_dir(trial_id), CHECKPOINTS)

    def run_trial(self, trial, data: Dataset, **kwargs) -> dict[str, float]:
        stopping.check()
        config = self.config
        values = trial.hyperparameters.values
        first, last = generation_epochs(values["generation"], config.ready_epochs, config.epochs)
        settings = define_hyperparameters(trial.hyperparameters, self.space)
        # A generation is short: skip clear_session's full garbage collection (0.7 s a trial
        # here); Python's own collector frees the previous generation's models as it runs.
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(config.seed)
        model = self.hypermodel.build(trial.hyperparameters)
        parent = values.get("parent")
        log_dir = None
        if self.tensorboard:  # one run per member: its whole life, copies included
            log_dir = storage.join(config.directory, "tensorboard", self.project_name,
                                   f"member_{values['member']}")
        start = time.monotonic()
        reports = EpochReports(self.oracle, trial.trial_id)

        def report(epoch: int, logs: dict[str, float]) -> bool:
            reports.send({epoch_metric(name): float(logs[name]) for name in HISTORY_KEYS}, epoch)
            return reports.stopped

        try:  # a parent's checkpoint that is missing fails the trial, with its error.txt
            resume = (checkpoint_for_epoch(self.checkpoint_dir(parent), first - 1) if parent
                      else False)
            result = train(
                model, data, epochs=last, batch_size=settings.batch_size,
                optimizer=settings.optimizer, learning_rate=settings.learning_rate,
                beta=settings.beta, seed=config.seed,
                checkpoint_dir=self.checkpoint_dir(trial.trial_id), resume=resume, max_to_keep=1,
                log_dir=log_dir, verbose=0, on_epoch_end=report)
            outcome = {config.objective: result.history[config.objective][-1],
                       "epochs": float(result.epochs_run - first + 1)}
        except DivergedError as error:
            outcome = diverged_outcome(config, error, epochs=error.epoch - first)
        except Exception as error:
            keep_error(self.get_trial_dir(trial.trial_id), error)
            raise
        finally:
            reports.close()
        outcome["duration_seconds"] = time.monotonic() - start
        return outcome

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # the oracle records the end
        direction = self.config.direction
        ended = record_from_state(self.oracle.get_trial(trial.trial_id).get_state(), direction,
                                  self.project_dir)
        parent = trial.hyperparameters.values.get("parent")
        parent_record = None
        if parent:
            parent_record = record_from_state(self.oracle.get_trial(parent).get_state(),
                                              direction)
        self.log(generation_line(ended, parent_record, self.config))


def make_pbt_tuner(config: SearchConfig, data: Dataset, *, strategy: str, space: SearchSpace,
                   trials: int, project: str, label: str = "",
                   log: Callable[[str], None] = print) -> PBTTuner:
    """The tuner of a pbt search in one project folder, resumed if the folder exists.

    Takes the arguments of tuner.make_tuner; the oracle's budget is the
    population times the generations, whatever `trials` says.
    """
    internals.keep_failed_trials_off_stderr()
    return PBTTuner(config, space, log, oracle=PBTOracle(config, space),
                    hypermodel=Week3HyperModel(data.input_dim, data.num_classes, space, None),
                    directory=config.directory, project_name=project, overwrite=False)
