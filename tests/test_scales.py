"""hp_alpha and hp_beta: the course's two scales, declared inside any build(hp), against their
closed forms; and why KerasTuner's reverse_log is not the lecture's scale for beta."""

import math

import keras_tuner as kt
import numpy as np
import pytest

from tfweek3.tuning.scales import ScaleError, hp_alpha, hp_beta


def draws(declare, n=4000):
    """n values of what `declare(hp)` returns, as KerasTuner's random search draws them."""
    hp = kt.HyperParameters()
    declare(hp)
    (param,) = hp.space
    values = []
    for seed in range(n):
        trial = kt.HyperParameters()  # a trial's hp: declaring returns the value drawn for it
        trial.values[param.name] = param.random_sample(seed)
        values.append(declare(trial))
    return np.array(values), param


def test_alpha_is_log_uniform_a_quarter_of_the_draws_per_decade():
    alphas, param = draws(hp_alpha)
    assert (param.name, param.sampling, param.min_value, param.max_value) == (
        "learning_rate", "log", 1e-4, 1.0)
    for k in range(-4, 0):  # log10 alpha uniform on [-4, 0]: 25% in each decade
        share = np.mean((alphas >= 10.0 ** k) & (alphas < 10.0 ** (k + 1)))
        assert share == pytest.approx(0.25, abs=0.025)


def test_beta_is_one_minus_a_log_uniform_one_minus_beta():
    betas, param = draws(hp_beta)
    # KerasTuner searches 1 - beta on [0.001, 0.1], log scale; build(hp) gets beta.
    assert (param.name, param.sampling) == ("one_minus_beta", "log")
    assert (param.min_value, param.max_value) == pytest.approx((0.001, 0.1))
    assert np.all((betas >= 0.9) & (betas <= 0.999))
    logs = np.log10(1 - betas)  # uniform on [-3, -1]: mean -2, std 2 / sqrt(12)
    assert logs.mean() == pytest.approx(-2.0, abs=0.03)
    assert logs.std() == pytest.approx(2 / math.sqrt(12), rel=0.03)
    assert np.median(betas) == pytest.approx(0.99, abs=0.003)
    assert np.mean(betas < 0.99) == pytest.approx(0.5, abs=0.03)  # as many in [0.9, 0.99]


def test_reverse_log_is_not_the_lecture_scale():
    """KerasTuner's own sampling="reverse_log" on [0.9, 0.999] puts beta's median near 0.95:
    nearly linear over a range whose ends differ by 11%."""
    hp = kt.HyperParameters()
    hp.Float("beta", 0.9, 0.999, sampling="reverse_log")
    reverse = np.array([hp.space[0].random_sample(seed) for seed in range(4000)])
    closed_form = 0.999 + 0.9 - 0.9 * math.sqrt(0.999 / 0.9)  # median: u = 1/2
    assert np.median(reverse) == pytest.approx(closed_form, abs=0.003)
    assert closed_form == pytest.approx(0.951, abs=0.001)
    assert np.mean(reverse < 0.99) > 0.85  # the lecture's scale: half


def test_fixed_ranges_and_bad_ranges():
    hp = kt.HyperParameters()
    assert hp_alpha(hp, low=0.01, high=0.01) == 0.01
    assert hp_beta(hp, low=0.95, high=0.95) == pytest.approx(0.95)
    assert [type(p).__name__ for p in hp.space] == ["Fixed", "Fixed"]
    with pytest.raises(ScaleError, match="learning_rate: a log-scale range needs 0 < low"):
        hp_alpha(kt.HyperParameters(), low=0.0)
    with pytest.raises(ScaleError, match="one_minus_beta: beta's range needs"):
        hp_beta(kt.HyperParameters(), high=1.0)
