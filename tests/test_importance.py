"""Hyperparameter importance on synthetic objectives, where we know what matters (and when
nothing does). The spaces are written as KerasTuner's HyperParameters.get_config()."""

import math

import numpy as np
import pytest

from tfweek3.tuning.dimensions import dimensions
from tfweek3.tuning.importance import (
    CLEAR_TOP,
    CSV_COLUMNS,
    MIN_R2,
    RESAMPLES,
    feature_column,
    hyperparameter_importance,
    importance_phrase,
)


def hp_float(name, low, high, sampling="linear", conditions=()):
    return {"class_name": "Float", "config": {
        "name": name, "min_value": low, "max_value": high, "step": None, "sampling": sampling,
        "conditions": list(conditions), "default": low}}


def hp_int(name, low, high):
    return {"class_name": "Int", "config": {
        "name": name, "min_value": low, "max_value": high, "step": 1, "sampling": "linear",
        "conditions": [], "default": low}}


def hp_choice(name, values):
    return {"class_name": "Choice", "config": {
        "name": name, "values": list(values), "ordered": False, "conditions": [],
        "default": values[0]}}


def hp_boolean(name):
    return {"class_name": "Boolean", "config": {"name": name, "conditions": [], "default": False}}


COURSE_SPACE = {"space": [
    hp_float("learning_rate", 1e-4, 1.0, "log"), hp_float("one_minus_beta", 1e-3, 1e-1, "log"),
    hp_int("units", 8, 64), hp_int("layers", 1, 3), hp_choice("batch_size", [16, 32, 64, 128]),
    hp_boolean("batch_norm"), hp_choice("optimizer", ["momentum", "adam"])]}
COURSE_DIMS = dimensions(COURSE_SPACE, {"learning_rate": "alpha", "units": "hidden units"})


def draw(dims, n, seed=0):
    """n trials' hyperparameters, each drawn on the scale the dimension is sampled on."""
    rng = np.random.default_rng(seed)
    trials = [{} for _ in range(n)]
    for dim in dims:
        for hps in trials:
            if dim.kind in ("Choice", "Boolean"):
                value = dim.values[int(rng.integers(len(dim.values)))]
            else:
                value = dim.from_scale(rng.uniform(*dim.on_scale([dim.low, dim.high])))
            hps[dim.name] = round(value) if dim.kind == "Int" else value
    return trials


def completed(hyperparameters, score):
    """A record as results.py makes them, with the keys importance reads."""
    return [{"status": "completed", "score": float(s), "hyperparameters": hps}
            for hps, s in zip(hyperparameters, score)]


def alpha_score(hps):
    """Best at alpha = 0.01; one decade off costs 0.25."""
    return 0.95 - 0.25 * (math.log10(hps["learning_rate"]) + 2) ** 2


def by_name(rows):
    return {r["hyperparameter"]: r for r in rows}


def test_when_only_alpha_matters_it_ranks_first_surely_and_the_phrase_names_it():
    rng = np.random.default_rng(1)
    hps = draw(COURSE_DIMS, 40)
    records = completed(hps, [alpha_score(h) + rng.normal(0, 0.01) for h in hps])
    rows = hyperparameter_importance(records, COURSE_DIMS)
    assert all(tuple(r) == CSV_COLUMNS for r in rows)
    assert [r["rank"] for r in rows] == list(range(1, 8))
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    top = rows[0]
    assert (top["hyperparameter"], top["label"], top["scale"]) == ("learning_rate", "alpha", "log10")
    assert top["share"] > 0.8 and top["top_share"] > 0.9 and top["forest_r2"] > 0.8
    assert top["trials"] == 40 and top["resamples"] == RESAMPLES
    assert sum(r["top_share"] for r in rows) == pytest.approx(1.0)
    assert importance_phrase(rows) == (
        f"alpha matters most ({top['share']:.0%} of the explained variance; "
        f"on top in {top['top_share']:.0%} of {RESAMPLES} resamples)")
    assert hyperparameter_importance(records, COURSE_DIMS) == rows          # seeded
    assert hyperparameter_importance(records, COURSE_DIMS, seed=1) != rows


