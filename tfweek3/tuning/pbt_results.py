"""What a PBT search leaves beside every search's files: its winner, lineages and schedules.

trials.csv and trials.json hold one row per member's generation, with the
member, the generation and the parent trial (results.py). From them:

* the winner: the best member of the last generation, scored after its last
  epoch; its *lineage* is the chain of parents back to generation 1, through
  every copy it descends from;
* schedules.png: every perturbed hyperparameter of every member over the
  epochs, on the scale it was declared on, coloured by the member's final
  score, the winner's lineage in bold: the schedule PBT found.

No TensorFlow here: the process that supervises a `--workers` search writes these files.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from tfweek3.tuning import storage
from tfweek3.tuning.figures import save_figure
from tfweek3.tuning.population import Population, generation_epochs
from tfweek3.tuning.results import (
    SearchResult,
    describe,
    format_table,
    outcome_text,
    rank,
)

FIGURE_FILE = "schedules.png"


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


def generation_line(record: dict[str, Any], parent: dict[str, Any] | None,
                    settings: Population, objective: str,
                    describe: Callable[[dict[str, Any]], str] = describe) -> str:
    """One line per member's generation, e.g. `trial 8/18 generation 2/3 member 2 copied
    member 5 (trial 3): learning_rate=0.0125 ... -> val_accuracy=0.9583 (1.2s)`."""
    if parent is None:
        how = "new"
    elif parent["member"] == record["member"]:
        how = "went on"
    else:
        how = f"copied member {parent['member']} (trial {parent['trial']})"
    duration = record["duration_seconds"]
    timing = f" ({duration:.1f}s)" if duration is not None else ""
    return (f"trial {record['trial']}/{settings.population * settings.generations} generation "
            f"{record['generation']}/{settings.generations} member {record['member']} {how}: "
            f"{describe(record)} -> {outcome_text(record, objective)}{timing}")


def format_population_table(ranked: list[dict[str, Any]], records: list[dict[str, Any]],
                            objective: str, table: Callable = format_table) -> str:
    """The final generation's best members, with how many copies their lineage made (`table`:
    how the trials' rows are made, results.format_table or the course's)."""
    table = table(ranked, objective).splitlines()
    lines = [f"{'member':>6} {table[0]} {'copies':>6}"]
    for r, line in zip(ranked, table[1:]):
        lines.append(f"{r['member']:>6} {line} {copies(lineage(records, r)):>6}")
    return "\n".join(lines)


def write_population_figure(result: SearchResult, settings: Population,
                            perturb: Sequence[str]) -> None:
    """schedules.png in the search's folder."""
    winner = result.best
    chain = lineage(result.records, winner) if winner is not None else []
    fig = plot_schedules(result, settings, perturb, chain)
    save_figure(fig, storage.join(result.directory, FIGURE_FILE))


def plot_schedules(result: SearchResult, settings: Population, perturb: Sequence[str],
                   winner_lineage: list[dict[str, Any]]):
    """Each perturbed hyperparameter of every member against the epochs; returns the Figure.

    Each member's generation is a horizontal step over its epochs; a copy is a
    dashed line from the parent's value to the copy's. Colours: the member's
    score at the end of the search. The winner's lineage is drawn in bold black.
    """
    import matplotlib
    from matplotlib.figure import Figure

    records = result.records
    dims = [d for d in result.dims if d.name in perturb] or result.dims[:1]
    final = {r["member"]: r["score"] for r in final_ranking(records, result.direction)
             if r["status"] == "completed"}
    scores = list(final.values()) or [0.0, 1.0]
    norm = matplotlib.colors.Normalize(min(scores), max(scores))
    cmap = matplotlib.colormaps["viridis"]
    by_trial = {r["trial"]: r for r in records}
    fig = Figure(figsize=(5.5 * max(len(dims), 1), 4), layout="constrained")
    axes = fig.subplots(1, max(len(dims), 1), squeeze=False)[0]
    for ax, dim in zip(axes, dims):
        def value(r, name=dim.name):
            return r["hyperparameters"].get(name)

        for r in records:
            if r["generation"] is None or r["status"] not in ("completed", "diverged"):
                continue
            first, last = generation_epochs(r["generation"], settings.ready_epochs,
                                            settings.epochs)
            colour = cmap(norm(final[r["member"]])) if r["member"] in final else "grey"
            style = ":" if r["status"] == "diverged" else "-"
            ax.plot([first - 1, last], [value(r)] * 2, style, color=colour, lw=1.2, alpha=0.8)
            parent = by_trial.get(r["parent"])
            if parent is not None and parent["member"] != r["member"]:
                ax.plot([first - 1] * 2, [value(parent), value(r)], "--", color=colour, lw=0.8,
                        alpha=0.6)
        xs, ys = [], []
        for r in winner_lineage:
            first, last = generation_epochs(r["generation"], settings.ready_epochs,
                                            settings.epochs)
            xs += [first - 1, last]
            ys += [value(r)] * 2
        if xs:
            ax.plot(xs, ys, color="black", lw=2.8,
                    label=f"winner's lineage (member {winner_lineage[-1]['member']})")
            ax.legend(fontsize=8, loc="best")
        if dim.scale in ("log10", "reverse_log"):
            ax.set_yscale("log")
            ax.set_ylim(dim.low / 1.5, dim.high * 1.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel(dim.title)
        ax.grid(alpha=0.3, which="both")
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=list(axes),
                       fraction=0.03)
    bar.set_label(f"member's final {result.objective}")
    fig.suptitle(f"population-based training: {settings.population} members, a step every "
                 f"{settings.ready_epochs} epochs", fontsize=10)
    return fig
