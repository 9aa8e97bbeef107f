"""Reading a search's trials back: the boxes of coarse to fine, and what caviar bought.

Coarse to fine (course section 1): a first random search over the whole box,
then a smaller box around the best points, sampled more densely, and so on.
`tfweek3.search.run_search(strategy="coarse-to-fine")` runs all the rounds in
one KerasTuner project; its result keeps each round's box (`SearchResult.boxes`,
as SearchSpaces, round 1 first) and each trial's round (`record["round"]`);
`plot_rounds` draws the trials in the (alpha, 1 - beta) plane, on the log
scales they are sampled on, with each round's box. A trial's hyperparameters
are read from `record["hyperparameters"]`.

Caviar (course section 3): many models trained at once. With W workers the
trials' training times add up to about W times the wall-clock time, minus the
time the workers spend starting (importing TensorFlow) and waiting. In one
graph (`SearchConfig(together=K)`), K trials train as one stacked network;
`side_by_side` and `plot_side_by_side` set each trial's score beside its score
trained alone.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from tfweek3.search.config import SearchConfig
from tfweek3.search.space import SearchSpace

if TYPE_CHECKING:
    from tfweek3.tuning.results import SearchResult


def round_summary(records: list[dict[str, Any]], boxes: list[SearchSpace]) -> list[dict[str, Any]]:
    """One row per round: its box (alpha and 1 - beta), its trials, its best and median score.

    `width_decades` is the box's size on the log scale: log10(high / low) of
    alpha plus that of 1 - beta; it shrinks from round to round.
    """
    rows = []
    for number, box in enumerate(boxes, start=1):
        scores = [r["score"] for r in records if r["round"] == number and r["status"] == "completed"]
        rows.append({
            "round": number,
            "alpha": tuple(box.learning_rate),
            "one_minus_beta": tuple(box.one_minus_beta),
            "width_decades": math.log10(box.learning_rate[1] / box.learning_rate[0])
            + math.log10(box.one_minus_beta[1] / box.one_minus_beta[0]),
            "trials": sum(r["round"] == number for r in records),
            "best": max(scores) if scores else None,
            "median": float(np.median(scores)) if scores else None,
        })
    return rows


def format_rounds(rows: list[dict[str, Any]]) -> str:
    """round_summary as a text table."""
    header = (f"{'round':>5}  {'alpha box':>19}  {'1 - beta box':>19}  {'decades':>7}  "
              f"{'trials':>6}  {'best':>6}  {'median':>6}")
    lines = [header]
    for row in rows:
        best = f"{row['best']:.3f}" if row["best"] is not None else "-"
        median = f"{row['median']:.3f}" if row["median"] is not None else "-"
        lines.append(
            f"{row['round']:>5}  [{row['alpha'][0]:.2e}, {row['alpha'][1]:.2e}]  "
            f"[{row['one_minus_beta'][0]:.2e}, {row['one_minus_beta'][1]:.2e}]  "
            f"{row['width_decades']:>7.2f}  {row['trials']:>6}  {best:>6}  {median:>6}")
    return "\n".join(lines)


def plot_rounds(records: list[dict[str, Any]], boxes: list[SearchSpace], objective: str):
    """Left: the trials in the (alpha, 1 - beta) plane with each round's box. Right: score vs alpha."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    for number, box in enumerate(boxes, start=1):
        colour = colours[(number - 1) % len(colours)]
        (a0, a1), (b0, b1) = box.learning_rate, box.one_minus_beta
        left.add_patch(Rectangle((a0, b0), a1 - a0, b1 - b0, fill=False, lw=1.8,
                                 edgecolor=colour, label=f"round {number} box"))
        trials = [r for r in records if r["round"] == number]
        done = [r for r in trials if r["status"] == "completed"]
        left.scatter([_value(r, "learning_rate") for r in trials],
                     [_value(r, "one_minus_beta") for r in trials], s=28, color=colour, zorder=3)
        right.scatter([_value(r, "learning_rate") for r in done], [r["score"] for r in done],
                      s=28, color=colour, label=f"round {number}")
    completed = [r for r in records if r["status"] == "completed"]
    if completed:
        best = max(completed, key=lambda r: r["score"])
        left.scatter([_value(best, "learning_rate")], [_value(best, "one_minus_beta")],
                     marker="*", s=260,
                     color="gold", edgecolor="black", zorder=4, label="best")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("alpha (learning rate)")
        ax.grid(alpha=0.3)
    left.set_yscale("log")
    left.set_ylabel("1 - beta")
    left.set_title("each round samples inside its box")
    right.set_ylabel(objective)
    right.set_title("score of each trial")
    left.legend(fontsize=8, loc="lower left")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _value(record: dict[str, Any], name: str) -> Any:
    """A trial's value of one hyperparameter."""
    return record["hyperparameters"][name]


