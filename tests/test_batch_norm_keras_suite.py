"""Keras's own test file for BatchNormalization, run against ManualBatchNorm.

keras/src/layers/normalization/batch_normalization_test.py ships inside the
installed keras wheel. Its tests call `layers.BatchNormalization`; the fixture
below hands that module a `layers` in which the name is ManualBatchNorm, so every
one of its tests (shapes, masks, training in a model with fit, renormalization,
serialization) runs against our layer. The file is imported from keras, not
copied: a newer Keras brings its newer tests.
"""

import types

import pytest
from keras.src import layers as keras_layers
from keras.src.layers.normalization import batch_normalization_test as keras_suite

from tfweek3 import ManualBatchNorm

pytestmark = pytest.mark.numerics

# Collected by pytest under this module, so that the fixture below applies to it.
KerasBatchNormalizationTest = keras_suite.BatchNormalizationTest


class _LayersWithManualBatchNorm(types.ModuleType):
    """keras.src.layers, except that BatchNormalization is ManualBatchNorm (lookups counted)."""

    lookups = 0

    @property
    def BatchNormalization(self):
        self.lookups += 1
        return ManualBatchNorm

    def __getattr__(self, name):
        return getattr(keras_layers, name)


@pytest.fixture(autouse=True)
def manual_batch_norm_in_keras_suite(monkeypatch):
    layers = _LayersWithManualBatchNorm("layers")
    monkeypatch.setattr(keras_suite, "layers", layers)
    yield layers
    # Every test of Keras's file builds its layers as layers.BatchNormalization: had
    # the name not been looked up here, the test would not have exercised ManualBatchNorm.
    assert layers.lookups > 0


def test_the_fixture_puts_manual_batch_norm_in_place(manual_batch_norm_in_keras_suite):
    assert keras_suite.layers.BatchNormalization is ManualBatchNorm
    assert keras_suite.layers.Masking is keras_layers.Masking

