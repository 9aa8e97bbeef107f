"""Hyperparameter search with KerasTuner (course section 1: tuning process).

KerasTuner does the searching: its oracles pick the hyperparameters
(oracles.py), its `Tuner` runs the trials and stores them, one folder per trial
with `trial.json` (tuner.py), and its distributed mode runs many workers against
one oracle (caviar.py). `run_search` puts the week's pieces together:

* random or grid search in one KerasTuner project (`search/`);
* population-based training in one project (`pbt/`; pbt.py, pbt_tuner.py, pbt_results.py);
* coarse to fine: rounds of random search, each in its own project folder
  (`round_1/`, ...), each round's box narrowed to the best trials of the previous one;
* running the same search again on the same folder continues it: finished
  trials are kept, a trial cut off mid-run runs again from scratch;
* pruning (`--prune median`): the oracle stops trials that are losing (pruning.py);
* results: every trial as CSV and JSON, the best hyperparameters, a top-k
  table and a figure of the score against alpha and 1 - beta (results.py),
  the learning curves and parallel coordinates of the trials, and each
  hyperparameter's importance (importance.py, trial_figures.py).

A local search folder is read and written without TensorFlow, so the process
that supervises a `--workers` search never imports it: the chief and the
workers do the KerasTuner work.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tfweek3.tuning import caviar, pbt_results, storage
from tfweek3.tuning.config import SearchConfig, SearchError, round_number
from tfweek3.tuning.importance import hyperparameter_importance
from tfweek3.tuning.results import (
    SearchResult,
    collect_records,
    format_table,
    rank,
    summary_line,
    write_results,
)
from tfweek3.tuning.search_space import SearchSpace, narrow_space

SEARCH_PROJECT = "search"


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
    role = caviar.role()
    caviar.watch_supervisor()
    if overwrite and role == "single" and storage.exists(config.directory):
        storage.rmtree(config.directory)
    storage.makedirs(config.directory)

    boxes: list[SearchSpace] = []
    if config.project is not None or config.strategy != "coarse-to-fine":
        pbt = config.strategy == "pbt"
        project = config.project or (pbt_results.PBT_PROJECT if pbt else SEARCH_PROJECT)
        # A worker of a coarse-to-fine round labels its lines with the round.
        number = round_number(project)
        _run_project(config, strategy=config.strategy if config.strategy != "coarse-to-fine"
                     else "random", space=config.space,
                     trials=config.population * config.generations if pbt else config.trials,
                     project=project, label=f"round {number} " if number else "", log=log)
        if role == "worker" or not config.write_results:
            return None
        records = collect_records(storage.join(config.directory, project), config.direction,
                                  objective=config.objective)
        failure = failure_stop(storage.join(config.directory, project))
    else:
        records = []
        failure = None
        box = config.space
        for number, trials in enumerate(split_trials(config.trials, config.rounds), start=1):
            project = f"round_{number}"
            box = _round_box(config.directory, project, box)
            boxes.append(box)
            log(f"round {number}/{config.rounds} box: {format_box(box)}")
            _run_project(config, strategy="random", space=box, trials=trials,
                         project=project, label=f"round {number} ", log=log)
            round_records = collect_records(storage.join(config.directory, project),
                                            config.direction, number, config.objective)
            records += round_records
            failure = failure_stop(storage.join(config.directory, project))
            if failure:
                break
            best = [r for r in rank(round_records, config.direction)
                    if r["status"] == "completed"][:config.zoom_k]
            box = narrow_space(box, best, config.margin)

    if config.strategy == "pbt":  # the best member after its last epoch, not its best epoch
        ranked = pbt_results.final_ranking(records, config.direction)
    else:
        ranked = rank(records, config.direction)
    best = ranked[0] if ranked and ranked[0]["status"] == "completed" else None
    result = SearchResult(records=records, best=best, directory=config.directory, boxes=boxes)
    result.importance = hyperparameter_importance(records, seed=config.seed)
    write_results(result, config)
    if config.strategy == "pbt":
        pbt_results.write_population_results(result, config)
        log(pbt_results.format_population_table(ranked[:config.top_k], records,
                                                config.objective))
        if best is not None:
            log(pbt_results.schedule_line(result, config))
    else:
        log(format_table(ranked[:config.top_k], config.objective))
    log(summary_line(result, config))
    if failure:
        raise SearchError(f"the search stopped: {failure}")
    return result


def _run_project(config: SearchConfig, *, strategy: str, space: SearchSpace, trials: int,
                 project: str, label: str, log: Callable[[str], None]) -> None:
    """One KerasTuner project: here, or with --workers in a chief and worker processes."""
    if config.workers > 1 and caviar.role() == "single":
        worker_config = config.replace(strategy=strategy, space=space, trials=trials,
                                       project=project, workers=1, write_results=False)
        caviar.run_with_workers(worker_config, config.workers, log=log)
    else:
        caviar.limit_threads(config.threads, log=log)
        # TensorFlow and KerasTuner are imported here, in the processes that train or hold the oracle.
        from tfweek3.training.data import load_dataset
        if strategy == "pbt":
            from tfweek3.tuning.pbt_tuner import make_pbt_tuner as make_tuner
        else:
            from tfweek3.tuning.tuner import make_tuner

        data = load_dataset(config.dataset, seed=config.seed)
        tuner = make_tuner(config, data, strategy=strategy, space=space, trials=trials,
                           project=project, label=label, log=log)
        tuner.search(data, verbose=0)


def failure_stop(project_dir: str) -> str | None:
    """Why the project's oracle stopped the search (trials failing in a row), or None."""
    path = storage.join(project_dir, "oracle.json")
    return storage.read_json(path).get("failure_stop") if storage.exists(path) else None


def split_trials(trials: int, rounds: int) -> list[int]:
    """Share a budget between rounds as evenly as possible (the first rounds get more)."""
    return [trials // rounds + (1 if r < trials % rounds else 0) for r in range(rounds)]


def _round_box(directory: str, project: str, box: SearchSpace) -> SearchSpace:
    """A round's box, saved in its folder so that a resumed search keeps it."""
    path = storage.join(directory, project, "box.json")
    if storage.exists(path):
        return SearchSpace.from_dict(storage.read_json(path))
    storage.makedirs(storage.join(directory, project))
    storage.write_text(path, json.dumps(box.to_dict(), indent=2))
    return box


def format_box(box: SearchSpace) -> str:
    """A box on one line: alpha [lo, hi] 1-beta [lo, hi] units [..] layers [..] batch [..]."""
    return (f"alpha [{box.learning_rate[0]:.3g}, {box.learning_rate[1]:.3g}] "
            f"1-beta [{box.one_minus_beta[0]:.3g}, {box.one_minus_beta[1]:.3g}] "
            f"units [{box.units[0]}, {box.units[1]}] layers [{box.layers[0]}, {box.layers[1]}] "
            f"batch {list(box.batch_size)}")