def timed_search(config: SearchConfig) -> tuple[SearchResult | None, float]:
    """`config`'s search run afresh (overwrite) and quietly: its SearchResult and its seconds
    on the wall clock, start-up of any worker processes included."""
    from tfweek3.search.run import run_search

    start = time.monotonic()
    result = run_search(config, overwrite=True, log=lambda line: None)
    return result, time.monotonic() - start


def parallel_use(records: list[dict[str, Any]], wall_seconds: float,
                 workers: int = 1) -> dict[str, float]:
    """Training time of all trials against the wall-clock time of the search.

    `speedup` = (sum of the trials' durations) / wall time: about the number of
    models trained at once, less what starting the workers costs.
    `overhead_seconds` = wall time - (sum of durations) / workers: what the
    search spent on anything but training, had the workers been busy together.
    """
    busy = sum(r["duration_seconds"] or 0.0 for r in records)
    return {"trials": len(records), "training_seconds": busy, "wall_seconds": wall_seconds,
            "speedup": busy / wall_seconds if wall_seconds > 0 else math.nan,
            "overhead_seconds": wall_seconds - busy / workers}


def same_trials(records_a: list[dict[str, Any]], records_b: list[dict[str, Any]]) -> bool:
    """Whether two searches tried the same hyperparameters (in any order)."""
    def key(record: dict[str, Any]) -> tuple:
        values = record["hyperparameters"]
        return tuple(sorted((name, round(value, 12) if isinstance(value, float) else value)
                            for name, value in values.items()))

    return sorted(map(key, records_a)) == sorted(map(key, records_b))


def side_by_side(records_a: list[dict[str, Any]],
                 records_b: list[dict[str, Any]]) -> list[tuple[int, float | None, float | None]]:
    """(trial, score in a, score in b) for two searches of the same trials, by trial number.

    A score is None where that trial did not complete (diverged, pruned, failed)."""
    def scores(records: list[dict[str, Any]]) -> dict[int, float | None]:
        return {r["trial"]: r["score"] if r["status"] == "completed" else None for r in records}

    a, b = scores(records_a), scores(records_b)
    if a.keys() != b.keys():
        raise ValueError(f"the searches have different trials: {sorted(a)} and {sorted(b)}")
    return [(trial, a[trial], b[trial]) for trial in sorted(a)]


def plot_side_by_side(pairs: list[tuple[int, float | None, float | None]], label_a: str,
                      label_b: str, objective: str):
    """Each trial's score in one search against the other's: on the diagonal, trained alike."""
    import matplotlib.pyplot as plt

    both = [(x, y) for _, x, y in pairs if x is not None and y is not None]
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    if both:
        xs, ys = zip(*both)
        low, high = min(xs + ys), max(xs + ys)
        ax.plot([low, high], [low, high], color="grey", lw=1, label="the same score")
        ax.scatter(xs, ys, s=30, zorder=3, label=f"a trial ({len(both)})")
    ax.set_xlabel(f"{objective}, {label_a}")
    ax.set_ylabel(f"{objective}, {label_b}")
    ax.set_title("each trial, trained both ways")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
