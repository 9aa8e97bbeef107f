"""Real networks with ManualBatchNorm, run eagerly as the course's loop does: no retracing warnings.

Each of four keras.applications networks (weights=None: nothing is downloaded),
swapped to ManualBatchNorm, makes one eager training step: the forward pass with
training=True under a tf.GradientTape, the gradients, an SGD update. Their
layers are of many shapes, some large enough for XLA (batch_norm_passes.xla_pays)
and some not. TensorFlow warns "N out of the last M calls to <function forward>
triggered tf.function retracing" when 5 of the last 10 eager calls of one Python
function's tf.functions traced it; the steps must leave it nothing to warn about.

The networks run in a fresh Python process (this file, run as a script): in the
test session's process, earlier tests have already traced the passes, and
TensorFlow warns at most twice per function in a process.
"""

import json
import os
import subprocess
import sys

# name -> (keyword arguments, image size). MobileNetV2 at 96 px is where the warning was
# seen: at that size its layers alternate between the passes with and without XLA.
NETWORKS = {
    "MobileNetV2": ({"alpha": 0.35}, 96),
    "ResNet50": ({}, 32),
    "DenseNet121": ({}, 32),
    "EfficientNetB0": ({}, 32),
}
BATCH = 4


def retracing_warnings() -> dict[str, list[str]]:
    """Each network's eager training step, one after the other in this process: the
    retracing warnings TensorFlow logged during each."""
    import logging

    import keras
    import numpy as np
    import tensorflow as tf

    from tfweek3 import swap_batch_norm

    class Records(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            if "triggered tf.function retracing" in record.getMessage():
                self.messages.append(record.getMessage())

    records = Records()
    tf.get_logger().addHandler(records)
    rng = np.random.default_rng(0)
    warnings = {}
    for name, (kwargs, size) in NETWORKS.items():
        network = getattr(keras.applications, name)(
            weights=None, input_shape=(size, size, 3), classes=10, **kwargs)
        model = swap_batch_norm(network)
        x = tf.constant(rng.normal(size=(BATCH, size, size, 3)).astype("float32"))
        y = tf.constant(np.arange(BATCH) % 10)
        optimizer = keras.optimizers.SGD(0.01)
        before = len(records.messages)
        with tf.GradientTape() as tape:  # eager: no tf.function around the step
            probabilities = model(x, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probabilities))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        assert all(g is not None for g in grads), name
        warnings[name] = records.messages[before:]
    return warnings


def test_four_applications_networks_train_eagerly_without_retracing_warnings():
    child = subprocess.run([sys.executable, __file__], capture_output=True, text=True,
                           env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=600,
                           check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    warnings = json.loads(child.stdout.splitlines()[-1])
    assert warnings == {name: [] for name in NETWORKS}, warnings


if __name__ == "__main__":
    print(json.dumps(retracing_warnings()))
