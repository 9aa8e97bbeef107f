"""Which hyperparameters mattered, and how sure that is.

A random forest learns a search's score from its hyperparameters, and its
impurity importance ("mean decrease in impurity") splits what it explains
between them: with the squared error criterion a split's impurity decrease is
how much it reduces the variance of the score in its node, so a
hyperparameter's `share` is its part of all the variance the trees' splits
explain, averaged over the trees; the shares add up to 1. The forest is
scikit-learn's RandomForestRegressor(min_samples_leaf=2) computed tree by tree
(DecisionTreeRegressor on bootstrap weights, as the forest does): a quarter
of the forest's time (0.04 s against 0.16 s for 300 trees on 30 trials), which
pays for the resamples below.

Any search: the hyperparameters are the `Dimension`s it declared
(dimensions.py), each fed to the forest on the scale it was sampled on
(`Dimension.on_scale`: log10 for log-sampled ones, log2 for powers of two, a
code per category, 0/1 for booleans). One that took a single value among the
scored trials is left out. A trial without a value for it (a conditional
hyperparameter that was inactive) gets a constant below every value seen: the
lowest one minus the spread of the values seen (at least 1). Trees only use
the order, so a single split separates the inactive trials from the others.
(Order is also why the scale changes the shares little: it places each split
midway between neighbouring values, which decides where an unseen trial
falls, as out of bag.)

Which trials count: completed ones, pruned ones with the score they had when
stopped (a lower bound: they were losing) and diverged ones with the worst
score, when it is finite (an accuracy's 0, not a loss's infinity). Fewer than
MIN_TRIALS of them, or scores that do not vary: no importance ([]).

How sure, two numbers on every row, and `importance_phrase` says only what they allow:

* `forest_r2`, the out-of-bag R^2: each trial predicted by the trees that
  did not see it. The shares split what the forest explains; when it explains
  nothing they split noise. Below MIN_R2 = 0.2 the phrase names no winner.
  Why 0.2: on pure-noise scores the out-of-bag R^2 is mostly below 0 (the
  forest's guess for a trial it has not seen is worse than their mean).
  Over 1000 simulated pure-noise searches of 30 trials x 7 hyperparameters
  (the course's space) it had a median of -0.26 and was above 0.2 in 0.4% of
  them (above 0.1 in 2.6%); of 15 trials, above 0.2 in 3.3%. A real effect
  is not much higher with so few trials: when alpha alone explains half the
  variance of the score, the median out-of-bag R^2 of 30 trials is 0.20. So
  0.2 lets through about half of such searches and almost no noise: erring
  on the side of saying nothing, which is the point.
* `top_share`: how often each hyperparameter ranks first when the trials are
  resampled. RESAMPLES bootstrap resamples of the trials (drawn with
  replacement), a forest of RESAMPLE_TREES trees refit on each (each tree on
  a bootstrap of the resample, as the forest does), and the share of them in
  which it had the largest importance. Fewer trees than the main forest: the
  noise of a small forest only makes the top move more often (the measure
  errs towards "not sure"): on 30 trials with two effects, 10 trees per
  resample gave top_shares 0.00 to 0.025 below forests of 50 (1000 resamples
  each). 300 + 200 x 10 trees on 30 trials x 7 hyperparameters take about
  0.25 s on this course's two-core machine (plus about 0.7 s to import
  scikit-learn, once per process). A resample whose scores did
  not vary has no top, so the top_shares may add up to less than 1.
  A top_share below CLEAR_TOP: not clear (importance_verdict). top_share is no test of
  whether an effect is real: it asks whether these trials keep pointing at
  the same hyperparameter, and a chance pattern in pure noise can: 3 of 40
  simulated searches of 30 pure-noise trials had a top_share above 0.75 (one
  is a test: 1 - beta first in 83% of the resamples, with an out-of-bag R^2
  of 0.02). Hence the R^2 first. And the bootstrap favours whichever leads in
  the sample: with two equally strong effects (100 simulated searches of 30
  trials) the leader's top_share had a median of 0.72 and was 0.5 or more in
  96% of them, 0.8 or more in 36%. So "on top in 70%" is a weak lead (hence
  CLEAR_TOP = 0.8); a single dominant effect shows above 0.9.

Impurity importance also leans towards hyperparameters with many distinct
values (a log-sampled alpha) against those with two (batch norm): a coin-flip
hyperparameter can split a node only once per branch.

No TensorFlow here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfweek3.tuning.dimensions import Dimension

SCORED = ("completed", "pruned", "diverged")
MIN_TRIALS = 8        # fewer scored trials than this: no importance (a forest of a handful says nothing)
TREES = 300           # the forest whose shares and out-of-bag R^2 are reported
RESAMPLES = 200       # bootstrap resamples of the trials for top_share
RESAMPLE_TREES = 10   # trees in the forest refit on each resample
MIN_LEAF = 2
MIN_R2 = 0.2          # out-of-bag R^2 below this: the forest explains too little to rank (see above)
CLEAR_TOP = 0.8       # the top hyperparameter on top in fewer resamples than this: no clear winner
CSV_COLUMNS = ("rank", "hyperparameter", "label", "scale", "share", "top_share", "resamples",
               "forest_r2", "trials")


def scored_trials(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trials the forest learns from: those with a finite score (see the module's note)."""
    return [r for r in records if r["status"] in SCORED and r["score"] is not None
            and math.isfinite(r["score"])]


