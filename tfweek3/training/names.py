"""The names of training's choices and of what it records, readable without TensorFlow.

The command line offers these as choices and checks flags against them before
TensorFlow is imported; the training loop, the network and the search use the
same definitions.
"""

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
BATCH_NORMS = ("manual", "keras", "none")

# What `train` records after every epoch, and which way is better for each metric.
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")
DIRECTIONS = {"loss": "min", "accuracy": "max", "val_loss": "min", "val_accuracy": "max"}


def best_epoch(values: list[float], metric: str) -> int | None:
    """The first epoch (from 1) with the best value: the largest accuracy or the smallest loss."""
    if not values:
        return None
    better = max if DIRECTIONS[metric] == "max" else min
    return values.index(better(values)) + 1
