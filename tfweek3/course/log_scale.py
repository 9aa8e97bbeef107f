"""The right scale for alpha and beta (course section 2): uniform against log, counted and drawn.

alpha on [0.0001, 1]: a uniform draw puts 90% of the points in [0.1, 1] (that
interval is 0.9 of the range's length). The note's recipe samples the exponent,

    r = -4 * rand(),  alpha = 10**r,

so each of the 4 decades gets 25% of the points.

Momentum beta on [0.9, 0.999]: sample 1 - beta on the log scale,

    r uniform on [-3, -1],  1 - beta = 10**r,  beta = 1 - 10**r,

so [0.9, 0.99] and [0.99, 0.999] get half the points each; a uniform draw puts
only 0.009 / 0.099 = 9.1% in [0.99, 0.999], where beta matters most: the
averaging window 1 / (1 - beta) goes from 100 to 1000 there (and 0.999 ->
0.9995 doubles it to 2000), against 10 -> 100 on [0.9, 0.99].

The samplers are those of `tfweek3.tuning.scales` (what the searches use).
"""

from __future__ import annotations

import numpy as np

from tfweek3.tuning.scales import (
    LEARNING_RATE_RANGE,
    sample_beta,
    sample_learning_rate,
    sample_uniform,
)

BETA_RANGE = (0.9, 0.999)


def draw_both_ways(n: int = 10_000, seed: int = 0) -> dict[str, np.ndarray]:
    """n draws of alpha and of beta, uniform and on the log scale.

    Keys: alpha_uniform, alpha_log, beta_uniform, beta_log.
    """
    rng = np.random.default_rng(seed)
    return {
        "alpha_uniform": sample_uniform(*LEARNING_RATE_RANGE, n, seed=rng),
        "alpha_log": sample_learning_rate(n, seed=rng),
        "beta_uniform": sample_uniform(*BETA_RANGE, n, seed=rng),
        "beta_log": sample_beta(n, seed=rng),
    }


def share_between(values: np.ndarray, low: float, high: float) -> float:
    """The fraction of `values` in [low, high]."""
    values = np.asarray(values)
    return float(np.mean((values >= low) & (values <= high)))


def averaging_window(beta: float | np.ndarray) -> float | np.ndarray:
    """About how many past values an exponentially weighted average with weight beta covers."""
    return 1.0 / (1.0 - np.asarray(beta))


def scale_summary(draws: dict[str, np.ndarray]) -> dict[str, float]:
    """The shares that make the point: alpha in [0.1, 1] and beta in [0.99, 0.999], both ways."""
    return {
        "alpha_uniform_in_[0.1,1]": share_between(draws["alpha_uniform"], 0.1, 1.0),
        "alpha_log_in_[0.1,1]": share_between(draws["alpha_log"], 0.1, 1.0),
        "beta_uniform_in_[0.99,0.999]": share_between(draws["beta_uniform"], 0.99, 0.999),
        "beta_log_in_[0.99,0.999]": share_between(draws["beta_log"], 0.99, 0.999),
    }


def plot_histograms(draws: dict[str, np.ndarray], bins_per_decade: int = 5):
    """Histograms of alpha and of 1 - beta on log axes: uniform piles up right, log is flat."""
    import matplotlib.pyplot as plt

    panels = [
        ("alpha_uniform", "alpha", "alpha, uniform on [1e-4, 1]", False),
        ("alpha_log", "alpha", "alpha = 10**r, r = -4 rand()", False),
        ("beta_uniform", "1 - beta", "beta, uniform on [0.9, 0.999]", True),
        ("beta_log", "1 - beta", "1 - beta = 10**r, r in [-3, -1]", True),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    for ax, (key, label, title, one_minus) in zip(axes.flat, panels):
        values = 1.0 - draws[key] if one_minus else draws[key]
        low, high = (1e-3, 1e-1) if one_minus else LEARNING_RATE_RANGE
        decades = round(np.log10(high / low))
        bins = np.logspace(np.log10(low), np.log10(high), decades * bins_per_decade + 1)
        ax.hist(values, bins=bins, color="tab:orange" if "uniform" in key else "tab:blue")
        ax.set_xscale("log")
        ax.set_xlabel(label + " (log axis)")
        ax.set_ylabel("draws")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
