"""The figures of a search: where the trials are in the space, how they went, what mattered.

    scores.png       the score of every trial against each numeric hyperparameter, one panel each
    parallel.png     parallel coordinates: one line per trial across the hyperparameters and the
                     score; the best trials in colour
    curves.png       every trial's objective epoch by epoch; pruned trials in grey, ending
                     with a cross where the median rule stopped them (pruning.py)
    importance.png   each hyperparameter's share of the explained variance (importance.py),
                     and how often it came first when the trials were resampled

Each hyperparameter is labelled by its name (or the label the search gave it)
and drawn on the scale it was sampled on: log axes for sampling="log", powers
of two for mini-batch sizes, categories one beside the other (dimensions.py).
Each function draws on a matplotlib Figure of its own (no pyplot: no backend
is switched, nothing is shown), saves it when given a path and returns it, so a
notebook can display it. `write_figures` draws all four into a search's folder.

Drawing stands on the results (results.py), never the other way: results.py
computes the records and the tables without matplotlib.
"""

from __future__ import annotations

import io
import math
from typing import Any

from tfweek3.tuning import storage
from tfweek3.tuning.dimensions import Dimension
from tfweek3.tuning.importance import MIN_R2
from tfweek3.tuning.results import SearchResult, worst_score

PRUNED_GREY = "0.6"
OTHER_GREY = "0.8"


def write_figures(result: SearchResult) -> None:
    """scores.png, curves.png, parallel.png and importance.png (when there is an importance)
    in result.directory; the tables beside them are results.write_tables'."""
    directory = result.directory
    plot_scores(result, storage.join(directory, "scores.png"))
    plot_curves(result.records, result.objective, storage.join(directory, "curves.png"),
                result.epochs)
    plot_parallel(result.records, result.dims, result.objective, result.direction,
                  storage.join(directory, "parallel.png"))
    if result.importance:
        plot_importance(result.importance, storage.join(directory, "importance.png"))


def save_figure(fig, path: str, dpi: int = 90) -> None:
    """Save a matplotlib figure as PNG to `path` (local or gs://...)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    storage.write_bytes(path, buffer.getvalue())


def _values(records: list[dict[str, Any]], name: str) -> list[Any]:
    return [r["hyperparameters"].get(name) for r in records]


def plot_scores(result: SearchResult, path: str | None = None):
    """Score against each numeric hyperparameter that varied (a SearchResult), one panel each.

    Log axes for log-sampled ones; the rounds of a coarse-to-fine search in
    different colours; pruned trials as grey circles at the score they had when
    stopped; diverged trials as red crosses at the worst score (when finite).
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    records = result.records
    dims = [d for d in result.dims if d.scale not in ("category", "0/1")] or result.dims[:1]
    fig = Figure(figsize=(4 * max(len(dims), 1), 3.4))
    axes = fig.subplots(1, max(len(dims), 1), squeeze=False)[0]
    rounds = sorted({r["round"] for r in records}, key=lambda n: n or 0)
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    worst = worst_score(result.direction, result.objective)
    for ax, dim in zip(axes, dims):
        for i, number in enumerate(rounds):
            done = [r for r in records if r["round"] == number and r["status"] == "completed"
                    and r["hyperparameters"].get(dim.name) is not None]
            ax.scatter(_values(done, dim.name), [r["score"] for r in done], s=22,
                       color=colours[i % len(colours)],
                       label=f"round {number}" if number else "completed")
        pruned = [r for r in records if r["status"] == "pruned"
                  and r["hyperparameters"].get(dim.name) is not None]
        if pruned:
            ax.scatter(_values(pruned, dim.name), [r["score"] for r in pruned], s=22,
                       facecolors="none", edgecolors=PRUNED_GREY, label="pruned")
        diverged = [r for r in records if r["status"] == "diverged"
                    and r["hyperparameters"].get(dim.name) is not None]
        if diverged and math.isfinite(worst):
            ax.scatter(_values(diverged, dim.name), [worst] * len(diverged),
                       marker="x", color="red", label="diverged")
        if dim.scale in ("log10", "reverse_log"):
            ax.set_xscale("log")
            ax.set_xlim(dim.low / 1.5, dim.high * 1.5)
        elif dim.scale == "log2":
            ax.set_xscale("log", base=2)
        elif dim.kind == "Int":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(f"{dim.title} ({dim.scale})" if dim.scale != "linear" else dim.title)
        ax.set_ylabel(result.objective)
        ax.grid(alpha=0.3)
    if len(rounds) > 1 or any(r["status"] in ("diverged", "pruned") for r in records):
        axes[0].legend(fontsize=8)
    return _finish(fig, path)


