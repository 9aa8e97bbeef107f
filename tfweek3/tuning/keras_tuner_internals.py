"""The private KerasTuner names tfweek3 depends on: all of them here, each with its reason.

tfweek3's oracles are KerasTuner oracles (oracles.py) and keep to KerasTuner's
public API where it serves: `create_trial`, `update_trial`, `end_trial`,
`score_trial`, `get_state` / `set_state`, `save` / `reload`. KerasTuner 1.4
offers no public way to do the few things below, so they use private names, in
this module only. `tests/test_keras_tuner_contract.py` checks every name of
PRIVATE_NAMES against the installed KerasTuner and fails naming the one a
release changed.
"""

from __future__ import annotations

import functools
import json

import keras_tuner as kt

from tfweek3.tuning import storage

PRIVATE_NAMES = {
    "Oracle._get_oracle_fname":
        "where oracle.json lives: our save() writes it atomically, and errors name it",
    "Oracle._get_trial_dir":
        "a trial's folder on the oracle's side (trial.json, and error.txt beside it)",
    "Oracle._save_trial":
        "overridden so that every trial.json is written atomically, not truncated by a kill",
    "MetricHistory.update, via MetricsTracker.metrics":
        "records an epoch in O(1); MetricsTracker.update recomputes the best value, O(epochs)",
    "GridSearchOracle._ordered_ids":
        "the grid's linked list of trials, rebuilt on reload (1.4 does not save it)",
    "GridSearchOracle._populate_next":
        "the trials the grid continues from, rebuilt on reload",
    "GridSearchOracle._compare":
        "the grid's order of two trials' values, to rebuild the two above",
    "Tuner._build_and_fit_model":
        "KerasTuner's hook for each execution of a trial (AutoKeras overrides it): tfweek3's "
        "tuners define and call it under the same name, so that an override still runs",
    "keras_tuner.src.config.DEBUG":
        "while True (its default, no public switch) every failed trial's traceback goes to "
        "stderr; tfweek3 keeps it in the trial's error.txt and prints its last line",
}


class AtomicFiles:
    """Oracle mixin: oracle.json and every trial.json written through storage.write_text
    (a temporary file renamed over the old one; tf.io.gfile for gs:// and other URLs)."""

    def save(self):
        storage.write_text(oracle_file(self), json.dumps(self.get_state()))

    def _save_trial(self, trial):
        path = storage.join(trial_dir(self, trial.trial_id), "trial.json")
        storage.write_text(path, json.dumps(trial.get_state()))


def keep_failed_trials_off_stderr() -> None:
    """Stop KerasTuner from printing each failed trial's traceback (see PRIVATE_NAMES)."""
    from keras_tuner.src import config

    config.DEBUG = False


def oracle_file(oracle: kt.Oracle) -> str:
    """The path of the oracle's state file, oracle.json."""
    return oracle._get_oracle_fname()


def trial_dir(oracle: kt.Oracle, trial_id: str) -> str:
    """The folder of one trial, as the oracle writes it."""
    return oracle._get_trial_dir(trial_id)


def record_epoch(trial: kt.engine.trial.Trial, name: str, value: float, step: int) -> None:
    """Add one epoch's value of a registered metric to the trial's history, in O(1)."""
    trial.metrics.metrics[name].update(float(value), step=step)


def rebuild_grid_position(oracle: kt.oracles.GridSearchOracle) -> None:
    """Put a reloaded grid oracle's trials back in grid order, as GridSearchOracle links them.

    KerasTuner 1.4 does not save its position in the grid: a reloaded grid
    search would start over from the first point and stop early.
    """
    def compare(a, b):
        return oracle._compare(oracle.trials[a].hyperparameters.values,
                               oracle.trials[b].hyperparameters.values)

    in_order = sorted(oracle.trials, key=functools.cmp_to_key(compare))
    oracle._ordered_ids = type(oracle._ordered_ids)()
    for trial_id in in_order:
        oracle._ordered_ids.insert(trial_id)
    oracle._populate_next = list(in_order)
