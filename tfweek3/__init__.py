"""tfweek3: week 3 of the deep-learning course as tested TensorFlow/Keras code.

    from tfweek3 import ManualBatchNorm, SoftmaxClassifier, softmax
    from tfweek3 import load_dataset, build_network, train
"""

from tfweek3.babysit import BabysitConfig, babysit
from tfweek3.batch_norm import ManualBatchNorm
from tfweek3.data import DataError, Dataset, load_dataset
from tfweek3.network import build_network
from tfweek3.search import (
    SearchConfig,
    random_vs_grid_win_rate,
    run_search,
    synthetic_score,
)
from tfweek3.search_space import (
    SearchSpace,
    sample_beta,
    sample_learning_rate,
    sample_log_uniform,
    sample_uniform,
)
from tfweek3.softmax import (
    SoftmaxClassifier,
    categorical_cross_entropy,
    cost,
    hardmax,
    softmax,
)
from tfweek3.training import (
    DivergedError,
    TrainResult,
    checkpoint_for_epoch,
    make_optimizer,
    make_train_step,
    train,
)

__version__ = "0.1.0"

__all__ = [
    "BabysitConfig",
    "DataError",
    "Dataset",
    "DivergedError",
    "ManualBatchNorm",
    "SearchConfig",
    "SearchSpace",
    "SoftmaxClassifier",
    "TrainResult",
    "babysit",
    "build_network",
    "categorical_cross_entropy",
    "checkpoint_for_epoch",
    "cost",
    "hardmax",
    "load_dataset",
    "make_optimizer",
    "make_train_step",
    "random_vs_grid_win_rate",
    "run_search",
    "sample_beta",
    "sample_learning_rate",
    "sample_log_uniform",
    "sample_uniform",
    "softmax",
    "synthetic_score",
    "train",
]
