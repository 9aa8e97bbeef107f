"""Notebook 5: the week's search methods on a model of your own, written the KerasTuner way.

The model is a learner's `build(hp)` (a small convnet in the notebook), the data
`load_dataset(..., layout="images")` (8x8x1 digits, integer labels). Here:

* `run`: one of tfweek3's tuners searched on a Dataset, its SearchResult back;
  `judge`: its best trial's validation score and its model's test accuracy;
* `round_rows`, `format_rounds`, `plot_boxes`: coarse to fine's box in each round;
* `hyperband_against_pruned`: KerasTuner's Hyperband, then tfweek3's RandomSearch
  with median pruning given no more epochs than Hyperband trained (the idea of
  benchmarks/bench_own_model.py);
* `contest_data`: keras:fashion_mnist when its files are in Keras's cache (a
  subset, for time), otherwise the digits; `data_note` says which;
* `grid_against_random` (the note's picture: a grid over alpha and a
  hyperparameter that matters less, against as many random trials) and
  `pbt_against_random` (the same epochs each), seed by seed; `summarize`,
  `format_summary` and `plot_contests` read them.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from tfweek3.training import keras_data
from tfweek3.training.data import Dataset, load_dataset
from tfweek3.tuning.pbt_tuner import PopulationBasedTraining
from tfweek3.tuning.random_search import GridSearch, RandomSearch
from tfweek3.tuning.results import SearchResult

Build = Callable[[kt.HyperParameters], Any]   # build(hp) -> a compiled keras.Model
LARGER = "fashion_mnist"                      # keras:fashion_mnist, when it is in the cache
LIMITS = {"train": 6000, "val": 1500, "test": 2000}  # its subset: a search takes minutes


def run(tuner: kt.Tuner, data: Dataset, epochs: int | None = None) -> None:
    """tuner.search on the data's training split, validated on its validation split (then
    `tuner.results()`, for tfweek3's tuners, reads the search back)."""
    fit = {"validation_data": (data.x_val, data.y_val), "verbose": 0}
    tuner.search(data.x_train, data.y_train, **fit, **({"epochs": epochs} if epochs else {}))


def test_accuracy(model: Any, data: Dataset) -> float:
    """A model's accuracy on the test split, which no search sees."""
    return float(model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)["accuracy"])


def judge(tuner: kt.Tuner, data: Dataset) -> dict[str, float]:
    """The best trial's validation score (what the search chose it by) and its model's test
    accuracy. tfweek3's tuners: their ranking (completed before pruned; PBT: the best member
    after its last epoch); KerasTuner's: the oracle's best trial."""
    if hasattr(tuner, "results"):
        best = tuner.results().best
        trial = tuner.oracle.get_trial(best["trial_id"])
    else:
        trial = tuner.oracle.get_best_trials(1)[0]
    return {"val": float(trial.score), "test": test_accuracy(tuner.load_model(trial), data)}


def epochs_trained(oracle: kt.Oracle) -> int:
    """Epochs a search's trials trained; a Hyperband trial continued from a checkpoint counts
    only the epochs it added."""
    total = 0
    for trial in oracle.trials.values():
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:
            total += values["tuner/epochs"] - values["tuner/initial_epoch"]
        elif trial.metrics.exists("epoch/val_accuracy"):
            total += len(trial.metrics.get_history("epoch/val_accuracy"))
    return total


# --- coarse to fine ---------------------------------------------------------------------------

def box_ranges(box: dict[str, Any]) -> dict[str, tuple]:
    """A box (a HyperParameters config): name -> (low, high) of each Float or Int that varies."""
    ranges = {}
    for entry in box["space"]:
        config = entry["config"]
        if entry["class_name"] in ("Float", "Int") and config["min_value"] < config["max_value"]:
            ranges[config["name"]] = (config["min_value"], config["max_value"])
    return ranges


