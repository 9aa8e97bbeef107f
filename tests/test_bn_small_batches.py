"""The small mini-batch experiment of notebook 02 (tfweek3.course.bn_small_batches)."""

import numpy as np

from tfweek3 import ManualBatchNorm
from tfweek3.course import bn_small_batches
from tfweek3.course.bn_small_batches import SmallBatchRun


def test_the_network_renormalizes_only_when_asked():
    for renorm in (False, True):
        model = bn_small_batches.small_batch_network(64, 10, renorm)
        norms = [layer for layer in model.layers if isinstance(layer, ManualBatchNorm)]
        assert [layer.renorm for layer in norms] == [renorm, renorm]
        assert {len(layer.non_trainable_weights) for layer in norms} == {5 if renorm else 2}


def test_summary_averages_the_seeds_per_batch_size_and_layer():
    runs = [SmallBatchRun(2, False, 0.7, 0.90), SmallBatchRun(2, False, 0.8, 0.92),
            SmallBatchRun(2, True, 1.0, 0.96), SmallBatchRun(64, False, 1.0, 0.95),
            SmallBatchRun(64, True, 1.0, 0.97)]
    rows = bn_small_batches.summarize(runs)
    assert [(row["batch_size"], row["renorm"]) for row in rows] == [
        (2, False), (2, True), (64, False), (64, True)]
    np.testing.assert_allclose(rows[0]["train_accuracy"], 0.75)
    np.testing.assert_allclose(rows[0]["test_time_accuracy"], 0.91)
    text = bn_small_batches.format_summary(rows)
    assert "renormalization" in text.splitlines()[2] and "0.910" in text.splitlines()[1]
