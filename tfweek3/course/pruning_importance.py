"""Notebook 01, section 6: what median-stopping pruning saved, and whether alpha mattered most.

The lecture's priority: alpha first; then momentum beta, the mini-batch size
and the hidden units; then the number of layers (and learning-rate decay).
Batch norm and the optimizer are not on its list. `format_importance` puts a
search's importance (tfweek3.tuning.importance) beside that order.
"""

from __future__ import annotations

from typing import Any

from tfweek3.tuning.importance import importance_phrase
from tfweek3.tuning.pruning import epochs_saved
from tfweek3.tuning.results import SearchResult

# The lecture's tiers: 1 first, 2 next, 3 last.
LECTURE_TIER = {"learning_rate": 1, "one_minus_beta": 2, "batch_size": 2, "units": 2, "layers": 3}


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


def format_importance(rows: list[dict[str, Any]]) -> str:
    """The importance table with the lecture's tier beside each hyperparameter."""
    if not rows:
        return top_line(rows)
    lines = [f"{'rank':>4}  {'hyperparameter':<16} {'share':>6}  lecture's tier"]
    for r in rows:
        tier = LECTURE_TIER.get(r["hyperparameter"])
        lines.append(f"{r['rank']:>4}  {r['label']:<16} {r['share']:>6.1%}  "
                     f"{tier if tier else '- (not in its list)'}")
    lines.append(f"(random forest on {rows[0]['trials']} trials, out-of-bag R^2 "
                 f"{rows[0]['forest_r2']:.2f})")
    return "\n".join(lines)


def top_line(rows: list[dict[str, Any]]) -> str:
    """'alpha matters most (61% of the explained variance), R^2 0.37', or why there is none."""
    if not rows:
        return "too few scored trials for an importance"
    return f"{importance_phrase(rows)}, R^2 {rows[0]['forest_r2']:.2f}"
