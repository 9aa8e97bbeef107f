"""curves.png and importance.png: how the trials went, and what mattered.

    curves.png       every trial's objective epoch by epoch; pruned trials in grey, ending
                     with a cross where the median rule stopped them (pruning.py)
    importance.png   each hyperparameter's share of the explained variance (importance.py),
                     and how often it came first when the trials were resampled

Each function draws on a matplotlib Figure of its own (no pyplot: no backend is
switched, nothing is shown), saves it when given a path and returns it, so a
notebook can display it.
"""

from __future__ import annotations

from typing import Any

from tfweek3.tuning.figures import save_figure

PRUNED_GREY = "0.6"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _finish(fig, path: str | None):
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_curves(records: list[dict[str, Any]], objective: str, path: str | None = None,
                epochs: int | None = None):
    """The objective after each epoch of every trial (records with a `curve`)."""
    import matplotlib

    fig = _figure(7, 4)
    ax = fig.subplots()
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    shown = [r for r in records if r.get("curve")]
    pruned = [r for r in shown if r["status"] == "pruned"]
    for r in pruned:
        x = range(1, len(r["curve"]) + 1)
        ax.plot(x, r["curve"], color=PRUNED_GREY, lw=1, zorder=1)
        ax.plot(len(r["curve"]), r["curve"][-1], "x", color=PRUNED_GREY, ms=5, zorder=1)
    others = [r for r in shown if r["status"] != "pruned"]
    for i, r in enumerate(others):
        ax.plot(range(1, len(r["curve"]) + 1), r["curve"], lw=1.2, alpha=0.85, zorder=2,
                color=colours[i % len(colours)])
    trained = sum(len(r["curve"]) for r in shown)
    planned = f" of {len(shown) * epochs}" if epochs else ""
    ax.set_title(f"{len(shown)} trials, {len(pruned)} pruned (grey, x where stopped): "
                 f"{trained}{planned} epochs trained", fontsize=10)
    ax.set_xlabel("epoch")
    ax.set_ylabel(objective)
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_importance(rows: list[dict[str, Any]], path: str | None = None):
    """A bar per hyperparameter: its share of the explained variance, most important on top.

    Beside each bar its share and, in brackets, how often it ranked first when
    the trials were resampled (top_share, importance.py). The title gives the
    forest's out-of-bag R^2; below importance.MIN_R2 the bars are grey and the
    title says the ranking is not to be trusted.
    """
    from tfweek3.tuning.importance import MIN_R2

    fig = _figure(6.5, 0.45 * max(len(rows), 2) + 1.5)
    ax = fig.subplots()
    trusted = bool(rows) and rows[0]["forest_r2"] >= MIN_R2
    if rows:
        first = rows[0]
        title = (f"random forest on {first['trials']} trials: out-of-bag $R^2$ = "
                 f"{first['forest_r2']:.2f}\n")
        title += (f"(in brackets: how often first in {first['resamples']} bootstrap resamples)"
                  if trusted else f"below {MIN_R2}: it explains too little, "
                  "do not trust this ranking")
        ax.set_title(title, fontsize=10, color="black" if trusted else "tab:red")
    rows = list(reversed(rows))  # barh draws from the bottom
    ax.barh([f"{r['label']} ({r['scale']})" for r in rows], [r["share"] for r in rows],
            color="tab:blue" if trusted else "0.7")
    for position, r in enumerate(rows):
        ax.text(r["share"] + 0.01, position, f"{r['share']:.0%} (first in {r['top_share']:.0%})",
                va="center", fontsize=9)
    ax.set_xlim(0, 1.5)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_xlabel("share of the explained variance of the score")
    return _finish(fig, path)


