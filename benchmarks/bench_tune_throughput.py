"""Trials per minute of `tfweek3 tune`, against KerasTuner with Model.fit, and with 2 workers.

1. The same random search (same space, same seed, so the same hyperparameters
   trial by trial; same epochs) run two ways in this process, alternately, each
   --repeats times: tfweek3's tuner, whose trials train with the week's
   GradientTape loop (one compiled call per epoch), and a plain KerasTuner
   RandomSearch whose trials compile the same network and call Model.fit.
   Target: ratio >= 1.5.
2. `tfweek3 tune --workers 2` against `--workers 1` (both as the command a
   person runs, process start-up included), alternately, --repeats times, with
   longer trials (--worker-epochs) so that starting three processes (the chief
   and two workers each import TensorFlow) does not dominate.
   Target: ratio >= 1.6. It needs a second core that nothing else uses: the
   load average before and after is printed beside the table.
   The ceiling beside it: two copies of the `--workers 1` command started
   together, each doing the whole search (no chief, no gRPC, no coordination).
   2 x (time of one alone) / (time of the pair) is the most any two processes
   sharing these cores could gain; the share of that ceiling reached is printed.
3. Start-up of `tfweek3 tune --workers 2`: seconds from the command until its
   first trial starts training (the first progress line's time minus that
   trial's own duration), median of --repeats.

    python benchmarks/bench_tune_throughput.py                 # two tables, then one JSON line
    python benchmarks/bench_tune_throughput.py --parts workers # the second table only
    python benchmarks/bench_tune_throughput.py --parts startup # the start-up of --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import keras_tuner as kt

from tfweek3 import SearchConfig, run_search
from tfweek3.search.space import SearchSpace, define_hyperparameters
from tfweek3.training.data import load_dataset
from tfweek3.training.network import build_network
from tfweek3.training.optimizers import make_optimizer

SPACE = SearchSpace()


def tfweek3_search(trials: int, epochs: int, seed: int, directory: str) -> float:
    """Seconds for tfweek3's random search (the machinery of `tfweek3 tune`)."""
    config = SearchConfig(trials=trials, epochs=epochs, seed=seed, space=SPACE,
                          directory=directory, tensorboard=False)
    start = time.perf_counter()
    run_search(config, overwrite=True, log=lambda _line: None)
    return time.perf_counter() - start


def model_fit_search(trials: int, epochs: int, seed: int, directory: str, data) -> float:
    """Seconds for KerasTuner's RandomSearch with Model.fit over the same space."""

    class FitHyperModel(kt.HyperModel):
        def build(self, hp):
            settings = define_hyperparameters(hp, SPACE)
            keras.utils.set_random_seed(seed)
            model = build_network(data.input_dim, data.num_classes,
                                  hidden_units=settings.hidden_units,
                                  batch_norm="manual" if settings.batch_norm else None,
                                  seed=seed)
            model.compile(optimizer=make_optimizer(settings.optimizer, settings.learning_rate,
                                                   settings.beta),
                          loss="categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            settings = define_hyperparameters(hp, SPACE)
            return model.fit(*args, batch_size=settings.batch_size, **kwargs)

    tuner = kt.RandomSearch(FitHyperModel(), objective="val_accuracy", max_trials=trials,
                            seed=seed + 1, directory=directory, project_name="fit",
                            overwrite=True, max_consecutive_failed_trials=trials + 1)
    start = time.perf_counter()
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                 epochs=epochs, verbose=0)
    return time.perf_counter() - start


def command_search(workers: int, trials: int, epochs: int, seed: int, directory: str) -> float:
    """Seconds for `tfweek3 tune --workers N`, process start-up included."""
    command = [sys.executable, "-m", "tfweek3", "tune", "--workers", str(workers),
               "--trials", str(trials), "--epochs", str(epochs), "--seed", str(seed),
               "--dir", directory, "--overwrite", "--no-tensorboard"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def command_pair(trials: int, epochs: int, seed: int, directory: str) -> float:
    """Seconds until two `tfweek3 tune --workers 1`, started together, have both ended."""
    commands = [[sys.executable, "-m", "tfweek3", "tune", "--trials", str(trials),
                 "--epochs", str(epochs), "--seed", str(seed),
                 "--dir", os.path.join(directory, copy), "--overwrite", "--no-tensorboard"]
                for copy in ("a", "b")]
    start = time.perf_counter()
    processes = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for command in commands]
    for process, command in zip(processes, commands):
        if process.wait() != 0:
            raise subprocess.CalledProcessError(process.returncode, command)
    return time.perf_counter() - start


