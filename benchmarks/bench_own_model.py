"""The week's search methods on a model of your own, against KerasTuner's, at the same epoch budget.

Two models written the plain KerasTuner way (build(hp), compiled, trained by
Model.fit) on digits as 8x8x1 images with integer labels:

    convnet   Conv2D (filters 4..16) -> Dropout -> Dense, SGD with alpha and momentum beta
    course    the course network (1-3 hidden layers of 8-64 units, batch norm on or off)
              behind a Flatten, Adam with alpha and beta_1

alpha and 1 - beta on log scales (tfweek3.hp_alpha, tfweek3.hp_beta). Per
seed, four searches of each:

    hyperband      KerasTuner's Hyperband, max_epochs E, factor 3: its epochs trained are
                   the budget B of this seed (a trial continued from a checkpoint counts
                   only the epochs it added)
    kt_random      KerasTuner's RandomSearch, B // E trials of E epochs
    tfweek3_prune  tfweek3.RandomSearch with prune="median", trials added until the
                   next one would take the epochs trained past B
    tfweek3_pbt    tfweek3.PopulationBasedTraining, B // E members of E epochs, a step
                   every E // 3 epochs

For each: the best validation accuracy (what the search selected on), the
test accuracy of its best model (get_best_models, on the test split no search
sees), the epochs trained and the wall time. Goal: tfweek3's pruned random
search at least as accurate as Hyperband with no more epochs.

    python benchmarks/bench_own_model.py                          # 5 seeds, both models
    python benchmarks/bench_own_model.py --seeds 1 --models convnet  # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfweek3.cli.quiet import import_tensorflow

import_tensorflow()  # without its start-up lines

import keras
import keras_tuner as kt

import tfweek3

METHODS = ("hyperband", "kt_random", "tfweek3_prune", "tfweek3_pbt")


def convnet(hp):
    alpha = tfweek3.hp_alpha(hp, low=1e-3, high=1.0)
    beta = tfweek3.hp_beta(hp)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(hp.Int("filters", 4, 16, step=4), 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5))(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(alpha, momentum=beta),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def course(hp):
    alpha = tfweek3.hp_alpha(hp, low=1e-4, high=1.0)
    beta = tfweek3.hp_beta(hp)
    network = tfweek3.build_network(
        64, 10, hidden_units=(hp.Int("units", 8, 64),) * hp.Int("layers", 1, 3),
        batch_norm="manual" if hp.Boolean("batch_norm") else None)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), network])
    model.compile(optimizer=keras.optimizers.Adam(alpha, beta_1=beta),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


MODELS = {"convnet": convnet, "course": course}


def epochs_trained(oracle) -> int:
    """Epochs a search's trials trained (Hyperband's continued trials: the epochs they added)."""
    total = 0
    for trial in oracle.trials.values():
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:
            total += values["tuner/epochs"] - values["tuner/initial_epoch"]
        else:
            history = trial.metrics.get_history("epoch/val_accuracy") if trial.metrics.exists(
                "epoch/val_accuracy") else []
            total += len(history)
    return total


def finish(tuner, data, seconds: float, epochs: int) -> dict:
    (_, _), (_, _), (x_test, y_test) = data
    best = tuner.oracle.get_best_trials(1)[0]
    model = tuner.get_best_models(1)[0]
    return {"val": float(best.score), "test": float(model.evaluate(x_test, y_test, verbose=0)[1]),
            "epochs": int(epochs), "seconds": seconds}


def run_method(method: str, build, seed: int, budget: int | None, args, data,
               directory: str) -> dict:
    (x, y), validation, _ = data
    common = {"objective": "val_accuracy", "directory": directory, "project_name": method,
              "overwrite": True, "seed": seed + 1}
    fit = {"validation_data": validation, "verbose": 0}
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    if method == "hyperband":
        tuner = kt.Hyperband(build, max_epochs=args.epochs, factor=3, hyperband_iterations=1,
                             **common)
        tuner.search(x, y, **fit)
        return finish(tuner, data, time.perf_counter() - start, epochs_trained(tuner.oracle))
    if method == "kt_random":
        tuner = kt.RandomSearch(build, max_trials=max(1, budget // args.epochs), **common)
        tuner.search(x, y, epochs=args.epochs, **fit)
        return finish(tuner, data, time.perf_counter() - start,
                      len(tuner.oracle.trials) * args.epochs)
    if method == "tfweek3_pbt":
        tuner = tfweek3.PopulationBasedTraining(
            build, population=max(2, budget // args.epochs), epochs=args.epochs,
            ready_epochs=max(1, args.epochs // 3), tensorboard=False, write_results=False,
            **common)
        tuner.search(x, y, **fit)
        return finish(tuner, data, time.perf_counter() - start, epochs_trained(tuner.oracle))
    trials = max(1, budget // args.epochs)
    while True:  # pruned trials leave epochs over: one more trial while it fits the budget
        tuner = tfweek3.RandomSearch(build, max_trials=trials, prune="median",
                                     tensorboard=False, write_results=False,
                                     **{**common, "overwrite": trials == budget // args.epochs})
        tuner.search(x, y, epochs=args.epochs, **fit)
        if epochs_trained(tuner.oracle) + args.epochs > budget:
            break
        trials += 1
    return finish(tuner, data, time.perf_counter() - start, epochs_trained(tuner.oracle))


def summarize(rows: list[dict]) -> str:
    """A markdown table: per model and method, mean (sd) of each measure over the seeds."""
    lines = ["| model | method | val accuracy | test accuracy | epochs | seconds |",
             "|---|---|---:|---:|---:|---:|"]
    for model in dict.fromkeys(r["model"] for r in rows):
        for method in METHODS:
            mine = [r for r in rows if r["model"] == model and r["method"] == method]
            if not mine:
                continue
            cells = []
            for key, digits in (("val", 4), ("test", 4), ("epochs", 0), ("seconds", 0)):
                values = [r[key] for r in mine]
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                cells.append(f"{statistics.mean(values):.{digits}f} ({spread:.{digits}f})")
            lines.append(f"| {model} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(rows: list[dict]) -> list[str]:
    """Per model: the seeds where tfweek3's pruned search was at least as accurate as Hyperband
    (validation, then test), and where it trained no more epochs."""
    lines = []
    for model in dict.fromkeys(r["model"] for r in rows):
        pairs = {}
        for r in rows:
            if r["model"] == model and r["method"] in ("hyperband", "tfweek3_prune"):
                pairs.setdefault(r["seed"], {})[r["method"]] = r
        pairs = [p for p in pairs.values() if len(p) == 2]
        val = sum(p["tfweek3_prune"]["val"] >= p["hyperband"]["val"] for p in pairs)
        test = sum(p["tfweek3_prune"]["test"] >= p["hyperband"]["test"] for p in pairs)
        fewer = sum(p["tfweek3_prune"]["epochs"] <= p["hyperband"]["epochs"] for p in pairs)
        lines.append(f"{model}: pruned random >= Hyperband in validation accuracy on {val} of "
                     f"{len(pairs)} seeds, in test accuracy on {test}; no more epochs on "
                     f"{fewer} of {len(pairs)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=9, help="E: a trial's epochs (9)")
    parser.add_argument("--models", default="convnet,course")
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for seed in range(args.seeds):
            split = tfweek3.load_dataset("digits", seed=seed, layout="images")
            data = ((split.x_train, split.y_train), (split.x_val, split.y_val),
                    (split.x_test, split.y_test))
            for name in args.models.split(","):
                budget = None
                for method in METHODS:
                    row = run_method(method, MODELS[name], seed, budget, args, data,
                                     os.path.join(directory, f"{name}_{seed}"))
                    budget = budget or row["epochs"]
                    rows.append({"model": name, "method": method, "seed": seed, **row})
                    print(json.dumps(rows[-1]), flush=True)
    print(summarize(rows))
    for line in verdict(rows):
        print(line)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
