"""Notebook 01, section 6: what median-stopping pruning saved, and whether alpha mattered most.

The lecture's priority: alpha first; then momentum beta, the mini-batch size
and the hidden units; then the number of layers (and learning-rate decay).
Batch norm and the optimizer are not on its list. `format_importance` puts a
search's importance (tfweek3.tuning.importance) beside that order, with how
sure it is: how often each hyperparameter came first when the trials were
resampled, and the forest's out-of-bag R^2 (below importance.MIN_R2 the
ranking is not to be trusted, and `importance_phrase` names no winner).
"""

from __future__ import annotations

from typing import Any

from tfweek3.tuning.importance import MIN_R2, importance_phrase, importance_verdict
from tfweek3.tuning.pruning import epochs_saved
from tfweek3.tuning.results import SearchResult

# The lecture's tiers: 1 first, 2 next, 3 last.
LECTURE_TIER = {"learning_rate": 1, "one_minus_beta": 2, "batch_size": 2, "units": 2, "layers": 3}
NO_IMPORTANCE = "too few scored trials for an importance"
PHRASE_PREFIX = "importance: "  # importance_phrase's start when it names no winner


def pruning_gain(full: SearchResult, pruned: SearchResult, epochs: int) -> dict[str, Any]:
    """The same search (same seed, so the same trials) without and with pruning, side by side."""
    trained = {name: sum(r["epochs"] for r in result.records)
               for name, result in (("full", full), ("pruned", pruned))}
    best = {name: result.best for name, result in (("full", full), ("pruned", pruned))}
    return {
        "trials": len(full.records),
        "pruned_trials": sum(r["status"] == "pruned" for r in pruned.records),
        "epochs_full": trained["full"], "epochs_pruned": trained["pruned"],
        "epochs_saved": epochs_saved(pruned.records, epochs),
        "saved_share": 1 - trained["pruned"] / trained["full"],
        "best_full": best["full"]["score"] if best["full"] else None,
        "best_pruned": best["pruned"]["score"] if best["pruned"] else None,
        "same_best_trial": bool(best["full"] and best["pruned"]
                                and best["full"]["trial"] == best["pruned"]["trial"]),
    }


def trusted(rows: list[dict[str, Any]]) -> bool:
    """Whether the forest explains enough of the score (out-of-bag R^2 >= MIN_R2) to rank."""
    return bool(rows) and rows[0]["forest_r2"] >= MIN_R2


def format_importance(rows: list[dict[str, Any]]) -> str:
    """The importance table with the lecture's tier beside each hyperparameter.

    Each row: its share of the explained variance, and in how many of the
    bootstrap resamples of the trials it ranked first. Below the table: the
    forest's out-of-bag R^2 (saying when it is below MIN_R2 that the ranking
    is not to be trusted) and what the rows allow one to say (importance_phrase).
    """
    if not rows:
        return NO_IMPORTANCE
    first = rows[0]
    firsts = [f"first in {r['top_share']:.0%} of {r['resamples']} resamples" for r in rows]
    width = max(len(text) for text in firsts)
    lines = [f"{'rank':>4}  {'hyperparameter':<16} {'share':>6}  {'':<{width}}  lecture's tier"]
    for r, text in zip(rows, firsts):
        tier = LECTURE_TIER.get(r["hyperparameter"])
        lines.append(f"{r['rank']:>4}  {r['label']:<16} {r['share']:>6.1%}  {text:<{width}}  "
                     f"{tier if tier else '- (not in its list)'}")
    verdict = ("" if trusted(rows) else
               f", below {MIN_R2}: it explains too little, do not trust this ranking")
    lines.append(f"(random forest on {first['trials']} trials, out-of-bag R^2 "
                 f"{first['forest_r2']:.2f}{verdict})")
    lines.append(importance_phrase(rows))
    return "\n".join(lines)


def top_line(rows: list[dict[str, Any]]) -> str:
    """What the importance allows one to say, with the forest's R^2 once, e.g.
    'alpha matters most (61% of the explained variance; on top in 93% of 200 resamples),
    R^2 0.37', 'alpha leads, not clearly (on top in 75% of 200 resamples, ...; out-of-bag R^2 0.31)',
    or why there is none."""
    if not rows:
        return NO_IMPORTANCE
    phrase = importance_phrase(rows).removeprefix(PHRASE_PREFIX)
    if importance_verdict(rows) != "clear":  # those forms give the R^2 themselves
        return phrase
    return f"{phrase}, R^2 {rows[0]['forest_r2']:.2f}"
