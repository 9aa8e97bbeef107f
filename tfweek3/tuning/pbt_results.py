"""What a pbt search leaves beside every search's files: the schedules it found.

trials.csv and trials.json hold one row per member's generation, with the
member, the generation and the parent trial (results.py). From them:

* the winner: the best member of the last generation, scored after its last
  epoch; its *lineage* is the chain of parents back to generation 1, through
  every copy it descends from;
* best_schedule.json: the lineage's alpha and beta, generation by generation,
  with its network: what `tfweek3 train --schedule` replays on a fresh model
  (tfweek3.training.schedule);
* schedules.png: alpha and 1 - beta of every member over the epochs, on log
  axes, coloured by the member's final score, the winner's lineage in bold.

No TensorFlow here: the `--workers` supervisor writes these files.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from tfweek3.training.schedule import Schedule, Segment
from tfweek3.tuning import storage
from tfweek3.tuning.config import SearchConfig
from tfweek3.tuning.figures import save_figure
from tfweek3.tuning.results import (
    SETTINGS_HEADER,
    SearchResult,
    describe,
    rank,
    score_cell,
    settings_cells,
)
from tfweek3.tuning.search_space import BATCH_NORM_LAYER

PBT_PROJECT = "pbt"  # the KerasTuner project folder of a pbt search, inside --dir
CHECKPOINTS = "checkpoints"  # a trial's checkpoint folder, inside trial_<id>/
SCHEDULE_FILE = "best_schedule.json"
FIGURE_FILE = "schedules.png"


def generation_epochs(generation: int, ready_epochs: int, epochs: int) -> tuple[int, int]:
    """The first and last epoch (from 1, both included) of a generation (from 1)."""
    return (generation - 1) * ready_epochs + 1, min(generation * ready_epochs, epochs)


def final_ranking(records: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    """The members of the last generation with a completed trial, best first.

    Scores of earlier generations are not compared with them: a member is
    judged on its weights at the end, after all its epochs.
    """
    done = [r["generation"] for r in records if r["status"] == "completed"]
    if not done:
        return rank(records, direction)
    return rank([r for r in records if r["generation"] == max(done)], direction)


def lineage(records: list[dict[str, Any]], last: dict[str, Any]) -> list[dict[str, Any]]:
    """The trials whose weights `last` grew from: generation 1 first, `last` at the end."""
    by_trial = {r["trial"]: r for r in records}
    chain = [last]
    while chain[-1]["parent"] is not None:
        chain.append(by_trial[chain[-1]["parent"]])
    return chain[::-1]


def copies(chain: list[dict[str, Any]]) -> int:
    """How many times a lineage copied another member's weights (exploit steps)."""
    return sum(a["member"] != b["member"] for a, b in itertools.pairwise(chain))


def all_copies(records: list[dict[str, Any]]) -> int:
    """How many generations of the whole population started from another member's weights."""
    member = {r["trial"]: r["member"] for r in records}
    return sum(r["parent"] is not None and member[r["parent"]] != r["member"] for r in records)


def winner_checkpoint(config: SearchConfig, record: dict[str, Any]) -> str:
    """The checkpoint a completed member's trial ended with (its weights after its last epoch)."""
    last = generation_epochs(record["generation"], config.ready_epochs, config.epochs)[1]
    return storage.join(config.directory, PBT_PROJECT, f"trial_{record['trial_id']}",
                        CHECKPOINTS, f"ckpt-{last}")


def best_schedule(records: list[dict[str, Any]], winner: dict[str, Any],
                  config: SearchConfig) -> Schedule:
    """The winner's lineage as a schedule: one segment per generation, and its network."""
    chain = lineage(records, winner)
    segments = []
    for record in chain:
        first, last = generation_epochs(record["generation"], config.ready_epochs, config.epochs)
        segments.append(Segment(first, last, record["learning_rate"], record["beta"]))
    return Schedule(
        segments=tuple(segments), hidden_units=(winner["units"],) * winner["layers"],
        batch_norm=BATCH_NORM_LAYER if winner["batch_norm"] else "none",
        optimizer=winner["optimizer"], batch_size=winner["batch_size"],
        found_by={"search": config.directory, "objective": config.objective,
                  "score": winner["score"], "member": winner["member"], "trial": winner["trial"],
                  "lineage": [{"trial": r["trial"], "member": r["member"],
                               "generation": r["generation"]} for r in chain],
                  "dataset": config.dataset, "seed": config.seed})


def write_population_results(result: SearchResult, config: SearchConfig) -> None:
    """schedules.png, and best_schedule.json when a member completed."""
    winner = result.best
    chain = lineage(result.records, winner) if winner is not None else []
    fig = plot_schedules(result.records, config, chain)
    save_figure(fig, storage.join(config.directory, FIGURE_FILE))
    if winner is not None:
        schedule = best_schedule(result.records, winner, config)
        storage.write_text(storage.join(config.directory, SCHEDULE_FILE),
                           json.dumps(schedule.to_dict(), indent=2))


