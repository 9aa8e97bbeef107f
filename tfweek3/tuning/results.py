"""What a search leaves: one flat record per trial, trials.csv / trials.json, a table, a summary.

A KerasTuner trial is saved as `trial_<id>/trial.json`; `record_from_state`
reads one into a record: its status in tfweek3's words (completed, pruned,
diverged, failed, running), its score, why it ended, and its hyperparameters
under the names the search declared (`record["hyperparameters"]`), with 1 - x
beside every "one_minus_<x>" (beta beside one_minus_beta). Trials are numbered
from 1 wherever a person reads them (`trial`); `trial_id` is KerasTuner's own
id, the name of the trial's folder.

No TensorFlow here: the process that supervises a `--workers` search writes these files.
No drawing either: figures.py draws from the records, this module never calls it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tfweek3.tuning import storage
from tfweek3.tuning.dimensions import Dimension, format_value, with_derived
from tfweek3.tuning.importance import CSV_COLUMNS as IMPORTANCE_COLUMNS
from tfweek3.tuning.importance import importance_phrase
from tfweek3.tuning.pruning import epochs_saved

EPOCH_PREFIX = "epoch/"  # a trial reports each epoch's metrics as "epoch/val_accuracy", ...
PBT_PREFIX = "pbt/"      # a PBT trial's member, generation and parent (pbt.py)
STATUSES = ("completed", "pruned", "diverged", "failed", "running")
# What a pruned trial's result carries (oracles.py, tuners.py): a marker, the median it lost to,
# and how many trials that median was taken over.
PRUNED_METRICS = {"marker": "pruned", "median": "pruned_median", "trials": "pruned_trials"}
FIRST_COLUMNS = ("round", "trial", "trial_id", "status", "score", "reason", "duration_seconds",
                 "epochs", "pruned_median")
PBT_COLUMNS = ("member", "generation", "parent")


@dataclass
class SearchResult:
    """What a search leaves: every trial, the best one, and how to read them."""

    records: list[dict[str, Any]]
    best: dict[str, Any] | None
    directory: str
    objective: str = "val_accuracy"
    direction: str = "max"
    dims: list[Dimension] = field(default_factory=list)  # the searched hyperparameters
    strategy: str = "random"
    epochs: int | None = None     # a trial's planned epochs (None: not known)
    boxes: list = field(default_factory=list)            # coarse to fine: each round's box
    importance: list[dict[str, Any]] = field(default_factory=list)  # importance.py's rows


def epoch_metric(name: str) -> str:
    """The name an epoch's value of `name` is reported under: "epoch/val_accuracy"."""
    return EPOCH_PREFIX + name


def worst_score(direction: str, objective: str = "") -> float:
    """The score of a diverged trial: an accuracy's 0, otherwise -inf or +inf."""
    if direction == "min":
        return math.inf
    return 0.0 if "acc" in objective else -math.inf


