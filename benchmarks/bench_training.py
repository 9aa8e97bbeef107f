"""Training speed: tfweek3.train against keras Model.fit and the course's eager GradientTape loop.

The same network (25 and 12 hidden units, ManualBatchNorm, softmax), the same
data (digits: 1149 training and 288 validation examples), mini-batches of 32,
Adam with learning rate 0.001, and a validation pass after every epoch in all
three:

    tfweek3.train   the whole epoch is one tf.function looping over its mini-batches
    Model.fit       model.compile(...) then model.fit(..., validation_data=...)
    eager loop      the assignment's way: a Python loop over the batches, a
                    GradientTape step per batch, no tf.function

Each round runs every method once (in turn, so all see the same load) for
--epochs epochs on a fresh network. An epoch's time is the wall time from one
epoch's end to the next (training and validation); the first epoch, which
includes tracing, is reported on its own. Examples per second = training
examples / median epoch time over all rounds.

    python benchmarks/bench_training.py              # table, then one JSON line
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from tfweek3.layers.softmax import cost
from tfweek3.training.batches import make_batches
from tfweek3.training.data import load_dataset
from tfweek3.training.loop import make_train_step, train
from tfweek3.training.network import build_network, logits_model

BATCH_SIZE = 32
LEARNING_RATE = 1e-3


def fresh_network(data):
    keras.utils.set_random_seed(0)
    return build_network(data.input_dim, data.num_classes, hidden_units=(25, 12),
                         batch_norm="manual")


def run_tfweek3(data, epochs: int) -> list[float]:
    """Timestamps: the start, then the end of each epoch."""
    stamps = [time.perf_counter()]
    train(fresh_network(data), data, epochs=epochs, batch_size=BATCH_SIZE, optimizer="adam",
          learning_rate=LEARNING_RATE, verbose=0,
          on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()))
    return stamps


def run_fit(data, epochs: int) -> list[float]:
    model = fresh_network(data)
    stamps = [time.perf_counter()]

    class Stamp(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            stamps.append(time.perf_counter())

    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, batch_size=BATCH_SIZE, epochs=epochs,
              validation_data=(data.x_val, data.y_val), verbose=0, callbacks=[Stamp()])
    return stamps


def run_eager(data, epochs: int) -> list[float]:
    """The course assignment's loop: eager, one Python iteration per mini-batch."""
    model = fresh_network(data)
    z_model = logits_model(model)
    step = make_train_step(model, keras.optimizers.Adam(LEARNING_RATE))  # not compiled
    stamps = [time.perf_counter()]
    for epoch in range(epochs):
        for x, y in make_batches(data.x_train, data.y_train, BATCH_SIZE, seed=0,
                                 first_epoch=epoch):
            step(x, y)
        cost(data.y_val, z_model(data.x_val, training=False), from_logits=True).numpy()
        stamps.append(time.perf_counter())
    return stamps


METHODS = {"tfweek3.train": run_tfweek3, "Model.fit": run_fit, "eager loop": run_eager}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8, help="epochs per run (8)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each method (3)")
    args = parser.parse_args()

    data = load_dataset("digits")
    m = len(data.x_train)
    epoch_times = {name: [] for name in METHODS}
    first_epochs = {name: [] for name in METHODS}
    for _ in range(args.rounds):
        for name, run in METHODS.items():
            stamps = run(data, args.epochs)
            first_epochs[name].append(stamps[1] - stamps[0])
            epoch_times[name] += [b - a for a, b in itertools.pairwise(stamps[1:])]

    median = {name: statistics.median(times) for name, times in epoch_times.items()}
    speed = {name: m / median[name] for name in METHODS}
    print(f"digits: {m} training examples, batch {BATCH_SIZE}, Adam, 25-12 hidden units with "
          f"ManualBatchNorm; {args.rounds} rounds x {args.epochs} epochs; TensorFlow "
          f"{tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores\n")
    print(f"{'method':<15} {'first epoch s':>13} {'epoch ms':>9} {'examples/s':>11} "
          f"{'vs Model.fit':>13}")
    for name in METHODS:
        print(f"{name:<15} {statistics.median(first_epochs[name]):>13.2f} "
              f"{1000 * median[name]:>9.1f} {speed[name]:>11.0f} "
              f"{speed[name] / speed['Model.fit']:>12.2f}x")
    print(json.dumps({
        "benchmark": "training",
        "examples_per_second": {name: round(value, 1) for name, value in speed.items()},
        "median_epoch_seconds": {name: round(value, 5) for name, value in median.items()},
        "tfweek3_vs_fit": round(speed["tfweek3.train"] / speed["Model.fit"], 2),
        "tfweek3_vs_eager": round(speed["tfweek3.train"] / speed["eager loop"], 2),
        "target_tfweek3_vs_fit": 2.0,
    }))


if __name__ == "__main__":
    main()
