"""Pandas, caviar, and both at once, given the same number of training epochs (notebook 1).

The budget is P models x E epochs. Three ways to spend it on the digits:

* caviar: a random search, P trials of E epochs each (`tfweek3 tune`);
* pandas + caviar: population-based training, P members of E epochs each, the
  worst copying the best every K epochs (`tfweek3 tune --strategy pbt`);
* pandas: one model trained for P x E epochs, babysat by a rule (`AutoSitter`):
  start from alpha in the middle of its range and beta = 0.9; when the
  validation accuracy has not improved for 3 days (epochs), halve alpha; when
  a day went badly, roll back to the best day and halve alpha.

Each is judged on the validation set, which chose it, and on the test set,
which nothing saw: the random search's best trial is trained again (the same
seed gives the same run); PBT's winner is restored from its last checkpoint,
and its schedule is also replayed on a fresh model; the babysat model is
evaluated as it ends. All three are judged on their weights after the last
epoch.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

from tfweek3.search.babysit import CONTROL_FILE, BabysitConfig, babysit
from tfweek3.search.config import SearchConfig
from tfweek3.search.run import collect, perturbed, project_of, run_search
from tfweek3.search.schedule import SCHEDULE_FILE, winner_checkpoint
from tfweek3.search.space import BATCH_NORM_LAYER, SearchSpace
from tfweek3.training.data import Dataset, load_dataset
from tfweek3.training.loop import DivergedError
from tfweek3.training.schedule import load_schedule, train_on_schedule
from tfweek3.tuning.pbt_results import all_copies, lineage, plot_schedules
from tfweek3.tuning.results import SearchResult

METHODS = ("random", "pbt", "pbt replay", "babysat")
LECTURE_BETA = 0.9  # "beta = 0.9 is a good default" (the lecture on momentum)


class AutoSitter:
    """A babysitter by rule, passed as `babysit(..., before_epoch=sitter)`: one day is one epoch.

    Before each day it reads yesterday's validation accuracy from history.csv:
    a new best is remembered; `drop` below the best day, it rolls back to the
    best day and halves alpha; after `patience` days without a new best, it
    halves alpha, never below `floor` (the bottom of the searched range).
    After `budget` days trained (rolled-back days count: they were trained)
    it writes stop.
    """

    def __init__(self, directory: str | Path, budget: int, learning_rate: float,
                 patience: int = 3, drop: float = 0.02, factor: float = 0.5,
                 floor: float = 0.0):
        self.directory = Path(directory)
        self.budget = budget
        self.learning_rate, self.floor = learning_rate, floor
        self.patience, self.drop, self.factor = patience, drop, factor
        self.days = 0
        self.rollbacks = 0
        self.best, self.best_epoch, self.since_best = -math.inf, 0, 0
        self._after_divergence: list[str] = []

    def __call__(self, epoch: int) -> None:
        lines, self._after_divergence = self._after_divergence, []
        if epoch > 1 and not lines:  # yesterday's row; after a divergence it was judged already
            val = self._val_accuracy(epoch - 1)
            if val > self.best:
                self.best, self.best_epoch, self.since_best = val, epoch - 1, 0
            elif val < self.best - self.drop:
                lines = self._back_to_best()
            else:
                self.since_best += 1
                if self.since_best >= self.patience:
                    lines = self._halve()
        if self.days >= self.budget:
            lines = ["stop"]
        else:
            self.days += 1
        if lines:
            (self.directory / CONTROL_FILE).write_text("\n".join(lines) + "\n")

    def diverged(self) -> None:
        """The day's loss became NaN or inf: tomorrow starts from the best day, alpha halved."""
        self._after_divergence = self._back_to_best()

    def _back_to_best(self) -> list[str]:
        self.rollbacks += 1
        lines = [f"rollback {self.best_epoch}"] if self.best_epoch >= 1 else []
        return lines + self._halve()

    def _halve(self) -> list[str]:
        self.since_best = 0
        if self.learning_rate <= self.floor:
            return []
        self.learning_rate = max(self.floor, self.learning_rate * self.factor)
        return [f"learning_rate {self.learning_rate!r}"]

    def _val_accuracy(self, epoch: int) -> float:
        rows = (self.directory / "history.csv").read_text().splitlines()
        header = rows[0].split(",")
        values = dict(zip(header, rows[epoch].split(",")))
        return float(values["val_accuracy"])


def middle(low: float, high: float) -> float:
    """The middle of a log-scale range: where a person with no better idea starts."""
    return math.sqrt(low * high)