def feature_column(dim: Dimension, values: Sequence[Any]) -> np.ndarray:
    """One hyperparameter's values on its scale; None (inactive) below every value seen."""
    present = [v for v in values if v is not None]
    column = np.empty(len(values))
    active = np.asarray([v is not None for v in values])
    if present:
        column[active] = dim.on_scale(present)
        seen = column[active]
        column[~active] = seen.min() - max(float(np.ptp(seen)), 1.0)
    else:
        column[:] = 0.0
    return column


def _fit_trees(x: np.ndarray, y: np.ndarray, weights: Sequence[np.ndarray],
               random_state: np.random.RandomState,
               oob: bool = False) -> tuple[np.ndarray, float | None]:
    """A forest, tree by tree: its impurity importances (normalized) and, with `oob`,
    its out-of-bag R^2. Each tree learns from `weights` (bootstrap counts per trial)."""
    import sklearn
    from sklearn.tree import DecisionTreeRegressor

    features = np.ascontiguousarray(x, dtype=np.float32)  # what the trees split on anyway
    importances = np.zeros(x.shape[1])
    predicted, voters = np.zeros(len(y)), np.zeros(len(y))
    tree = DecisionTreeRegressor(min_samples_leaf=MIN_LEAF, random_state=random_state)
    # Checked once here, not 2300 times: the input is float32, finite and of one shape.
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        for w in weights:
            tree.fit(features, y, sample_weight=w.astype(float), check_input=False)
            if tree.tree_.node_count > 1:  # a tree without a split explains nothing
                importances += tree.tree_.compute_feature_importances(normalize=True)
            out = w == 0
            if oob and out.any():
                predicted[out] += tree.predict(features[out], check_input=False)
                voters[out] += 1
    total = importances.sum()
    if total > 0:
        importances /= total
    if not oob:
        return importances, None
    seen = voters > 0
    guess = predicted[seen] / voters[seen]
    truth = y[seen]
    return importances, float(1 - np.sum((truth - guess) ** 2) / np.sum((truth - truth.mean()) ** 2))


