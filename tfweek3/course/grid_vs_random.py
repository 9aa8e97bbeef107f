"""Grid against random search: how many values of each hyperparameter a search tries.

The note's argument (course section 1): you do not know in advance which
hyperparameter matters. Say alpha matters a lot and Adam's epsilon hardly at
all. A 5 x 5 grid over (alpha, epsilon) trains 25 models but tries only 5
values of alpha: the 5 models that share an alpha give the same result. 25
random points try 25 values of alpha. With 3 hyperparameters a 5 x 5 x 5 grid
trains 125 models and still tries only 5 values of each.

Here the points of both searches (on the log scale of each range, as course
section 2 says), the count of distinct values per axis, and the expected regret
of the grid on the synthetic objective of `synthetic_score` below,
-(decades off in alpha)**2 - 0.01 (decades off in epsilon)**2:

    a k-point grid over D decades has one point every s = D / (k - 1) decades;
    the best value, uniform on the log scale, is at a distance d uniform on
    [0, s/2] from the nearest grid value, so E[d**2] = s**2 / 12, and
    E[regret] = (1 + 0.01) s**2 / 12          (0.0842 for 5 points on 4 decades)

and, since Var(d**2) = E[d**4] - E[d**2]**2 = s**4/80 - s**4/144 = s**4/180, the mean
regret over n independent contests has a standard error of
sqrt((1 + 0.01**2) s**4 / 180 / n)          (0.0075 for n = 100)
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from tfweek3.tuning.scales import sample_log_uniform

# alpha on [1e-4, 1] and Adam's epsilon on [1e-10, 1e-6]: 4 decades each, as `tfweek3 tune`.
ALPHA_EPSILON = ((1e-4, 1.0), (1e-10, 1e-6))
EPSILON_WEIGHT = 0.01  # the weight of epsilon's term in synthetic_score below


def grid_points(per_axis: int = 5,
                ranges: tuple[tuple[float, float], ...] = ALPHA_EPSILON) -> np.ndarray:
    """Every combination of `per_axis` log-spaced values of each range: shape (per_axis**D, D)."""
    if per_axis < 2:
        raise ValueError(f"a grid needs at least 2 points per axis; got {per_axis}")
    axes = [np.logspace(math.log10(low), math.log10(high), per_axis) for low, high in ranges]
    return np.array(list(itertools.product(*axes)))


def random_points(n: int = 25, ranges: tuple[tuple[float, float], ...] = ALPHA_EPSILON,
                  seed: int = 0) -> np.ndarray:
    """n points drawn at random, each coordinate log-uniform on its range: shape (n, D)."""
    rng = np.random.default_rng(seed)
    return np.stack([sample_log_uniform(low, high, n, seed=rng) for low, high in ranges], axis=1)


def distinct_values(points: np.ndarray) -> list[int]:
    """How many different values each hyperparameter (column) takes among the points."""
    return [len(np.unique(column)) for column in np.asarray(points).T]


def grid_expected_regret(per_axis: int = 5, decades: float = 4.0,
                         epsilon_weight: float = EPSILON_WEIGHT) -> float:
    """E[regret] of a per_axis x per_axis grid on the synthetic objective: (1 + w) s**2 / 12."""
    spacing = decades / (per_axis - 1)
    return (1.0 + epsilon_weight) * spacing**2 / 12.0


def grid_regret_standard_error(contests: int, per_axis: int = 5, decades: float = 4.0,
                               epsilon_weight: float = EPSILON_WEIGHT) -> float:
    """The standard error of the grid's mean regret over `contests` contests."""
    spacing = decades / (per_axis - 1)
    variance = (1.0 + epsilon_weight**2) * spacing**4 / 180.0
    return math.sqrt(variance / contests)


def best_regret(points: np.ndarray, best_alpha: float, best_epsilon: float,
                epsilon_weight: float = EPSILON_WEIGHT) -> float:
    """The regret of the best of `points` (alpha, epsilon) on the synthetic objective (0 is best)."""
    points = np.asarray(points)
    alpha_off = np.log10(points[:, 0]) - math.log10(best_alpha)
    epsilon_off = np.log10(points[:, 1]) - math.log10(best_epsilon)
    return float(np.min(alpha_off**2 + epsilon_weight * epsilon_off**2))


def plot_grid_vs_random(grid: np.ndarray, random: np.ndarray):
    """The note's picture: the two searches' points, with the values of alpha tried marked below."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, points, title in ((axes[0], grid, "grid"), (axes[1], random, "random")):
        ax.scatter(points[:, 0], points[:, 1], s=30, zorder=3)
        ax.plot(points[:, 0], np.full(len(points), 10**-10.4), "|", color="tab:red",
                markersize=14, clip_on=False)
        n_alpha = distinct_values(points)[0]
        ax.set_title(f"{title}: {len(points)} models, {n_alpha} values of alpha")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(10**-10.4, 10**-5.6)
        ax.set_xlabel("alpha (matters)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Adam's epsilon (hardly matters)")
    fig.text(0.5, 0.01, "red ticks: the values of alpha actually tried", ha="center",
             color="tab:red", fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def synthetic_score(alpha: float, epsilon: float, best_alpha: float,
                    best_epsilon: float = 1e-8, epsilon_weight: float = 0.01) -> float:
    """A score where alpha matters and Adam's epsilon barely does.

    -(log10 alpha - log10 best_alpha)**2 - epsilon_weight * (same for epsilon):
    the best score is 0; being one decade off in alpha costs 1, one decade off in
    epsilon costs only `epsilon_weight`.
    """
    return -((math.log10(alpha) - math.log10(best_alpha)) ** 2
             + epsilon_weight * (math.log10(epsilon) - math.log10(best_epsilon)) ** 2)
