"""synchronized=True under MirroredStrategy on two logical CPUs: the global batch's statistics."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.numerics

# TensorFlow's logical devices must be set before it starts, so this runs in a fresh process.
SCRIPT = r"""
import json, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfweek3 import ManualBatchNorm

x = np.random.default_rng(0).normal(2.0, 3.0, size=(8, 4)).astype("float32")
dz = np.random.default_rng(1).normal(size=(8, 4)).astype("float32")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
result = {}
for synchronized in (True, False):
    with strategy.scope():
        layer = ManualBatchNorm(momentum=0.0, synchronized=synchronized)
        layer.build((None, 4))

    def replica_fn():
        ctx = tf.distribute.get_replica_context()
        i = ctx.replica_id_in_sync_group
        local_x = tf.gather(tf.constant(x), tf.range(4) + 4 * i)
        local_dz = tf.gather(tf.constant(dz), tf.range(4) + 4 * i)
        with tf.GradientTape() as tape:
            tape.watch(local_x)
            y = layer(local_x, training=True)
            loss = tf.reduce_sum(y * local_dz)
        return y, tape.gradient(loss, local_x)

    y, dx = strategy.run(tf.function(replica_fn))
    result[str(synchronized)] = {
        "y": np.concatenate([t.numpy() for t in strategy.experimental_local_results(y)]).tolist(),
        "dx": np.concatenate([t.numpy() for t in strategy.experimental_local_results(dx)]).tolist(),
        "moving_mean": layer.moving_mean.numpy().tolist(),
        "moving_variance": layer.moving_variance.numpy().tolist(),
    }

single = ManualBatchNorm(momentum=0.0)
xt = tf.constant(x)
with tf.GradientTape() as tape:
    tape.watch(xt)
    y = single(xt, training=True)
    loss = tf.reduce_sum(y * dz)
result["single"] = {"y": y.numpy().tolist(), "dx": tape.gradient(loss, xt).numpy().tolist(),
                    "moving_mean": single.moving_mean.numpy().tolist(),
                    "moving_variance": single.moving_variance.numpy().tolist()}
print("RESULT" + json.dumps(result))
"""


def test_synchronized_statistics_equal_the_global_batch():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT"))
    result = json.loads(line[len("RESULT"):])
    sync, local, single = result["True"], result["False"], result["single"]
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(8, 4)).astype("float32")
    # momentum=0: the moving statistics are the batch statistics of the last step.
    np.testing.assert_allclose(single["moving_mean"], x.mean(axis=0), rtol=1e-5)
    for key in ("y", "dx", "moving_mean", "moving_variance"):
        np.testing.assert_allclose(sync[key], single[key], rtol=1e-5, atol=1e-5, err_msg=key)
    # Without synchronization each replica normalizes with its own half of the batch.
    assert not np.allclose(local["y"], single["y"], atol=1e-3)