def test_the_forest_is_scikit_learns_random_forest():
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(1)
    hps = draw(COURSE_DIMS, 40)
    scores = [alpha_score(h) + rng.normal(0, 0.05) for h in hps]
    rows = by_name(hyperparameter_importance(completed(hps, scores), COURSE_DIMS))
    x = np.column_stack([d.on_scale([h[d.name] for h in hps]) for d in COURSE_DIMS])
    forest = RandomForestRegressor(300, min_samples_leaf=2, oob_score=True, random_state=0)
    forest.fit(x, scores)
    for dim, share in zip(COURSE_DIMS, forest.feature_importances_):
        assert rows[dim.name]["share"] == pytest.approx(share, abs=0.04)
    assert rows["learning_rate"]["forest_r2"] == pytest.approx(forest.oob_score_, abs=0.05)


def test_a_second_weaker_effect_ranks_second_and_noise_last():
    rng = np.random.default_rng(2)
    hps = draw(COURSE_DIMS, 60, seed=3)
    records = completed(hps, [alpha_score(h) + 0.006 * (h["units"] - 36) + rng.normal(0, 0.005)
                              for h in hps])  # the hidden units: about a tenth of the variance
    rows = hyperparameter_importance(records, COURSE_DIMS)
    assert [r["hyperparameter"] for r in rows[:2]] == ["learning_rate", "units"]
    assert rows[1]["label"] == "hidden units" and rows[1]["share"] > 0.05
    assert all(r["share"] < 0.05 for r in rows[2:])
    assert rows[0]["top_share"] > 0.9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_pure_noise_the_phrase_names_no_winner_and_says_why(seed):
    rng = np.random.default_rng(100 + seed)
    records = completed(draw(COURSE_DIMS, 30, seed), rng.normal(0.8, 0.05, 30))
    rows = hyperparameter_importance(records, COURSE_DIMS, seed=seed)
    r2 = rows[0]["forest_r2"]
    assert len(rows) == 7 and r2 < MIN_R2
    phrase = importance_phrase(rows)
    assert phrase == ("importance: the forest explains too little of the score to rank the "
                      f"hyperparameters (out-of-bag R^2 {r2:.2f} over 30 trials)")
    assert "matters most" not in phrase and rows[0]["label"] not in phrase


def test_a_chance_pattern_in_noise_can_look_stable_the_r2_still_says_no():
    records = completed(draw(COURSE_DIMS, 30, 4), np.random.default_rng(4).normal(0.8, 0.05, 30))
    rows = hyperparameter_importance(records, COURSE_DIMS)
    assert rows[0]["hyperparameter"] == "one_minus_beta" and rows[0]["share"] > 0.5
    assert rows[0]["top_share"] > 0.8 and rows[0]["forest_r2"] < MIN_R2
    assert importance_phrase(rows).startswith("importance: the forest explains too little")


def test_two_equally_strong_effects_share_the_top():
    # Mirrored trials: for each (dropout, filters) also the trial with their ranks swapped,
    # the score a sum of the two effects; trees see only the order, so neither is stronger.
    space = dimensions({"space": [hp_float("dropout", 0.0, 0.5), hp_int("filters", 16, 128),
                                  hp_choice("activation", ["relu", "tanh"])]})
    rng = np.random.default_rng(5)
    u, v = rng.random(20), rng.random(20)
    hps, scores = [], []
    for a, b in [*zip(u, v), *zip(v, u)]:
        hps.append({"dropout": 0.5 * a, "filters": 16 + round(112 * b),
                    "activation": str(rng.choice(["relu", "tanh"]))})
        scores.append(a + b + rng.normal(0, 0.05))
    rows = hyperparameter_importance(completed(hps, scores), space)
    assert {r["hyperparameter"] for r in rows[:2]} == {"dropout", "filters"}
    assert rows[0]["forest_r2"] > MIN_R2
    first, second = rows[0]["top_share"], rows[1]["top_share"]
    assert 0.2 < first < 0.8 and 0.2 < second < 0.8 and first + second > 0.95
    assert abs(rows[0]["share"] - rows[1]["share"]) < 0.1


