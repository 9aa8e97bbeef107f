"""Pandas, scripted: a babysitting run nudged through its control file, day by day.

`tfweek3.search.babysit.babysit` trains one model epoch by epoch (an epoch is one of
the lecture's "days") and reads FOLDER/control.txt before each one:

    learning_rate 0.1        set alpha from the next epoch on
    momentum 0.95            set beta
    rollback 6               go back to the weights after epoch 6
    stop

A person watching the curves writes that file by hand. `ScriptedNudges` does it
from a script `{day: text}` so that a notebook can replay a babysitting session,
and keeps the numbers of every day, including the days a rollback threw away
(the run's own history only keeps the epochs on the path that survived).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tfweek3.search.babysit import CONTROL_FILE


class ScriptedNudges:
    """Pass as `babysit(..., before_epoch=nudges)`; then call `finish(result)`.

    script: {day: control-file text}; day 1 is the first epoch trained, and a
    day is one epoch trained, whatever its epoch number (after a rollback, the
    same epoch numbers come again on later days).
    """

    def __init__(self, directory: str | Path, script: dict[int, str]):
        self.directory = Path(directory)
        self.script = dict(script)
        self.days: list[dict[str, Any]] = []
        self._calls = 0

    def __call__(self, epoch: int) -> None:
        """Called by babysit before each epoch: record yesterday, write today's control file."""
        self._calls += 1
        if self._calls > 1:
            self._record(self._last_row())
        text = self.script.get(self._calls)
        if text:
            (self.directory / CONTROL_FILE).write_text(text + "\n")

    def finish(self, result) -> list[dict[str, Any]]:
        """Record the last day (babysit does not call back after it) and mark the kept days."""
        history = result.history
        if history.get("loss") and self._calls > len(self.days):
            self._record({key: values[-1] for key, values in history.items()}
                         | {"epoch": len(history["loss"])})
        # A day is kept if no later day trained the same epoch again (a rollback replaced it).
        last_day_of_epoch = {day["epoch"]: day["day"] for day in self.days}
        for day in self.days:
            day["kept"] = last_day_of_epoch[day["epoch"]] == day["day"]
        return self.days

    def _last_row(self) -> dict[str, Any]:
        with open(self.directory / "history.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        return {key: float(value) for key, value in rows[-1].items()}

    def _record(self, row: dict[str, Any]) -> None:
        day = len(self.days) + 1
        self.days.append({
            "day": day,
            "epoch": int(row["epoch"]),
            "val_accuracy": float(row["val_accuracy"]),
            "val_loss": float(row["val_loss"]),
            "loss": float(row["loss"]),
            "learning_rate": float(row["learning_rate"]),
            "control": self.script.get(day, ""),
        })


def format_days(days: list[dict[str, Any]]) -> str:
    """The days as a table: epoch, alpha, validation numbers, what was written, kept or thrown away."""
    header = (f"{'day':>3} {'epoch':>5} {'alpha':>7} {'val_loss':>10} {'val_acc':>7}  "
              f"{'kept':>4}  control file that morning")
    lines = [header]
    for d in days:
        control = "; ".join(d["control"].splitlines())
        lines.append(f"{d['day']:>3} {d['epoch']:>5} {d['learning_rate']:>7.3g} "
                     f"{d['val_loss']:>10.4g} {d['val_accuracy']:>7.3f}  "
                     f"{'yes' if d.get('kept', True) else 'no':>4}  {control}")
    return "\n".join(lines)


def plot_days(days: list[dict[str, Any]]):
    """Validation accuracy day by day; thrown-away days in grey, nudges marked where they happened."""
    import matplotlib.pyplot as plt

    fig, (ax, lr_ax) = plt.subplots(2, 1, figsize=(10, 5.6), sharex=True,
                                    gridspec_kw={"height_ratios": [3, 1]})
    x = [d["day"] for d in days]
    ax.plot(x, [d["val_accuracy"] for d in days], color="lightgray", zorder=1)
    for d in days:
        ax.scatter(d["day"], d["val_accuracy"], zorder=2, s=36,
                   color="tab:blue" if d.get("kept", True) else "gray")
        if d["control"]:
            ax.axvline(d["day"] - 0.5, color="tab:red", lw=0.8, ls="--")
            ax.annotate(d["control"], (d["day"] - 0.45, 0.02),
                        fontsize=7.5, color="tab:red", va="bottom")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("validation accuracy")
    ax.set_title("one model, babysat: blue = kept, grey = thrown away by a rollback")
    ax.grid(alpha=0.3)
    lr_ax.step(x, [d["learning_rate"] for d in days], where="mid", color="tab:gray")
    lr_ax.set_yscale("log")
    lr_ax.set_ylabel("alpha")
    lr_ax.set_xlabel("day (one epoch each)")
    lr_ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
