"""tfweek3: week 3 of the deep-learning course as tested TensorFlow/Keras code.

    from tfweek3 import ManualBatchNorm, SoftmaxClassifier, softmax
"""

from tfweek3.batch_norm import ManualBatchNorm
from tfweek3.softmax import (
    SoftmaxClassifier,
    categorical_cross_entropy,
    cost,
    hardmax,
    softmax,
)

__version__ = "0.1.0"

__all__ = [
    "ManualBatchNorm",
    "SoftmaxClassifier",
    "categorical_cross_entropy",
    "cost",
    "hardmax",
    "softmax",
]
