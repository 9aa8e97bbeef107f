"""Notebook 5: the week's search methods on a learner's own `build(hp)`, on images.

`run`, `judge` and `scored` search and score any tuner; `round_rows`, `format_rounds` and
`plot_boxes` read coarse to fine's boxes; `hyperband_against_pruned` gives KerasTuner's Hyperband
and a pruned random search the same epochs (benchmarks/bench_own_model.py's idea); the contests
(`grid_against_random`, `pbt_against_random`) run on `contest_data`: keras:fashion_mnist when
its files are in Keras's cache, else the digits.
"""

from __future__ import annotations

import math
import os
import statistics
import time
import warnings
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


# Keras 3's warning when KerasTuner loads a checkpoint into a model whose optimizer is not built
# (load_model, Hyperband's continued trials): the optimizer's state is dropped. The notebook says so.
UNBUILT_OPTIMIZER = "Skipping variable loading for optimizer"


def run(tuner: kt.Tuner, data: Dataset, epochs: int | None = None) -> None:
    """tuner.search on the training split, validated on the validation split (then, for
    tfweek3's tuners, `tuner.results()` reads the search back)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", UNBUILT_OPTIMIZER)
        tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                     verbose=0, **({"epochs": epochs} if epochs else {}))


def judge(tuner: kt.Tuner, data: Dataset) -> dict[str, Any]:
    """The best trial's validation score (what the search chose it by), its model's accuracy on
    the test split (which no search sees) and its hyperparameters; tfweek3's ranking if any."""
    best = tuner.results().best if hasattr(tuner, "results") else None
    trial = (tuner.oracle.get_trial(best["trial_id"]) if best is not None
             else tuner.oracle.get_best_trials(1)[0])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", UNBUILT_OPTIMIZER)
        model = tuner.load_model(trial)
    test = model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)["accuracy"]
    return {"val": float(trial.score), "test": float(test),
            "best_values": dict(trial.hyperparameters.values)}


def scored(tuner: kt.Tuner, data: Dataset, epochs: int | None, **row: Any) -> dict[str, Any]:
    """Search, then one row: `row`, judge's, the epochs trained, the trials and the seconds."""
    start = time.perf_counter()
    run(tuner, data, epochs)
    return {**row, **judge(tuner, data), "epochs": epochs_trained(tuner.oracle),
            "trials": len(tuner.oracle.trials), "seconds": time.perf_counter() - start}


def epochs_trained(oracle: kt.Oracle) -> int:
    """Epochs a search's trials trained (a continued Hyperband trial: the epochs it added)."""
    total = 0
    for trial in oracle.trials.values():
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:
            total += values["tuner/epochs"] - values["tuner/initial_epoch"]
        elif trial.metrics.exists("epoch/val_accuracy"):
            total += len(trial.metrics.get_history("epoch/val_accuracy"))
    return total


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
        best, median = (f"{row[k]:.3f}" if row[k] is not None else "-" for k in ("best", "median"))
        lines.append(f"round {row['round']}: {row['trials']} trials, best {best}, median {median}")
        lines += [f"    {name:<15} [{low:.3g}, {high:.3g}]"
                  for name, (low, high) in row["box"].items()]
    return "\n".join(lines)


