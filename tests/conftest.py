"""Shared pytest configuration for the suite."""

import os

# One TensorFlow thread per process, in pytest's workers and in every command or notebook kernel
# a test starts (they inherit the environment): pytest-xdist already runs a test per core, and
# TensorFlow's own pools of one thread per core on top of that made the processes wait on each
# other (test_stops, test_pbt_search and test_together, run one after the other: 166 s with
# TensorFlow's defaults, 151 s with these). Set any of them yourself to override.
for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(variable, "1")


def pytest_configure(config):
    # Keras's own test file for BatchNormalization (run by test_batch_norm_keras_suite.py)
    # carries this marker; Keras's conftest, which declares it, is not loaded here.
    config.addinivalue_line(
        "markers", "requires_trainable_backend: Keras's marker for tests that train a model")