def startup_seconds(workers: int, seed: int, directory: str) -> float:
    """Seconds from starting `tfweek3 tune --workers N` until its first trial starts training."""
    command = [sys.executable, "-m", "tfweek3", "tune", "--workers", str(workers),
               "--trials", str(workers), "--epochs", "1", "--seed", str(seed),
               "--dir", directory, "--overwrite", "--no-tensorboard"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    first = None
    for line in process.stdout:
        if first is None and line.startswith("trial "):
            duration = float(re.search(r"\((\d+\.\d+)s\)", line).group(1))
            first = time.perf_counter() - start - duration
    if process.wait() != 0 or first is None:
        raise subprocess.CalledProcessError(process.returncode, command)
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker-trials", type=int, default=24)
    parser.add_argument("--worker-epochs", type=int, default=40)
    parser.add_argument("--parts", default="loop,workers,startup",
                        help="comma-separated: loop, workers, startup")
    args = parser.parse_args()
    parts = args.parts.split(",")
    data = load_dataset("digits")
    ours, fit, one, two, pair, startup = [], [], [], [], [], []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats if "loop" in parts else 0):
            ours.append(tfweek3_search(args.trials, args.epochs, r, os.path.join(tmp, "ours")))
            fit.append(model_fit_search(args.trials, args.epochs, r, os.path.join(tmp, "fit"),
                                        data))
            print(f"  repeat {r}: tfweek3 {ours[-1]:.1f} s, Model.fit {fit[-1]:.1f} s", flush=True)
        for r in range(args.repeats if "workers" in parts else 0):
            one.append(command_search(1, args.worker_trials, args.worker_epochs, r,
                                      os.path.join(tmp, "one")))
            two.append(command_search(2, args.worker_trials, args.worker_epochs, r,
                                      os.path.join(tmp, "two")))
            pair.append(command_pair(args.worker_trials, args.worker_epochs, r,
                                     os.path.join(tmp, "pair")))
            print(f"  repeat {r}: 1 worker {one[-1]:.1f} s, 2 workers {two[-1]:.1f} s, "
                  f"two independent copies {pair[-1]:.1f} s", flush=True)
        for r in range(args.repeats if "startup" in parts else 0):
            startup.append(startup_seconds(2, r, os.path.join(tmp, "startup")))
            print(f"  repeat {r}: first trial of --workers 2 started after {startup[-1]:.1f} s",
                  flush=True)

    def per_minute(trials, seconds):
        return trials * 60 / statistics.median(seconds) if seconds else None

    rates = {
        "tfweek3": per_minute(args.trials, ours), "model_fit": per_minute(args.trials, fit),
        "workers_1": per_minute(args.worker_trials, one),
        "workers_2": per_minute(args.worker_trials, two),
        "independent_pair": per_minute(2 * args.worker_trials, pair),
    }
    loop_ratio = rates["tfweek3"] / rates["model_fit"] if ours else None
    worker_ratio = rates["workers_2"] / rates["workers_1"] if one else None
    ceiling = rates["independent_pair"] / rates["workers_1"] if one else None
    cores = os.cpu_count()
    load = (load_before, os.getloadavg()[0])
    if ours:
        print(f"\n1. Random search, {args.trials} trials x {args.epochs} epochs on digits, "
              f"median of {args.repeats}")
        print("| search | trials per minute |")
        print("|---|---|")
        print(f"| tfweek3 tune (GradientTape loop, tfweek3.train) | {rates['tfweek3']:.1f} |")
        print(f"| KerasTuner RandomSearch + Model.fit | {rates['model_fit']:.1f} |")
        print(f"| ratio (target >= 1.5) | {loop_ratio:.2f} |")
    if one:
        print(f"\n2. tfweek3 tune, {args.worker_trials} trials x {args.worker_epochs} epochs, "
              f"{cores} cores, load average {load[0]:.1f} before and {load[1]:.1f} after, "
              f"median of {args.repeats}")
        print("| workers | trials per minute |")
        print("|---|---|")
        print(f"| 1 | {rates['workers_1']:.1f} |")
        print(f"| 2 | {rates['workers_2']:.1f} |")
        print(f"| ratio (target >= 1.6) | {worker_ratio:.2f} |")
        print(f"| two independent copies, no coordination | {rates['independent_pair']:.1f} |")
        print(f"| ceiling: their ratio to 1 | {ceiling:.2f} |")
        print(f"| 2 workers' share of the ceiling (target >= 0.85) | {worker_ratio / ceiling:.2f} |")
    if startup:
        print(f"\n3. tfweek3 tune --workers 2: its first trial starts training after "
              f"{statistics.median(startup):.1f} s (median of {len(startup)}; "
              f"{', '.join(f'{s:.1f}' for s in startup)})")
    print(json.dumps({"trials_per_minute": rates, "loop_vs_model_fit": loop_ratio,
                      "two_workers_vs_one": worker_ratio,
                      "independent_pair_vs_one": ceiling,
                      "share_of_ceiling": worker_ratio / ceiling if one else None,
                      "cores": cores, "load_average": load,
                      "seconds": {"tfweek3": ours, "model_fit": fit, "workers_1": one,
                                  "workers_2": two, "independent_pair": pair,
                                  "startup_workers_2": startup}}))


if __name__ == "__main__":
    main()
