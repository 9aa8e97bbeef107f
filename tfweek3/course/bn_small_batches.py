"""Batch norm with small mini-batches, and batch renormalization (Ioffe, 2017).

In training each unit is normalized with its mini-batch's mu and sigma2; at test
time with their moving averages. With mini-batches of 2 to 8 examples the
batch's mu and sigma2 are noisy estimates (with m = 2, z_norm is +-1 whatever
z is), so the network learns to work with a normalization that test time does
not reproduce: the moving statistics disagree with the batch ones and the
test-time accuracy drops.

Batch renormalization (`ManualBatchNorm(renorm=True)`) trains with
r * z_norm + d = (z - renorm_mean) / renorm_stddev, the moving statistics'
normalization (unclipped here: Keras's default), so training and test time
agree, while the gradient still flows through the batch's mu and sigma2. Measured
here: the course's network on digits (two hidden layers of 64 units), Adam,
for several mini-batch sizes, once with batch norm and once with
renormalization; the validation accuracy at test time (moving statistics)
against the training accuracy reached in training mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from tfweek3.layers.batch_norm import ManualBatchNorm
from tfweek3.training.data import Dataset


def small_batch_network(input_dim: int, num_classes: int, renorm: bool,
                        hidden_units: Sequence[int] = (64, 64)) -> keras.Model:
    """LINEAR -> BN (or renormalization) -> RELU per hidden layer, then softmax."""
    inputs = keras.Input((input_dim,))
    a = inputs
    for units in hidden_units:
        a = keras.layers.Dense(units, use_bias=False)(a)
        a = ManualBatchNorm(renorm=renorm)(a)
        a = keras.layers.ReLU()(a)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(a)
    return keras.Model(inputs, outputs)


@dataclass
class SmallBatchRun:
    batch_size: int
    renorm: bool
    train_accuracy: float     # last epoch, in training mode (the mini-batches' own statistics)
    test_time_accuracy: float  # validation set, inference mode (moving statistics)


def train_and_evaluate(data: Dataset, batch_size: int, renorm: bool, epochs: int,
                       seed: int = 0) -> SmallBatchRun:
    keras.utils.set_random_seed(seed)
    model = small_batch_network(data.input_dim, data.num_classes, renorm)
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=16)
    history = model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs,
                        verbose=0)
    probabilities = model.predict(data.x_val, batch_size=256, verbose=0)
    accuracy = float(np.mean(np.argmax(probabilities, 1) == np.argmax(data.y_val, 1)))
    return SmallBatchRun(batch_size, renorm, float(history.history["accuracy"][-1]), accuracy)


def small_batch_sweep(data: Dataset, batch_sizes: Sequence[int], epochs: int,
                      seeds: Sequence[int] = (0,)) -> list[SmallBatchRun]:
    """One run per (batch size, renorm off/on, seed)."""
    return [train_and_evaluate(data, m, renorm, epochs, seed)
            for m in batch_sizes for renorm in (False, True) for seed in seeds]


def summarize(runs: list[SmallBatchRun]) -> list[dict]:
    """Per (batch size, renorm): the accuracies averaged over the seeds."""
    rows = []
    for m in sorted({run.batch_size for run in runs}):
        for renorm in (False, True):
            group = [run for run in runs if run.batch_size == m and run.renorm == renorm]
            rows.append({
                "batch_size": m, "renorm": renorm,
                "train_accuracy": float(np.mean([run.train_accuracy for run in group])),
                "test_time_accuracy": float(np.mean([run.test_time_accuracy for run in group])),
            })
    return rows


def format_summary(rows: list[dict]) -> str:
    lines = [f"{'batch':>6}  {'layer':<16}{'train (batch stats)':>21}{'test time':>11}"]
    for row in rows:
        label = "renormalization" if row["renorm"] else "batch norm"
        lines.append(f"{row['batch_size']:>6}  {label:<16}{row['train_accuracy']:>21.3f}"
                     f"{row['test_time_accuracy']:>11.3f}")
    return "\n".join(lines)


def plot_small_batches(rows: list[dict]):
    """Test-time accuracy (solid) and training accuracy (dashed) against the mini-batch size."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for renorm, color in ((False, "tab:red"), (True, "tab:blue")):
        group = [row for row in rows if row["renorm"] == renorm]
        sizes = [row["batch_size"] for row in group]
        label = "renormalization" if renorm else "batch norm"
        ax.plot(sizes, [row["test_time_accuracy"] for row in group], "o-", color=color,
                label=f"{label}: test time (moving statistics)")
        ax.plot(sizes, [row["train_accuracy"] for row in group], "s--", color=color, alpha=0.6,
                label=f"{label}: training (batch statistics)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(m) for m in sizes])
    ax.set_xlabel("mini-batch size m")
    ax.set_ylabel("accuracy")
    ax.set_title("Small mini-batches: batch norm vs renormalization")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
