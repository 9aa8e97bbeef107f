"""run_search: what `tfweek3 tune` runs, on the tuning floor's tuners (course sections 1-3).

One search in one KerasTuner project inside `config.directory`, of the course
network (hypermodel.py, the default) or of a model of your own
(`config.model`, user_model.py), with one of the tuning floor's tuners:

    random           tfweek3.RandomSearch             (project search/)
    grid             tfweek3.GridSearch               (project search/)
    coarse-to-fine   tfweek3.CoarseToFine: rounds     (project search/)
    pbt              tfweek3.PopulationBasedTraining  (project pbt/)

with median pruning (`--prune median`) for the first three, here or with
`--workers N` in a chief and worker processes (caviar.py). Running the same
search again on the same folder continues it: finished trials are kept, a
trial cut off mid-run runs again from scratch. When it ends, the folder holds
the results (tfweek3.tuning.results and .figures): trials.csv / trials.json,
best_hyperparameters.json, scores.png, curves.png, parallel.png,
importance.csv / importance.png; coarse to fine adds rounds.json, pbt
schedules.png and, for the course network, best_schedule.json.

A local search folder is read and written without TensorFlow, so the process
that supervises a `--workers` search never imports it: the chief and the
workers do the KerasTuner work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tfweek3.search import caviar, present, schedule
from tfweek3.search.config import SearchConfig, SearchError
from tfweek3.search.space import LABELS, space_of_box
from tfweek3.tuning import storage
from tfweek3.tuning.dimensions import dimensions
from tfweek3.tuning.figures import write_figures
from tfweek3.tuning.importance import hyperparameter_importance
from tfweek3.tuning.pbt_results import (
    final_ranking,
    format_population_table,
    write_population_figure,
)
from tfweek3.tuning.results import (
    SearchResult,
    collect_records,
    format_table,
    rank,
    summary_line,
    write_tables,
)
from tfweek3.tuning.roles import distributed_role

SEARCH_PROJECT = "search"


def project_of(config: SearchConfig) -> str:
    """The KerasTuner project folder of the search, inside config.directory."""
    return config.project or (schedule.PBT_PROJECT if config.strategy == "pbt"
                              else SEARCH_PROJECT)


def run_search(config: SearchConfig, *, overwrite: bool = False,
               log: Callable[[str], None] = print) -> SearchResult | None:
    """Run (or continue) the search described by `config` in `config.directory`.

    Returns the result, or None in a process of a distributed search (the
    chief's supervisor, or the person who started the chief, collects the results).
    Raises SearchError when trials fail in a row (after writing the results) or
    a process of the search dies, and storage.StateFileError when the folder's
    state cannot be read.
    """
    config.validate()
    role = distributed_role()
    caviar.watch_supervisor()
    if overwrite and role == "single" and storage.exists(config.directory):
        storage.rmtree(config.directory)
    storage.makedirs(config.directory)
    project = project_of(config)
    if config.workers > 1 and role == "single":
        caviar.run_with_workers(config.replace(project=project, workers=1, write_results=False),
                                config.workers, log=log)
    else:
        caviar.limit_threads(config.threads, log=log)
        from tfweek3.search.tuner import search_here  # TensorFlow: where trials train

        search_here(config, project, log)
    if role == "worker" or not config.write_results:
        return None
    result = collect(config, project)
    write_all(result, config)
    for line in report_lines(result, config):
        log(line)
    state = storage.read_json(storage.join(config.directory, project, "oracle.json"))
    if state.get("failure_stop"):
        raise SearchError(f"the search stopped: {state['failure_stop']}")
    return result


def collect(config: SearchConfig, project: str) -> SearchResult:
    """The search's records, read from its folder (no TensorFlow), and its importance."""
    project_dir = storage.join(config.directory, project)
    state = storage.read_json(storage.join(project_dir, "oracle.json"))
    records = collect_records(project_dir, config.direction, config.objective,
                              rounds=state.get("round_of"))
    course = config.model is None
    if course:
        records = [present.flatten(record) for record in records]
    if config.strategy == "pbt":  # the best member after its last epoch, not its best epoch
        ranked = final_ranking(records, config.direction)
    else:
        ranked = rank(records, config.direction)
    best = ranked[0] if ranked and ranked[0]["status"] == "completed" else None
    dims = dimensions(state["hyperparameters"], LABELS if course else None)
    boxes = [space_of_box(box, config.space) if course else box
             for box in state.get("boxes", [])]
    result = SearchResult(records=records, best=best, directory=config.directory,
                          objective=config.objective, direction=config.direction, dims=dims,
                          strategy=config.strategy, epochs=config.epochs, boxes=boxes)
    if config.strategy != "pbt":  # (see PopulationBasedTraining.importance)
        result.importance = hyperparameter_importance(records, dims, seed=config.seed)
    return result


def write_all(result: SearchResult, config: SearchConfig) -> None:
    """Every search's files, and those of coarse to fine (rounds.json) and pbt."""
    write_tables(result)
    write_figures(result)
    if result.boxes:
        boxes = [box.to_dict() if config.model is None else box for box in result.boxes]
        storage.write_text(storage.join(config.directory, "rounds.json"),
                           json.dumps(boxes, indent=2))
    if config.strategy == "pbt":
        write_population_figure(result, config.population_settings(), perturbed(config))
        if config.model is None:
            schedule.write_schedule(result, config)


def perturbed(config: SearchConfig) -> list[str]:
    """The hyperparameters a pbt search perturbs, as its oracle saved them."""
    path = storage.join(config.directory, schedule.PBT_PROJECT, "oracle.json")
    return storage.read_json(path).get("perturb", []) if storage.exists(path) else []


def report_lines(result: SearchResult, config: SearchConfig) -> list[str]:
    """What a search prints when it ends: the boxes of its rounds, a table, the summary."""
    course = config.model is None
    lines = [f"round {n}/{config.rounds} box: {present.format_box(box)}"
             for n, box in enumerate(result.boxes, start=1) if course]
    if config.strategy == "pbt":
        ranked = final_ranking(result.records, config.direction)[:config.top_k]
        lines.append(format_population_table(ranked, result.records, config.objective,
                                             present.format_table if course else format_table))
        if result.best is not None and course:
            lines.append(schedule.schedule_line(result, config))
    else:
        table = present.format_table if course else format_table
        lines.append(table(rank(result.records, config.direction)[:config.top_k],
                           config.objective))
    best: Any = present.best_text if course else None
    lines.append(summary_line(result, pruned=config.prune != "none",
                              **({"describe": best} if best else {})))
    return lines
