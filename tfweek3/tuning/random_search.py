"""Random and grid search (course section 1) as KerasTuner tuners, with median pruning.

Built as KerasTuner's own RandomSearch and GridSearch, with the same
arguments, on tfweek3's oracles (oracles.py) and its EpochTuner (tuners.py):

    tuner = tfweek3.RandomSearch(build_model, objective="val_accuracy", max_trials=30,
                                 prune="median", directory="runs/mine", seed=1)
    tuner.search(x, y, epochs=10, validation_data=(x_val, y_val))

The note's argument for random over grid: with a 5 x 5 grid over two
hyperparameters you try only 5 values of each; 25 random points try 25.
"""

from __future__ import annotations

from tfweek3.tuning.oracles import GridOracle, RandomOracle
from tfweek3.tuning.pruning import pruning_rule
from tfweek3.tuning.tuners import EpochTuner

# KerasTuner's oracle arguments, which its RandomSearch and GridSearch take beside the Tuner's.
ORACLE_ARGUMENTS = ("hyperparameters", "tune_new_entries", "allow_new_entries",
                    "max_retries_per_trial", "max_consecutive_failed_trials")


def make_oracle(oracle_class, objective, max_trials, seed, prune, prune_min_trials, prune_after,
                kwargs: dict, **extra):
    """The tuner's oracle, with KerasTuner's oracle arguments taken out of `kwargs` (the rest
    go to the Tuner) and the pruning rule `prune` asks for."""
    arguments = {name: kwargs.pop(name) for name in ORACLE_ARGUMENTS if name in kwargs}
    oracle = oracle_class(objective=objective, max_trials=max_trials, seed=seed, **arguments,
                          **extra)
    oracle.pruning = pruning_rule(oracle.objective, prune, prune_min_trials, prune_after)
    return oracle


class RandomSearch(EpochTuner):
    """Random search (course section 1), with median pruning: `prune="median"`.

    KerasTuner's RandomSearch arguments (hypermodel, objective, max_trials,
    seed, hyperparameters, tune_new_entries, allow_new_entries,
    max_retries_per_trial, max_consecutive_failed_trials, and keras_tuner.Tuner's:
    directory, project_name, overwrite, executions_per_trial, max_model_size,
    ...), plus prune, prune_min_trials (a median only once this many other
    trials reached the epoch) and prune_after (every trial trains at least this
    many epochs), and EpochTuner's.
    """

    def __init__(self, hypermodel=None, objective=None, max_trials: int = 10,
                 seed: int | None = None, prune: str | None = None, prune_min_trials: int = 5,
                 prune_after: int = 2, **kwargs):
        oracle = make_oracle(RandomOracle, objective, max_trials, seed, prune, prune_min_trials,
                             prune_after, kwargs)
        super().__init__(oracle, hypermodel, seed=seed, **kwargs)


class GridSearch(EpochTuner):
    """Grid search over every combination of the space's values (a Float needs a step), with
    median pruning as RandomSearch; KerasTuner's GridSearch arguments."""

    def __init__(self, hypermodel=None, objective=None, max_trials: int | None = None,
                 seed: int | None = None, prune: str | None = None, prune_min_trials: int = 5,
                 prune_after: int = 2, **kwargs):
        oracle = make_oracle(GridOracle, objective, max_trials, seed, prune, prune_min_trials,
                             prune_after, kwargs)
        super().__init__(oracle, hypermodel, seed=seed, **kwargs)
