"""Batch norm's slight regularization effect, and why it fades with larger mini-batches.

In training, each example is normalized with the mu and sigma2 of its
mini-batch, not of the whole training set. Those are estimates from m
examples, so they carry noise, and so does every z_tilde computed with them: a
little like dropout, the network learns under multiplicative and additive
noise. The noise of a mean of m examples drawn without replacement from N is

    std(mu_batch) = sigma * sqrt((N - m) / (m (N - 1)))        about sigma / sqrt(m)

so it halves each time m grows 4 times: the larger the mini-batch, the weaker
the effect. The lecture's advice stands: it is a side effect, do not use batch
norm as a regularizer (use dropout or L2 for that).

Three measurements: the noise of the batch mean against that formula
(`batch_mean_noise`), how much one example's predicted probability moves with
the batch it lands in (`prediction_noise`), and the train-validation gap of
networks trained with and without batch norm at several batch sizes
(`generalization_gap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from tfweek3.layers.softmax import cost
from tfweek3.training.data import Dataset
from tfweek3.training.loop import train
from tfweek3.training.network import build_network


def predicted_batch_mean_noise(sigma: np.ndarray, m: int, n: int) -> np.ndarray:
    """std of the mean of m of n values drawn without replacement: sigma sqrt((n-m)/(m(n-1)))."""
    return np.asarray(sigma) * np.sqrt((n - m) / (m * (n - 1)))


def batch_mean_noise(values: np.ndarray, batch_sizes: Sequence[int], draws: int = 500,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Measured and predicted std of the mini-batch mean, averaged over units, per batch size.

    values: (N, units), e.g. z^[1] of every training example. For each m,
    `draws` mini-batches of m examples are drawn without replacement.
    """
    values = np.asarray(values, np.float64)
    n = len(values)
    sigma = values.std(axis=0)
    rng = np.random.default_rng(seed)
    measured, predicted = [], []
    for m in batch_sizes:
        means = np.array([values[rng.choice(n, m, replace=False)].mean(axis=0)
                          for _ in range(draws)])
        measured.append(means.std(axis=0).mean())
        predicted.append(predicted_batch_mean_noise(sigma, m, n).mean())
    return {"batch_sizes": np.array(batch_sizes), "measured": np.array(measured),
            "predicted": np.array(predicted)}


def prediction_noise(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_sizes: Sequence[int],
                     examples: int = 20, draws: int = 30, seed: int = 0) -> np.ndarray:
    """Per batch size: how much the predicted probability of the true class of an example
    varies with the other examples of its mini-batch (std over draws, averaged over examples).

    The network runs in training mode, as in a training step, on a copy of the
    model (so that the original's moving statistics do not change).
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)
    n = len(x)
    noise = []
    for m in batch_sizes:
        spreads = []
        for i in range(examples):
            probabilities = []
            for _ in range(draws):
                others = rng.choice(np.delete(np.arange(n), i), m - 1, replace=False)
                batch = x[np.concatenate([[i], others])]
                probabilities.append(copy(batch, training=True).numpy()[0, np.argmax(y[i])])
            spreads.append(np.std(probabilities))
        noise.append(float(np.mean(spreads)))
    return np.array(noise)


def generalization_gap(data: Dataset, batch_sizes: Sequence[int],
                       batch_norms: Sequence[str] = ("none", "manual"), seeds: Sequence[int] = (0,),
                       *, epochs: int = 40, hidden_units: Sequence[int] = (100, 100),
                       learning_rate: float = 1e-3) -> list[dict[str, Any]]:
    """Train with Adam at each batch size, with and without batch norm; measure cost J on the
    training and validation sets afterwards (inference mode), and their gap (the mean over seeds).

    A wider network than the course's (100 and 100 hidden units by default), so that it can
    overfit digits and the gap is visible.
    """
    rows = []
    for m in batch_sizes:
        for bn in batch_norms:
            measured = []
            for seed in seeds:
                keras.utils.set_random_seed(seed)
                model = build_network(data.input_dim, data.num_classes, hidden_units, batch_norm=bn)
                train(model, data, epochs=epochs, batch_size=m, optimizer="adam",
                      learning_rate=learning_rate, seed=seed, verbose=0)
                j_train = float(cost(data.y_train, model(data.x_train, training=False)))
                j_val = float(cost(data.y_val, model(data.x_val, training=False)))
                measured.append((j_train, j_val))
            j_train, j_val = np.mean(measured, axis=0)
            rows.append({"batch_size": m, "batch_norm": bn, "train_cost": float(j_train),
                         "val_cost": float(j_val), "gap": float(j_val - j_train)})
    return rows


def format_gaps(rows: list[dict[str, Any]]) -> str:
    """The gaps as a table, with the gap without batch norm minus the gap with it per batch size."""
    lines = [f"{'batch':>5}  {'network':<20} {'train J':>8} {'val J':>8} {'gap':>8}"]
    for r in rows:
        name = "with batch norm" if r["batch_norm"] != "none" else "without batch norm"
        lines.append(f"{r['batch_size']:>5}  {name:<20} {r['train_cost']:>8.4f} "
                     f"{r['val_cost']:>8.4f} {r['gap']:>8.4f}")
    for m, reduction in gap_reduction(rows).items():
        lines.append(f"batch {m}: batch norm reduces the gap by {reduction:+.4f}")
    return "\n".join(lines)


def gap_reduction(rows: list[dict[str, Any]]) -> dict[int, float]:
    """Per batch size: (gap without batch norm) - (gap with batch norm)."""
    gaps = {(r["batch_size"], r["batch_norm"] != "none"): r["gap"] for r in rows}
    return {m: gaps[(m, False)] - gaps[(m, True)] for m, bn in gaps if bn and (m, False) in gaps}


def plot_noise(noise: dict[str, np.ndarray], prediction_sizes: Sequence[int] | None = None,
               prediction: np.ndarray | None = None):
    """Left: the measured noise of the batch mean against sigma sqrt((N-m)/(m(N-1))), log-log.
    Right (optional): `prediction_noise` measured at `prediction_sizes`."""
    import matplotlib.pyplot as plt

    panels = 1 if prediction is None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.8), squeeze=False)
    ax = axes[0, 0]
    m = noise["batch_sizes"]
    ax.plot(m, noise["measured"], "o", label="measured")
    ax.plot(m, noise["predicted"], "-", label="sigma sqrt((N-m) / (m(N-1)))")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("mini-batch size m")
    ax.set_ylabel("std of the batch mean mu of z^[1]")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if prediction is not None:
        ax = axes[0, 1]
        ax.plot(prediction_sizes, prediction, "o-", color="tab:purple")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("mini-batch size m")
        ax.set_ylabel("std of y_hat of the true class")
        ax.set_title("one example, different mini-batches", fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
