"""Random against grid search on the synthetic objective, with KerasTuner's own oracles.

`random_vs_grid_win_rate` runs both searches many times on
`grid_vs_random.synthetic_score` (alpha matters, Adam's epsilon barely does):
each trial is one call of the formula, no training, so hundreds of searches take
seconds. `benchmarks/bench_search.py` and notebook 01 report the result.
"""

from __future__ import annotations

import math
import tempfile

import keras_tuner as kt
import numpy as np

from tfweek3.course.grid_vs_random import ALPHA_EPSILON, synthetic_score


class SyntheticTuner(kt.Tuner):
    """A KerasTuner tuner whose trial is one call of synthetic_score: no training."""

    def __init__(self, points: int | None, best_alpha: float, best_epsilon: float, **kwargs):
        self.points = points
        self.best = (best_alpha, best_epsilon)
        super().__init__(**kwargs)

    def run_trial(self, trial, **kwargs):
        hp = trial.hyperparameters
        alpha = _log_float(hp, "alpha", *ALPHA_EPSILON[0], self.points)
        epsilon = _log_float(hp, "epsilon", *ALPHA_EPSILON[1], self.points)
        return {"score": synthetic_score(alpha, epsilon, *self.best)}


def _log_float(hp, name: str, low: float, high: float, points: int | None) -> float:
    """A log-scale hyperparameter; with `points`, a grid of that many values."""
    step = (high / low) ** (1.0 / (points - 1)) if points else None
    return hp.Float(name, low, high, step=step, sampling="log")


def synthetic_search(strategy: str, budget: int, seed: int, best_alpha: float,
                     best_epsilon: float, directory: str) -> float:
    """Best synthetic score a KerasTuner random or grid search finds in `budget` trials.

    The grid has sqrt(budget) points per dimension, log-spaced over alpha in
    [1e-4, 1] and epsilon in [1e-10, 1e-6]; random search draws both on the same
    log scales.
    """
    points = math.isqrt(budget) if strategy == "grid" else None
    oracle_class = kt.oracles.GridSearchOracle if strategy == "grid" else kt.oracles.RandomSearchOracle
    oracle = oracle_class(objective=kt.Objective("score", "max"), max_trials=budget,
                          seed=seed + 1)
    tuner = SyntheticTuner(points, best_alpha, best_epsilon, oracle=oracle, directory=directory,
                           project_name=f"{strategy}_{seed}", overwrite=True)
    tuner.search(verbose=0)
    return float(oracle.get_best_trials(1)[0].score)


def random_vs_grid_win_rate(seeds: int = 100, budget: int = 25,
                            directory: str | None = None) -> dict[str, float]:
    """How often random search beats a grid at the same budget (course section 1).

    For each seed the best alpha and epsilon are drawn log-uniformly; both
    searches get `budget` trials (the grid: sqrt(budget) values of each). With a
    5x5 grid only 5 values of alpha are tried, with random search 25.
    Returns the shares of seeds where random wins, grid wins and they tie, and
    each strategy's mean regret (distance of its best score to the optimum 0).
    """
    if math.isqrt(budget) ** 2 != budget:
        raise ValueError(f"budget must be a square (a k x k grid), got {budget}")
    rng = np.random.default_rng(12345)
    wins = {"random": 0, "grid": 0, "tie": 0}
    regret = {"random": 0.0, "grid": 0.0}
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        for seed in range(seeds):
            best_alpha = 10.0 ** rng.uniform(-4, 0)
            best_epsilon = 10.0 ** rng.uniform(-10, -6)
            scores = {s: synthetic_search(s, budget, seed, best_alpha, best_epsilon, tmp)
                      for s in ("random", "grid")}
            for strategy, score in scores.items():
                regret[strategy] += -score / seeds
            if math.isclose(scores["random"], scores["grid"], abs_tol=1e-12):
                wins["tie"] += 1
            else:
                wins[max(scores, key=scores.get)] += 1
    return {"seeds": seeds, "budget": budget,
            "random_wins": wins["random"] / seeds, "grid_wins": wins["grid"] / seeds,
            "ties": wins["tie"] / seeds,
            "random_mean_regret": regret["random"], "grid_mean_regret": regret["grid"]}
