"""A model of your own, K copies at once: Keras 3's stateless_call under tf.vectorized_map.

The experiment behind caviar in one graph for a learner's own build(hp): K
members of one architecture (a Keras model: 64 -> 40 RELU -> 10) whose
weights are stacked on a leading member axis, each member with its own
learning rate and its own mini-batches; one SGD step of all K is

    tf.vectorized_map(member_step, (stacked weights, x[k], y[k], alpha[k]))

where member_step calls `model.stateless_call(weights, [], x, training=True)`
inside a GradientTape (one template model; no variable of its own is touched),
compiled with XLA. Against it, the same K members one at a time, each a Keras
model with its own compiled step (its optimizer: SGD), on the same mini-batches.

Printed: the compile time and the seconds per epoch of both ways (the speed-up),
and exactness as tests/test_stacked.py measures it: each member's final weights'
distance from a float64 run of that member alone, stacked against alone.

    python benchmarks/bench_stateless.py                 # K = 30, 3 epochs, digits
    python benchmarks/bench_stateless.py --members 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from tfweek3.training.data import load_dataset


def build(dtype: str = "float32") -> keras.Model:
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(40, "relu", dtype=dtype),
                             keras.layers.Dense(10, dtype=dtype)])


def one_at_a_time(initial, alphas, x, y, order, dtype: str) -> tuple[list, float]:
    """Each member as its own Keras model and compiled step; its final weights, and the
    seconds of the epochs (compilation not counted)."""
    final, seconds = [], 0.0
    for k, weights in enumerate(initial):
        model = build(dtype)
        model.set_weights([w.astype(dtype) for w in weights])
        optimizer = keras.optimizers.SGD(float(alphas[k]))

        @tf.function(jit_compile=True)
        def step(xb, yb, model=model, optimizer=optimizer):
            with tf.GradientTape() as tape:
                logits = model(xb, training=True)
                loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(yb, logits))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

        xs, ys = tf.cast(x, dtype), tf.cast(y, dtype)
        step(tf.gather(xs, order[0, 0, k]), tf.gather(ys, order[0, 0, k]))  # compile
        model.set_weights([w.astype(dtype) for w in weights])
        optimizer = keras.optimizers.SGD(float(alphas[k]))
        start = time.perf_counter()
        for batches in order:
            for batch in batches:
                step(tf.gather(xs, batch[k]), tf.gather(ys, batch[k]))
        seconds += time.perf_counter() - start
        final.append(model.get_weights())
    return final, seconds


def vectorized(initial, alphas, x, y, order) -> tuple[list, float, float]:
    """All members at once; their final weights, the compile time, the epochs' seconds."""
    template = build()
    stacked = [tf.Variable(np.stack([w[j] for w in initial])) for j in range(len(initial[0]))]
    alpha = tf.constant(alphas, tf.float32)

    def member_step(args):
        weights, xb, yb, rate = args
        with tf.GradientTape() as tape:
            tape.watch(weights)
            logits, _ = template.stateless_call(weights, [], xb, training=True)
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(yb, logits))
        grads = tape.gradient(loss, weights)
        return [w - rate * g for w, g in zip(weights, grads)]

    @tf.function(jit_compile=True)
    def step(xb, yb):
        new = tf.vectorized_map(member_step, (list(stacked), xb, yb, alpha))
        for variable, value in zip(stacked, new):
            variable.assign(value)

    start = time.perf_counter()
    step(tf.gather(x, order[0, 0]), tf.gather(y, order[0, 0]))
    compile_seconds = time.perf_counter() - start
    for variable, j in zip(stacked, range(len(stacked))):
        variable.assign(np.stack([w[j] for w in initial]))
    start = time.perf_counter()
    for batches in order:
        for batch in batches:
            step(tf.gather(x, batch), tf.gather(y, batch))
    stacked[0].numpy()
    seconds = time.perf_counter() - start
    return [[v[k].numpy() for v in stacked] for k in range(len(initial))], compile_seconds, seconds


def distance(weights, reference) -> float:
    return float(np.sqrt(sum(np.sum((w.astype(np.float64) - r) ** 2)
                             for w, r in zip(weights, reference))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    data = load_dataset("digits", seed=0, layout="flat")
    x, y = tf.constant(data.x_train, tf.float32), tf.constant(data.y_train, tf.float32)
    k, m = args.members, len(data.x_train)
    steps = m // args.batch_size
    rng = np.random.default_rng(0)
    order = rng.integers(0, m, (args.epochs, steps, k, args.batch_size)).astype(np.int32)
    alphas = np.geomspace(1e-3, 1e-1, k).astype(np.float32)
    initial = []
    for member in range(k):
        keras.utils.set_random_seed(member)
        initial.append(build().get_weights())
    together, compile_seconds, seconds = vectorized(initial, alphas, x, y, order)
    alone, alone_seconds = one_at_a_time(initial, alphas, x, y, order, "float32")
    exact, _ = one_at_a_time(initial, alphas, x, y, order, "float64")
    ratios = [distance(t, e) / distance(a, e) for t, a, e in zip(together, alone, exact)]
    print(f"{k} members, {args.epochs} epochs of {steps} steps (mini-batches of "
          f"{args.batch_size}), SGD with alpha from 1e-3 to 1e-1")
    print(f"  vectorized_map + stateless_call: compiled in {compile_seconds:.2f} s, "
          f"{seconds / args.epochs:.3f} s an epoch of all members")
    print(f"  one at a time:                   {alone_seconds / args.epochs:.3f} s an epoch of all "
          f"members ({alone_seconds / seconds:.1f}x slower; their compilation not counted)")
    print(f"  distance from float64, stacked / alone: median {statistics.median(ratios):.2f}, "
          f"largest {max(ratios):.2f}")


if __name__ == "__main__":
    main()
