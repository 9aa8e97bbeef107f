"""Training with and without batch norm at several learning rates (course section 4).

The claim: batch norm makes the cost surface rounder and each layer's inputs
steadier, so a network with it trains faster and over a much wider range of
learning rates alpha. The experiment: the course network (25 and 12 hidden
units) on the same data, the same optimizer, the same seeds, once with
LINEAR -> BN -> RELU hidden layers and once with LINEAR -> RELU, for each alpha.
What is read off:

* the learning curves (validation accuracy per epoch);
* the number of epochs to reach a target validation accuracy (95%);
* the rates where only the batch-norm network trains (reaches `trains_at`,
  90% by default), the other one stalling or diverging (loss NaN or inf).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from tfweek3.training.data import Dataset
from tfweek3.training.loop import DivergedError, train
from tfweek3.training.network import build_network

LABELS = {"none": "without batch norm", "manual": "with batch norm"}


@dataclass
class Run:
    """One training run: its settings, its history, and the epoch it diverged in (or None)."""

    batch_norm: str
    learning_rate: float
    seed: int
    history: dict[str, list[float]]
    diverged_epoch: int | None = None

    @property
    def final_val_accuracy(self) -> float:
        """The last epoch's validation accuracy; 0 when the run diverged."""
        if self.diverged_epoch is not None or not self.history["val_accuracy"]:
            return 0.0
        return self.history["val_accuracy"][-1]


def train_once(data: Dataset, batch_norm: str, learning_rate: float, seed: int = 0, *,
               epochs: int = 30, optimizer: str = "sgd", batch_size: int = 32,
               hidden_units: Sequence[int] = (25, 12)) -> Run:
    """Build the network with the given batch norm and train it; divergence is recorded, not raised."""
    keras.utils.set_random_seed(seed)
    model = build_network(data.input_dim, data.num_classes, hidden_units, batch_norm=batch_norm)
    try:
        result = train(model, data, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                       learning_rate=learning_rate, seed=seed, verbose=0)
        return Run(batch_norm, learning_rate, seed, result.history)
    except DivergedError as error:
        return Run(batch_norm, learning_rate, seed, error.history, diverged_epoch=error.epoch)


def sweep(data: Dataset, learning_rates: Sequence[float],
          batch_norms: Sequence[str] = ("none", "manual"), seeds: Sequence[int] = (0,),
          **train_options: Any) -> list[Run]:
    """`train_once` for every learning rate, batch-norm setting and seed."""
    return [train_once(data, bn, lr, seed, **train_options)
            for lr in learning_rates for bn in batch_norms for seed in seeds]


def epochs_to_accuracy(val_accuracy: Sequence[float], target: float) -> int | None:
    """The number of epochs until validation accuracy first reaches `target` (None: never)."""
    for epoch, value in enumerate(val_accuracy, start=1):
        if value >= target:
            return epoch
    return None


def summarize(runs: list[Run], target: float = 0.95, trains_at: float = 0.9) -> list[dict[str, Any]]:
    """One row per (learning rate, batch norm), over the seeds.

    epochs_to_target: the median over the seeds, None if some seed never got there.
    trains: every seed ended at `trains_at` validation accuracy or more, without diverging.
    """
    rows = []
    for lr in sorted({r.learning_rate for r in runs}):
        for bn in dict.fromkeys(r.batch_norm for r in runs):
            group = [r for r in runs if r.learning_rate == lr and r.batch_norm == bn]
            reach = [epochs_to_accuracy(r.history["val_accuracy"], target)
                     if r.diverged_epoch is None else None for r in group]
            rows.append({
                "learning_rate": lr,
                "batch_norm": bn,
                "final_val_accuracy": float(np.mean([r.final_val_accuracy for r in group])),
                "epochs_to_target": None if None in reach else float(np.median(reach)),
                "diverged": sum(r.diverged_epoch is not None for r in group),
                "seeds": len(group),
                "trains": all(r.final_val_accuracy >= trains_at for r in group),
            })
    return rows


def only_batch_norm_trains(rows: list[dict[str, Any]]) -> list[float]:
    """The learning rates where the batch-norm network trains and the plain one does not."""
    by_key = {(r["learning_rate"], r["batch_norm"]): r for r in rows}
    return [lr for (lr, bn), row in by_key.items()
            if bn == "manual" and row["trains"] and not by_key[(lr, "none")]["trains"]]


def format_summary(rows: list[dict[str, Any]], target: float = 0.95) -> str:
    """The summary as a text table."""
    header = (f"{'alpha':>7}  {'network':<20} {'final val acc':>13}  "
              f"{f'epochs to {target:.0%}':>15}  {'diverged':>8}  trains")
    lines = [header]
    for r in rows:
        reach = "never" if r["epochs_to_target"] is None else f"{r['epochs_to_target']:g}"
        lines.append(f"{r['learning_rate']:>7g}  {LABELS.get(r['batch_norm'], r['batch_norm']):<20} "
                     f"{r['final_val_accuracy']:>13.3f}  {reach:>15}  "
                     f"{r['diverged']:>4}/{r['seeds']:<3}  {'yes' if r['trains'] else 'no'}")
    return "\n".join(lines)


def plot_sweep(runs: list[Run], target: float = 0.95):
    """One panel per learning rate: validation accuracy per epoch, each seed a line."""
    import matplotlib.pyplot as plt

    rates = sorted({r.learning_rate for r in runs})
    columns = min(len(rates), 4)
    rows = -(-len(rates) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.9 * rows),
                             sharey=True, squeeze=False)
    colours = {"none": "tab:orange", "manual": "tab:blue", "keras": "tab:green"}
    for ax, lr in zip(axes.flat, rates):
        for run in (r for r in runs if r.learning_rate == lr):
            values = run.history["val_accuracy"]
            colour = colours.get(run.batch_norm, "black")
            label = LABELS.get(run.batch_norm, run.batch_norm) if run.seed == min(
                r.seed for r in runs) else None
            ax.plot(range(1, len(values) + 1), values, color=colour, lw=1.2, label=label)
            if run.diverged_epoch is not None:
                ax.plot(run.diverged_epoch, 0.0, "x", color=colour, markersize=9, clip_on=False)
        ax.axhline(target, color="gray", lw=0.8, ls=":")
        ax.set_title(f"alpha = {lr:g}")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("validation accuracy")
    for ax in list(axes.flat)[len(rates):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
