"""Shared pytest configuration for the suite."""

import os

# Under pytest-xdist (setup.cfg) the suite runs in one process per core: TensorFlow's default
# of one thread per core in each of them (and in the commands the tests start) would put
# several threads on each core, each spinning while it waits for work. One thread each.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def pytest_configure(config):
    # Keras's own test file for BatchNormalization (run by test_batch_norm_keras_suite.py)
    # carries this marker; Keras's conftest, which declares it, is not loaded here.
    config.addinivalue_line(
        "markers", "requires_trainable_backend: Keras's marker for tests that train a model")