def schedule_line(result: SearchResult, config: SearchConfig) -> str:
    """Where the winner's schedule is, and the command that replays it."""
    chain = lineage(result.records, result.best)
    path = storage.join(config.directory, SCHEDULE_FILE)
    return (f"schedule of member {result.best['member']} ({len(chain)} generations, "
            f"{copies(chain)} copies) in {path}; replay it: tfweek3 train --schedule {path}")


def generation_line(record: dict[str, Any], parent: dict[str, Any] | None,
                    config: SearchConfig) -> str:
    """One line per member's generation, e.g. `trial 8/18 generation 2/3 member 2 copied
    member 5 (trial 3): alpha=0.0125 beta=0.92 ... -> val_accuracy=0.9583 (1.2s)`."""
    if parent is None:
        how = "new"
    elif parent["member"] == record["member"]:
        how = "went on"
    else:
        how = f"copied member {parent['member']} (trial {parent['trial']})"
    outcome = (f"{config.objective}={record['score']:.4f}" if record["status"] == "completed"
               else f"{record['status']}: {record['reason']}")
    duration = record["duration_seconds"]
    timing = f" ({duration:.1f}s)" if duration is not None else ""
    return (f"trial {record['trial']}/{config.population * config.generations} generation "
            f"{record['generation']}/{config.generations} member {record['member']} {how}: "
            f"{describe(record)} -> {outcome}{timing}")


def format_population_table(ranked: list[dict[str, Any]], records: list[dict[str, Any]],
                            objective: str) -> str:
    """The final generation's best members, with how many copies their lineage made."""
    header = (f"{'rank':>4} {'member':>6} {'trial':>5} {objective:>12} {SETTINGS_HEADER} "
              f"{'copies':>6} status")
    lines = [header]
    for position, r in enumerate(ranked, start=1):
        lines.append(f"{position:>4} {r['member']:>6} {r['trial']:>5} {score_cell(r):>12} "
                     f"{settings_cells(r)} {copies(lineage(records, r)):>6} {r['status']}")
    return "\n".join(lines)


def plot_schedules(records: list[dict[str, Any]], config: SearchConfig,
                   winner_lineage: list[dict[str, Any]]):
    """alpha and 1 - beta of every member against the epochs; returns the matplotlib Figure.

    Each member's generation is a horizontal step over its epochs; a copy is a
    dashed line from the parent's value to the copy's. Colours: the member's
    score at the end of the search. The winner's lineage is drawn in bold black.
    """
    import matplotlib
    from matplotlib.figure import Figure

    final = {r["member"]: r["score"] for r in final_ranking(records, config.direction)
             if r["status"] == "completed"}
    scores = list(final.values()) or [0.0, 1.0]
    norm = matplotlib.colors.Normalize(min(scores), max(scores))
    cmap = matplotlib.colormaps["viridis"]
    by_trial = {r["trial"]: r for r in records}
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    panels = (("learning_rate", "alpha (learning rate)"), ("one_minus_beta", "1 - beta"))
    for ax, (name, label) in zip(axes, panels):
        for r in records:
            if r["generation"] is None or r["status"] not in ("completed", "diverged"):
                continue
            first, last = generation_epochs(r["generation"], config.ready_epochs, config.epochs)
            colour = cmap(norm(final[r["member"]])) if r["member"] in final else "grey"
            style = ":" if r["status"] == "diverged" else "-"
            ax.plot([first - 1, last], [r[name]] * 2, style, color=colour, lw=1.2, alpha=0.8)
            parent = by_trial.get(r["parent"])
            if parent is not None and parent["member"] != r["member"]:
                ax.plot([first - 1] * 2, [parent[name], r[name]], "--", color=colour, lw=0.8,
                        alpha=0.6)
        xs, ys = [], []
        for r in winner_lineage:
            first, last = generation_epochs(r["generation"], config.ready_epochs, config.epochs)
            xs += [first - 1, last]
            ys += [r[name]] * 2
        if xs:
            ax.plot(xs, ys, color="black", lw=2.8, label=f"winner's lineage "
                    f"(member {winner_lineage[-1]['member']})")
            ax.legend(fontsize=8, loc="best")
        ax.set_yscale("log")
        low, high = getattr(config.space, name)
        if low < high:  # the whole range the members could take
            ax.set_ylim(low / 1.5, high * 1.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes,
                       fraction=0.03)
    bar.set_label(f"member's final {config.objective}")
    fig.suptitle(f"population-based training: {config.population} members, a step every "
                 f"{config.ready_epochs} epochs", fontsize=10)
    return fig
