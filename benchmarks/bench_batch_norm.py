"""One training step of ManualBatchNorm against keras.layers.BatchNormalization.

A step is the forward pass in training mode (batch statistics, moving-statistics
update) and the backward pass to x, gamma and beta, inside one tf.function.
Both layers run in the same process and the steps alternate, so the ratio
manual/keras is measured under the same load; the medians are over --steps
steps after warm-up.

The "minimum bytes" column is what any implementation must move: the forward
reads x and writes z_tilde, the backward reads dz_tilde and x and writes dz,
five tensors of the input's size. The bandwidth it implies is printed beside
the bandwidth of a plain NumPy copy of the same array, measured in the same run.

    python benchmarks/bench_batch_norm.py            # table, then one JSON line
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from tfweek3 import ManualBatchNorm

SHAPES = [(512, 1024), (64, 32, 32, 64)]


def make_step(layer: keras.layers.Layer, jit_compile: bool):
    @tf.function(jit_compile=jit_compile)
    def step(x, dz_tilde):
        with tf.GradientTape() as tape:
            tape.watch(x)
            z_tilde = layer(x, training=True)
        return tape.gradient(z_tilde, [x, *layer.trainable_variables], output_gradients=dz_tilde)

    return step


def numpy_copy_bandwidth(nbytes: int, repeats: int = 30) -> float:
    """GB/s of np.copyto between two float32 arrays of nbytes (read + write)."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - start)
    return 2 * nbytes / statistics.median(times) / 1e9


def bench(shape: tuple[int, ...], jit_compile: bool, steps: int, warmup: int) -> dict:
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=shape).astype(np.float32))
    dz_tilde = tf.constant(rng.normal(size=shape).astype(np.float32))
    layers = {"manual": ManualBatchNorm(), "keras": keras.layers.BatchNormalization()}
    step_fns = {name: make_step(layer, jit_compile) for name, layer in layers.items()}
    times: dict[str, list[float]] = {name: [] for name in layers}
    for i in range(warmup + steps):
        for name, step in step_fns.items():
            start = time.perf_counter()
            grads = step(x, dz_tilde)
            grads[0].numpy()  # wait for the result
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    nbytes = int(np.prod(shape)) * 4
    min_bytes = 5 * nbytes
    return {
        "shape": "x".join(map(str, shape)),
        "mode": "jit" if jit_compile else "graph",
        "manual_ms": median["manual"] * 1e3,
        "keras_ms": median["keras"] * 1e3,
        "ratio": median["manual"] / median["keras"],
        "min_bytes": min_bytes,
        "manual_GBps": min_bytes / median["manual"] / 1e9,
        "numpy_copy_GBps": numpy_copy_bandwidth(nbytes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=50, help="timed steps per layer (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    args = parser.parse_args()

    rows = [bench(shape, jit, args.steps, args.warmup) for shape in SHAPES for jit in (False, True)]
    header = (f"{'shape':<14}{'mode':<7}{'manual ms':>10}{'keras ms':>10}{'ratio':>8}"
              f"{'min MB':>9}{'manual GB/s':>13}{'numpy copy GB/s':>17}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['shape']:<14}{r['mode']:<7}{r['manual_ms']:>10.2f}{r['keras_ms']:>10.2f}"
              f"{r['ratio']:>8.2f}{r['min_bytes'] / 1e6:>9.1f}{r['manual_GBps']:>13.2f}"
              f"{r['numpy_copy_GBps']:>17.2f}")
    ratios = {f"{r['shape']}_{r['mode']}": round(r["ratio"], 3) for r in rows}
    print(json.dumps({"benchmark": "batch_norm_step", "ratio_manual_over_keras": ratios,
                      "steps": args.steps}))


if __name__ == "__main__":
    main()
