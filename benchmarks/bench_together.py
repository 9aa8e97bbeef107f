"""Caviar in one graph in the search: `tfweek3 tune --together K` against one trial at a time.

The same search (same space, seed and epochs, so the same hyperparameters trial
by trial) as the command a person runs, process start-up included, with
--together 1 and with larger K, in turn, --repeats times; medians:

    wall      seconds for the whole command
    trials    the trials' part: the sum of trials.csv's duration_seconds (a trial trained
              together is charged its share of its group's time)
    memory    the command's peak resident memory (ru_maxrss of the process)
    score     the best val_accuracy (the same trials, trained alike)

for the default random search (30 trials, 10 epochs), coarse to fine (3
rounds of 10: a group is a round) and population-based training (a population
of 8, 5 generations of 2 epochs: a group is a generation, 40 trials; --trials
does not apply). Then the throughput of KerasTuner's
RandomSearch with Model.fit over the same space (bench_tune_throughput.py's),
in trials per minute, beside the default search's.

    python benchmarks/bench_together.py                    # K = 1, 10, 30; 2 repeats
    python benchmarks/bench_together.py --together 1,30 --repeats 1 --keras-trials 0
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEARCHES = {"random": [], "coarse-to-fine": ["--strategy", "coarse-to-fine", "--rounds", "3"],
            "pbt": ["--strategy", "pbt", "--population", "8"]}


def command(k: int, strategy: str, trials: int, epochs: int, directory: str) -> dict:
    """Run `tfweek3 tune --together k`; its wall time, trials' part, peak memory, best score."""
    argv = [sys.executable, "-m", "tfweek3", "tune", "--together", str(k), "--trials",
            str(trials), "--epochs", str(epochs), "--dir", directory, "--overwrite",
            "--no-tensorboard", *SEARCHES[strategy]]
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{stderr[-2000:]}")
    with open(os.path.join(directory, "trials.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return {"wall": wall, "trials": sum(float(r["duration_seconds"]) for r in rows),
            "count": len(rows),
            "memory_mb": usage.ru_maxrss / 1024,
            "score": max(float(r["score"]) for r in rows if r["status"] == "completed")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--together", default="1,10,30", help="the K to compare (1,10,30)")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--strategies", default="random,coarse-to-fine,pbt")
    parser.add_argument("--keras-trials", type=int, default=12,
                        help="trials of KerasTuner's Model.fit search (0: skip it)")
    args = parser.parse_args()
    ks = [int(k) for k in args.together.split(",")]
    figures: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        for strategy in args.strategies.split(","):
            runs: dict[int, list[dict]] = {k: [] for k in ks}
            for repeat in range(args.repeats):
                for k in ks:
                    runs[k].append(command(k, strategy, args.trials, args.epochs,
                                           os.path.join(folder, f"{strategy}-{k}")))
                    print(f"  {strategy} --together {k} (repeat {repeat + 1}): "
                          f"{runs[k][-1]['wall']:.1f} s", flush=True)
            median = {k: {name: statistics.median(r[name] for r in runs[k]) for name in runs[k][0]}
                      for k in ks}
            base = median[ks[0]]
            print(f"\n{strategy}: {base['count']:.0f} trials, {args.epochs} epochs each "
                  f"(pbt: in all), median of {args.repeats}")
            print(f"{'K':>4} {'wall s':>8} {'x':>6} {'trials s':>9} {'x':>6} {'memory MB':>10} "
                  f"{'best score':>11}")
            for k in ks:
                m = median[k]
                print(f"{k:>4} {m['wall']:>8.1f} {base['wall'] / m['wall']:>6.2f} "
                      f"{m['trials']:>9.1f} {base['trials'] / m['trials']:>6.2f} "
                      f"{m['memory_mb']:>10.0f} {m['score']:>11.4f}")
            figures[strategy] = median
        if args.keras_trials:
            sys.path.insert(0, os.path.dirname(__file__))
            from bench_tune_throughput import model_fit_search

            from tfweek3.training.data import load_dataset

            data = load_dataset("digits", seed=0)
            seconds = model_fit_search(args.keras_trials, args.epochs, 0,
                                       os.path.join(folder, "keras"), data)
            keras_rate = 60 * args.keras_trials / seconds
            print(f"\nKerasTuner RandomSearch with Model.fit: {args.keras_trials} trials in "
                  f"{seconds:.1f} s, {keras_rate:.1f} trials/min (in this process, start-up not "
                  f"counted)")
            for k in ks:
                if "random" in figures:
                    rate = 60 * args.trials / figures["random"][k]["wall"]
                    print(f"tfweek3 tune --together {k}: {rate:.1f} trials/min (the command, "
                          f"start-up counted): {rate / keras_rate:.1f}x")
            figures["keras_trials_per_minute"] = keras_rate
    print(json.dumps({s: ({str(k): v for k, v in m.items()} if isinstance(m, dict) else m)
                      for s, m in figures.items()}))


if __name__ == "__main__":
    main()