def record_from_state(state: dict[str, Any], direction: str,
                      trial_dir_parent: str | None = None, round_number: int | None = None,
                      objective: str | None = None) -> dict[str, Any]:
    """A flat record of one KerasTuner trial (its `trial.json` content).

    Keys: round, trial (from 1), trial_id (KerasTuner's), status (completed,
    pruned, diverged, failed or running), score, reason, duration_seconds,
    epochs, pruned_median (the median a pruned trial lost to), hyperparameters
    (name -> value, with 1 - x beside each one_minus_<x>), and for PBT member,
    generation and parent (a trial number; None in generation 1). With
    `objective`, also `curve`: the objective's value after each epoch.
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
        step = int(last("diverged_step"))  # from 1; 0: in training, the step not known
        where = {0: "training", -1: "validation"}.get(step, f"step {step}")
        reason = f"loss became NaN or inf in epoch {int(last('diverged_epoch'))}, {where}"
    elif status == "completed" and PRUNED_METRICS["marker"] in metrics:
        status = "pruned"
    elif status == "failed":
        reason = _failure_reason(state, trial_dir_parent)
    elif status == "running":
        reason = "cut off before the end; runs again when the search resumes"
    score = state.get("score")
    if status in ("completed", "pruned") and score is None:
        score = worst_score(direction, objective or "")
    if status == "pruned":
        side = "below" if direction == "max" else "above"
        reason = (f"stopped after epoch {int(last('epochs'))}: its best so far, {score:.4f}, "
                  f"was {side} the median {last(PRUNED_METRICS['median']):.4f} of "
                  f"{int(last(PRUNED_METRICS['trials']))} trials")
    epochs = last("epochs")
    if epochs is None:  # still running: the epochs reported so far
        epochs = max((len(metrics[name]["observations"]) for name in metrics
                      if name.startswith(EPOCH_PREFIX)), default=0)
    values = state["hyperparameters"]["values"]
    record = {
        "round": round_number,
        "trial": int(state["trial_id"]) + 1,
        "trial_id": state["trial_id"],
        "status": status,
        "score": score,
        "reason": reason,
        "duration_seconds": last("duration_seconds"),
        "epochs": int(epochs),
        "pruned_median": last(PRUNED_METRICS["median"]),
        "hyperparameters": with_derived({name: value for name, value in values.items()
                                         if not name.startswith(PBT_PREFIX)}),
    }
    if objective is not None:
        observations = metrics.get(epoch_metric(objective), {}).get("observations", [])
        record["curve"] = [sum(o["value"]) / len(o["value"])
                           for o in sorted(observations, key=lambda o: o["step"])]
    # pbt: the member, its generation (both from 1) and the trial whose weights it started from.
    record["member"] = values.get(PBT_PREFIX + "member")
    record["generation"] = values.get(PBT_PREFIX + "generation")
    parent = values.get(PBT_PREFIX + "parent")
    record["parent"] = int(parent) + 1 if parent else None
    return record


def _failure_reason(state: dict[str, Any], trial_dir_parent: str | None) -> str:
    """The last line of the trial's error: its error.txt, else KerasTuner's message."""
    text = state.get("message") or ""
    if trial_dir_parent:
        error_file = storage.join(trial_dir_parent, f"trial_{state['trial_id']}", "error.txt")
        if storage.exists(error_file):
            text = storage.read_text(error_file)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "failed"


def collect_records(project_dir: str, direction: str, objective: str | None = None,
                    rounds: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Every trial of one KerasTuner project folder, in trial order (with `objective`, each
    with its curve; with `rounds`, trial id -> round, each with its round)."""
    records = []
    for trial_file in storage.glob(storage.join(project_dir, "trial_*", "trial.json")):
        state = storage.read_json(trial_file)
        records.append(record_from_state(state, direction, str(project_dir),
                                         (rounds or {}).get(state["trial_id"]), objective))
    return sorted(records, key=lambda r: r["trial"])