def hyperparameter_importance(records: Sequence[dict[str, Any]], dims: Sequence[Dimension], *,
                              seed: int = 0, min_trials: int = MIN_TRIALS) -> list[dict[str, Any]]:
    """Rows of importance.csv, most important first; [] when there is too little to learn from.

    `records`: a search's records (status, score, hyperparameters: {name: value});
    `dims`: the hyperparameters it declared (dimensions.dimensions). Each row:
    rank (1 = the largest share), hyperparameter (its name), label (dim.title),
    scale (dim.scale), share (of the explained variance; the rows add up to 1),
    top_share (the share of `resamples` bootstrap resamples in which it ranked
    first), resamples, forest_r2 (out-of-bag R^2) and trials (how many the
    forest learned from); the last three are the same on every row.
    """
    trials = scored_trials(records)
    scores = np.asarray([r["score"] for r in trials], dtype=float)
    if len(trials) < min_trials or np.ptp(scores) == 0:
        return []
    columns, kept = [], []
    for dim in dims:
        column = feature_column(dim, [r["hyperparameters"].get(dim.name) for r in trials])
        if np.ptp(column) > 0:
            columns.append(column)
            kept.append(dim)
    if not kept:
        return []
    x = np.column_stack(columns)
    n = len(trials)
    rng = np.random.default_rng(seed)
    random_state = np.random.RandomState(seed)

    def bootstraps(pool: np.ndarray, count: int) -> list[np.ndarray]:
        return [np.bincount(pool[rng.integers(0, n, n)], minlength=n) for _ in range(count)]

    everyone = np.arange(n)
    shares, r2 = _fit_trees(x, scores, bootstraps(everyone, TREES), random_state, oob=True)
    firsts = np.zeros(len(kept))
    for _ in range(RESAMPLES):
        resample = everyone[rng.integers(0, n, n)]
        found, _ = _fit_trees(x, scores, bootstraps(resample, RESAMPLE_TREES), random_state)
        if found.any():
            firsts[np.argmax(found)] += 1
    order = np.argsort(-shares, kind="stable")
    return [{"rank": position, "hyperparameter": kept[i].name, "label": kept[i].title,
             "scale": kept[i].scale, "share": float(shares[i]),
             "top_share": float(firsts[i] / RESAMPLES), "resamples": RESAMPLES,
             "forest_r2": r2, "trials": n}
            for position, i in enumerate(order, start=1)]


def importance_verdict(rows: Sequence[dict[str, Any]]) -> str | None:
    """How sure the rows are: "untrusted" (out-of-bag R^2 below MIN_R2), "unclear" (the first
    row on top in fewer than CLEAR_TOP of the resamples) or "clear"; None without rows."""
    if not rows:
        return None
    if rows[0]["forest_r2"] < MIN_R2:
        return "untrusted"
    return "unclear" if rows[0]["top_share"] < CLEAR_TOP else "clear"


def importance_phrase(rows: Sequence[dict[str, Any]]) -> str | None:
    """What the rows allow one to say, in one line; None without rows.

    untrusted: no ranking, and why. unclear: which leads and how often, beside
    the runner-up, "importance: alpha leads, not clearly (on top in 75% of 200
    resamples, hidden units in 14%; out-of-bag R^2 0.40)". clear: "alpha
    matters most (61% of the explained variance; on top in 93% of 200 resamples)".
    """
    verdict = importance_verdict(rows)
    if verdict is None:
        return None
    top = rows[0]
    r2, resamples = top["forest_r2"], top["resamples"]
    if verdict == "untrusted":
        return (f"importance: the forest explains too little of the score to rank the "
                f"hyperparameters (out-of-bag R^2 {r2:.2f} over {top['trials']} trials)")
    if verdict == "unclear":
        lead, *others = sorted(rows, key=lambda r: -r["top_share"])[:2]
        runner = f", {others[0]['label']} in {others[0]['top_share']:.0%}" if others else ""
        return (f"importance: {lead['label']} leads, not clearly (on top in "
                f"{lead['top_share']:.0%} of {resamples} resamples{runner}; out-of-bag R^2 "
                f"{r2:.2f})")
    return (f"{top['label']} matters most ({top['share']:.0%} of the explained variance; "
            f"on top in {top['top_share']:.0%} of {resamples} resamples)")
