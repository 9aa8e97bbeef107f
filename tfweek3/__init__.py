"""tfweek3: week 3 of the deep-learning course as tested TensorFlow/Keras code.

    from tfweek3 import ManualBatchNorm, SoftmaxClassifier, softmax
    from tfweek3 import load_dataset, build_network, train
    from tfweek3 import RandomSearch, CoarseToFine, PopulationBasedTraining, hp_alpha, hp_beta

The package is built in floors; each imports only from the floors below it:

    tfweek3.layers     batch norm and softmax: the note's formulas as Keras layers (and in NumPy)
    tfweek3.training   the data, the course network, the GradientTape loop, checkpoints, schedules
    tfweek3.tuning     the week's search methods as KerasTuner tuners, for any model
    tfweek3.search     the course's own search (`tfweek3 tune`), caviar and pandas
    tfweek3.cli        the `tfweek3` command line
    tfweek3.course     the notebooks' experiments, one module per claim of the note
    tfweek3.practice   the week's exercises and their grader (`tfweek3 exercise`)

The names below are loaded on first use (PEP 562), so `import tfweek3` and
`tfweek3 --help` do not import TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Public name -> the module that defines it.
_PUBLIC = {
    "ManualBatchNorm": "tfweek3.layers.batch_norm",
    "swap_batch_norm": "tfweek3.layers.swap",
    "SoftmaxClassifier": "tfweek3.layers.softmax",
    "categorical_cross_entropy": "tfweek3.layers.softmax",
    "cost": "tfweek3.layers.softmax",
    "hardmax": "tfweek3.layers.softmax",
    "softmax": "tfweek3.layers.softmax",
    "DataError": "tfweek3.training.data",
    "Dataset": "tfweek3.training.data",
    "load_dataset": "tfweek3.training.data",
    "build_network": "tfweek3.training.network",
    "make_optimizer": "tfweek3.training.optimizers",
    "checkpoint_for_epoch": "tfweek3.training.checkpoints",
    "DivergedError": "tfweek3.training.loop",
    "TrainResult": "tfweek3.training.loop",
    "make_train_step": "tfweek3.training.loop",
    "train": "tfweek3.training.loop",
    "Schedule": "tfweek3.training.schedule",
    "load_schedule": "tfweek3.training.schedule",
    "train_on_schedule": "tfweek3.training.schedule",
    "Member": "tfweek3.training.member",
    "StackedNetwork": "tfweek3.training.stacked",
    "hp_alpha": "tfweek3.tuning.scales",
    "hp_beta": "tfweek3.tuning.scales",
    "sample_beta": "tfweek3.tuning.scales",
    "sample_learning_rate": "tfweek3.tuning.scales",
    "sample_log_uniform": "tfweek3.tuning.scales",
    "sample_uniform": "tfweek3.tuning.scales",
    "RandomSearch": "tfweek3.tuning.random_search",
    "GridSearch": "tfweek3.tuning.random_search",
    "CoarseToFine": "tfweek3.tuning.coarse_to_fine",
    "PopulationBasedTraining": "tfweek3.tuning.pbt_tuner",
    "SearchSpace": "tfweek3.search.space",
    "SearchConfig": "tfweek3.search.config",
    "run_search": "tfweek3.search.run",
    "BabysitConfig": "tfweek3.search.babysit",
    "babysit": "tfweek3.search.babysit",
    "random_vs_grid_win_rate": "tfweek3.course.synthetic_search",
    "synthetic_score": "tfweek3.course.grid_vs_random",
}

__all__ = [
    "BabysitConfig",
    "CoarseToFine",
    "DataError",
    "Dataset",
    "DivergedError",
    "GridSearch",
    "ManualBatchNorm",
    "Member",
    "PopulationBasedTraining",
    "RandomSearch",
    "Schedule",
    "SearchConfig",
    "SearchSpace",
    "SoftmaxClassifier",
    "StackedNetwork",
    "TrainResult",
    "babysit",
    "build_network",
    "categorical_cross_entropy",
    "checkpoint_for_epoch",
    "cost",
    "hardmax",
    "hp_alpha",
    "hp_beta",
    "load_dataset",
    "load_schedule",
    "make_optimizer",
    "make_train_step",
    "random_vs_grid_win_rate",
    "run_search",
    "sample_beta",
    "sample_learning_rate",
    "sample_log_uniform",
    "sample_uniform",
    "softmax",
    "swap_batch_norm",
    "synthetic_score",
    "train",
    "train_on_schedule",
]


# Keras finds a saved model's layers by their registered names ("tfweek3>ManualBatchNorm"):
# asking for any one of the layers registers them all, so that load_model finds both.
_LAYER_MODULES = ("tfweek3.layers.batch_norm", "tfweek3.layers.softmax")


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tfweek3' has no attribute {name!r}")
    if module in _LAYER_MODULES:
        for layer_module in _LAYER_MODULES:
            importlib.import_module(layer_module)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


if TYPE_CHECKING:  # for type checkers and IDEs; never run
    from tfweek3.course.grid_vs_random import synthetic_score
    from tfweek3.course.synthetic_search import random_vs_grid_win_rate
    from tfweek3.layers.batch_norm import ManualBatchNorm
    from tfweek3.layers.softmax import (
        SoftmaxClassifier,
        categorical_cross_entropy,
        cost,
        hardmax,
        softmax,
    )
    from tfweek3.layers.swap import swap_batch_norm
    from tfweek3.search.babysit import BabysitConfig, babysit
    from tfweek3.search.config import SearchConfig
    from tfweek3.search.run import run_search
    from tfweek3.search.space import SearchSpace
    from tfweek3.training.checkpoints import checkpoint_for_epoch
    from tfweek3.training.data import DataError, Dataset, load_dataset
    from tfweek3.training.loop import DivergedError, TrainResult, make_train_step, train
    from tfweek3.training.member import Member
    from tfweek3.training.network import build_network
    from tfweek3.training.optimizers import make_optimizer
    from tfweek3.training.schedule import Schedule, load_schedule, train_on_schedule
    from tfweek3.training.stacked import StackedNetwork
    from tfweek3.tuning.coarse_to_fine import CoarseToFine
    from tfweek3.tuning.pbt_tuner import PopulationBasedTraining
    from tfweek3.tuning.random_search import GridSearch, RandomSearch
    from tfweek3.tuning.scales import (
        hp_alpha,
        hp_beta,
        sample_beta,
        sample_learning_rate,
        sample_log_uniform,
        sample_uniform,
    )