def babysat(space: SearchSpace, budget: int, data: Dataset, seed: int,
            directory: str) -> dict[str, Any]:
    """One model of the space's (fixed) architecture, babysat by AutoSitter for `budget` epochs.

    The architecture, optimizer and mini-batch size are the space's first
    values (give a space that fixes them). alpha starts in the middle of its
    range on the log scale, beta at the lecture's default, 0.9. (Not 0.99, the
    middle of 1 - beta's range: Keras's momentum keeps alpha inside its
    velocity, v = beta v - alpha dW, W += v, so after a rollback a velocity
    built with the old alpha pushes the weights for about 1 / (1 - beta) steps
    whatever the new alpha; with 0.99 the rolled-back day went as badly again
    and again, however low alpha went.)
    """
    from tfweek3.training.evaluation import evaluate

    config = BabysitConfig(
        directory=directory, dataset=data.name, epochs=budget,  # data.name: the spec it came from
        learning_rate=middle(*space.learning_rate),
        beta=LECTURE_BETA, optimizer=space.optimizer[0],
        hidden_units=(space.units[0],) * space.layers[0],
        batch_norm=BATCH_NORM_LAYER if space.batch_norm[0] else "none",
        batch_size=space.batch_size[0], seed=seed)
    sitter = AutoSitter(directory, budget, config.learning_rate, floor=space.learning_rate[0])
    first = True
    while True:
        try:
            result = babysit(config, overwrite=first, before_epoch=sitter, log=lambda line: None)
            break
        except DivergedError:
            sitter.diverged()
        first = False
    if result.train_result is None:  # the budget ran out on a divergence: the last good epoch
        result.train_result = _restore(config, data, result.epochs_done)
    model, history = result.train_result.model, result.train_result.history
    return {"val": history["val_accuracy"][-1],
            "test": evaluate(model, data.x_test, data.y_test)["accuracy"],
            "epochs": sitter.days, "rollbacks": sitter.rollbacks,
            "final_learning_rate": history["learning_rate"][-1]}


def _restore(config: BabysitConfig, data: Dataset, epochs: int):
    """The babysat model as its last checkpoint holds it (train 0 more epochs from it)."""
    import keras

    from tfweek3.training.loop import train
    from tfweek3.training.network import build_network

    keras.utils.set_random_seed(config.seed)
    model = build_network(data.input_dim, data.num_classes, config.hidden_units,
                          config.batch_norm, seed=config.seed)
    return train(model, data, epochs=epochs, batch_size=config.batch_size,
                 optimizer=config.optimizer, learning_rate=config.learning_rate,
                 beta=config.beta, seed=config.seed, resume=True, verbose=0,
                 checkpoint_dir=os.path.join(config.directory, "checkpoints"))


def retrain_test(record: dict[str, Any], config: SearchConfig, data: Dataset) -> dict[str, float]:
    """Train a random-search trial again (the same seed: the same run) and score its last epoch."""
    import keras

    from tfweek3.training.evaluation import evaluate
    from tfweek3.training.loop import train
    from tfweek3.training.network import build_network

    keras.utils.set_random_seed(config.seed)
    model = build_network(data.input_dim, data.num_classes, (record["units"],) * record["layers"],
                          BATCH_NORM_LAYER if record["batch_norm"] else None, seed=config.seed)
    result = train(model, data, epochs=config.epochs, batch_size=record["batch_size"],
                   optimizer=record["optimizer"], learning_rate=record["learning_rate"],
                   beta=record["beta"], seed=config.seed, verbose=0)
    return {"val": result.history["val_accuracy"][-1],
            "test": evaluate(model, data.x_test, data.y_test)["accuracy"]}


def winner_test(record: dict[str, Any], config: SearchConfig, data: Dataset) -> dict[str, float]:
    """PBT's winner, restored from its last checkpoint, on the validation and test sets."""
    import keras

    from tfweek3.training.evaluation import evaluate
    from tfweek3.training.network import build_network

    model = build_network(data.input_dim, data.num_classes, (record["units"],) * record["layers"],
                          BATCH_NORM_LAYER if record["batch_norm"] else None)
    keras.utils.set_random_seed(config.seed)
    model.load_weights(winner_checkpoint(config, record), skip_mismatch=False)
    return {"val": evaluate(model, data.x_val, data.y_val)["accuracy"],
            "test": evaluate(model, data.x_test, data.y_test)["accuracy"]}


def replay_test(schedule_file: str, data: Dataset, seed: int, directory: str) -> dict[str, float]:
    """PBT's best schedule replayed on a fresh model (tfweek3 train --schedule), scored at the end."""
    import keras

    from tfweek3.training.evaluation import evaluate
    from tfweek3.training.network import build_network

    schedule = load_schedule(schedule_file)
    keras.utils.set_random_seed(seed)
    model = build_network(data.input_dim, data.num_classes, schedule.hidden_units,
                          schedule.batch_norm, seed=seed)
    result = train_on_schedule(model, data, schedule, checkpoint_dir=directory, seed=seed,
                               verbose=0)
    return {"val": result.history["val_accuracy"][-1],
            "test": evaluate(model, data.x_test, data.y_test)["accuracy"]}


def search_config(strategy: str, seed: int, population: int, epochs: int, ready_epochs: int,
                  space: SearchSpace, directory: str, dataset: str = "digits") -> SearchConfig:
    """The search `contest` runs for one strategy ("random" or "pbt") and seed, in
    directory/STRATEGY_SEED: `population` trials or members of `epochs` epochs each."""
    return SearchConfig(strategy=strategy, epochs=epochs, trials=population,
                        population=population, ready_epochs=ready_epochs, space=space,
                        seed=seed, dataset=dataset, tensorboard=False,
                        directory=os.path.join(directory, f"{strategy}_{seed}"))


