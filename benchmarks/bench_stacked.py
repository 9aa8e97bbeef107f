"""Caviar in one graph: K course networks trained one at a time, and as one StackedNetwork.

The same K members (drawn as the default search draws them: alpha on a log
scale, 1 - beta on a log scale, 1 to 3 hidden layers of 8 to 48 units, batch
norm on or off, Adam or momentum, mini-batches of 16, 32 or 64), the same data
(digits), the same epochs, in one run:

    alone     tfweek3.train for each member in turn (its own compiled epoch)
    stacked   one StackedNetwork of the K members (training/stacked.py)

Each round runs both (in turn, so that both see the same load); the figures are
medians over the rounds: wall time (tracing included), the speed-up, and each
member's final validation accuracy both ways (they train alike: the largest
difference is printed).

    python benchmarks/bench_stacked.py                   # K = 30, 6 epochs, 3 rounds
    python benchmarks/bench_stacked.py --members 8 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from tfweek3.training.data import load_dataset
from tfweek3.training.loop import train
from tfweek3.training.member import Member
from tfweek3.training.stacked import StackedNetwork


def draw_members(k: int, seed: int) -> list[Member]:
    rng = np.random.default_rng(seed)
    members = []
    for _ in range(k):
        layers = int(rng.integers(1, 4))
        members.append(Member(
            hidden_units=tuple(int(u) for u in rng.integers(8, 49, layers)),
            learning_rate=float(10 ** rng.uniform(-4, -1)),
            beta=float(1 - 10 ** rng.uniform(-3, -1)),
            optimizer=str(rng.choice(["adam", "momentum"])),
            batch_norm=bool(rng.integers(0, 2)),
            batch_size=int(rng.choice([16, 32, 64])),
            seed=0))
    return members


def run_alone(members, data, epochs: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    accuracies = []
    for member in members:
        model = member.build(data.input_dim, data.num_classes)
        result = train(model, data, epochs=epochs, batch_size=member.batch_size,
                       optimizer=member.optimizer, learning_rate=member.learning_rate,
                       beta=member.beta, seed=member.seed, verbose=0)
        accuracies.append(result.history["val_accuracy"][-1])
    return time.perf_counter() - start, accuracies


def run_stacked(members, data, epochs: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    stack = StackedNetwork(members, data.input_dim, data.num_classes)
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    for epoch in range(epochs):
        stack.train_epoch(x, y, epoch)
    _, accuracy = stack.evaluate(tf.constant(data.x_val), tf.constant(data.y_val))
    return time.perf_counter() - start, [float(a) for a in accuracy.numpy()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=30, help="K, the members (30)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of each member (6)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, both ways each (3)")
    args = parser.parse_args()
    data = load_dataset("digits")
    members = draw_members(args.members, seed=1)
    times = {"alone": [], "stacked": []}
    gaps = []
    for round_ in range(1, args.rounds + 1):
        alone, accuracy_alone = run_alone(members, data, args.epochs)
        stacked, accuracy_stacked = run_stacked(members, data, args.epochs)
        times["alone"].append(alone)
        times["stacked"].append(stacked)
        gaps.append(max(abs(a - b) for a, b in zip(accuracy_alone, accuracy_stacked)))
        print(f"round {round_}: alone {alone:.2f} s, stacked {stacked:.2f} s "
              f"({alone / stacked:.1f}x); largest difference in a member's val_accuracy "
              f"{gaps[-1]:.4f}", flush=True)
    alone, stacked = (statistics.median(times[key]) for key in ("alone", "stacked"))
    print(f"{args.members} members, {args.epochs} epochs on digits: one at a time {alone:.2f} s, "
          f"stacked {stacked:.2f} s: {alone / stacked:.1f}x (median of {args.rounds} rounds)")
    print(json.dumps({"members": args.members, "epochs": args.epochs, "alone_seconds": alone,
                      "stacked_seconds": stacked, "speedup": alone / stacked,
                      "largest_val_accuracy_difference": max(gaps)}))


if __name__ == "__main__":
    main()
