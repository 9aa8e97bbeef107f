"""Batch norm's cost inside real networks: Keras's layer, ManualBatchNorm, and no batch norm at all.

Each keras.applications network (random weights, weights=None: nothing is
downloaded) is built three times: as Keras builds it, with every
BatchNormalization swapped for ManualBatchNorm (`tfweek3.swap_batch_norm`), and
with every BatchNormalization replaced by an identity. A training step is the
forward pass in training mode, the cross-entropy, the gradients and a plain SGD
update, in one tf.function; the three variants' steps alternate, so that all
three are timed under the same load, and the medians are over --steps steps.

    cost of batch norm = step time - step time without batch norm
    ratio              = ManualBatchNorm's cost / Keras's cost

"BN share" is Keras's cost over Keras's step. "floor" is what five passes over
every batch-norm layer's activations take at the bandwidth of a NumPy copy
measured in the same run (forward: read x, write z_tilde; backward: read
dz_tilde and x, write dz): no implementation of batch norm can cost less.

    python benchmarks/bench_batch_norm_networks.py               # graph and jit, 4 networks
    python benchmarks/bench_batch_norm_networks.py --networks ResNet50 --modes graph
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from tfweek3 import swap_batch_norm

# name -> (constructor, its keyword arguments, image size)
NETWORKS = {
    "ResNet50": (keras.applications.ResNet50, {}, 64),
    "EfficientNetB0": (keras.applications.EfficientNetB0, {}, 64),
    "MobileNetV2": (keras.applications.MobileNetV2, {"alpha": 0.35}, 96),
    "DenseNet121": (keras.applications.DenseNet121, {}, 64),
}
VARIANTS = ("keras", "manual", "none")
CLASSES = 10


class NoBatchNorm(keras.layers.Layer):
    """Stands where a BatchNormalization stood and returns its input (free in a graph)."""

    def call(self, inputs, training=None, mask=None):
        return inputs


def build_variants(name: str) -> dict[str, keras.Model]:
    constructor, kwargs, size = NETWORKS[name]
    keras.utils.set_random_seed(0)
    model = constructor(weights=None, input_shape=(size, size, 3), classes=CLASSES,
                        classifier_activation=None, **kwargs)

    def without_batch_norm(layer):
        if isinstance(layer, keras.layers.BatchNormalization):
            return NoBatchNorm(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    none = keras.models.clone_model(model, clone_function=without_batch_norm)
    return {"keras": model, "manual": swap_batch_norm(model), "none": none}


def make_step(model: keras.Model, jit_compile: bool, learning_rate: float = 1e-3):
    @tf.function(jit_compile=jit_compile)
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        for variable, grad in zip(model.trainable_variables, grads):
            variable.assign_sub(learning_rate * grad)
        return loss

    return step


def batch_norm_bytes(model: keras.Model, batch: int) -> int:
    """Bytes of all the batch-norm layers' float32 activations for one batch."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            total += batch * int(np.prod(layer.output.shape[1:])) * 4
    return total


def numpy_copy_bandwidth(nbytes: int = 64 << 20, repeats: int = 20) -> float:
    """GB/s of np.copyto between two float32 arrays of nbytes (read + write counted)."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - start)
    return 2 * nbytes / statistics.median(times) / 1e9


def bench(name: str, jit_compile: bool, batch: int, steps: int, warmup: int,
          bandwidth: float) -> dict:
    models = build_variants(name)
    size = NETWORKS[name][2]
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch, size, size, 3)).astype(np.float32))
    y = tf.constant(rng.integers(0, CLASSES, batch).astype(np.int32))
    step_fns = {variant: make_step(model, jit_compile) for variant, model in models.items()}
    times: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for i in range(warmup + steps):
        for variant in VARIANTS:
            start = time.perf_counter()
            step_fns[variant](x, y).numpy()
            if i >= warmup:
                times[variant].append(time.perf_counter() - start)
    ms = {variant: statistics.median(t) * 1e3 for variant, t in times.items()}
    keras_cost, manual_cost = ms["keras"] - ms["none"], ms["manual"] - ms["none"]
    nbytes = batch_norm_bytes(models["keras"], batch)
    layers = sum(isinstance(layer, keras.layers.BatchNormalization)
                 for layer in models["keras"].layers)
    del models, step_fns
    keras.backend.clear_session()
    gc.collect()
    return {
        "network": name, "mode": "jit" if jit_compile else "graph", "bn_layers": layers,
        "keras_ms": ms["keras"], "manual_ms": ms["manual"], "none_ms": ms["none"],
        "bn_share": keras_cost / ms["keras"],
        "keras_cost_ms": keras_cost, "manual_cost_ms": manual_cost,
        "ratio": manual_cost / keras_cost,
        "floor_ms": 5 * nbytes / bandwidth / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--modes", nargs="+", default=["graph", "jit"], choices=["graph", "jit"])
    parser.add_argument("--batch", type=int, default=16, help="batch size (default 16)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per variant (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    args = parser.parse_args()

    bandwidth = numpy_copy_bandwidth()
    header = (f"{'network':<16}{'mode':<7}{'BN':>4}{'keras ms':>10}{'manual ms':>11}"
              f"{'none ms':>9}{'BN share':>10}{'keras cost':>12}{'manual cost':>13}"
              f"{'ratio':>7}{'floor ms':>10}")
    print(f"NumPy copy bandwidth: {bandwidth:.1f} GB/s; batch {args.batch}")
    print(header)
    print("-" * len(header))
    rows = []
    for name in args.networks:
        for mode in args.modes:
            r = bench(name, mode == "jit", args.batch, args.steps, args.warmup, bandwidth)
            rows.append(r)
            print(f"{r['network']:<16}{r['mode']:<7}{r['bn_layers']:>4}{r['keras_ms']:>10.1f}"
                  f"{r['manual_ms']:>11.1f}{r['none_ms']:>9.1f}{r['bn_share']:>10.2f}"
                  f"{r['keras_cost_ms']:>12.1f}{r['manual_cost_ms']:>13.1f}{r['ratio']:>7.2f}"
                  f"{r['floor_ms']:>10.1f}", flush=True)
    ratios = {f"{r['network']}_{r['mode']}": round(r["ratio"], 3) for r in rows}
    print(json.dumps({"benchmark": "batch_norm_in_networks", "ratio_manual_over_keras": ratios,
                      "batch": args.batch, "steps": args.steps}))


if __name__ == "__main__":
    main()
