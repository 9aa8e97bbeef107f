"""How far float32 batch norm is from float64: ManualBatchNorm and Keras's layer, side by side.

Single layer: inputs whose mean is large next to their spread (N(100, 1),
N(0.5, 0.1)) and plain N(0, 1), shape (16, 32, 32, 16) so that every unit's
statistics run over m = 16384 values; one training step, three steps (momentum
0.5) for the moving statistics. Networks: keras.applications with random weights (no
download, dropout off), one training-mode forward and backward pass on a batch
of N(0, 1) images.

Each float32 layer is compared with a float64 run of the same computation
(Keras's layer in float64; in the networks, the network built in float64 with
the same weights), never with the other float32 layer:

    single layer: max |float32 - float64| of z_tilde, dz, dgamma, dbeta and the
                  moving statistics after three steps
    networks:     max |float32 - float64| / max |float64| of the outputs, the median
                  over the trainable variables of |g32 - g64| / |g64| of the gradients
                  (less those that are 0 in exact arithmetic, e.g. a convolution's bias
                  just before batch norm),
                  and the median over the batch-norm layers of the same for moving_mean
                  (which starts at 0, so that it is (1 - momentum) * mu after the step)

    python benchmarks/bench_batch_norm_numerics.py
    python benchmarks/bench_batch_norm_numerics.py --networks MobileNetV2 --skip-layer
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from tfweek3 import ManualBatchNorm, swap_batch_norm

LAYER_INPUTS = {"N(100, 1)": (100.0, 1.0), "N(0.5, 0.1)": (0.5, 0.1), "N(0, 1)": (0.0, 1.0)}
LAYER_SHAPE = (16, 32, 32, 16)
# name -> (constructor, its keyword arguments, image size, batch)
NETWORKS = {
    "ResNet50": (keras.applications.ResNet50, {}, 64, 8),
    "EfficientNetB0": (keras.applications.EfficientNetB0, {}, 64, 8),
    "MobileNetV2": (keras.applications.MobileNetV2, {"alpha": 0.35}, 96, 8),
    "DenseNet121": (keras.applications.DenseNet121, {}, 64, 8),
}


def layer_errors(layer_class, dtype: str, loc: float, scale: float, reference: dict | None):
    """One layer, three training steps: its results (float64 run) or their errors (float32)."""
    rng = np.random.default_rng(0)
    channels = LAYER_SHAPE[-1]
    layer = layer_class(momentum=0.5, dtype=dtype)
    layer.build(LAYER_SHAPE)
    layer.gamma.assign(rng.uniform(0.5, 1.5, channels))
    layer.beta.assign(rng.normal(0, 1, channels))
    results = {}
    for step in range(3):
        z = tf.constant(rng.normal(loc, scale, LAYER_SHAPE).astype("float32"), dtype)
        dz_tilde = tf.constant(rng.normal(0, 1, LAYER_SHAPE).astype("float32"), dtype)
        with tf.GradientTape() as tape:
            tape.watch(z)
            z_tilde = layer(z, training=True)
        if step == 0:
            dz, dgamma, dbeta = tape.gradient(z_tilde, [z, layer.gamma, layer.beta], dz_tilde)
            results.update(z_tilde=z_tilde, dz=dz, dgamma=dgamma, dbeta=dbeta)
    results.update(moving_mean=layer.moving_mean, moving_variance=layer.moving_variance)
    results = {k: np.asarray(v, np.float64) for k, v in results.items()}
    if reference is None:
        return results
    return {k: float(np.max(np.abs(v - reference[k]))) for k, v in results.items()}


def network(name: str, dtype: str) -> keras.Model:
    constructor, kwargs, size, _ = NETWORKS[name]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        model = constructor(weights=None, input_shape=(size, size, 3), classes=10,
                            classifier_activation=None, **kwargs)
    finally:
        keras.config.set_dtype_policy(previous)
    for layer in model.layers:  # random dropout masks would differ between the two runs
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    return model


def network_step(model: keras.Model, x: np.ndarray, y: np.ndarray):
    """Outputs, gradients of the cross-entropy and moving variances after one training step."""
    with tf.GradientTape() as tape:
        logits = model(tf.constant(x, model.compute_dtype), training=True)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tape.gradient(loss, model.trainable_variables)
    means = [layer.moving_mean for layer in model.layers if hasattr(layer, "moving_mean")]
    return (np.asarray(logits, np.float64), [np.asarray(g, np.float64) for g in grads],
            [np.asarray(v, np.float64) for v in means])


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def network_errors(name: str) -> dict:
    _, _, size, batch = NETWORKS[name]
    keras.utils.set_random_seed(0)
    model32 = network(name, "float32")
    model64 = network(name, "float64")
    model64.set_weights([w.astype(np.float64) for w in model32.get_weights()])
    manual32 = swap_batch_norm(model32)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (batch, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int32)
    out64, grads64, means64 = network_step(model64, x, y)
    row = {"network": name, "bn_layers": len(means64)}
    # Gradients that are 0 in exact arithmetic (a convolution's bias just before batch
    # norm) are rounding noise in both precisions: they are left out of the median.
    largest = max(np.linalg.norm(g) for g in grads64)
    counted = [i for i, g in enumerate(grads64) if np.linalg.norm(g) > 1e-6 * largest]
    for label, model in (("keras", model32), ("manual", manual32)):
        out, grads, means = network_step(model, x, y)
        row[f"{label}_output"] = float(np.max(np.abs(out - out64)) / np.max(np.abs(out64)))
        row[f"{label}_grad"] = float(np.median([relative(grads[i], grads64[i]) for i in counted]))
        row[f"{label}_moving_mean"] = float(
            np.median([relative(v, r) for v, r in zip(means, means64)]))
    keras.backend.clear_session()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", nargs="*", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--skip-layer", action="store_true", help="only the networks")
    args = parser.parse_args()
    report = {"benchmark": "batch_norm_numerics"}
    if not args.skip_layer:
        print(f"Single layer {LAYER_SHAPE}: max |float32 - float64|, ManualBatchNorm / Keras")
        report["layer"] = {}
        for label, (loc, scale) in LAYER_INPUTS.items():
            reference = layer_errors(keras.layers.BatchNormalization, "float64", loc, scale, None)
            errors = {cls_name: layer_errors(cls, "float32", loc, scale, reference)
                      for cls_name, cls in (("manual", ManualBatchNorm),
                                            ("keras", keras.layers.BatchNormalization))}
            report["layer"][label] = errors
            cells = "  ".join(f"{k} {errors['manual'][k]:.1e}/{errors['keras'][k]:.1e}"
                              for k in errors["manual"])
            print(f"  {label:<12}{cells}")
    if args.networks:
        header = (f"{'network':<16}{'BN':>4}{'output manual':>15}{'keras':>9}{'grad manual':>13}"
                  f"{'keras':>9}{'mov.mean manual':>16}{'keras':>9}")
        print(header)
        print("-" * len(header))
        report["networks"] = []
        for name in args.networks:
            r = network_errors(name)
            report["networks"].append(r)
            print(f"{name:<16}{r['bn_layers']:>4}{r['manual_output']:>15.2e}{r['keras_output']:>9.2e}"
                  f"{r['manual_grad']:>13.2e}{r['keras_grad']:>9.2e}"
                  f"{r['manual_moving_mean']:>16.2e}{r['keras_moving_mean']:>9.2e}",
                  flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
