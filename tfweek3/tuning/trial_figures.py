"""curves.png, importance.png and parallel.png: how the trials went, what mattered, where the best are.

    curves.png       every trial's objective epoch by epoch; pruned trials in grey, ending
                     with a cross where the median rule stopped them (pruning.py)
    importance.png   each hyperparameter's share of the explained variance (importance.py)
    parallel.png     parallel coordinates: one line per trial across the hyperparameters and
                     the score, on the scales they are searched on; the best trials in colour

Each function draws on a matplotlib Figure of its own (no pyplot: no backend is
switched, nothing is shown), saves it when given a path and returns it, so a
notebook can display it.
"""

from __future__ import annotations

import math
from typing import Any

from tfweek3.tuning.figures import save_figure
from tfweek3.tuning.importance import HP_LABELS, on_scale

PRUNED_GREY = "0.6"
OTHER_GREY = "0.8"


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
    """A bar per hyperparameter: its share of the explained variance, most important on top."""
    fig = _figure(6, 0.45 * max(len(rows), 2) + 1.2)
    ax = fig.subplots()
    rows = list(reversed(rows))  # barh draws from the bottom
    ax.barh([f"{r['label']} ({r['scale']})" for r in rows], [r["share"] for r in rows],
            color="tab:blue")
    for position, r in enumerate(rows):
        ax.text(r["share"] + 0.01, position, f"{r['share']:.0%}", va="center", fontsize=9)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("share of the explained variance of the score")
    if rows:
        ax.set_title(f"random forest on {rows[0]['trials']} trials; it explains "
                     f"$R^2$ = {rows[0]['forest_r2']:.2f} out of bag", fontsize=10)
    return _finish(fig, path)


def plot_parallel(records: list[dict[str, Any]], objective: str, direction: str,
                  path: str | None = None, best: int = 5):
    """Parallel coordinates: an axis per searched hyperparameter and one for the score.

    Each axis spans the values the trials took, on the scale the search draws
    them on (log10 for alpha and 1 - beta). The `best` trials are drawn in
    colour and labelled; pruned trials dotted; diverged and failed ones are
    left out of the score axis' range (drawn at its bottom).
    """
    import matplotlib

    scored = [r for r in records if r["score"] is not None and math.isfinite(r["score"])
              and r["status"] in ("completed", "pruned", "diverged")]
    names = [n for n in HP_LABELS if len({r.get(n) for r in scored}) > 1]
    fig = _figure(1.6 * (len(names) + 1) + 1.5, 4.2)
    ax = fig.subplots()
    if not scored:
        ax.set_axis_off()
        return _finish(fig, path)
    columns = [list(on_scale(n, [r[n] for r in scored])) for n in names]
    columns.append([r["score"] for r in scored])
    labels = [HP_LABELS[n] for n in names] + [objective]
    spans = [(min(c), max(c)) for c in columns]

    def height(column: int, value: float) -> float:
        low, high = spans[column]
        return 0.5 if high == low else (value - low) / (high - low)

    order = sorted(range(len(scored)), key=lambda i: scored[i]["score"],
                   reverse=direction == "max")
    top = order[:best]
    colours = matplotlib.cm.viridis([0.85 * k / max(len(top) - 1, 1) for k in range(len(top))])
    xs = range(len(columns))
    handles = []
    for i in reversed(order):  # the best drawn last, on top
        ys = [height(c, columns[c][i]) for c in xs]
        if i in top:
            k = top.index(i)
            (line,) = ax.plot(xs, ys, color=colours[k], lw=2.2, zorder=3,
                              label=f"#{k + 1} trial {scored[i]['trial']}: "
                              f"{scored[i]['score']:.4f}")
            handles.insert(0, line)
        else:
            pruned = scored[i]["status"] == "pruned"
            ax.plot(xs, ys, color=PRUNED_GREY if pruned else OTHER_GREY, lw=0.9,
                    ls=":" if pruned else "-", zorder=1)
    for c in xs:
        ax.axvline(c, color="black", lw=0.8, zorder=2)
        raw = [r[names[c]] for r in scored] if c < len(names) else None
        for value, text in _ticks(names[c] if raw else None, raw, spans[c]):
            ax.text(c + 0.04, height(c, value), text, va="center", fontsize=7, zorder=4)
    ax.set_xticks(list(xs), labels, fontsize=9)
    ax.tick_params(axis="x", pad=16)
    ax.set_yticks([])
    ax.set_ylim(-0.12, 1.12)
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
              title=f"best {len(top)} (pruned: dotted)", title_fontsize=8)
    return _finish(fig, path)


def _ticks(name: str | None, raw: list[Any] | None, span: tuple[float, float]):
    """Where to label an axis, on its scale, and how: the ends in the hyperparameter's own units
    (alpha, not log10 alpha), or each category."""
    low, high = span
    if name in ("optimizer", "batch_norm"):
        values = sorted(set(raw))
        names = {True: "on", False: "off"} if name == "batch_norm" else {}
        return [(float(code), names.get(v, str(v))) for code, v in enumerate(values)]
    if name in ("learning_rate", "one_minus_beta"):
        return [(low, f"{10 ** low:.2g}"), (high, f"{10 ** high:.2g}")]
    if name == "batch_size":
        return [(low, f"{2 ** low:.0f}"), (high, f"{2 ** high:.0f}")]
    if name is None:
        return [(low, f"{low:.3g}"), (high, f"{high:.3g}")]
    return [(low, f"{low:.0f}"), (high, f"{high:.0f}")]
