"""Median-stopping pruning against none: the same random search, with and without `--prune median`.

Per seed, the same random search on digits (the full default space, --trials
trials of --epochs epochs) runs twice in this process, once with pruning and
once without, alternately first. Same seed, so the oracle draws the same
hyperparameters trial by trial: the two searches differ only in which trials
were stopped early. For each: epochs trained, wall time, the best validation
accuracy, and the test accuracy of the best hyperparameters (retrained for the
full --epochs with the search's seed, then evaluated on the test split, which
no search sees), and what the search's importance allows one to say
(tfweek3.course.pruning_importance.top_line: a hyperparameter that matters most
only when the forest's out-of-bag R^2 and the resampled trials support it).
Goal: at least 40% fewer epochs, best accuracy within half a point.

    python benchmarks/bench_pruning.py                  # 5 seeds x 40 trials x 15 epochs
    python benchmarks/bench_pruning.py --seeds 1 --trials 12 --epochs 5   # a quick look
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

from tfweek3 import SearchConfig, build_network, load_dataset, run_search, train
from tfweek3.course.pruning_importance import top_line
from tfweek3.training.evaluation import accuracy


def test_accuracy(best: dict, config: SearchConfig) -> float:
    """The best trial's hyperparameters, trained again as its trial was, scored on the test set."""
    import keras

    data = load_dataset(config.dataset, seed=config.seed)
    keras.utils.set_random_seed(config.seed)
    model = build_network(data.input_dim, data.num_classes,
                          hidden_units=(best["units"],) * best["layers"],
                          batch_norm="manual" if best["batch_norm"] else None, seed=config.seed)
    train(model, data, epochs=config.epochs, batch_size=best["batch_size"],
          optimizer=best["optimizer"], learning_rate=best["learning_rate"], beta=best["beta"],
          seed=config.seed, verbose=0)
    return accuracy(model, data.x_test, data.y_test)


def one_search(prune: str, seed: int, args: argparse.Namespace, directory: str) -> dict:
    config = SearchConfig(trials=args.trials, epochs=args.epochs, seed=seed, prune=prune,
                          prune_min_trials=args.prune_min_trials, prune_after=args.prune_after,
                          tensorboard=False, directory=os.path.join(directory, f"{prune}_{seed}"))
    start = time.perf_counter()
    result = run_search(config, log=lambda _line: None)
    seconds = time.perf_counter() - start
    best = result.best
    return {"prune": prune, "seed": seed, "seconds": seconds,
            "epochs": sum(r["epochs"] for r in result.records),
            "pruned": sum(r["status"] == "pruned" for r in result.records),
            "best_val": best["score"] if best else 0.0,
            "best_trial": best["trial"] if best else None,
            "test": test_accuracy(best, config) if best else 0.0,
            # What the importance allows one to say (no winner when the forest explains too
            # little or the top changes between resamples), and the numbers behind it.
            "importance": top_line(result.importance),
            "forest_r2": result.importance[0]["forest_r2"] if result.importance else None,
            "top": result.importance[0]["label"] if result.importance else None,
            "top_share": result.importance[0]["top_share"] if result.importance else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds (5)")
    parser.add_argument("--trials", type=int, default=40, help="trials per search (40)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs per trial (15)")
    parser.add_argument("--prune-min-trials", type=int, default=5, help="(5)")
    parser.add_argument("--prune-after", type=int, default=2, help="(2)")
    args = parser.parse_args()

    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as directory:
        for seed in range(args.seeds):
            order = ("none", "median") if seed % 2 == 0 else ("median", "none")
            pair = {prune: one_search(prune, seed, args, directory) for prune in order}
            rows += [pair["none"], pair["median"]]
            for prune in ("none", "median"):
                r = pair[prune]
                print(f"seed {seed} prune={prune:<6} {r['epochs']:4d} epochs "
                      f"({r['pruned']:2d} trials pruned) {r['seconds']:6.1f} s  best val "
                      f"{r['best_val']:.4f} (trial {r['best_trial']})  test {r['test']:.4f}  "
                      f"importance: {r['importance']}", flush=True)

    def mean(prune: str, key: str) -> float:
        return statistics.mean(r[key] for r in rows if r["prune"] == prune)

    planned = args.trials * args.epochs
    summary = {
        "seeds": args.seeds, "trials": args.trials, "epochs": args.epochs,
        "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
        **{f"{key}_{prune}": mean(prune, key) for prune in ("none", "median")
           for key in ("epochs", "seconds", "best_val", "test", "pruned")},
    }
    summary["epochs_saved"] = 1 - summary["epochs_median"] / summary["epochs_none"]
    summary["time_saved"] = 1 - summary["seconds_median"] / summary["seconds_none"]
    summary["best_val_change"] = summary["best_val_median"] - summary["best_val_none"]
    summary["test_change"] = summary["test_median"] - summary["test_none"]
    summary["same_best_trial"] = sum(
        a["best_trial"] == b["best_trial"] for a, b in zip(rows[::2], rows[1::2]))
    print(f"\n| {args.trials} trials x {args.epochs} epochs, digits, mean of {args.seeds} seeds "
          f"| no pruning | --prune median |\n|---|---|---|")
    print(f"| epochs trained (of {planned}) | {summary['epochs_none']:.0f} | "
          f"{summary['epochs_median']:.0f} ({summary['epochs_saved']:.0%} fewer) |")
    print(f"| trials pruned | 0 | {summary['pruned_median']:.1f} |")
    print(f"| wall time | {summary['seconds_none']:.0f} s | {summary['seconds_median']:.0f} s "
          f"({summary['time_saved']:.0%} less) |")
    print(f"| best validation accuracy | {summary['best_val_none']:.4f} | "
          f"{summary['best_val_median']:.4f} ({summary['best_val_change']:+.4f}) |")
    print(f"| test accuracy of the best | {summary['test_none']:.4f} | "
          f"{summary['test_median']:.4f} ({summary['test_change']:+.4f}) |")
    print(f"| same best trial in both | {summary['same_best_trial']} of {args.seeds} seeds | |")
    print(f"load average before {load_before:.2f}, after {summary['load_average_after']:.2f}")
    print(json.dumps({"summary": summary, "rows": rows}))


if __name__ == "__main__":
    main()