def test_the_phrase_in_its_three_forms():
    def row(label, share, top_share, r2=0.45):
        return {"label": label, "share": share, "top_share": top_share, "resamples": 200,
                "forest_r2": r2, "trials": 30}

    assert importance_phrase([]) is None
    assert importance_phrase([row("alpha", 0.35, 0.6, r2=-0.09), row("units", 0.2, 0.3)]) == (
        "importance: the forest explains too little of the score to rank the hyperparameters "
        "(out-of-bag R^2 -0.09 over 30 trials)")
    assert importance_phrase([row("alpha", 0.45, 0.4), row("units", 0.3, 0.1),
                              row("layers", 0.25, 0.45)]) == (
        "importance: layers leads, not clearly (on top in 45% of 200 resamples, alpha in 40%; "
        "out-of-bag R^2 0.45)")
    assert importance_phrase([row("alpha", 0.61, 0.93), row("units", 0.39, 0.07)]) == (
        "alpha matters most (61% of the explained variance; on top in 93% of 200 resamples)")
    assert importance_phrase([row("alpha", 0.61, CLEAR_TOP, r2=MIN_R2)]).startswith(
        "alpha matters most")


def test_which_trials_count():
    hps = draw(COURSE_DIMS, 14)
    records = completed(hps, [0.1 * math.log10(h["learning_rate"]) + 0.001 * i
                              for i, h in enumerate(hps)])
    records[0]["status"] = "pruned"                                    # counts, with its score
    records[1].update(status="diverged", score=math.inf)                # a loss's worst: left out
    records[2].update(status="diverged", score=0.0)                     # an accuracy's worst: counts
    records[3].update(status="failed", score=None)
    records[4].update(status="running", score=None)
    records[5].update(status="completed", score=math.nan)
    assert hyperparameter_importance(records, COURSE_DIMS)[0]["trials"] == 10
    assert len(hyperparameter_importance(records[:12], COURSE_DIMS)) == 7    # 8 scored
    assert hyperparameter_importance(records[:11], COURSE_DIMS) == []        # 7: too few
    assert hyperparameter_importance(records, COURSE_DIMS, min_trials=11) == []
    flat = [{**r, "score": 0.5} for r in records]
    assert hyperparameter_importance(flat, COURSE_DIMS) == []               # no variance


def test_a_hyperparameter_that_did_not_vary_or_was_never_set_has_no_row():
    dims = dimensions({"space": [*COURSE_SPACE["space"], hp_float("dropout", 0.0, 0.5)]})
    hps = draw(COURSE_DIMS, 20)  # no dropout in any trial
    for h in hps:
        h["batch_norm"] = True
    rows = hyperparameter_importance(completed(hps, [alpha_score(h) for h in hps]), dims)
    assert len(rows) == 6
    assert {"batch_norm", "dropout"}.isdisjoint(r["hyperparameter"] for r in rows)
    assert hyperparameter_importance(completed(hps, [alpha_score(h) for h in hps]), []) == []


def test_any_names_a_string_choice_and_no_labels():
    space = dimensions({"space": [hp_float("dropout", 0.0, 0.5), hp_int("filters", 16, 128),
                                  hp_choice("activation", ["relu", "tanh", "gelu"]),
                                  hp_choice("kernel", [3, 5, 7])]})
    rng = np.random.default_rng(7)
    hps = draw(space, 40, seed=7)
    bonus = {"relu": 0.0, "tanh": -0.3, "gelu": 0.2}
    rows = hyperparameter_importance(
        completed(hps, [0.7 + bonus[h["activation"]] + rng.normal(0, 0.02) for h in hps]), space)
    top = rows[0]
    assert (top["hyperparameter"], top["label"], top["scale"]) == ("activation", "activation",
                                                                    "category")
    assert top["share"] > 0.8 and top["top_share"] > 0.9 and top["forest_r2"] > 0.8
    assert by_name(rows)["kernel"]["scale"] == "linear"
    assert importance_phrase(rows).startswith("activation matters most (")