def plot_boxes(result: SearchResult, boxes: Sequence[dict[str, Any]],
               x: str = "learning_rate", y: str = "one_minus_beta"):
    """Left: the trials in the (x, y) plane, log axes, each round's box and colour, the best
    a star. Right: the score against x, on round 1's range. Returns the Figure."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    x_low, x_high = box_ranges(boxes[0])[x]  # round 1's box: the declared range
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
                      s=26, color=colour)
    if result.best is not None:
        values = result.best["hyperparameters"]
        left.scatter([values[x]], [values[y]], marker="*", s=260, color="gold",
                     edgecolor="black", zorder=4, label="best")
    for ax, ylabel, title in ((left, y, "each round draws inside its box"),
                              (right, result.objective, "score of each completed trial")):
        ax.set(xscale="log", xlabel=x, ylabel=ylabel, xlim=(x_low / 1.5, x_high * 1.5))
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    left.set_yscale("log")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=len(boxes) + 1,
               fontsize=8)
    return fig


class EpochBudget(RandomSearch):
    """RandomSearch that hands out no trial once the next one, of the search's `epochs`, could
    take the epochs trained past `budget` (tfweek3's tuners have no epoch budget of their own)."""

    def __init__(self, *args, budget: int, **kwargs):
        super().__init__(*args, max_trials=budget, **kwargs)
        self.budget = budget

    def on_trial_end(self, trial) -> None:
        super().on_trial_end(trial)
        if epochs_trained(self.oracle) + (self.epochs or 1) > self.budget:
            self.oracle.max_trials = len(self.oracle.trials)  # the oracle stops at that count


def hyperband_against_pruned(build: Build, load: Callable[[int], Dataset], seeds: int,
                             epochs: int, directory: str) -> list[dict[str, Any]]:
    """Per seed: KerasTuner's Hyperband (max_epochs `epochs`, factor 3, one iteration), then
    RandomSearch(prune="median") with trials of `epochs` epochs within the epochs it trained."""
    rows = []
    for seed in range(seeds):
        data = load(seed)
        common = {"objective": "val_accuracy", "seed": seed + 1, "overwrite": True,
                  "directory": os.path.join(directory, f"seed_{seed}")}
        keras.utils.set_random_seed(seed)  # KerasTuner's tuners do not seed the trials' weights
        hyperband = kt.Hyperband(build, max_epochs=epochs, factor=3, hyperband_iterations=1,
                                 project_name="hyperband", **common)
        rows.append(scored(hyperband, data, None, seed=seed, method="Hyperband"))
        pruned = EpochBudget(build, budget=rows[-1]["epochs"], prune="median",
                             project_name="pruned_random", tensorboard=False,
                             write_results=False, **common)
        rows.append(scored(pruned, data, epochs, seed=seed, method="pruned random"))
    return rows


def contest_spec(name: str = LARGER) -> str:
    """keras:NAME when all its files are in Keras's cache (nothing is downloaded), else digits."""
    folder = keras_data.cache_folder(name)
    there = all(os.path.exists(os.path.join(folder, f)) for f in keras_data.SETS[name].files)
    return f"keras:{name}" if there else "digits"


def data_note(spec: str, limits: dict[str, int] = LIMITS) -> str:
    """One sentence on which data the contests ran, and why."""
    if spec == "digits":
        return (f"keras:{LARGER} is not in Keras's cache ({keras_data.cache_folder(LARGER)}), "
                "and nothing is downloaded here: the contests run on the digits as 8x8x1 images")
    return (f"{spec} is in Keras's cache: the contests run on a random subset of it "
            f"(at most {limits['train']} training, {limits['val']} validation and "
            f"{limits['test']} test images)")


def contest_data(spec: str, seed: int, limits: dict[str, int] = LIMITS) -> Dataset:
    """The contests' data for one seed: the digits whole, a larger set cut to `limits`."""
    data = load_dataset(spec, seed=seed, layout="images")
    if spec == "digits":
        return data
    rng = np.random.default_rng(seed)
    keep = {split: rng.permutation(len(getattr(data, f"y_{split}")))[:limit]
            for split, limit in limits.items()}
    return replace(data, **{f"{xy}_{split}": getattr(data, f"{xy}_{split}")[rows]
                            for split, rows in keep.items() for xy in "xy"})


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
    build(hp) declares, both with `fixed` held; scored's rows, with `tried`: how many values
    of the grid's first hyperparameter the search tried."""
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
            rows.append(scored(tuner, data, epochs, seed=seed, method=method))
            rows[-1]["tried"] = len({t.hyperparameters.values[first]
                                     for t in tuner.oracle.trials.values()})
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
        random = RandomSearch(build, max_trials=population, project_name=f"random_{seed}",
                              **common)
        rows.append(scored(random, data, epochs, seed=seed, method="random"))
        pbt = PopulationBasedTraining(build, population=population, epochs=epochs,
                                      ready_epochs=ready_epochs, project_name=f"pbt_{seed}",
                                      **common)
        rows.append(scored(pbt, data, None, seed=seed, method="pbt"))
    return rows


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: mean validation and test accuracy over the seeds, the test's sd, mean
    seconds, and in how many seeds its test (val) accuracy was the best (ties: each)."""
    best = {(r["seed"], key): max(o[key] for o in rows if o["seed"] == r["seed"])
            for r in rows for key in ("val", "test")}
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
    """A panel per contest (title -> rows): each seed's test accuracy per method; the Figure."""
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
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=max(len(labels), 1), fontsize=8)
    return fig