def plot_parallel(records: list[dict[str, Any]], dims: list[Dimension], objective: str,
                  direction: str, path: str | None = None, best: int = 5):
    """Parallel coordinates: an axis per searched hyperparameter and one for the score.

    Each axis spans the values the trials took, on the scale the search draws
    them on. The `best` trials are drawn in colour and labelled; pruned trials
    dotted; diverged and failed ones are left out.
    """
    import matplotlib
    from matplotlib.figure import Figure

    scored = [r for r in records if r["score"] is not None and math.isfinite(r["score"])
              and r["status"] in ("completed", "pruned", "diverged")]
    dims = [d for d in dims if len({str(v) for v in _values(scored, d.name)}) > 1]
    fig = Figure(figsize=(1.6 * (len(dims) + 1) + 1.5, 4.2))
    ax = fig.subplots()
    if not scored:
        ax.set_axis_off()
        return _finish(fig, path)
    columns = []
    for d in dims:
        present = [v for v in _values(scored, d.name) if v is not None]
        on_scale = dict(zip(map(str, present), d.on_scale(present)))
        columns.append([on_scale.get(str(v), math.nan) for v in _values(scored, d.name)])
    columns.append([r["score"] for r in scored])
    labels = [d.title for d in dims] + [objective]
    spans = [(min(c for c in col if math.isfinite(c)), max(c for c in col if math.isfinite(c)))
             for col in columns]

    def height(column: int, value: float) -> float:
        low, high = spans[column]
        if not math.isfinite(value):
            return -0.08  # inactive (a conditional hyperparameter): below the axis
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
        dim = dims[c] if c < len(dims) else None
        for value, text in _ticks(dim, _values(scored, dim.name) if dim else [], spans[c]):
            ax.text(c + 0.04, height(c, value), text, va="center", fontsize=7, zorder=4)
    ax.set_xticks(list(xs), labels, fontsize=9)
    ax.tick_params(axis="x", pad=16)
    ax.set_yticks([])
    ax.set_ylim(-0.12, 1.12)
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              frameon=False, title=f"best {len(top)} (pruned: dotted)", title_fontsize=8)
    return _finish(fig, path)


def plot_curves(records: list[dict[str, Any]], objective: str, path: str | None = None,
                epochs: int | None = None):
    """The objective after each epoch of every trial (records with a `curve`)."""
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
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
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 0.45 * max(len(rows), 2) + 1.5))
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


def _finish(fig, path: str | None):
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _ticks(dim: Dimension | None, raw: list[Any], span: tuple[float, float]):
    """Where to label an axis, on its scale, and how: the ends in the hyperparameter's own units
    (alpha, not log10 alpha), or each category."""
    low, high = span
    if dim is None:
        return [(low, f"{low:.3g}"), (high, f"{high:.3g}")]
    if dim.scale in ("category", "0/1"):
        present = [v for v in raw if v is not None]
        names = {True: "on", False: "off"} if dim.scale == "0/1" else {}
        codes = dim.on_scale(dim.categories(present))
        return [(float(code), names.get(v, str(v)))
                for code, v in zip(codes, dim.categories(present)) if v in present]
    text = "{:.0f}" if dim.kind == "Int" or dim.scale == "log2" else "{:.2g}"
    return [(low, text.format(dim.from_scale(low))), (high, text.format(dim.from_scale(high)))]
