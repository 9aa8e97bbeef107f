"""The schedule a course pbt search found: best_schedule.json, for `tfweek3 train --schedule`.

Population-based training does not find one alpha: each member's alpha and
beta change from generation to generation, and the winner's lineage (its chain
of parents, tfweek3.tuning.pbt_results) is a schedule of them. For the course
network that schedule, with the winner's network, is written to
best_schedule.json, which `tfweek3 train --schedule` replays on a fresh model
(tfweek3.training.schedule).

No TensorFlow here: the `--workers` supervisor writes these files.
"""

from __future__ import annotations

import json
from typing import Any

from tfweek3.search.config import SearchConfig
from tfweek3.search.space import BATCH_NORM_LAYER
from tfweek3.training.schedule import Schedule, Segment
from tfweek3.tuning import storage
from tfweek3.tuning.pbt_results import copies, lineage
from tfweek3.tuning.population import generation_epochs
from tfweek3.tuning.results import SearchResult

PBT_PROJECT = "pbt"  # the KerasTuner project folder of a pbt search, inside --dir
SCHEDULE_FILE = "best_schedule.json"


def winner_checkpoint(config: SearchConfig, record: dict[str, Any]) -> str:
    """The weights a completed member's trial ended with (after its last epoch; a Keras
    .weights.h5 file with the optimizer's state, as `model.load_weights` reads it)."""
    return storage.join(config.directory, PBT_PROJECT, f"trial_{record['trial_id']}",
                        "checkpoint.weights.h5")


def best_schedule(records: list[dict[str, Any]], winner: dict[str, Any],
                  config: SearchConfig) -> Schedule:
    """The winner's lineage as a schedule: one segment per generation, and its network."""
    chain = lineage(records, winner)
    segments = []
    for record in chain:
        first, last = generation_epochs(record["generation"], config.ready_epochs, config.epochs)
        values = record["hyperparameters"]
        segments.append(Segment(first, last, values["learning_rate"], values["beta"]))
    values = winner["hyperparameters"]
    return Schedule(
        segments=tuple(segments), hidden_units=(values["units"],) * values["layers"],
        batch_norm=BATCH_NORM_LAYER if values["batch_norm"] else "none",
        optimizer=values["optimizer"], batch_size=values["batch_size"],
        found_by={"search": config.directory, "objective": config.objective,
                  "score": winner["score"], "member": winner["member"], "trial": winner["trial"],
                  "lineage": [{"trial": r["trial"], "member": r["member"],
                               "generation": r["generation"]} for r in chain],
                  "dataset": config.dataset, "seed": config.seed})


def write_schedule(result: SearchResult, config: SearchConfig) -> None:
    """best_schedule.json, when a member completed."""
    if result.best is not None:
        schedule = best_schedule(result.records, result.best, config)
        storage.write_text(storage.join(config.directory, SCHEDULE_FILE),
                           json.dumps(schedule.to_dict(), indent=2))


def schedule_line(result: SearchResult, config: SearchConfig) -> str:
    """Where the winner's schedule is, and the command that replays it."""
    chain = lineage(result.records, result.best)
    path = storage.join(config.directory, SCHEDULE_FILE)
    return (f"schedule of member {result.best['member']} ({len(chain)} generations, "
            f"{copies(chain)} copies) in {path}; replay it: tfweek3 train --schedule {path}")
