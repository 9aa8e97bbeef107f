"""Which hyperparameters mattered: each one's share of the explained variance of the score.

The note says to tune alpha first: it matters most. After a search, check it
on your own trials. A random forest (scikit-learn's RandomForestRegressor)
learns the score from the hyperparameters, and its impurity importance
(`feature_importances_`, "mean decrease in impurity") splits what it explains
between them: with the squared error criterion a split's impurity decrease is
how much it reduces the variance of the score in its node, so each
hyperparameter's importance is its share of all the variance the trees'
splits explain, averaged over the trees. The shares add up to 1.

The forest sees each hyperparameter on the scale it is searched on: alpha and
1 - beta as log10, the mini-batch size as log2, batch norm as 0/1, the
optimizer as a category (one code each; trees split codes like any number).
Hyperparameters that did not vary are left out.

Read the numbers with their limits: with a few dozen trials they are rough;
the out-of-bag R^2 (each trial predicted by the trees that did not see it)
says how much of the score's variance the forest explains at all (near 0 or
below: the shares split noise); and impurity importance leans towards
hyperparameters with many distinct values (alpha) against those with two
(batch norm). Which trials count: completed ones, pruned ones with the score
they had when stopped (a lower bound: they were losing) and diverged ones with
the worst score, when it is finite (an accuracy's 0, not a loss's infinity).

No TensorFlow here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# The hyperparameters in the course's names, and the scale the forest sees each on.
HP_LABELS = {"learning_rate": "alpha", "one_minus_beta": "1 - beta", "units": "hidden units",
             "layers": "hidden layers", "batch_size": "mini-batch size",
             "batch_norm": "batch norm", "optimizer": "optimizer"}
SCALES = {"learning_rate": "log10", "one_minus_beta": "log10", "units": "linear",
          "layers": "linear", "batch_size": "log2", "batch_norm": "0/1", "optimizer": "category"}
SCORED = ("completed", "pruned", "diverged")
MIN_TRIALS = 8   # fewer scored trials than this: no importance (a forest of a handful says nothing)
TREES = 300
CSV_COLUMNS = ("rank", "hyperparameter", "label", "scale", "share", "forest_r2", "trials")


def scored_trials(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trials the forest learns from: those with a finite score (see the module's note)."""
    return [r for r in records if r["status"] in SCORED and r["score"] is not None
            and math.isfinite(r["score"])]


def on_scale(name: str, values: list[Any]) -> np.ndarray:
    """One hyperparameter's values as the forest sees them (SCALES)."""
    scale = SCALES[name]
    if scale == "log10":
        return np.log10(np.asarray(values, dtype=float))
    if scale == "log2":
        return np.log2(np.asarray(values, dtype=float))
    if scale == "category":
        codes = {value: code for code, value in enumerate(sorted(set(values)))}
        return np.asarray([codes[v] for v in values], dtype=float)
    return np.asarray(values, dtype=float)


def hyperparameter_importance(records: list[dict[str, Any]], *, seed: int = 0,
                              min_trials: int = MIN_TRIALS) -> list[dict[str, Any]]:
    """Rows of importance.csv, most important first; [] when there is too little to learn from.

    Each row: rank (1 = most important), hyperparameter (the name in
    trials.csv), label (the course's), scale, share (of the explained variance;
    the rows add up to 1), forest_r2 (the forest's out-of-bag R^2, the same on
    every row) and trials (how many it learned from).
    `records` are a search's records (results.py); those that varied and have
    at least `min_trials` scored trials with different scores are used.
    """
    from sklearn.ensemble import RandomForestRegressor

    trials = scored_trials(records)
    scores = np.asarray([r["score"] for r in trials], dtype=float)
    if len(trials) < min_trials or np.ptp(scores) == 0:
        return []
    names = [name for name in HP_LABELS if len({r.get(name) for r in trials}) > 1]
    if not names:
        return []
    x = np.column_stack([on_scale(name, [r[name] for r in trials]) for name in names])
    forest = RandomForestRegressor(n_estimators=TREES, min_samples_leaf=2, oob_score=True,
                                   random_state=seed, n_jobs=1)
    forest.fit(x, scores)
    shares = forest.feature_importances_
    order = np.argsort(-shares, kind="stable")
    return [{"rank": position, "hyperparameter": names[i], "label": HP_LABELS[names[i]],
             "scale": SCALES[names[i]], "share": float(shares[i]),
             "forest_r2": float(forest.oob_score_), "trials": len(trials)}
            for position, i in enumerate(order, start=1)]


def importance_phrase(rows: list[dict[str, Any]]) -> str | None:
    """'alpha matters most (61% of the explained variance)', or None without rows."""
    if not rows:
        return None
    top = rows[0]
    return f"{top['label']} matters most ({top['share']:.0%} of the explained variance)"
