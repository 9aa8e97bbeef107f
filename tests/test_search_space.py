"""The right scale for hyperparameters (course section 2) and the KerasTuner space."""

import math

import keras_tuner as kt
import numpy as np
import pytest

from tfweek3.search.space import (
    SearchSpace,
    SearchSpaceError,
    define_hyperparameters,
    grid_size,
    space_of_box,
)
from tfweek3.tuning.coarse_to_fine import narrow_box
from tfweek3.tuning.scales import (
    decade_fractions,
    sample_beta,
    sample_learning_rate,
    sample_log_uniform,
    sample_uniform,
)


def sampled(space: SearchSpace, n: int, name: str) -> np.ndarray:
    """n values of one hyperparameter as KerasTuner's random search draws them."""
    hp = kt.HyperParameters()
    define_hyperparameters(hp, space)
    (param,) = [p for p in hp.space if p.name == name]
    return np.array([param.random_sample(seed) for seed in range(n)])


def test_learning_rate_puts_a_quarter_of_the_draws_in_each_decade():
    alphas = sample_learning_rate(10_000, seed=0)
    assert alphas.min() >= 1e-4 and alphas.max() <= 1.0
    shares = decade_fractions(alphas)
    assert len(shares) == 4
    for share in shares.values():
        assert share == pytest.approx(0.25, abs=0.02)


def test_uniform_draw_puts_about_90_percent_in_the_top_decade():
    alphas = sample_uniform(1e-4, 1.0, 10_000, seed=0)
    top = np.mean(alphas >= 0.1)
    # Closed form: (1 - 0.1) / (1 - 0.0001) = 0.90009.
    assert top == pytest.approx(0.9 / 0.9999, abs=0.01)


def test_sample_beta_has_median_099_and_equal_mass_either_side():
    betas = sample_beta(10_000, seed=1)
    assert betas.min() >= 0.9 and betas.max() <= 0.999
    # 1 - beta is log-uniform on [1e-3, 1e-1]: its median is 10**-2.
    assert np.median(betas) == pytest.approx(0.99, abs=0.002)
    assert np.mean(betas < 0.99) == pytest.approx(0.5, abs=0.02)


def test_log_uniform_on_a_range_matches_its_cdf():
    values = sample_log_uniform(1e-3, 1e-1, 20_000, seed=2)
    # P(value < x) = (log10 x + 3) / 2
    for x in (2e-3, 1e-2, 5e-2):
        assert np.mean(values < x) == pytest.approx((math.log10(x) + 3) / 2, abs=0.015)


def test_keras_tuner_betas_follow_the_lecture_scale_not_reverse_log():
    ours = 1.0 - sampled(SearchSpace(), 1000, "one_minus_beta")
    assert np.median(ours) == pytest.approx(0.99, abs=0.004)

    hp = kt.HyperParameters()
    hp.Float("beta", 0.9, 0.999, sampling="reverse_log")
    reverse_log = np.array([hp.space[0].random_sample(seed) for seed in range(1000)])
    # reverse_log is nearly linear on [0.9, 0.999]: median 1.899 - 0.9 * sqrt(1.11) = 0.951.
    assert np.median(reverse_log) == pytest.approx(0.951, abs=0.01)


def test_keras_tuner_learning_rate_is_log_uniform():
    alphas = sampled(SearchSpace(), 4000, "learning_rate")
    for share in decade_fractions(alphas).values():
        assert share == pytest.approx(0.25, abs=0.03)


def test_trial_settings_derive_beta_and_the_layers():
    hp = kt.HyperParameters()
    space = SearchSpace(one_minus_beta=(0.05, 0.05), units=(30, 30), layers=(3, 3),
                        batch_size=(64,), batch_norm=(True,), optimizer=("rmsprop",))
    settings = define_hyperparameters(hp, space)
    assert settings.beta == pytest.approx(0.95)
    assert settings.hidden_units == (30, 30, 30)
    assert (settings.batch_size, settings.batch_norm, settings.optimizer) == (64, True, "rmsprop")


def test_grid_has_the_stated_points_per_dimension_on_the_log_scale():
    space = SearchSpace(units=(25, 25), layers=(2, 2), batch_size=(32,), batch_norm=(False,),
                        optimizer=("adam",))
    hp = kt.HyperParameters()
    define_hyperparameters(hp, space, grid_points=5)
    values = {p.name: list(p.values) for p in hp.space}
    np.testing.assert_allclose(values["learning_rate"], [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-9)
    np.testing.assert_allclose(values["one_minus_beta"],
                               10.0 ** np.linspace(-3, -1, 5), rtol=1e-9)
    assert hp.get("learning_rate") == 1e-4  # GridSearch starts at the default, the minimum
    assert grid_size(space, 5) == 25
    assert grid_size(SearchSpace(), 3) == 3 * 3 * 3 * 3 * 4 * 2 * 2


def test_bad_ranges_name_the_hyperparameter():
    with pytest.raises(SearchSpaceError, match="learning_rate: minimum"):
        SearchSpace(learning_rate=(0.1, 0.01)).validate()
    with pytest.raises(SearchSpaceError, match="one_minus_beta: a log-scale range"):
        SearchSpace(one_minus_beta=(0.0, 0.1)).validate()
    with pytest.raises(SearchSpaceError, match="batch_size"):
        SearchSpace(batch_size=(16, 48)).validate()
    with pytest.raises(SearchSpaceError, match="units"):
        SearchSpace(units=(10, 5)).validate()


def narrow_space(space: SearchSpace, best: list[dict], margin: float) -> SearchSpace:
    """The course space's next box, as a coarse-to-fine search narrows it (declared = box)."""
    hp = kt.HyperParameters()
    define_hyperparameters(hp, space)
    config = hp.get_config()
    return space_of_box(narrow_box(config, config, best, margin), space)


def test_narrowing_spans_the_best_trials_in_log_space_with_a_margin():
    space = SearchSpace()
    best = [
        {"learning_rate": 1e-3, "one_minus_beta": 0.01, "units": 20, "layers": 1, "batch_size": 32},
        {"learning_rate": 1e-2, "one_minus_beta": 0.02, "units": 40, "layers": 2, "batch_size": 64},
    ]
    box = narrow_space(space, best, margin=0.1)
    # alpha: log10 span [-3, -2], widened by 0.1 * 4 decades = 0.4 each side.
    assert box.learning_rate == pytest.approx((10 ** -3.4, 10 ** -1.6))
    # 1 - beta: [-2, log10 0.02] widened by 0.1 * 2 decades = 0.2.
    assert box.one_minus_beta == pytest.approx((10 ** -2.2, 10 ** (math.log10(0.02) + 0.2)))
    # units: [20, 40] widened by 0.1 * 56 = 5.6, rounded outwards.
    assert box.units == (14, 46)
    assert box.layers == (1, 3)  # [1 - 0.2, 2 + 0.2] -> floor 0 clipped to 1, ceil 2.2 = 3
    assert box.batch_size == (32, 64)
    assert box.optimizer == space.optimizer and box.batch_norm == space.batch_norm


def test_narrowing_never_leaves_the_old_box():
    space = SearchSpace(learning_rate=(1e-3, 1e-2))
    best = [{"learning_rate": 1e-2, "one_minus_beta": 0.1, "units": 64, "layers": 3,
             "batch_size": 128}]
    box = narrow_space(space, best, margin=0.5)
    assert box.learning_rate[1] == 1e-2 and box.learning_rate[0] > 1e-3
    assert box.one_minus_beta[1] == 0.1 and box.units[1] == 64 and box.layers == (2, 3)
    assert box.batch_size == (128,)
