"""Why batch norm works: it limits the covariate shift of the hidden layers (course section 4).

Covariate shift: the distribution of a model's inputs x changes while the rule
x -> y stays the same. The lecture's example: a cat classifier trained on black
cats fails on coloured cats. `shifted_cats` shows it on a 2-D problem
(`tfweek3.toy_data.cats`).

Inside a network the same thing happens to every layer. Layer 3 learns from
a^[2] = relu(z^[2]); while the earlier layers' W^[1], W^[2] change, the
distribution of z^[2] moves under its feet. Batch norm pins the mean and
spread of what layer 3 sees: z_tilde^[2] = gamma^[2] z_norm^[2] + beta^[2] has,
over each mini-batch, mean beta^[2] and standard deviation close to gamma^[2],
whatever W^[1], W^[2] do, and beta, gamma move only as fast as gradient
descent moves them. `track_layer_statistics` measures it: the mean and spread
of each unit of layer l over a fixed probe batch, after every epoch, for the
network with and without batch norm.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from tfweek3.course.toy_data import cats, sample_cats
from tfweek3.layers import reference
from tfweek3.training.data import Dataset
from tfweek3.training.evaluation import accuracy
from tfweek3.training.loop import train
from tfweek3.training.network import build_network


def linear_output(model: keras.Model, layer: int, x: np.ndarray) -> np.ndarray:
    """z^[l] = W^[l] a^[l-1] (+ b^[l]) of hidden layer `layer` (1-based), in inference mode."""
    return keras.Model(model.input, model.get_layer(f"linear_{layer}").output)(x).numpy()


def layer_input_to_next(model: keras.Model, layer: int, x: np.ndarray) -> np.ndarray:
    """What the RELU of hidden layer `layer` receives for the batch x, as in a training step.

    The forward pass of the course network in NumPy, layer by layer with the
    model's weights: z^[l] = a^[l-1] W^[l] (+ b^[l]); with batch norm,
    z_tilde^[l] = gamma z_norm + beta with the batch's own mu and sigma2
    (`tfweek3.reference.batch_norm_forward`); a^[l] = relu(z_tilde^[l]).
    Returns z^[l] without batch norm, z_tilde^[l] with it. Nothing in the model
    is used or updated besides its weights (no moving statistics).
    """
    names = {lay.name for lay in model.layers}
    a = np.asarray(x, np.float64)
    for l in range(1, layer + 1):
        dense = model.get_layer(f"linear_{l}")
        z = a @ dense.kernel.numpy()
        if dense.use_bias:
            z = z + dense.bias.numpy()
        if f"batch_norm_{l}" in names:
            norm = model.get_layer(f"batch_norm_{l}")
            z, _ = reference.batch_norm_forward(z, norm.gamma.numpy(), norm.beta.numpy(),
                                                norm.epsilon)
        a = np.maximum(z, 0.0)
    return z


@dataclass
class LayerTrack:
    """Per-unit mean and standard deviation of one layer after each epoch (row 0: before training)."""

    batch_norm: str
    means: np.ndarray   # (epochs + 1, units)
    stds: np.ndarray    # (epochs + 1, units)
    history: dict[str, list[float]]

    def mean_drift(self) -> np.ndarray:
        """Per epoch: the average |mean now - mean at start| over units, in units of the starting spread."""
        return np.abs(self.means - self.means[0]).mean(axis=1) / self.stds[0].mean()

    def spread_ratio(self) -> np.ndarray:
        """Per epoch: the average over units of (standard deviation now) / (standard deviation at start)."""
        return (self.stds / self.stds[0]).mean(axis=1)


def track_layer_statistics(data: Dataset, batch_norm: str, layer: int = 2, *, epochs: int = 20,
                           optimizer: str = "sgd", learning_rate: float = 0.1,
                           seed: int = 0, probe_size: int = 256) -> LayerTrack:
    """Train the course network and record layer `layer`'s statistics on a fixed probe batch.

    The probe batch is the first `probe_size` validation examples: the same
    inputs every time, so any change comes from the weights.
    """
    keras.utils.set_random_seed(seed)
    model = build_network(data.input_dim, data.num_classes, batch_norm=batch_norm)
    probe = data.x_val[:probe_size]
    means, stds = [], []

    def record(epoch: int | None = None, logs: dict | None = None) -> None:
        values = layer_input_to_next(model, layer, probe)
        means.append(values.mean(axis=0))
        stds.append(values.std(axis=0))

    record()
    result = train(model, data, epochs=epochs, optimizer=optimizer, learning_rate=learning_rate,
                   seed=seed, verbose=0, on_epoch_end=record)
    return LayerTrack(batch_norm, np.array(means), np.array(stds), result.history)


def plot_tracks(tracks: list[LayerTrack], layer: int = 2):
    """Top: each unit's mean over training; bottom: each unit's spread. One column per network."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(tracks), figsize=(5.2 * len(tracks), 6), squeeze=False)
    for column, track in enumerate(tracks):
        with_bn = track.batch_norm != "none"
        name = f"z_tilde^[{layer}] (with batch norm)" if with_bn else f"z^[{layer}] (no batch norm)"
        epochs = np.arange(len(track.means))
        axes[0, column].plot(epochs, track.means, lw=1)
        axes[0, column].set_title(f"mean of each unit of {name}", fontsize=10)
        axes[1, column].plot(epochs, track.stds, lw=1)
        axes[1, column].set_title(f"spread (std) of each unit of {name}", fontsize=10)
        for ax in axes[:, column]:
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@dataclass
class ShiftResult:
    """Accuracies of the cat experiment, and the two trained models."""

    trained_on_black: keras.Model
    trained_on_all: keras.Model
    black_model_on_black: float      # held-out black cats: the shift is not visible here
    black_model_on_coloured: float   # coloured cats: covariate shift
    all_model_on_coloured: float     # the same network, trained on both kinds


