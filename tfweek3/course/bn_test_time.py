"""Batch norm at test time: moving statistics against exact ones, and the single example.

In training each layer normalizes with its mini-batch's mu and sigma2. At test
time there may be one example at a time, so the layer uses estimates of the
mean and variance of z over the whole training set. Two ways to get them:

* exact: after training, run the whole training set through the network and
  compute them layer by layer (`exact_statistics`);
* moving (what Keras and ManualBatchNorm do): an exponentially weighted average
  of the mini-batches' statistics during training,

      moving_mean = momentum * moving_mean + (1 - momentum) * mu_batch

  (the note's v = beta v + (1 - beta) theta, with beta = momentum = 0.99).
  After t steps the starting value (mean 0, variance 1) still weighs
  momentum**t in it: 0.99**36 = 0.70 after one epoch of 36 mini-batches, 0.03
  after ten. `track_moving_vs_exact` measures how close the moving statistics
  come to the exact ones, epoch after epoch.

Why not normalize a test example with its own statistics? With m = 1,
mu = z and sigma2 = 0, so z_norm = (z - mu) / sqrt(0 + epsilon) = 0 and
z_tilde = beta for every input: the network gives the same answer to every
example (`one_example_at_a_time`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from tfweek3.layers.batch_norm import ManualBatchNorm
from tfweek3.training.batches import epoch_steps
from tfweek3.training.data import Dataset
from tfweek3.training.evaluation import accuracy
from tfweek3.training.loop import train
from tfweek3.training.network import build_network


def batch_norm_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's batch-norm layers (ManualBatchNorm or Keras's), first to last."""
    return [layer for layer in model.layers
            if isinstance(layer, (ManualBatchNorm, keras.layers.BatchNormalization))]


def copy_model(model: keras.Model) -> keras.Model:
    """A new model with the same architecture and weights (moving statistics included)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def exact_statistics(model: keras.Model, x: np.ndarray) -> tuple[keras.Model, dict]:
    """The mean and variance of each batch-norm layer's input over all of x, layer by layer.

    Returns a copy of the model whose moving statistics are replaced by these
    exact ones, and {layer name: (mu, sigma2)}. Layer l's statistics are taken
    with the layers before it already using their exact statistics, as they
    will at test time.
    """
    copy = copy_model(model)
    statistics = {}
    for layer in batch_norm_layers(copy):
        z = keras.Model(copy.input, layer.input)(x, training=False).numpy().astype(np.float64)
        mu, sigma2 = z.mean(axis=0), z.var(axis=0)
        layer.moving_mean.assign(mu)
        layer.moving_variance.assign(sigma2)
        statistics[layer.name] = (mu, sigma2)
    return copy, statistics


def initial_value_weight(momentum: float, steps: int) -> float:
    """How much the starting value still weighs in the moving average after `steps` updates."""
    return momentum**steps


@dataclass
class MovingVsExact:
    """Per epoch and per batch-norm layer: how far the moving statistics are from the exact ones."""

    layer_names: list[str]
    mean_gap: np.ndarray       # (epochs, layers): mean |moving_mean - mu| / mean sqrt(sigma2)
    variance_gap: np.ndarray   # (epochs, layers): mean |moving_variance / sigma2 - 1|
    steps_per_epoch: int
    momentum: float
    model: keras.Model
    history: dict[str, list[float]]


def track_moving_vs_exact(data: Dataset, *, epochs: int = 20, optimizer: str = "sgd",
                          learning_rate: float = 0.1, batch_size: int = 32,
                          seed: int = 0) -> MovingVsExact:
    """Train the course network with batch norm; after each epoch compare the moving
    statistics of each batch-norm layer with the exact statistics of the training set."""
    keras.utils.set_random_seed(seed)
    model = build_network(data.input_dim, data.num_classes, batch_norm="manual")
    layers = batch_norm_layers(model)
    mean_gaps, variance_gaps = [], []

    def compare(epoch: int, logs: dict) -> None:
        _, exact = exact_statistics(model, data.x_train)
        mean_row, variance_row = [], []
        for layer in layers:
            mu, sigma2 = exact[layer.name]
            mean_row.append(np.mean(np.abs(layer.moving_mean.numpy() - mu)) / np.mean(np.sqrt(sigma2)))
            variance_row.append(np.mean(np.abs(layer.moving_variance.numpy() / sigma2 - 1)))
        mean_gaps.append(mean_row)
        variance_gaps.append(variance_row)

    result = train(model, data, epochs=epochs, optimizer=optimizer, learning_rate=learning_rate,
                   batch_size=batch_size, seed=seed, verbose=0, on_epoch_end=compare)
    return MovingVsExact([layer.name for layer in layers], np.array(mean_gaps),
                         np.array(variance_gaps), epoch_steps(len(data.x_train), batch_size),
                         layers[0].momentum, model, result.history)


def compare_accuracies(model: keras.Model, data: Dataset) -> dict[str, float]:
    """Validation and test accuracy with the moving statistics and with the exact ones."""
    exact_model, _ = exact_statistics(model, data.x_train)
    return {
        "val_moving": accuracy(model, data.x_val, data.y_val),
        "val_exact": accuracy(exact_model, data.x_val, data.y_val),
        "test_moving": accuracy(model, data.x_test, data.y_test),
        "test_exact": accuracy(exact_model, data.x_test, data.y_test),
    }


def one_example_at_a_time(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """y_hat of each example normalized with its own statistics (a batch of one, training mode).

    Runs on a copy, so the model's moving statistics are untouched. Every row
    comes out the same: z_tilde = beta whatever the input.
    """
    copy = copy_model(model)
    return np.concatenate([copy(x[i:i + 1], training=True).numpy() for i in range(len(x))])


def plot_moving_vs_exact(track: MovingVsExact):
    """The gap between moving and exact statistics per epoch, with momentum**t for comparison."""
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(track.mean_gap) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
    for i, name in enumerate(track.layer_names):
        axes[0].plot(epochs, track.mean_gap[:, i], marker=".", label=name)
        axes[1].plot(epochs, track.variance_gap[:, i], marker=".", label=name)
    axes[1].plot(epochs, [initial_value_weight(track.momentum, track.steps_per_epoch * e)
                          for e in epochs], "k--", lw=1,
                 label=f"momentum**t ({track.momentum:g}, {track.steps_per_epoch} steps/epoch)")
    axes[0].set_ylabel("|moving mean - exact mu| / sigma")
    axes[1].set_ylabel("|moving variance / exact sigma2 - 1|")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
