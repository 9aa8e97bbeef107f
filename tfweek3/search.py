"""Hyperparameter search with KerasTuner (course section 1: tuning process).

KerasTuner does the searching: its RandomSearch and GridSearch oracles pick the
hyperparameters, its `Tuner` runs the trials and stores them (one folder per
trial with `trial.json`), and its distributed mode runs many workers against
one oracle (see tfweek3.distributed). This module only wires the week's pieces
into it:

* every trial trains with `tfweek3.training.train`, the GradientTape loop of
  the week, not `Model.fit`; after each epoch its metrics go to the oracle
  (`oracle.update_trial(..., step=epoch)`), and the trial's score is the best
  epoch's value of the objective (validation accuracy by default);
* a trial whose loss becomes NaN or inf (alpha up to 1 does that) is recorded
  as *diverged*: it completes with the worst possible score and the epoch where
  it happened, so the search goes on to the number of trials asked for;
* running the same search again on the same folder continues it: finished
  trials are kept, a trial cut off mid-run (killed process) runs again from
  scratch;
* coarse to fine: rounds of random search, each in its own project folder,
  each round's box narrowed to the best trials of the previous one;
* results: every trial as CSV and JSON, the best hyperparameters, a top-k table
  and a figure of the score against alpha and 1 - beta.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
import math
import os
import queue
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfweek3.search_space import (
    HP_NAMES,
    SearchSpace,
    SearchSpaceError,
    define_hyperparameters,
    narrow_space,
)

if TYPE_CHECKING:
    import keras_tuner

    from tfweek3.data import Dataset

STRATEGIES = ("random", "grid", "coarse-to-fine")
# The objectives a trial can be scored on, with the direction that is better.
OBJECTIVES = {"val_accuracy": "max", "val_loss": "min", "accuracy": "max", "loss": "min"}
REPORTED_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")
# Batch norm in the searched networks is the course's own layer (tfweek3.batch_norm).
BATCH_NORM_LAYER = "manual"
SEARCH_PROJECT = "search"


@dataclass
class SearchConfig:
    """Everything a search needs; `tfweek3 tune` fills it from its flags."""

    strategy: str = "random"
    trials: int = 30
    epochs: int = 10
    dataset: str = "digits"
    directory: str = "runs/tune"
    seed: int = 0
    objective: str = "val_accuracy"
    space: SearchSpace = field(default_factory=SearchSpace)
    grid_points: int = 3          # grid: points per numeric dimension
    rounds: int = 3               # coarse-to-fine: number of rounds
    zoom_k: int = 3               # coarse-to-fine: a round's box spans its best k trials
    margin: float = 0.1           # coarse-to-fine: widening, as a share of the old range
    workers: int = 1              # caviar: worker processes (tfweek3.distributed)
    threads: int | None = None    # TensorFlow threads of this process (None: all)
    top_k: int = 5                # rows of the table printed at the end
    project: str | None = None    # run one KerasTuner project only (used by workers)
    write_results: bool = True    # False in chief/worker processes started by --workers
    tensorboard: bool = True

    @property
    def direction(self) -> str:
        return OBJECTIVES[self.objective]

    def validate(self) -> SearchConfig:
        """Raise SearchSpaceError naming the first bad setting; return self."""
        if self.strategy not in STRATEGIES:
            raise SearchSpaceError(f"strategy: choose among {', '.join(STRATEGIES)}")
        if self.objective not in OBJECTIVES:
            raise SearchSpaceError(f"objective: choose among {', '.join(OBJECTIVES)}")
        for name in ("trials", "epochs", "workers", "rounds", "zoom_k", "top_k"):
            if getattr(self, name) < 1:
                raise SearchSpaceError(f"{name}: must be at least 1")
        if self.grid_points < 2:
            raise SearchSpaceError("grid_points: must be at least 2")
        if self.strategy == "coarse-to-fine" and self.trials < self.rounds:
            raise SearchSpaceError(
                f"trials: {self.trials} trials cannot fill {self.rounds} rounds")
        if not 0 <= self.margin < 1:
            raise SearchSpaceError("margin: must be in [0, 1)")
        self.space.validate()
        return self


def worst_score(direction: str) -> float:
    """The score a diverged trial gets: 0 for an accuracy, +inf for a loss."""
    return 0.0 if direction == "max" else math.inf


# ---------------------------------------------------------------------------
# KerasTuner pieces: the oracles, the hypermodel and the tuner
# ---------------------------------------------------------------------------

def _atomic_write_json(path: str, state: dict) -> None:
    """Write JSON through a temporary file, so a killed process never leaves half a file."""
    tmp = f"{path}.tmp"
    text = json.dumps(state)  # json.dumps uses the C encoder; json.dump(state, f) does not
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _make_oracle_classes():
    """KerasTuner's RandomSearch and GridSearch oracles with four small additions.

    Defined inside a function so that importing this module does not import
    TensorFlow. The additions:

    1. score: a diverged trial (metric `diverged` reported) scores the worst.
    2. resume: on reload, every trial still RUNNING on disk (cut off by a
       killed process) is queued to run again, with the metrics of its cut-off
       run dropped; finished trials are never re-run.
    3. a worker restarted after dying mid-trial asks for a trial with the same
       tuner id; KerasTuner hands it the same trial back, and we drop the
       metrics of the dead run first.
    4. files are written atomically, and GridSearch rebuilds its position in the
       grid on reload (KerasTuner 1.4 does not save it, and would stop early).
    5. update_trial (called at every epoch) costs O(1), not O(epochs so far).
       KerasTuner's own recomputes each metric's best value over the whole
       history, twice; it rewrites the trial's file, whole history included;
       and in a --workers search the chief sends the whole trial back to the
       worker (a worker only needs its status). Quadratic in the number of
       epochs, that made the chief of a --workers search as busy as a worker.
       Ours records the epoch, rewrites trial.json of a running trial for its
       first epoch and then at most once a second (the trial's end writes it
       in full, and a resumed search re-runs a cut-off trial anyway), and
       returns the trial without its history.
    """
    import functools

    import keras_tuner as kt

    running = kt.engine.trial.TrialStatus.RUNNING

    class Week3OracleMixin:
        SAVE_RUNNING_TRIAL_SECONDS = 1.0

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved_at = {}  # trial id -> when update_trial last wrote its trial.json

        def score_trial(self, trial):
            super().score_trial(trial)
            if trial.metrics.exists("diverged"):
                trial.score = worst_score(self.objective.direction)

        def reload(self):
            super().reload()
            self._retry_queue = sorted(
                (trial_id for trial_id, trial in self.trials.items() if trial.status == running),
                reverse=True,  # KerasTuner pops from the end: lowest trial id first
            )
            for trial_id in self._retry_queue:
                _forget_metrics(self.trials[trial_id])

        @kt.synchronized
        def update_trial(self, trial_id, metrics, step=0):
            trial = self.trials[trial_id]
            for name, value in metrics.items():
                if not trial.metrics.exists(name):
                    # As KerasTuner: the objective's direction, "min" for the others.
                    objective = name == self.objective.name
                    trial.metrics.register(name, self.objective.direction if objective else None)
                trial.metrics.metrics[name].update(float(value), step=step)
            now = time.monotonic()
            last_saved = self._saved_at.get(trial_id, -math.inf)
            if step == 0 or now - last_saved >= self.SAVE_RUNNING_TRIAL_SECONDS:
                self._save_trial(trial)
                self._saved_at[trial_id] = now
            return kt.engine.trial.Trial(trial.hyperparameters, trial_id=trial_id,
                                         status=trial.status)

        @kt.synchronized
        def create_trial(self, tuner_id):
            cut_off = self.ongoing_trials.get(tuner_id)
            if cut_off is not None:
                _forget_metrics(cut_off)
            return super().create_trial(tuner_id)

        def save(self):
            _atomic_write_json(self._get_oracle_fname(), self.get_state())

        def _save_trial(self, trial):
            path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
            _atomic_write_json(path, trial.get_state())

    def _forget_metrics(trial):
        trial.metrics = type(trial.metrics)()  # an empty KerasTuner MetricsTracker

    class RandomOracle(Week3OracleMixin, kt.oracles.RandomSearchOracle):
        """KerasTuner's RandomSearchOracle, scoring divergence and resuming as above."""

    class GridOracle(Week3OracleMixin, kt.oracles.GridSearchOracle):
        """KerasTuner's GridSearchOracle, scoring divergence and resuming as above."""

        def reload(self):
            super().reload()
            # Put the trials back in grid order, as GridSearchOracle links them.
            def compare(a, b):
                return self._compare(self.trials[a].hyperparameters.values,
                                     self.trials[b].hyperparameters.values)

            in_order = sorted(self.trials, key=functools.cmp_to_key(compare))
            self._ordered_ids = type(self._ordered_ids)()
            for trial_id in in_order:
                self._ordered_ids.insert(trial_id)
            self._populate_next = list(in_order)

    return RandomOracle, GridOracle


