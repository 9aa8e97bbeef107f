"""What a search leaves: one flat record per trial, trials.csv / trials.json, a table, a summary.

A KerasTuner trial is saved as `trial_<id>/trial.json`; `record_from_state`
reads one into a record in the course's names (alpha, beta, ...). Trials are
numbered from 1 wherever a person reads them (`trial`); `trial_id` is
KerasTuner's own id, the name of the trial's folder.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from tfweek3.tuning import storage
from tfweek3.tuning.config import SearchConfig, worst_score
from tfweek3.tuning.search_space import HP_NAMES, SearchSpace

EPOCH_PREFIX = "epoch/"  # a trial reports each epoch's metrics as "epoch/val_accuracy", ...
STATUSES = ("completed", "pruned", "diverged", "failed", "running")
# What a pruned trial's result carries (oracles.py, tuner.py): a marker, the median it lost to,
# and how many trials that median was taken over.
PRUNED_METRICS = {"marker": "pruned", "median": "pruned_median", "trials": "pruned_trials"}
CSV_COLUMNS = ("round", "trial", "trial_id", "status", "score", "reason", "duration_seconds",
               "epochs", "pruned_median", "learning_rate", "beta", "one_minus_beta", "units",
               "layers", "batch_size", "batch_norm", "optimizer",
               "member", "generation", "parent")  # the last three: pbt (tuning/pbt.py)


@dataclass
class SearchResult:
    """What a search leaves: every trial, the best one, and the rounds' boxes."""

    records: list[dict[str, Any]]
    best: dict[str, Any] | None
    directory: str
    boxes: list[SearchSpace] = field(default_factory=list)
    importance: list[dict[str, Any]] = field(default_factory=list)  # importance.py's rows


def epoch_metric(name: str) -> str:
    """The name an epoch's value of `name` is reported under: "epoch/val_accuracy"."""
    return EPOCH_PREFIX + name


def record_from_state(state: dict[str, Any], direction: str,
                      trial_dir_parent: str | None = None, round_number: int | None = None,
                      objective: str | None = None) -> dict[str, Any]:
    """A flat record of one KerasTuner trial (its `trial.json` content).

    Keys: round, trial (from 1), trial_id (KerasTuner's), status (completed,
    pruned, diverged, failed or running), score, reason, duration_seconds,
    epochs, pruned_median (the median a pruned trial lost to), then the
    hyperparameters, with beta derived as 1 - one_minus_beta; for pbt also
    member, generation and parent (a trial number; None for the first
    generation). With `objective`, also `curve`: the objective's value after each epoch.
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
    elif status == "completed" and PRUNED_METRICS["marker"] in metrics:
        status = "pruned"
    elif status == "failed":
        reason = _failure_reason(state, trial_dir_parent)
    elif status == "running":
        reason = "cut off before the end; runs again when the search resumes"
    score = state.get("score")
    if status in ("completed", "pruned") and score is None:
        score = worst_score(direction)
    if status == "pruned":
        side = "below" if direction == "max" else "above"
        reason = (f"stopped after epoch {int(last('epochs'))}: its best so far, {score:.4f}, "
                  f"was {side} the median {last(PRUNED_METRICS['median']):.4f} of "
                  f"{int(last(PRUNED_METRICS['trials']))} trials")
    epochs = last("epochs")
    if epochs is None:  # still running: the epochs reported so far
        epochs = max((len(metrics[name]["observations"]) for name in metrics
                      if name.startswith(EPOCH_PREFIX)), default=0)
    values = dict(state["hyperparameters"]["values"])
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
    }
    for name in HP_NAMES:
        record[name] = values.get(name)
        if name == "one_minus_beta" and values.get(name) is not None:
            record["beta"] = 1.0 - values[name]
    if objective is not None:
        observations = metrics.get(epoch_metric(objective), {}).get("observations", [])
        record["curve"] = [sum(o["value"]) / len(o["value"])
                           for o in sorted(observations, key=lambda o: o["step"])]
    # pbt: the member, its generation (both from 1) and the trial whose weights it started from.
    record["member"] = values.get("member")
    record["generation"] = values.get("generation")
    record["parent"] = int(values["parent"]) + 1 if values.get("parent") else None
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


def collect_records(project_dir: str, direction: str, round_number: int | None = None,
                    objective: str | None = None) -> list[dict[str, Any]]:
    """Every trial of one KerasTuner project folder, in trial order (with `objective`, each
    with its curve)."""
    records = []
    for trial_file in storage.glob(storage.join(project_dir, "trial_*", "trial.json")):
        state = storage.read_json(trial_file)
        records.append(record_from_state(state, direction, str(project_dir), round_number,
                                         objective))
    return records


def rank(records: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    """Records from best to worst: completed, then pruned (scored on fewer epochs), then
    diverged, failed and running ones."""
    def key(record):
        group = {"completed": 0, "pruned": 1}.get(record["status"], 2)
        score = record["score"] if group < 2 and record["score"] is not None else 0.0
        return (group, -score if direction == "max" else score)

    return sorted(records, key=key)


def describe(record: dict[str, Any]) -> str:
    """The hyperparameters of a record in the course's names, on one line."""
    return (f"alpha={record['learning_rate']:.3g} beta={record['beta']:.4g} "
            f"units={record['units']} layers={record['layers']} "
            f"batch={record['batch_size']} bn={'on' if record['batch_norm'] else 'off'} "
            f"{record['optimizer']}")


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
    return f"{label}trial {record['trial']}/{total} {describe(record)} -> {outcome}{timing}{best}"


