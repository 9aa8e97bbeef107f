"""The tuner of a `tfweek3 tune` search, in the process where its trials train (TensorFlow).

`make_tuner` chooses the tuning floor's tuner for the strategy and gives it
the course hypermodel or a model of your own; `search_here` loads the data
and runs the search, leaving the results files to run.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras_tuner as kt

from tfweek3.search import present
from tfweek3.search.config import SearchConfig, SearchInputError
from tfweek3.search.hypermodel import CourseHyperModel
from tfweek3.search.space import LABELS
from tfweek3.search.user_model import describe_error, load_hypermodel, split_spec
from tfweek3.training.data import Dataset, load_dataset
from tfweek3.training.loop import quiet_retracing
from tfweek3.tuning import keras_tuner_internals as internals
from tfweek3.tuning import results, storage
from tfweek3.tuning.coarse_to_fine import CoarseToFine
from tfweek3.tuning.outcomes import ObjectiveMissing
from tfweek3.tuning.pbt_tuner import PopulationBasedTraining
from tfweek3.tuning.random_search import GridSearch, RandomSearch
from tfweek3.tuning.tuners import EpochTuner

# What the course's pbt perturbs: alpha and 1 - beta (momentum, RMSprop's rho, Adam's beta1).
COURSE_PERTURB = ("learning_rate", "one_minus_beta")


def make_tuner(config: SearchConfig, data: Dataset, project: str,
               log: Callable[[str], None] = print) -> EpochTuner:
    """The tuner of one search's project folder, resumed if the folder exists.

    The oracle's seed is config.seed + 1 (KerasTuner takes 0 for "pick one at
    random"); the data split and the course network's initial weights use
    config.seed in every trial.
    """
    internals.keep_failed_trials_off_stderr()
    quiet_retracing()
    course = config.model is None
    if course:
        hypermodel = CourseHyperModel(
            data, config.space, config.grid_points if config.strategy == "grid" else None,
            seed=config.seed)
    else:
        hypermodel = load_hypermodel(config.model)
    common: dict[str, Any] = {
        "objective": kt.Objective(config.objective, config.direction), "seed": config.seed + 1,
        "directory": config.directory, "project_name": project, "overwrite": False,
        "tensorboard": config.tensorboard, "log": log, "write_results": False,
        "together": config.together,
        "labels": LABELS if course else None,
        "describe": present.describe if course else results.describe}
    pruning = {"prune": config.prune, "prune_min_trials": config.prune_min_trials,
               "prune_after": config.prune_after}
    if config.strategy == "pbt":
        common["seed"] = config.seed  # the population's own seed (its oracle adds 1)
        return PopulationBasedTraining(
            hypermodel, population=config.population, epochs=config.epochs,
            ready_epochs=config.ready_epochs, exploit_quantile=config.exploit_quantile,
            perturb_factor=config.perturb_factor,
            resample_probability=config.resample_probability,
            perturb=COURSE_PERTURB if course else None, **common)
    if config.strategy == "coarse-to-fine":
        return CoarseToFine(hypermodel, max_trials=config.trials, rounds=config.rounds,
                            zoom_k=config.zoom_k, margin=config.margin, **pruning, **common)
    tuner_class = GridSearch if config.strategy == "grid" else RandomSearch
    return tuner_class(hypermodel, max_trials=config.trials, **pruning, **common)


def search_here(config: SearchConfig, project: str, log: Callable[[str], None] = print) -> None:
    """Load the data and run the search in this process (the only one, the chief or a worker).

    The course network takes rows of pixels and one-hot labels; a model of your
    own takes the data as stored (images, integer labels). Failures in a row
    end the search quietly here: run.py reports them with the results.
    """
    course = config.model is None
    data = load_dataset(config.dataset, seed=config.seed,
                        layout="flat" if course else "images")
    try:
        tuner = make_tuner(config, data, project, log)
    except (storage.StateFileError, storage.SearchMismatch):
        raise
    except Exception as error:
        if course:
            raise
        # KerasTuner builds the hypermodel once, at its defaults, to learn its space.
        raise SearchInputError(
            f"argument --model: {config.model} raised when KerasTuner built it to learn its "
            f"hyperparameters: {describe_error(error, split_spec(config.model)[0])}") from None
    if course:
        args, kwargs = (data,), {}
    else:
        args, kwargs = (data.x_train, data.y_train), {"validation_data": (data.x_val, data.y_val)}
    try:
        tuner.search(*args, epochs=config.epochs, verbose=0, **kwargs)
    except ObjectiveMissing as error:
        raise SearchInputError(f"argument --objective: {error}") from None
    except kt.errors.FatalError as error:
        raise SearchInputError(f"argument --model: {error}") from None
    except RuntimeError:
        state = storage.read_json(storage.join(tuner.project_dir, "oracle.json"))
        if not state.get("failure_stop"):
            raise