def contest(seeds: int, population: int, epochs: int, ready_epochs: int, space: SearchSpace,
            directory: str, *, dataset: str = "digits", with_babysitter: bool = True,
            log=print) -> list[dict[str, Any]]:
    """Random search, PBT (and its replay) and, optionally, one babysat model, seed by seed.

    Every method gets population x epochs training epochs. Returns one row per
    seed and method: val and test accuracy after the last epoch, the seconds
    it took, and for PBT the copies made.
    """
    rows = []
    for seed in range(seeds):
        data = load_dataset(dataset, seed=seed)
        mine = []
        for strategy in ("random", "pbt"):
            config = search_config(strategy, seed, population, epochs, ready_epochs, space,
                                   directory, dataset=dataset)
            start = time.perf_counter()
            result = run_search(config, overwrite=True, log=lambda line: None)
            seconds = time.perf_counter() - start
            if strategy == "random":
                mine.append({"method": "random", "seconds": seconds,
                             "selected_score": result.best["score"],
                             **retrain_test(result.best, config, data)})
                continue
            mine.append({"method": "pbt", "seconds": seconds,
                         "copies": all_copies(result.records),
                         "selected_score": result.best["score"],
                         **winner_test(result.best, config, data)})
            start = time.perf_counter()
            replay = replay_test(os.path.join(config.directory, SCHEDULE_FILE), data, seed,
                                 os.path.join(directory, f"replay_{seed}"))
            mine.append({"method": "pbt replay", "seconds": time.perf_counter() - start,
                         **replay})
        if with_babysitter:
            start = time.perf_counter()
            sat = babysat(space, population * epochs, data, seed,
                          os.path.join(directory, f"babysat_{seed}"))
            mine.append({"method": "babysat", "seconds": time.perf_counter() - start, **sat})
        for row in mine:
            row["seed"] = seed
            log(f"seed {seed} {row['method']:>10}: val {row['val']:.4f} test {row['test']:.4f} "
                f"({row['seconds']:.0f} s)")
        rows += mine
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: mean accuracies and seconds over the seeds, and in how many seeds its test
    accuracy was the best of the searches (a replay is not a search of its own)."""
    seeds = sorted({r["seed"] for r in rows})
    best_test = {seed: max(r["test"] for r in rows if r["seed"] == seed
                           and r["method"] != "pbt replay") for seed in seeds}
    table = []
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        tests = [r["test"] for r in mine]
        chosen = [r["selected_score"] for r in mine if "selected_score" in r]
        table.append({
            "method": method, "seeds": len(mine),
            "chosen_by": statistics.mean(chosen) if chosen else None,
            "val": statistics.mean(r["val"] for r in mine),
            "test": statistics.mean(tests),
            "test_sd": statistics.stdev(tests) if len(tests) > 1 else 0.0,
            "seconds": statistics.mean(r["seconds"] for r in mine),
            "wins": (None if method == "pbt replay"
                     else sum(r["test"] >= best_test[r["seed"]] for r in mine))})
    return table


def format_summary(table: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table."""
    header = ("| method | val accuracy it was chosen by | val accuracy, last epoch | "
              "test accuracy (mean +- sd) | seeds with the best test accuracy (ties: each) | "
              "seconds |")
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    for t in table:
        chosen = "-" if t["chosen_by"] is None else f"{t['chosen_by']:.4f}"
        wins = "-" if t["wins"] is None else f"{t['wins']}/{t['seeds']}"
        lines.append(f"| {t['method']} | {chosen} | {t['val']:.4f} | {t['test']:.4f} +- "
                     f"{t['test_sd']:.4f} | {wins} | {t['seconds']:.0f} |")
    return "\n".join(lines)


def population_result(config: SearchConfig) -> SearchResult:
    """The pbt search `contest` ran with `config` (`search_config("pbt", ...)`), read back from
    its folder: its records (one per member's generation), its hyperparameters, its winner."""
    return collect(config, project_of(config))


def plot_population(result: SearchResult, config: SearchConfig):
    """The hyperparameters PBT perturbed, member by member over the epochs, the winner's lineage
    in bold (the search's schedules.png); returns the Figure."""
    chain = lineage(result.records, result.best) if result.best is not None else []
    return plot_schedules(result, config.population_settings(), perturbed(config), chain)


def plot_contest(rows: list[dict[str, Any]]):
    """Test accuracy of each method, seed by seed (one line per seed); returns the Figure."""
    from matplotlib.figure import Figure

    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    for seed in sorted({r["seed"] for r in rows}):
        tests = {r["method"]: r["test"] for r in rows if r["seed"] == seed}
        ax.plot(range(len(methods)), [tests.get(m) for m in methods], marker="o", alpha=0.7,
                label=f"seed {seed}")
    ax.set_xticks(range(len(methods)), methods)
    ax.set_ylabel("test accuracy after the last epoch")
    ax.set_title("the same number of training epochs each", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