class _EpochReports:
    """Sends a trial's metrics to the oracle, epoch by epoch and in order, from a thread.

    In a --workers search every report is a gRPC round trip to the chief, which
    serves one request at a time; sent from a thread, the next epoch trains
    meanwhile instead of waiting for the answer. `close` waits until every
    report has arrived and raises the first error, if sending failed.
    """

    def __init__(self, oracle: keras_tuner.Oracle, trial_id: str):
        self._oracle = oracle
        self._trial_id = trial_id
        self._queue: queue.Queue = queue.Queue()
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._send_all, daemon=True,
                                        name=f"reports-trial-{trial_id}")
        self._thread.start()

    def send(self, metrics: dict[str, float], step: int) -> None:
        self._queue.put((metrics, step))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _send_all(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                metrics, step = item
                try:
                    self._oracle.update_trial(self._trial_id, metrics, step=step)
                except Exception as error:  # noqa: BLE001 -- re-raised by close(), in the trial
                    self._error = error


def make_tuner(config: SearchConfig, data: Dataset, *, strategy: str, space: SearchSpace,
               trials: int, project: str, label: str = "",
               log: Callable[[str], None] = print) -> keras_tuner.Tuner:
    """A KerasTuner tuner for one project folder, resumed if the folder exists.

    The oracle's seed is config.seed + 1000 * the round (each coarse-to-fine
    round draws new points); the data split and the initial weights use
    config.seed in every trial.
    """
    import keras
    import keras_tuner as kt

    from tfweek3 import training
    from tfweek3.network import build_network

    random_oracle, grid_oracle = _make_oracle_classes()
    # TensorBoard logs need the tensorboard package (TensorFlow's tf.summary does).
    tensorboard = config.tensorboard and importlib.util.find_spec("tensorboard") is not None
    oracle_class = grid_oracle if strategy == "grid" else random_oracle
    grid_points = config.grid_points if strategy == "grid" else None
    direction = config.direction
    objective = config.objective

    class Week3HyperModel(kt.HyperModel):
        """Declares the search space and builds the week's network from it."""

        def build(self, hp):
            settings = define_hyperparameters(hp, space, grid_points)
            return build_network(
                data.x_train.shape[1], data.num_classes,
                hidden_units=settings.hidden_units,
                batch_norm=BATCH_NORM_LAYER if settings.batch_norm else None,
            )

    class Week3Tuner(kt.Tuner):
        """Runs each trial with tfweek3.training.train and reports every epoch."""

        def run_trial(self, trial, data, **kwargs):
            settings = define_hyperparameters(trial.hyperparameters, space, grid_points)
            keras.backend.clear_session()
            keras.utils.set_random_seed(config.seed)  # same initialisation draw in every trial
            model = self.hypermodel.build(trial.hyperparameters)
            log_dir = None
            if tensorboard:
                log_dir = os.path.join(config.directory, "tensorboard", project,
                                       f"trial_{trial.trial_id}")
                _write_hparams(log_dir, trial.trial_id, trial.hyperparameters.values)
            start = time.monotonic()
            epochs_reported = 0
            reports = _EpochReports(self.oracle, trial.trial_id)

            def report(epoch: int, logs: dict[str, float]) -> None:
                nonlocal epochs_reported
                metrics = {name: float(value) for name, value in logs.items()
                           if name in REPORTED_METRICS and math.isfinite(value)}
                metrics["duration_seconds"] = time.monotonic() - start
                reports.send(metrics, step=epochs_reported)
                epochs_reported += 1

            try:
                training.train(
                    model, data, epochs=config.epochs, batch_size=settings.batch_size,
                    optimizer=settings.optimizer, learning_rate=settings.learning_rate,
                    beta=settings.beta, seed=config.seed, log_dir=log_dir, verbose=0,
                    on_epoch_end=report,
                )
            except training.DivergedError as error:
                # Recorded, not fatal: worst score, and where it happened.
                reports.send({
                    objective: worst_score(direction),
                    "diverged": 1.0,
                    "diverged_epoch": float(error.epoch),
                    "diverged_step": -1.0 if error.step is None else float(error.step),
                    "duration_seconds": time.monotonic() - start,
                }, step=epochs_reported)
            except Exception:
                # KerasTuner records the trial as failed; keep the reason beside it,
                # since the traceback does not travel to a distributed chief.
                with open(os.path.join(self.get_trial_dir(trial.trial_id), "error.txt"), "w") as f:
                    f.write(traceback.format_exc())
                raise
            finally:
                reports.close()  # every epoch has reached the oracle before the trial ends
            # The metrics already reached the oracle epoch by epoch: nothing to return.

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            ended = record_from_state(self.oracle.get_trial(trial.trial_id).get_state(),
                                      direction, self.project_dir)
            best = self.oracle.get_best_trials(1)
            best_score = best[0].score if best else None
            log(progress_line(ended, objective, trials, best_score, label))

    # KerasTuner never stops on "consecutive failures": divergence completes
    # a trial, and a limit above the budget can never be reached.
    oracle = oracle_class(
        objective=kt.Objective(objective, direction),
        max_trials=trials,
        seed=config.seed + 1000 * (round_number(project) or 0) + 1,  # 0 means "random" to KerasTuner
        max_consecutive_failed_trials=trials + 1,
    )
    return Week3Tuner(
        oracle=oracle, hypermodel=Week3HyperModel(), directory=config.directory,
        project_name=project, overwrite=False,
    )


def _write_hparams(log_dir: str, trial_id: str, values: dict[str, Any]) -> None:
    """Record the trial's hyperparameters for TensorBoard's HParams dashboard.

    The curves beside them (train/ and validation/ under log_dir) are written by
    tfweek3.training.train; the dashboard lists their tags as the metrics.
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hparams_api

    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        hparams_api.hparams(dict(values), trial_id=trial_id)
    writer.close()


# ---------------------------------------------------------------------------
# Reading trials back: one record per trial
# ---------------------------------------------------------------------------

def record_from_state(state: dict[str, Any], direction: str,
                      trial_dir_parent: str | None = None, round_number: int | None = None
                      ) -> dict[str, Any]:
    """A flat record of one KerasTuner trial (its `trial.json` content).

    Keys: round, trial, status (completed, diverged, failed or running), score,
    reason, duration_seconds, epochs, then the hyperparameters, with beta
    derived as 1 - one_minus_beta.
    """
    metrics = state["metrics"]["metrics"]

    def last(name: str) -> float | None:
        observations = metrics.get(name, {}).get("observations", [])
        if not observations:
            return None
        values = observations[-1]["value"]
        return float(sum(values) / len(values))

    status = {"COMPLETED": "completed", "RUNNING": "running", "IDLE": "running"}.get(
        state["status"], "failed")
    reason = ""
    if status == "completed" and "diverged" in metrics:
        status = "diverged"
        step = int(last("diverged_step"))
        where = f"step {step}" if step >= 0 else "validation"
        reason = f"loss became NaN or inf in epoch {int(last('diverged_epoch'))}, {where}"
    elif status == "failed":
        reason = _failure_reason(state, trial_dir_parent)
    elif status == "running":
        reason = "cut off before the end; runs again when the search resumes"
    values = dict(state["hyperparameters"]["values"])
    score = state.get("score")
    if status == "completed" and score is None:
        score = worst_score(direction)
    n_epochs = 0
    for name in metrics:
        if name in REPORTED_METRICS:
            n_epochs = max(n_epochs, len(metrics[name]["observations"]))
    record = {
        "round": round_number,
        "trial": state["trial_id"],
        "status": status,
        "score": score,
        "reason": reason,
        "duration_seconds": last("duration_seconds"),
        "epochs": n_epochs,
    }
    for name in HP_NAMES:
        record[name] = values.get(name)
        if name == "one_minus_beta" and values.get(name) is not None:
            record["beta"] = 1.0 - values[name]
    return record


def _failure_reason(state: dict[str, Any], trial_dir_parent: str | None) -> str:
    text = state.get("message") or ""
    if trial_dir_parent:
        error_file = Path(trial_dir_parent) / f"trial_{state['trial_id']}" / "error.txt"
        if error_file.exists():
            text = error_file.read_text()
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "failed"


def collect_records(project_dir: str | Path, direction: str,
                    round_number: int | None = None) -> list[dict[str, Any]]:
    """Every trial of one KerasTuner project folder, in trial order."""
    project_dir = Path(project_dir)
    records = []
    for trial_file in sorted(project_dir.glob("trial_*/trial.json")):
        state = json.loads(trial_file.read_text())
        records.append(record_from_state(state, direction, str(project_dir), round_number))
    return records


def rank(records: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    """Records from best to worst; diverged, failed and running ones last."""
    def key(record):
        scored = record["status"] == "completed" and record["score"] is not None
        score = record["score"] if scored else 0.0
        return (not scored, -score if direction == "max" else score)

    return sorted(records, key=key)


def progress_line(record: dict[str, Any], objective: str, total: int,
                  best_score: float | None, label: str = "") -> str:
    """One line per finished trial, e.g.
    `trial 3/20 alpha=0.00316 beta=0.962 units=40 layers=2 batch=64 bn=on adam -> val_accuracy=0.9611 (4.2s) best=0.9722`.
    """
    outcome = (f"{objective}={record['score']:.4f}" if record["status"] == "completed"
               else f"{record['status']}: {record['reason']}")
    duration = record["duration_seconds"]
    timing = f" ({duration:.1f}s)" if duration is not None else ""
    best = f" best={best_score:.4f}" if best_score is not None else ""
    return (f"{label}trial {int(record['trial']) + 1}/{total} {describe(record)}"
            f" -> {outcome}{timing}{best}")


def describe(record: dict[str, Any]) -> str:
    """The hyperparameters of a record in the course's names, on one line."""
    return (f"alpha={record['learning_rate']:.3g} beta={record['beta']:.4g} "
            f"units={record['units']} layers={record['layers']} "
            f"batch={record['batch_size']} bn={'on' if record['batch_norm'] else 'off'} "
            f"{record['optimizer']}")


# ---------------------------------------------------------------------------
# Running a search
# ---------------------------------------------------------------------------

@dataclass
class SearchResult:
    """What a search leaves: every trial, the best one, and the rounds' boxes."""

    records: list[dict[str, Any]]
    best: dict[str, Any] | None
    directory: str
    boxes: list[SearchSpace] = field(default_factory=list)


def run_search(config: SearchConfig, *, overwrite: bool = False,
               log: Callable[[str], None] = print) -> SearchResult | None:
    """Run (or continue) the search described by `config` in `config.directory`.

    Returns the result, or None in a worker process of a distributed search
    (the chief collects the results).
    """
    from tfweek3 import distributed

    config.validate()
    role = distributed.role()
    distributed.watch_supervisor()
    if overwrite and role == "single" and Path(config.directory).exists():
        shutil.rmtree(config.directory)
    Path(config.directory).mkdir(parents=True, exist_ok=True)

    boxes: list[SearchSpace] = []
    if config.project is not None or config.strategy != "coarse-to-fine":
        project = config.project or SEARCH_PROJECT
        # A worker of a coarse-to-fine round labels its lines with the round.
        number = round_number(project)
        _run_project(config, strategy="grid" if config.strategy == "grid" else "random",
                     space=config.space, trials=config.trials, project=project,
                     label=f"round {number} " if number else "", log=log)
        if role == "worker" or not config.write_results:
            return None
        records = collect_records(Path(config.directory) / project, config.direction)
    else:
        records = []
        box = config.space
        for number, trials in enumerate(split_trials(config.trials, config.rounds), start=1):
            project = f"round_{number}"
            box = _round_box(config.directory, project, box)
            boxes.append(box)
            log(f"round {number}/{config.rounds} box: {format_box(box)}")
            _run_project(config, strategy="random", space=box, trials=trials,
                         project=project, label=f"round {number} ", log=log)
            round_records = collect_records(Path(config.directory) / project,
                                            config.direction, number)
            records += round_records
            best = [r for r in rank(round_records, config.direction)
                    if r["status"] == "completed"][:config.zoom_k]
            box = narrow_space(box, best, config.margin)

    ranked = rank(records, config.direction)
    best = ranked[0] if ranked and ranked[0]["status"] == "completed" else None
    result = SearchResult(records=records, best=best, directory=config.directory, boxes=boxes)
    write_results(result, config)
    log(format_table(ranked[:config.top_k], config.objective))
    log(summary_line(result, config))
    return result


def _run_project(config: SearchConfig, *, strategy: str, space: SearchSpace, trials: int,
                 project: str, label: str, log: Callable[[str], None]) -> None:
    """One KerasTuner project: here, or with --workers in worker processes."""
    from tfweek3 import distributed
    from tfweek3.data import load_dataset

    if config.workers > 1 and distributed.role() == "single":
        worker_config = dataclasses.replace(
            config, strategy=strategy, space=space, trials=trials, project=project,
            workers=1, write_results=False)
        distributed.run_with_workers(worker_config, config.workers, log=log)
        return
    distributed.limit_threads(config.threads)
    data = load_dataset(config.dataset, seed=config.seed)
    tuner = make_tuner(config, data, strategy=strategy, space=space, trials=trials,
                       project=project, label=label, log=log)
    tuner.search(data, verbose=0)


def round_number(project: str) -> int | None:
    """The round of a coarse-to-fine project folder ("round_2" -> 2), None for others."""
    return int(project.split("_")[1]) if project.startswith("round_") else None


def split_trials(trials: int, rounds: int) -> list[int]:
    """Share a budget between rounds as evenly as possible (the first rounds get more)."""
    return [trials // rounds + (1 if r < trials % rounds else 0) for r in range(rounds)]


def _round_box(directory: str, project: str, box: SearchSpace) -> SearchSpace:
    """A round's box, saved in its folder so that a resumed search keeps it."""
    path = Path(directory) / project / "box.json"
    if path.exists():
        return SearchSpace.from_dict(json.loads(path.read_text()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(box.to_dict(), indent=2))
    return box


def format_box(box: SearchSpace) -> str:
    """A box on one line: alpha [lo, hi] 1-beta [lo, hi] units [..] layers [..] batch [..]."""
    return (f"alpha [{box.learning_rate[0]:.3g}, {box.learning_rate[1]:.3g}] "
            f"1-beta [{box.one_minus_beta[0]:.3g}, {box.one_minus_beta[1]:.3g}] "
            f"units [{box.units[0]}, {box.units[1]}] layers [{box.layers[0]}, {box.layers[1]}] "
            f"batch {list(box.batch_size)}")


# ---------------------------------------------------------------------------
# Results: CSV, JSON, the best hyperparameters, a table and a figure
# ---------------------------------------------------------------------------

CSV_COLUMNS = ("round", "trial", "status", "score", "reason", "duration_seconds", "epochs",
               "learning_rate", "beta", "one_minus_beta", "units", "layers", "batch_size",
               "batch_norm", "optimizer")


def write_results(result: SearchResult, config: SearchConfig) -> None:
    """trials.csv, trials.json, best_hyperparameters.json, rounds.json, scores.png."""
    directory = Path(config.directory)
    with open(directory / "trials.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for record in result.records:
            writer.writerow({name: record.get(name) for name in CSV_COLUMNS})
    (directory / "trials.json").write_text(json.dumps(
        {"objective": config.objective, "direction": config.direction,
         "strategy": config.strategy, "trials": result.records}, indent=2))
    best = result.best
    (directory / "best_hyperparameters.json").write_text(json.dumps(
        None if best is None else {
            "score": best["score"], "objective": config.objective,
            "round": best["round"], "trial": best["trial"],
            "hyperparameters": {name: best[name] for name in (*HP_NAMES, "beta")},
        }, indent=2))
    if result.boxes:
        (directory / "rounds.json").write_text(json.dumps(
            [box.to_dict() for box in result.boxes], indent=2))
    plot_scores(result.records, config.objective, config.direction, directory / "scores.png",
                config.space)


def format_table(records: list[dict[str, Any]], objective: str) -> str:
    """The top-k table printed at the end of a search."""
    header = (f"{'rank':>4} {'round':>5} {'trial':>5} {objective:>12} {'alpha':>9} "
              f"{'beta':>7} {'units':>5} {'layers':>6} {'batch':>5} {'bn':>3} "
              f"{'optimizer':>9} status")
    lines = [header]
    for position, r in enumerate(records, start=1):
        score = f"{r['score']:.4f}" if r["score"] is not None else "-"
        lines.append(
            f"{position:>4} {r['round'] or '-':>5} {r['trial']:>5} {score:>12} "
            f"{r['learning_rate']:>9.3g} {r['beta']:>7.4f} {r['units']:>5} {r['layers']:>6} "
            f"{r['batch_size']:>5} {'on' if r['batch_norm'] else 'off':>3} "
            f"{r['optimizer']:>9} {r['status']}")
    return "\n".join(lines)


def summary_line(result: SearchResult, config: SearchConfig) -> str:
    counts = {s: sum(r["status"] == s for r in result.records)
              for s in ("completed", "diverged", "failed", "running")}
    done = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if result.best is None:
        return f"no trial completed ({done}); results in {config.directory}"
    b = result.best
    return (f"best: alpha={b['learning_rate']:.4g} beta={b['beta']:.4f} "
            f"{config.objective}={b['score']:.4f} ({len(result.records)} trials: {done}; "
            f"results in {config.directory})")


PANELS = (("learning_rate", "alpha (learning rate)", "log"),
          ("one_minus_beta", "1 - beta", "log"),
          ("units", "hidden units", "linear"),
          ("layers", "hidden layers", "linear"),
          ("batch_size", "mini-batch size", "log2"))


def plot_scores(records: list[dict[str, Any]], objective: str, direction: str,
                path: str | Path, space: SearchSpace | None = None) -> None:
    """Score against each numeric hyperparameter that varied, one panel each.

    alpha and 1 - beta on log axes (the scale they are sampled on); the rounds
    of a coarse-to-fine search in different colours; diverged trials as red
    crosses at the worst score. With `space`, the log axes span its ranges.
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
    for ax, (name, label, scale) in zip(axes[0], panels):
        for i, number in enumerate(rounds):
            done = [r for r in records if r["round"] == number and r["status"] == "completed"]
            ax.scatter([r[name] for r in done], [r["score"] for r in done], s=22,
                       color=colours[i % len(colours)],
                       label=f"round {number}" if number else "completed")
        diverged = [r for r in records if r["status"] == "diverged"]
        if diverged and math.isfinite(worst_score(direction)):
            ax.scatter([r[name] for r in diverged], [worst_score(direction)] * len(diverged),
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
    if len(rounds) > 1 or any(r["status"] == "diverged" for r in records):
        axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


# ---------------------------------------------------------------------------
# Random against grid on a cheap synthetic objective (the note's alpha-vs-epsilon picture)
# ---------------------------------------------------------------------------

EPSILON_RANGE = (1e-10, 1e-6)


def synthetic_score(alpha: float, epsilon: float, best_alpha: float,
                    best_epsilon: float = 1e-8, epsilon_weight: float = 0.01) -> float:
    """A score where alpha matters and Adam's epsilon barely does.

    -(log10 alpha - log10 best_alpha)**2 - epsilon_weight * (same for epsilon):
    the best score is 0; being one decade off in alpha costs 1, one decade off in
    epsilon costs only `epsilon_weight`.
    """
    return -((math.log10(alpha) - math.log10(best_alpha)) ** 2
             + epsilon_weight * (math.log10(epsilon) - math.log10(best_epsilon)) ** 2)


def synthetic_search(strategy: str, budget: int, seed: int, best_alpha: float,
                     best_epsilon: float, directory: str) -> float:
    """Best synthetic score a KerasTuner random or grid search finds in `budget` trials.

    The grid has sqrt(budget) points per dimension, log-spaced over alpha in
    [1e-4, 1] and epsilon in [1e-10, 1e-6]; random search draws both on the same
    log scales.
    """
    import keras_tuner as kt

    points = math.isqrt(budget) if strategy == "grid" else None

    def log_float(hp, name, low, high):
        step = (high / low) ** (1.0 / (points - 1)) if points else None
        return hp.Float(name, low, high, step=step, sampling="log")

    class SyntheticTuner(kt.Tuner):
        def run_trial(self, trial, **kwargs):
            hp = trial.hyperparameters
            alpha = log_float(hp, "alpha", 1e-4, 1.0)
            epsilon = log_float(hp, "epsilon", *EPSILON_RANGE)
            return {"score": synthetic_score(alpha, epsilon, best_alpha, best_epsilon)}

    oracle_class = kt.oracles.GridSearchOracle if strategy == "grid" else kt.oracles.RandomSearchOracle
    oracle = oracle_class(objective=kt.Objective("score", "max"), max_trials=budget,
                          seed=seed + 1)
    tuner = SyntheticTuner(oracle=oracle, directory=directory,
                           project_name=f"{strategy}_{seed}", overwrite=True)
    tuner.search(verbose=0)
    return float(oracle.get_best_trials(1)[0].score)


def random_vs_grid_win_rate(seeds: int = 100, budget: int = 25,
                            directory: str | None = None) -> dict[str, float]:
    """How often random search beats a grid at the same budget (course section 1).

    For each seed the best alpha and epsilon are drawn log-uniformly; both
    searches get `budget` trials (the grid: sqrt(budget) values of each). With a
    5x5 grid only 5 values of alpha are tried, with random search 25.
    Returns the shares of seeds where random wins, grid wins and they tie, and
    each strategy's mean regret (distance of its best score to the optimum 0).
    """
    import tempfile

    import numpy as np

    if math.isqrt(budget) ** 2 != budget:
        raise ValueError(f"budget must be a square (a k x k grid), got {budget}")
    rng = np.random.default_rng(12345)
    wins = {"random": 0, "grid": 0, "tie": 0}
    regret = {"random": 0.0, "grid": 0.0}
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        for seed in range(seeds):
            best_alpha = 10.0 ** rng.uniform(-4, 0)
            best_epsilon = 10.0 ** rng.uniform(-10, -6)
            scores = {s: synthetic_search(s, budget, seed, best_alpha, best_epsilon, tmp)
                      for s in ("random", "grid")}
            for strategy, score in scores.items():
                regret[strategy] += -score / seeds
            if math.isclose(scores["random"], scores["grid"], abs_tol=1e-12):
                wins["tie"] += 1
            else:
                wins[max(scores, key=scores.get)] += 1
    return {"seeds": seeds, "budget": budget,
            "random_wins": wins["random"] / seeds, "grid_wins": wins["grid"] / seeds,
            "ties": wins["tie"] / seeds,
            "random_mean_regret": regret["random"], "grid_mean_regret": regret["grid"]}
