"""tfweek3: week 3 of the deep-learning course as tested TensorFlow/Keras code.

    from tfweek3 import ManualBatchNorm, SoftmaxClassifier, softmax
    from tfweek3 import load_dataset, build_network, train
"""

from tfweek3.batch_norm import ManualBatchNorm
from tfweek3.data import DataError, Dataset, load_dataset
from tfweek3.network import build_network
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
    train,
)

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Dataset",
    "DivergedError",
    "ManualBatchNorm",
    "SoftmaxClassifier",
    "TrainResult",
    "build_network",
    "categorical_cross_entropy",
    "checkpoint_for_epoch",
    "cost",
    "hardmax",
    "load_dataset",
    "make_optimizer",
    "softmax",
    "train",
]