def round_rows(result: SearchResult, boxes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per round: its box, its trials, the best and median score of those completed."""
    rows = []
    for number, box in enumerate(boxes, start=1):
        mine = [r for r in result.records if r["round"] == number]
        scores = [r["score"] for r in mine if r["status"] == "completed"]
        rows.append({"round": number, "box": box_ranges(box), "trials": len(mine),
                     "best": max(scores) if scores else None,
                     "median": float(np.median(scores)) if scores else None})
    return rows


def format_rounds(rows: Sequence[dict[str, Any]]) -> str:
    """round_rows as text: each round's best and median, then its box, one range a line."""
    lines = []
    for row in rows:
        best = "-" if row["best"] is None else f"{row['best']:.3f}"
        median = "-" if row["median"] is None else f"{row['median']:.3f}"
        lines.append(f"round {row['round']}: {row['trials']} trials, best {best}, "
                     f"median {median}")
        lines += [f"    {name:<15} [{low:.3g}, {high:.3g}]"
                  for name, (low, high) in row["box"].items()]
    return "\n".join(lines)


def plot_boxes(result: SearchResult, boxes: Sequence[dict[str, Any]],
               x: str = "learning_rate", y: str = "one_minus_beta"):
    """Left: the trials in the (x, y) plane, log axes, each round's box and colour, the best
    a star. Right: the score against x. Returns the Figure."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for number, box in enumerate(boxes, start=1):
        colour = colours[(number - 1) % len(colours)]
        ranges = box_ranges(box)
        (x0, x1), (y0, y1) = ranges.get(x, (math.nan,) * 2), ranges.get(y, (math.nan,) * 2)
        left.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.8,
                                 edgecolor=colour, label=f"round {number} box"))
        mine = [r for r in result.records if r["round"] == number]
        left.scatter([r["hyperparameters"][x] for r in mine],
                     [r["hyperparameters"][y] for r in mine], s=26, color=colour, zorder=3)
        done = [r for r in mine if r["status"] == "completed"]
        right.scatter([r["hyperparameters"][x] for r in done], [r["score"] for r in done],
                      s=26, color=colour, label=f"round {number}")
    if result.best is not None:
        values = result.best["hyperparameters"]
        left.scatter([values[x]], [values[y]], marker="*", s=260, color="gold",
                     edgecolor="black", zorder=4, label="best")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.grid(alpha=0.3)
    left.set_yscale("log")
    left.set_ylabel(y)
    left.set_title("each round draws inside its box", fontsize=10)
    right.set_ylabel(result.objective)
    right.set_title("score of each completed trial", fontsize=10)
    left.legend(fontsize=8, loc="lower left")
    right.legend(fontsize=8)
    return fig


# --- KerasTuner's Hyperband beside tfweek3's pruned random search ---------------------------

def hyperband_against_pruned(build: Build, load: Callable[[int], Dataset], seeds: int,
                             epochs: int, directory: str) -> list[dict[str, Any]]:
    """Per seed, KerasTuner's Hyperband (max_epochs `epochs`, factor 3, one iteration), then
    RandomSearch(prune="median") with trials of `epochs` epochs added while the next one would
    not take the epochs trained past Hyperband's. Rows: val, test, epochs, trials, seconds."""
    rows = []
    for seed in range(seeds):
        data = load(seed)
        common = {"objective": "val_accuracy", "seed": seed + 1,
                  "directory": os.path.join(directory, f"seed_{seed}")}
        keras.utils.set_random_seed(seed)  # KerasTuner's tuners do not seed the trials' weights
        start = time.perf_counter()
        hyperband = kt.Hyperband(build, max_epochs=epochs, factor=3, hyperband_iterations=1,
                                 project_name="hyperband", overwrite=True, **common)
        run(hyperband, data)
        budget = epochs_trained(hyperband.oracle)
        rows.append({"seed": seed, "method": "Hyperband", **judge(hyperband, data),
                     "epochs": budget, "trials": len(hyperband.oracle.trials),
                     "seconds": time.perf_counter() - start})
        start = time.perf_counter()
        trials = first = max(1, budget // epochs)
        while True:  # pruned trials leave epochs over: one more trial while it fits the budget
            pruned = RandomSearch(build, max_trials=trials, prune="median", tensorboard=False,
                                  project_name="pruned_random", write_results=False,
                                  overwrite=trials == first, **common)
            run(pruned, data, epochs)
            if epochs_trained(pruned.oracle) + epochs > budget:
                break
            trials += 1
        rows.append({"seed": seed, "method": "pruned random", **judge(pruned, data),
                     "epochs": epochs_trained(pruned.oracle), "trials": len(pruned.oracle.trials),
                     "seconds": time.perf_counter() - start})
    return rows


# --- the contests, on larger data when it is there --------------------------------------------

def in_keras_cache(name: str = LARGER) -> bool:
    """Whether every file of keras:NAME is in Keras's cache (nothing is downloaded)."""
    folder = keras_data.cache_folder(name)
    return all(os.path.exists(os.path.join(folder, f)) for f in keras_data.SETS[name].files)


def contest_spec() -> str:
    """The data the contests run on: keras:fashion_mnist when it is in the cache, else digits."""
    return f"keras:{LARGER}" if in_keras_cache(LARGER) else "digits"


def data_note(spec: str) -> str:
    """One sentence on which data the contests ran, and why."""
    if spec == "digits":
        return (f"keras:{LARGER} is not in Keras's cache ({keras_data.cache_folder(LARGER)}), "
                "and nothing is downloaded here: the contests run on the digits as 8x8x1 images")
    return (f"{spec} is in Keras's cache: the contests run on a random subset of it "
            f"({LIMITS['train']} training, {LIMITS['val']} validation, {LIMITS['test']} test "
            "images)")


def contest_data(spec: str, seed: int) -> Dataset:
    """The contests' data for one seed: the digits whole, a larger set cut to LIMITS."""
    data = load_dataset(spec, seed=seed, layout="images")
    if spec == "digits":
        return data
    rng = np.random.default_rng(seed)
    cut = {}
    for split, limit in LIMITS.items():
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        keep = rng.permutation(len(x))[:limit]
        cut[f"x_{split}"], cut[f"y_{split}"] = x[keep], y[keep]
    return replace(data, **cut)


def preset(fixed: dict[str, Any], grid: dict[str, tuple] | None = None) -> kt.HyperParameters:
    """Hyperparameters declared before build(hp) runs: `fixed` as Fixed, each of `grid` a Float
    (low, high, step, sampling) with a step, which a grid walks (step x10 on a log scale)."""
    hp = kt.HyperParameters()
    for name, (low, high, step, sampling) in (grid or {}).items():
        hp.Float(name, low, high, step=step, sampling=sampling)
    for name, value in fixed.items():
        hp.Fixed(name, value)
    return hp


def grid_size(grid: dict[str, tuple]) -> int:
    """How many points the grid has: the product of each Float's number of values."""
    return math.prod(len(list(hp.values)) for hp in preset({}, grid).space)


def grid_against_random(build: Build, load: Callable[[int], Dataset], seeds: int,
                        epochs: int, grid: dict[str, tuple], fixed: dict[str, Any],
                        directory: str) -> list[dict[str, Any]]:
    """Per seed, GridSearch over `grid` and RandomSearch with as many trials over the ranges
    build(hp) declares, both with `fixed` held; rows: val, test, the values of the first
    grid hyperparameter tried (`values`), seconds."""
    rows = []
    first = next(iter(grid))
    for seed in range(seeds):
        data = load(seed)
        for method in ("grid", "random"):
            kind = GridSearch if method == "grid" else RandomSearch
            tuner = kind(build, objective="val_accuracy", max_trials=grid_size(grid),
                         hyperparameters=preset(fixed, grid if method == "grid" else None),
                         tune_new_entries=method == "random", seed=seed + 1,
                         directory=directory, project_name=f"{method}_{seed}", overwrite=True,
                         tensorboard=False, write_results=False)
            start = time.perf_counter()
            run(tuner, data, epochs)
            tried = {t.hyperparameters.values[first] for t in tuner.oracle.trials.values()}
            rows.append({"seed": seed, "method": method, **judge(tuner, data),
                         "values": len(tried), "seconds": time.perf_counter() - start})
    return rows


def pbt_against_random(build: Build, load: Callable[[int], Dataset], seeds: int,
                       population: int, epochs: int, ready_epochs: int,
                       directory: str) -> list[dict[str, Any]]:
    """Per seed, RandomSearch (`population` trials of `epochs` epochs) and PopulationBasedTraining
    (`population` members of `epochs` epochs, a step every `ready_epochs`): the same epochs."""
    rows = []
    for seed in range(seeds):
        data = load(seed)
        common = {"objective": "val_accuracy", "seed": seed + 1, "directory": directory,
                  "overwrite": True, "tensorboard": False, "write_results": False}
        for method in ("random", "pbt"):
            if method == "random":
                tuner = RandomSearch(build, max_trials=population,
                                             project_name=f"random_{seed}", **common)
            else:
                tuner = PopulationBasedTraining(
                    build, population=population, epochs=epochs, ready_epochs=ready_epochs,
                    project_name=f"pbt_{seed}", **common)
            start = time.perf_counter()
            run(tuner, data, epochs)
            rows.append({"seed": seed, "method": method, **judge(tuner, data),
                         "epochs": epochs_trained(tuner.oracle),
                         "seconds": time.perf_counter() - start})
    return rows


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: mean validation and test accuracy over the seeds, the test's sd, mean
    seconds, and in how many seeds its test (val) accuracy was the best (ties: each)."""
    seeds = sorted({r["seed"] for r in rows})
    best = {(s, key): max(r[key] for r in rows if r["seed"] == s)
            for s in seeds for key in ("val", "test")}
    table = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        tests = [r["test"] for r in mine]
        table.append({"method": method, "seeds": len(mine),
                      "val": statistics.mean(r["val"] for r in mine),
                      "test": statistics.mean(tests),
                      "test_sd": statistics.stdev(tests) if len(tests) > 1 else 0.0,
                      "seconds": statistics.mean(r["seconds"] for r in mine),
                      "test_wins": sum(r["test"] >= best[r["seed"], "test"] for r in mine),
                      "val_wins": sum(r["val"] >= best[r["seed"], "val"] for r in mine)})
    return table


def format_summary(table: Sequence[dict[str, Any]]) -> str:
    """summarize's table as text."""
    lines = [f"{'method':<7} {'val':>6} {'test':>6} {'test sd':>7}  best val  best test  seconds"]
    lines += [f"{t['method']:<7} {t['val']:>6.4f} {t['test']:>6.4f} {t['test_sd']:>7.4f}  "
              f"{t['val_wins']:>3} of {t['seeds']:<2} {t['test_wins']:>3} of {t['seeds']:<3} "
              f"{t['seconds']:>7.0f}" for t in table]
    return "\n".join(lines)


def plot_contests(contests: dict[str, Sequence[dict[str, Any]]]):
    """One panel per contest (title -> rows): each seed's test accuracy per method, a line per
    seed; returns the Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5 * len(contests), 3.6), layout="constrained")
    for ax, (title, rows) in zip(fig.subplots(1, len(contests), squeeze=False)[0],
                                 contests.items()):
        methods = list(dict.fromkeys(r["method"] for r in rows))
        for seed in sorted({r["seed"] for r in rows}):
            tests = {r["method"]: r["test"] for r in rows if r["seed"] == seed}
            ax.plot(range(len(methods)), [tests[m] for m in methods], marker="o", alpha=0.75,
                    label=f"seed {seed}")
        ax.set_xticks(range(len(methods)), methods)
        ax.set_xlim(-0.4, len(methods) - 0.6)
        ax.set_ylabel("test accuracy of the best model")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig
