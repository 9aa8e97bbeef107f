"""Checks of exercise 6: softmax and the cross-entropy cost J, stable for large logits.

References: tfweek3.layers.reference (softmax, cross_entropy, the gradient
(y_hat - y) / m) in float64, and, for logits around 1000 where the plain
formula gives log 0, scipy.special.log_softmax.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from tfweek3.layers import reference
from tfweek3.practice.grader import CheckFailed, Checks, Mistake, as_array, expect_close

LECTURE_Z = np.array([[5.0, 2.0, -1.0, 3.0]])

SOFTMAX_OVERFLOW = Mistake(
    "softmax_overflow",
    "softmax overflows for logits around 1000 (exp(1000) = inf; in float32 already exp(89)): "
    "subtract each row's max first")
SOFTMAX_GLOBAL_MAX = Mistake(
    "softmax_global_max",
    "the max is taken over the whole batch, not each row: a row far below the largest logit "
    "underflows to 0/0; use np.max(z, axis=1, keepdims=True)")
SOFTMAX_COLUMNS = Mistake(
    "softmax_columns",
    "softmax normalizes each column (axis 0): each example's row must sum to 1 (sum over axis 1)")
COST_SUM = Mistake(
    "cost_sum_not_mean",
    "the cost sums over the mini-batch instead of taking the mean: J = (1/m) sum_i L(y_hat(i), "
    "y(i))")
COST_MEAN_CLASSES = Mistake(
    "cost_mean_over_classes",
    "the cost averages over the classes too (np.mean of y * log y_hat): sum over the classes j, "
    "then average over the m examples")
COST_SIGN = Mistake(
    "cost_sign",
    "the cost has the wrong sign: L = -sum_j y_j log y_hat_j (log y_hat <= 0, so L >= 0)")
COST_LOG_OF_SOFTMAX = Mistake(
    "cost_log_of_softmax",
    "the cost is not finite for logits around 1000: log(softmax(z)) takes log 0 (or exp "
    "overflows); compute log y_hat = (z - max z) - log sum_j exp(z_j - max z)")


def one_hot(labels, classes: int) -> np.ndarray:
    return np.eye(classes)[labels]


def logits(m: int, classes: int, seed: int, scale: float = 3.0):
    rng = np.random.default_rng(seed)
    return scale * rng.normal(0, 1, (m, classes)), one_hot(rng.integers(0, classes, m), classes)


def large_logits(dtype=np.float64, size: float = 1000.0):
    """Rows around +size, 0 and -size; each true class well below its row's best logit."""
    z = np.array([[size, size - 1, size - 10], [0.0, -1.0, -10.0], [-size, -size - 1, -size - 10],
                  [size, 0.0, -size]], dtype=dtype)
    return z, one_hot([1, 2, 0, 2], 3).astype(dtype)


def softmax_variants(z):
    def shifted(zmax, axis=1):
        t = np.exp(z - zmax)
        return t / np.sum(t, axis=axis, keepdims=True)

    yield SOFTMAX_OVERFLOW, lambda: shifted(0)
    yield SOFTMAX_GLOBAL_MAX, lambda: shifted(np.max(z))
    yield SOFTMAX_COLUMNS, lambda: shifted(np.max(z, axis=0, keepdims=True), axis=0)


def cost_variants(z, y, J):
    m, classes = z.shape
    yield COST_SUM, lambda: J * m
    yield COST_MEAN_CLASSES, lambda: J / classes
    yield COST_SIGN, lambda: -J


def expect_softmax(learner, z, label, rtol=1e-5, atol=1e-5):
    expected = reference.softmax(np.asarray(z, np.float64))
    got = learner.call("softmax", z)
    expect_close(got, expected, f"softmax of {label}", softmax_variants(z), rtol, atol)


def expect_cost(learner, z, y, label, expected=None, large=False):
    if expected is None:
        expected = float(np.mean(reference.cross_entropy(y, reference.softmax(z))))
    got = as_array(learner.call("softmax_cost", z, y), f"softmax_cost of {label}")
    if got.size != 1:
        raise CheckFailed(f"softmax_cost of {label} has shape {got.shape}; return one number, J")
    if not np.isfinite(got).all():
        if large:
            raise CheckFailed.because(COST_LOG_OF_SOFTMAX)
        raise CheckFailed(f"softmax_cost of {label} is {got.item()}, not a number; the "
                          f"reference gives {expected:.6g}")
    expect_close(got.reshape(()), expected, f"softmax_cost of {label}",
                 cost_variants(z, y, expected))


checks = Checks(mistakes=(SOFTMAX_OVERFLOW, SOFTMAX_GLOBAL_MAX, SOFTMAX_COLUMNS, COST_SUM,
                          COST_MEAN_CLASSES, COST_SIGN, COST_LOG_OF_SOFTMAX))


@checks.add("softmax of the lecture's z = [5, 2, -1, 3] is [0.842, 0.042, 0.002, 0.114]")
def softmax_lecture(learner):
    expect_softmax(learner, LECTURE_Z, "[[5, 2, -1, 3]]")


@checks.add("softmax on batches of shape (8, 3) and (5, 10): row by row, each summing to 1")
def softmax_batches(learner):
    for seed, (m, classes) in enumerate(((8, 3), (5, 10))):
        z, _ = logits(m, classes, seed)
        expect_softmax(learner, z, f"a {(m, classes)} batch")


@checks.add("softmax of logits around 1000, 0 and -1000 (float64): finite, as the reference")
def softmax_large(learner):
    z, _ = large_logits()
    expect_softmax(learner, z, "the large logits")


@checks.add("softmax of float32 logits around 100 (exp(89) overflows float32): finite")
def softmax_float32(learner):
    z, _ = large_logits(np.float32, size=100.0)
    expect_softmax(learner, z, "the float32 logits", rtol=1e-5, atol=1e-7)


@checks.add("softmax_cost of the note's example: y = [0, 1, 0, 0], y_hat = [0.3, 0.2, 0.1, 0.4] "
            "gives J = -log 0.2")
def cost_note_example(learner):
    z = np.log([[0.3, 0.2, 0.1, 0.4]])
    expect_cost(learner, z, one_hot([1], 4), "the note's example", expected=-np.log(0.2))


@checks.add("softmax_cost on batches of shape (8, 3) and (5, 10): J, the mean of L")
def cost_batches(learner):
    for seed, (m, classes) in enumerate(((8, 3), (5, 10))):
        z, y = logits(m, classes, seed)
        expect_cost(learner, z, y, f"a {(m, classes)} batch")


@checks.add("softmax_cost of logits around 1000: finite (L = 2000 for a class 2000 below the best)")
def cost_large(learner):
    z, y = large_logits()
    expected = float(-np.mean(np.sum(y * log_softmax(z, axis=1), axis=1)))
    expect_cost(learner, z, y, "the large logits", expected=expected, large=True)


@checks.add("dJ/dz = (y_hat - y) / m: finite differences of softmax_cost on a (4, 3) batch")
def cost_gradient(learner):
    z, y = logits(4, 3, seed=9)
    numeric = reference.numerical_gradient(
        lambda v: float(as_array(learner.call("softmax_cost", v, y), "softmax_cost").sum()), z)
    _, expected = reference.softmax_cost_and_grad(z, y)
    variants = [(mistake, lambda s=scale: s * expected)
                for mistake, scale in ((COST_SUM, z.shape[0]), (COST_MEAN_CLASSES, 1 / z.shape[1]),
                                       (COST_SIGN, -1.0))]
    expect_close(numeric, expected, "dJ/dz by finite differences", variants, rtol=1e-5, atol=1e-7)


CHECKS = {"softmax_cost": checks}
