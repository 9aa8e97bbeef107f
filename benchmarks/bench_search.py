"""Random search against grid search at the same budget (course section 1).

Two experiments, both with KerasTuner's RandomSearch and GridSearch oracles:

1. The note's picture, on a cheap synthetic objective where alpha matters and
   Adam's epsilon barely does (tfweek3.synthetic_score). 25 trials each:
   a 5 x 5 grid tries 5 values of alpha, random search 25. Over --seeds seeds
   (each draws where the optimum is), how often is random's best better?
2. Real training on digits with `tfweek3 tune`'s machinery: 16 trials each, a
   4 x 4 grid over alpha in [1e-4, 1] and 1 - beta in [1e-3, 1e-1] (both log),
   the rest fixed (2 hidden layers of 32 units, mini-batches of 32, momentum),
   against 16 random trials over the same box; --real-seeds seeds.

    python benchmarks/bench_search.py                    # both tables, then one JSON line
    python benchmarks/bench_search.py --real-seeds 0     # the synthetic table only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfweek3 import SearchConfig, random_vs_grid_win_rate, run_search
from tfweek3.search.space import SearchSpace

REAL_SPACE = SearchSpace(units=(32, 32), layers=(2, 2), batch_size=(32,), batch_norm=(False,),
                         optimizer=("momentum",))


def synthetic(seeds: int, budget: int) -> dict:
    start = time.perf_counter()
    shares = random_vs_grid_win_rate(seeds=seeds, budget=budget)
    shares["seconds"] = time.perf_counter() - start
    return shares


def real(seeds: int, trials: int, epochs: int, directory: str) -> dict:
    """Best validation accuracy of grid and random search on digits, per seed."""
    rows = []
    points = round(trials ** 0.5)
    for seed in range(seeds):
        best = {}
        for strategy in ("grid", "random"):
            config = SearchConfig(strategy=strategy, trials=trials, epochs=epochs, seed=seed,
                                  grid_points=points, space=REAL_SPACE, tensorboard=False,
                                  directory=os.path.join(directory, f"{strategy}_{seed}"))
            result = run_search(config, log=lambda _line: None)
            best[strategy] = result.best["score"] if result.best else 0.0
            best[f"{strategy}_alpha"] = result.best["learning_rate"] if result.best else None
        rows.append({"seed": seed, **best})
        print(f"  seed {seed}: grid {best['grid']:.4f} (alpha {best['grid_alpha']:.3g})  "
              f"random {best['random']:.4f} (alpha {best['random_alpha']:.3g})", flush=True)
    wins = sum(r["random"] > r["grid"] for r in rows)
    ties = sum(r["random"] == r["grid"] for r in rows)
    return {"seeds": seeds, "trials": trials, "epochs": epochs,
            "random_wins": wins / seeds, "ties": ties / seeds,
            "grid_wins": (seeds - wins - ties) / seeds,
            "grid_mean_best": statistics.mean(r["grid"] for r in rows),
            "random_mean_best": statistics.mean(r["random"] for r in rows), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="synthetic seeds (200)")
    parser.add_argument("--budget", type=int, default=25, help="synthetic trials each (25)")
    parser.add_argument("--real-seeds", type=int, default=5, help="digits seeds (5)")
    parser.add_argument("--real-trials", type=int, default=16, help="digits trials each (16)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per digits trial (5)")
    args = parser.parse_args()

    out = {}
    syn = synthetic(args.seeds, args.budget)
    out["synthetic"] = syn
    k = round(args.budget ** 0.5)
    print(f"\n1. Synthetic objective, {args.budget} trials each ({k}x{k} grid), "
          f"{args.seeds} seeds ({syn['seconds']:.0f} s)")
    print("| strategy | values of alpha tried | share of seeds where it is best | mean regret |")
    print("|---|---|---|---|")
    print(f"| random | {args.budget} | {syn['random_wins']:.0%} | {syn['random_mean_regret']:.4f} |")
    print(f"| grid   | {k} | {syn['grid_wins']:.0%} | {syn['grid_mean_regret']:.4f} |")
    print(f"| tie    |  | {syn['ties']:.0%} |  |")

    if args.real_seeds > 0:
        print(f"\n2. Digits, {args.real_trials} trials each, {args.epochs} epochs, "
              f"{args.real_seeds} seeds", flush=True)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            rea = real(args.real_seeds, args.real_trials, args.epochs, tmp)
        rea["seconds"] = time.perf_counter() - start
        out["digits"] = {k: v for k, v in rea.items() if k != "rows"}
        print("| strategy | mean best val_accuracy | share of seeds where it is best |")
        print("|---|---|---|")
        print(f"| random | {rea['random_mean_best']:.4f} | {rea['random_wins']:.0%} |")
        print(f"| grid   | {rea['grid_mean_best']:.4f} | {rea['grid_wins']:.0%} |")
        print(f"| tie    |  | {rea['ties']:.0%} |")
        print(f"({rea['seconds']:.0f} s)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
