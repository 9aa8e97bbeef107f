"""scores.png: the score of every trial against each hyperparameter, on the scale it is sampled on."""

from __future__ import annotations

import io
import math
from typing import Any

from tfweek3.tuning import storage
from tfweek3.tuning.config import worst_score
from tfweek3.tuning.search_space import SearchSpace

PANELS = (("learning_rate", "alpha (learning rate)", "log"),
          ("one_minus_beta", "1 - beta", "log"),
          ("units", "hidden units", "linear"),
          ("layers", "hidden layers", "linear"),
          ("batch_size", "mini-batch size", "log2"))


def save_figure(fig, path: str, dpi: int = 90) -> None:
    """Save a matplotlib figure as PNG to `path` (local or gs://...)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    storage.write_bytes(path, buffer.getvalue())


def plot_scores(records: list[dict[str, Any]], objective: str, direction: str,
                path: str, space: SearchSpace | None = None) -> None:
    """Score against each numeric hyperparameter that varied, one panel each.

    alpha and 1 - beta on log axes (the scale they are sampled on); the rounds
    of a coarse-to-fine search in different colours; pruned trials as grey
    circles at the score they had when stopped; diverged trials as red crosses
    at the worst score. With `space`, the log axes span its ranges.
    """
    # A Figure of its own, not pyplot's: no backend is switched and nothing is shown.
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    panels = [p for p in PANELS if len({r[p[0]] for r in records}) > 1] or list(PANELS[:2])
    fig = Figure(figsize=(4 * len(panels), 3.4))
    axes = fig.subplots(1, len(panels), squeeze=False)
    rounds = sorted({r["round"] for r in records}, key=lambda n: n or 0)
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    worst = worst_score(direction)
    for ax, (name, label, scale) in zip(axes[0], panels):
        for i, number in enumerate(rounds):
            done = [r for r in records if r["round"] == number and r["status"] == "completed"]
            ax.scatter([r[name] for r in done], [r["score"] for r in done], s=22,
                       color=colours[i % len(colours)],
                       label=f"round {number}" if number else "completed")
        pruned = [r for r in records if r["status"] == "pruned"]
        if pruned:
            ax.scatter([r[name] for r in pruned], [r["score"] for r in pruned], s=22,
                       facecolors="none", edgecolors="0.6", label="pruned")
        diverged = [r for r in records if r["status"] == "diverged"]
        if diverged and math.isfinite(worst):
            ax.scatter([r[name] for r in diverged], [worst] * len(diverged),
                       marker="x", color="red", label="diverged")
        if scale == "log":
            ax.set_xscale("log")
            if space is not None:
                low, high = getattr(space, name)
                ax.set_xlim(low / 1.5, high * 1.5)
        elif scale == "linear":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        elif scale == "log2":
            ax.set_xscale("log", base=2)
        ax.set_xlabel(label)
        ax.set_ylabel(objective)
        ax.grid(alpha=0.3)
    if len(rounds) > 1 or any(r["status"] in ("diverged", "pruned") for r in records):
        axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