def shifted_cats(epochs: int = 40, seed: int = 0, hidden_units=(25, 12)) -> ShiftResult:
    """Train on black cats, test on black and on coloured cats; then train on all cats."""
    models, scores = {}, {}
    for region in ("black", "all"):
        data = cats(train_on=region, test_on="coloured", seed=seed)
        keras.utils.set_random_seed(seed)
        model = build_network(2, 2, hidden_units, batch_norm=None)
        train(model, data, epochs=epochs, optimizer="adam", learning_rate=0.01, seed=seed,
              verbose=0)
        models[region] = model
        scores[region] = (accuracy(model, data.x_val, data.y_val),
                          accuracy(model, data.x_test, data.y_test))
    return ShiftResult(models["black"], models["all"], scores["black"][0], scores["black"][1],
                       scores["all"][1])


def plot_cats(result: ShiftResult, seed: int = 0):
    """Both models' decisions over the whole plane, with black and coloured cats drawn."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed + 1)
    black, black_y = sample_cats("black", 300, rng)
    coloured, coloured_y = sample_cats("coloured", 300, rng)
    g1, g2 = np.meshgrid(np.linspace(-3, 3, 241), np.linspace(-3, 3, 241))
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.6), sharey=True)
    panels = ((axes[0], result.trained_on_black, "trained on black cats (x1 < 0)"),
              (axes[1], result.trained_on_all, "trained on all cats"))
    for ax, model, title in panels:
        p_cat = model(grid, training=False).numpy()[:, 1].reshape(g1.shape)
        ax.contourf(g1, g2, p_cat, levels=[0, 0.5, 1], colors=["#f3f3f3", "#d9e8f5"])
        ax.contour(g1, g2, p_cat, levels=[0.5], colors="tab:blue", linewidths=1.5)
        xs = np.linspace(-3, 3, 100)
        ax.plot(xs, np.abs(xs) - 1, "k--", lw=1, label="true rule x2 = |x1| - 1")
        for points, labels, colour, name in ((black, black_y, "black", "black cats"),
                                             (coloured, coloured_y, "tab:orange", "coloured cats")):
            ax.scatter(points[labels == 1, 0], points[labels == 1, 1], s=8, color=colour,
                       label=f"{name}: cat")
            ax.scatter(points[labels == 0, 0], points[labels == 0, 1], s=8, color=colour,
                       alpha=0.25, marker="x", label=f"{name}: not cat")
        ax.set_title(title + " (blue: says cat)", fontsize=10)
        ax.set_xlabel("x1")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
    axes[0].set_ylabel("x2")
    axes[1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
