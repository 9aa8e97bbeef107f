"""What a trial costs beyond its epochs, before and after, side by side in one run.

Measured through the command line alone, as a person runs it, for two copies
of tfweek3: this one, and an older commit (--old) extracted from git into a
temporary folder. On a fixed architecture (the course network, 2 hidden layers
of 25 units with batch norm, Adam, mini-batches of 32; alpha and beta drawn as
usual; no TensorBoard):

* one epoch's cost: the median over 11 trials of (duration of the trial run
  for 40 epochs - the same trial run for 10) / 30, from trials.csv (the same
  seed draws the same alpha and beta trial by trial);
* one trial's cost: (wall time of `tune --trials 12` - wall time of
  `tune --trials 1`) / 11, both with 10 epochs: everything a trial adds to a
  search, its epochs included;
* the ratio: a trial's cost over its ten epochs' cost (1.0: a trial costs its
  epochs and nothing else). Goal: at most 1.5.
* the same inside the search: (the time trial 12's progress line came out -
  trial 1's) / 11, in the 12-trial run. Everything a trial adds between two
  trials, without the two costs of a whole command that the difference of
  commands above lets in: start-up (about 3 s, which moves by a few tenths
  from one command to the next, a few hundredths per trial after dividing by
  11), and what a search of 12 does once at its end and a search of 1 does
  not, because fewer than 8 scored trials get no importance (importance.py):
  the importance forest and its figure, about 0.3 s.

Then the default `tfweek3 tune` (30 trials, architectures drawn) as the wall
time of the whole command. Goal: at least twice as fast as the old commit.
With --parts workers, also population-based training of 8 members on the fixed
architecture with 2 workers, whose trials end generation by generation: a
worker asks for a trial until the last member of the generation is done.
The copies run alternately, --repeats times; the median is printed.

    python benchmarks/bench_trial_cost.py                  # against OLD_COMMIT
    python benchmarks/bench_trial_cost.py --old main~3 --repeats 3
    python benchmarks/bench_trial_cost.py --old 77a336e --parts workers  # before the IDLE backoff
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_COMMIT = "f4c26ce"  # the last commit before the trial-cost work (issue 19)
FIXED = ["--units", "25:25", "--layers", "2:2", "--batch-sizes", "32", "--batch-norm", "on",
         "--optimizers", "adam", "--no-tensorboard"]


def extract(ref: str, folder: str) -> str:
    """The package as it was at git `ref`, unpacked into `folder`; returns the folder."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "tfweek3"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def tune(code: str, args: list[str], directory: str) -> tuple[float, list[float]]:
    """`python -m tfweek3 tune ARGS` run with the copy in `code`: seconds of wall time, and
    when (seconds from the start) each trial's progress line came out, in order."""
    env = {**os.environ, "PYTHONPATH": code, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg",
           "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "tfweek3", "tune", *args, "--dir",
                                directory, "--overwrite"], env=env, cwd=code, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines, ends = [], []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("trial "):
            ends.append(time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if process.wait() != 0:
        raise SystemExit(f"tune {' '.join(args)} with {code} failed:\n{''.join(lines[-30:])}")
    return seconds, ends


def durations(directory: str) -> list[float]:
    """Each trial's own recorded duration, in trial order, from the search's trials.csv."""
    with open(os.path.join(directory, "trials.csv")) as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["trial"]))
    return [float(row["duration_seconds"]) for row in rows]


def fixed_architecture(code: str, run: dict[str, str]) -> dict[str, float]:
    """The epoch's and the trial's cost on the fixed architecture (see the module's note)."""
    one, _ = tune(code, [*FIXED, "--trials", "1", "--epochs", "10"], run["one"])
    twelve, ends = tune(code, [*FIXED, "--trials", "12", "--epochs", "10"], run["ten"])
    tune(code, [*FIXED, "--trials", "12", "--epochs", "40"], run["forty"])
    short, long = durations(run["ten"]), durations(run["forty"])
    epoch = statistics.median((b - a) / 30 for a, b in zip(short[1:], long[1:]))
    trial = (twelve - one) / 11
    inside = (ends[-1] - ends[0]) / (len(ends) - 1)
    return {"epoch_ms": 1000 * epoch, "trial_s": trial, "ratio": trial / (10 * epoch),
            "inside_s": inside, "inside_ratio": inside / (10 * epoch),
            "trial_recorded_s": statistics.mean(short[1:])}


def measure(code: str, scratch: str, parts: list[str]) -> dict[str, float]:
    """One round of the figures of `parts` for the copy in `code`."""
    folder = tempfile.mkdtemp(dir=scratch)
    run = {name: os.path.join(folder, name)
           for name in ("one", "ten", "forty", "default", "workers")}
    figures = fixed_architecture(code, run) if "fixed" in parts else {}
    if "default" in parts:
        figures["default_s"], _ = tune(code, [], run["default"])
    if "workers" in parts:
        figures["workers_s"], _ = tune(code, [*FIXED, "--strategy", "pbt", "--population", "8",
                                              "--workers", "2"], run["workers"])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", default=OLD_COMMIT, help="the git commit to compare with")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of both copies (1)")
    parser.add_argument("--parts", default="fixed,default",
                        help="what to measure, of fixed, default and workers (fixed,default)")
    options = parser.parse_args()
    parts = options.parts.split(",")
    scratch = tempfile.mkdtemp(prefix="bench_trial_cost_")
    copies = {"old": extract(options.old, tempfile.mkdtemp(dir=scratch)), "new": str(ROOT)}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in copies}
    for _ in range(options.repeats):
        for name, code in copies.items():
            rounds[name].append(measure(code, scratch, parts))
    median = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
              for name, runs in rounds.items()}
    rows = [("one epoch (ms)", "epoch_ms", "{:.1f}"),
            ("one trial of 10 epochs, 12 - 1 (s)", "trial_s", "{:.2f}"),
            ("trial / its epochs", "ratio", "{:.2f}"),
            ("one trial inside the search (s)", "inside_s", "{:.2f}"),
            ("that trial / its epochs", "inside_ratio", "{:.2f}"),
            ("trial's recorded duration (s)", "trial_recorded_s", "{:.2f}"),
            ("default tune, 30 trials (s)", "default_s", "{:.1f}"),
            ("pbt, 8 members, 2 workers (s)", "workers_s", "{:.1f}")]
    print(f"| median of {options.repeats} | old ({options.old}) | new |")
    print("|---|---:|---:|")
    for label, key, form in rows:
        if key in median["new"]:
            print(f"| {label} | {form.format(median['old'][key])} | "
                  f"{form.format(median['new'][key])} |")
    if "default_s" in median["new"]:
        print(f"default tune: new is {median['old']['default_s'] / median['new']['default_s']:.2f}"
              " times as fast as old (goal >= 2)")
    print(json.dumps({"old": options.old, **median}))


if __name__ == "__main__":
    main()