def test_an_inactive_conditional_hyperparameter_is_below_every_value_it_took():
    parent = {"class_name": "Parent", "config": {"name": "schedule", "values": ["exponential"]}}
    space = dimensions({"space": [hp_choice("schedule", ["constant", "exponential"]),
                                  hp_float("decay", 1e-4, 1e-1, "log", [parent]),
                                  hp_int("units", 8, 64)]})
    decay = space[1]
    assert list(feature_column(decay, [1e-3, None, 1e-1])) == pytest.approx([-3, -5, -1])
    assert list(feature_column(decay, [1e-2, None])) == pytest.approx([-2, -3])
    rng = np.random.default_rng(8)
    hps = draw(space, 40, seed=8)
    scores = []
    for i, h in enumerate(hps):
        if h["schedule"] == "constant":   # decay inactive: not in the values (KerasTuner's way),
            if i % 2:                     # or None
                del h["decay"]
            else:
                h["decay"] = None
            scores.append(0.6 + rng.normal(0, 0.01))
        else:                             # best decay 1e-2, worse by 0.2 a decade
            scores.append(0.9 - 0.2 * abs(math.log10(h["decay"]) + 2) + rng.normal(0, 0.01))
    rows = hyperparameter_importance(completed(hps, scores), space)
    assert rows[0]["trials"] == 40
    assert rows[0]["hyperparameter"] == "decay" and rows[0]["scale"] == "log10"
    assert rows[0]["forest_r2"] > 0.5 and by_name(rows)["units"]["share"] < 0.1


def test_each_hyperparameter_is_learned_on_the_scale_it_is_sampled_on():
    dims = {d.name: d for d in COURSE_DIMS}
    assert list(feature_column(dims["learning_rate"], [1e-4, 0.01, 1.0])) == pytest.approx([-4, -2, 0])
    assert list(feature_column(dims["batch_size"], [16, 128])) == [4, 7]
    assert list(feature_column(dims["optimizer"], ["adam", "momentum", "adam"])) == [1, 0, 1]
    assert list(feature_column(dims["batch_norm"], [True, False])) == [1, 0]
    assert list(feature_column(dims["units"], [8, 64])) == [8, 64]
    hps = draw(COURSE_DIMS, 30)
    rows = hyperparameter_importance(completed(hps, [alpha_score(h) for h in hps]), COURSE_DIMS)
    assert {r["hyperparameter"]: r["scale"] for r in rows} == {
        "learning_rate": "log10", "one_minus_beta": "log10", "units": "linear",
        "layers": "linear", "batch_size": "log2", "batch_norm": "0/1", "optimizer": "category"}


@pytest.mark.parametrize("name, effect", [
    ("weight_decay", lambda v: -abs(math.log10(v) + 4)),   # log-sampled: an effect per decade
    ("dropout", lambda v: -abs(v - 0.2)),                  # linear: best at 0.2
])
def test_a_log_sampled_effect_is_found_as_well_as_a_linear_one(name, effect):
    space = dimensions({"space": [hp_float("weight_decay", 1e-6, 1e-2, "log"),
                                  hp_float("dropout", 0.0, 0.5), hp_int("filters", 16, 128)]})
    rng = np.random.default_rng(9)
    hps = draw(space, 40, seed=9)
    raw = np.asarray([effect(h[name]) for h in hps])
    scores = raw / raw.std() + rng.normal(0, 0.1, 40)
    rows = hyperparameter_importance(completed(hps, scores), space)
    assert rows[0]["hyperparameter"] == name
    assert rows[0]["share"] > 0.8 and rows[0]["top_share"] > 0.9 and rows[0]["forest_r2"] > 0.6
    assert importance_phrase(rows).startswith(f"{name} matters most (")