SETTINGS_HEADER = (f"{'alpha':>9} {'beta':>7} {'units':>5} {'layers':>6} {'batch':>5} "
                   f"{'bn':>3} {'optimizer':>9}")


def settings_cells(r: dict[str, Any]) -> str:
    """A record's hyperparameters as the cells under SETTINGS_HEADER."""
    return (f"{r['learning_rate']:>9.3g} {r['beta']:>7.4f} {r['units']:>5} {r['layers']:>6} "
            f"{r['batch_size']:>5} {'on' if r['batch_norm'] else 'off':>3} {r['optimizer']:>9}")


def score_cell(r: dict[str, Any]) -> str:
    """A record's score to 4 decimals, or - when it has none (a failed trial)."""
    return f"{r['score']:.4f}" if r["score"] is not None else "-"


def format_table(records: list[dict[str, Any]], objective: str) -> str:
    """The top-k table printed at the end of a search."""
    lines = [f"{'rank':>4} {'round':>5} {'trial':>5} {objective:>12} {SETTINGS_HEADER} status"]
    for position, r in enumerate(records, start=1):
        lines.append(f"{position:>4} {r['round'] or '-':>5} {r['trial']:>5} {score_cell(r):>12} "
                     f"{settings_cells(r)} {r['status']}")
    return "\n".join(lines)


def count_statuses(records: list[dict[str, Any]]) -> dict[str, int]:
    """How many trials ended in each status (those with none left out)."""
    counts = {status: sum(r["status"] == status for r in records) for status in STATUSES}
    return {status: n for status, n in counts.items() if n}


def summary_line(result: SearchResult, config: SearchConfig) -> str:
    """The last line of a search: the best alpha and beta, or why there is none; with pruning,
    the epochs it saved; and the hyperparameter that mattered most (importance.py)."""
    from tfweek3.tuning.importance import importance_phrase
    from tfweek3.tuning.pruning import epochs_saved

    done = ", ".join(f"{n} {s}" for s, n in count_statuses(result.records).items())
    if result.best is None:
        line = f"no trial completed ({done}); results in {config.directory}"
    else:
        b = result.best
        line = (f"best: alpha={b['learning_rate']:.4g} beta={b['beta']:.4f} "
                f"{config.objective}={b['score']:.4f} ({len(result.records)} trials: {done}; "
                f"results in {config.directory})")
    if config.prune != "none":
        planned = len(result.records) * config.epochs
        saved = epochs_saved(result.records, config.epochs)
        line += f"; pruning saved {saved} of {planned} epochs ({saved / max(planned, 1):.0%})"
    phrase = importance_phrase(result.importance)
    return f"{line}; {phrase}" if phrase else line


def write_results(result: SearchResult, config: SearchConfig) -> None:
    """trials.csv, trials.json, best_hyperparameters.json, rounds.json, scores.png and the
    figures of write_trial_figures."""
    from tfweek3.tuning.figures import plot_scores

    directory = config.directory
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in result.records:
        writer.writerow({name: record.get(name) for name in CSV_COLUMNS})
    storage.write_text(storage.join(directory, "trials.csv"), table.getvalue())
    storage.write_text(storage.join(directory, "trials.json"), json.dumps(
        {"objective": config.objective, "direction": config.direction,
         "strategy": config.strategy, "trials": result.records}, indent=2))
    best = result.best
    storage.write_text(storage.join(directory, "best_hyperparameters.json"), json.dumps(
        None if best is None else {
            "score": best["score"], "objective": config.objective,
            "round": best["round"], "trial": best["trial"],
            "hyperparameters": {name: best[name] for name in (*HP_NAMES, "beta")},
        }, indent=2))
    if result.boxes:
        storage.write_text(storage.join(directory, "rounds.json"), json.dumps(
            [box.to_dict() for box in result.boxes], indent=2))
    plot_scores(result.records, config.objective, config.direction,
                storage.join(directory, "scores.png"), config.space)
    write_trial_figures(result, config)


def write_trial_figures(result: SearchResult, config: SearchConfig) -> None:
    """curves.png and parallel.png; importance.csv and importance.png when there is an
    importance (result.importance, see importance.py)."""
    from tfweek3.tuning.importance import CSV_COLUMNS as IMPORTANCE_COLUMNS
    from tfweek3.tuning.trial_figures import plot_curves, plot_importance, plot_parallel

    directory = config.directory
    plot_curves(result.records, config.objective, storage.join(directory, "curves.png"),
                config.epochs)
    plot_parallel(result.records, config.objective, config.direction,
                  storage.join(directory, "parallel.png"), best=config.top_k)
    if result.importance:
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=IMPORTANCE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.importance)
        storage.write_text(storage.join(directory, "importance.csv"), table.getvalue())
        plot_importance(result.importance, storage.join(directory, "importance.png"))
