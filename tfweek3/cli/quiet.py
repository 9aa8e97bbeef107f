"""TensorFlow's start-up lines, kept off the terminal.

On a machine without a GPU, importing TensorFlow and starting its devices writes
lines like `E0000 ... failed call to cuInit: ... UNKNOWN ERROR (303)` to the
process's stderr, from C++ code that runs before TF_CPP_MIN_LOG_LEVEL is read.
`import_tensorflow` imports it with file descriptor 2 sent to a temporary file,
then passes on every line that is not one of those known start-up lines.

It also drops TensorFlow's warning "N out of the last M calls to <function
train_epoch> triggered tf.function retracing": `tfweek3.train` compiles new
functions for each model it trains, traced once each (TrainResult.traces), and
a search or a pbt population trains many models in one process, which that
warning's count takes for retracing.

And it spares the command Python's collections of the imports' objects.
TensorFlow, Keras and KerasTuner create about 600,000 objects that live as long
as the process; Python's cyclic garbage collector walks all of them in each of
its full collections, six during the imports alone (0.02 to 0.27 s each) and
then every few trials of a search (0.3 to 0.5 s each). The imports run with
the collector off, and their objects are then frozen (gc.freeze: left out of
every later collection): the default `tfweek3 tune` spent 1.6 s of its 21 s
collecting, under 0.4 s after.
"""

from __future__ import annotations

import gc
import importlib
import os
import re
import sys
import tempfile

# The start-up lines of a CPU-only machine: absl's note, oneDNN, the CUDA stubs, CPU features.
NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IWE]\d{4} [\d:.]+ +\d+ (port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor"
    r"|cuda_diagnostics|gpu_device)\.cc:\d+\]"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow)")


def import_tensorflow(also: tuple[str, ...] = ()):
    """`import tensorflow` and Keras, its devices started, without the start-up lines, their
    objects frozen; returns the module. also: more modules to import the same way."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    collecting = gc.isenabled()
    gc.disable()
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow as tf

            tf.config.list_physical_devices()  # starts the devices: the cuInit line comes here
            for name in also:
                importlib.import_module(name)
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", errors="replace").splitlines():
                if not NOISE.match(line):
                    print(line, file=sys.stderr)
    from tfweek3.training.loop import quiet_retracing

    quiet_retracing()
    return tf