def rank(records: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    """Records from best to worst: completed, then pruned (scored on fewer epochs), then
    diverged, failed and running ones."""
    def key(record):
        group = {"completed": 0, "pruned": 1}.get(record["status"], 2)
        score = record["score"] if group < 2 and record["score"] is not None else 0.0
        return (group, -score if direction == "max" else score)

    return sorted(records, key=key)


def describe(record: dict[str, Any]) -> str:
    """A record's hyperparameters on one line: learning_rate=0.00316 units=40 ..."""
    return " ".join(f"{name}={format_value(value)}"
                    for name, value in record["hyperparameters"].items())


def outcome_text(record: dict[str, Any], objective: str) -> str:
    """'val_accuracy=0.9611', or the status and why ('diverged: loss became NaN ...')."""
    if record["status"] == "completed":
        return f"{objective}={record['score']:.4f}"
    return f"{record['status']}: {record['reason']}"


def progress_line(record: dict[str, Any], objective: str, total: int | None,
                  best_score: float | None, label: str = "",
                  describe: Callable[[dict[str, Any]], str] = describe) -> str:
    """One line per finished trial, e.g.
    `trial 3/20 learning_rate=0.00316 units=40 -> val_accuracy=0.9611 (4.2s) best=0.9722`."""
    duration = record["duration_seconds"]
    timing = f" ({duration:.1f}s)" if duration is not None else ""
    best = f" best={best_score:.4f}" if best_score is not None else ""
    count = f"{record['trial']}/{total}" if total else f"{record['trial']}"
    return (f"{label}trial {count} {describe(record)} -> {outcome_text(record, objective)}"
            f"{timing}{best}")


def score_cell(r: dict[str, Any]) -> str:
    """A record's score to 4 decimals, or - when it has none (a failed trial)."""
    return f"{r['score']:.4f}" if r["score"] is not None else "-"


def format_table(records: list[dict[str, Any]], objective: str) -> str:
    """The top-k table printed at the end of a search: rank, round, trial, score, status and
    each hyperparameter."""
    names = hyperparameter_columns(records)
    widths = {n: max([len(n)] + [len(format_value(r["hyperparameters"].get(n))) for r in records])
              for n in names}
    header = " ".join(f"{n:>{widths[n]}}" for n in names)
    lines = [f"{'rank':>4} {'round':>5} {'trial':>5} {objective:>12} {header} status"]
    for position, r in enumerate(records, start=1):
        cells = " ".join(f"{format_value(r['hyperparameters'].get(n)):>{widths[n]}}"
                         for n in names)
        lines.append(f"{position:>4} {r['round'] or '-':>5} {r['trial']:>5} {score_cell(r):>12} "
                     f"{cells} {r['status']}")
    return "\n".join(lines)


def count_statuses(records: list[dict[str, Any]]) -> dict[str, int]:
    """How many trials ended in each status (those with none left out)."""
    counts = {status: sum(r["status"] == status for r in records) for status in STATUSES}
    return {status: n for status, n in counts.items() if n}


def summary_line(result: SearchResult, pruned: bool = False,
                 describe: Callable[[dict[str, Any]], str] = describe) -> str:
    """The last line of a search: the best trial, or why there is none; with pruning, the
    epochs it saved; and what the importance says (importance.py)."""
    done = ", ".join(f"{n} {s}" for s, n in count_statuses(result.records).items())
    if result.best is None:
        line = f"no trial completed ({done}); results in {result.directory}"
    else:
        b = result.best
        line = (f"best: {describe(b)} {result.objective}={b['score']:.4f} "
                f"({len(result.records)} trials: {done}; results in {result.directory})")
    if pruned and result.epochs:
        planned = len(result.records) * result.epochs
        saved = epochs_saved(result.records, result.epochs)
        line += f"; pruning saved {saved} of {planned} epochs ({saved / max(planned, 1):.0%})"
    phrase = importance_phrase(result.importance)
    return f"{line}; {phrase}" if phrase else line


def hyperparameter_columns(records: Sequence[dict[str, Any]]) -> list[str]:
    """Every hyperparameter name of the records, in the order they first appear."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record["hyperparameters"]))
    return list(names)


def csv_rows(records: Sequence[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """trials.csv's header and rows: the record's fields, its hyperparameters (a name that is
    also a field's gets "hp:" before it), then PBT's member, generation and parent."""
    taken = set(FIRST_COLUMNS) | set(PBT_COLUMNS)
    columns = {n: (f"hp:{n}" if n in taken else n) for n in hyperparameter_columns(records)}
    header = [*FIRST_COLUMNS, *columns.values(), *PBT_COLUMNS]
    rows = []
    for record in records:
        row = {name: record.get(name) for name in (*FIRST_COLUMNS, *PBT_COLUMNS)}
        row.update({columns[n]: v for n, v in record["hyperparameters"].items()})
        rows.append(row)
    return header, rows


def write_tables(result: SearchResult, extra: dict[str, Any] | None = None) -> None:
    """trials.csv, trials.json, best_hyperparameters.json and importance.csv (when there is an
    importance) in result.directory; the figures beside them are figures.write_figures'."""
    directory = result.directory
    storage.write_text(storage.join(directory, "trials.csv"), _csv_text(*csv_rows(result.records)))
    storage.write_text(storage.join(directory, "trials.json"), json.dumps(
        {"objective": result.objective, "direction": result.direction,
         "strategy": result.strategy, **(extra or {}), "trials": result.records}, indent=2))
    best = result.best
    storage.write_text(storage.join(directory, "best_hyperparameters.json"), json.dumps(
        None if best is None else {
            "score": best["score"], "objective": result.objective,
            "round": best["round"], "trial": best["trial"],
            "hyperparameters": best["hyperparameters"],
        }, indent=2))
    if result.importance:
        storage.write_text(storage.join(directory, "importance.csv"),
                           _csv_text(list(IMPORTANCE_COLUMNS), result.importance))


def _csv_text(header: list[str], rows: Sequence[dict[str, Any]]) -> str:
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return table.getvalue()
