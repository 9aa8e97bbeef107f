"""Shared pytest configuration for the suite."""


def pytest_configure(config):
    # Keras's own test file for BatchNormalization (run by test_batch_norm_keras_suite.py)
    # carries this marker; Keras's conftest, which declares it, is not loaded here.
    config.addinivalue_line(
        "markers", "requires_trainable_backend: Keras's marker for tests that train a model")
