"""Hyperparameter importance on synthetic objectives, where we know what matters."""

import math

import numpy as np
import pytest

from tfweek3.tuning.importance import (
    HP_LABELS,
    hyperparameter_importance,
    importance_phrase,
    on_scale,
)


def random_trials(n, seed=0):
    """n records with every hyperparameter drawn over the course's default space."""
    rng = np.random.default_rng(seed)
    return [{"status": "completed",
             "learning_rate": 10 ** rng.uniform(-4, 0), "one_minus_beta": 10 ** rng.uniform(-3, -1),
             "units": int(rng.integers(8, 65)), "layers": int(rng.integers(1, 4)),
             "batch_size": int(rng.choice([16, 32, 64, 128])),
             "batch_norm": bool(rng.integers(2)), "optimizer": str(rng.choice(["momentum", "adam"]))}
            for _ in range(n)]


def test_when_only_alpha_matters_alpha_gets_nearly_all_the_explained_variance():
    rng = np.random.default_rng(1)
    records = random_trials(40)
    for r in records:  # best at alpha = 0.01, one decade off costs 0.25; a little noise
        r["score"] = 0.95 - 0.25 * (math.log10(r["learning_rate"]) + 2) ** 2 + rng.normal(0, 0.01)
    rows = hyperparameter_importance(records)
    assert [r["rank"] for r in rows] == list(range(1, 8))
    assert {r["hyperparameter"] for r in rows} == set(HP_LABELS)
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert rows[0]["hyperparameter"] == "learning_rate" and rows[0]["share"] > 0.8
    assert rows[0]["forest_r2"] > 0.8 and rows[0]["trials"] == 40
    assert importance_phrase(rows).startswith("alpha matters most (")


def test_a_second_weaker_effect_ranks_second_and_noise_last():
    rng = np.random.default_rng(2)
    records = random_trials(60, seed=3)
    for r in records:  # alpha strongly, the hidden units weakly (about a tenth of the variance)
        r["score"] = (0.95 - 0.25 * (math.log10(r["learning_rate"]) + 2) ** 2
                      + 0.006 * (r["units"] - 36) + rng.normal(0, 0.005))
    rows = hyperparameter_importance(records)
    assert [r["hyperparameter"] for r in rows[:2]] == ["learning_rate", "units"]
    assert all(r["share"] < 0.05 for r in rows[2:])


def test_which_trials_count():
    records = random_trials(12)
    for i, r in enumerate(records):
        r["score"] = 0.1 * math.log10(r["learning_rate"]) + 0.001 * i
    records[0]["status"] = "pruned"                                    # counts, with its score
    records[1].update(status="diverged", score=math.inf)                # a loss's worst: left out
    records[2].update(status="failed", score=None)
    records[3].update(status="running", score=None)
    assert hyperparameter_importance(records)[0]["trials"] == 9
    assert hyperparameter_importance(records[:10]) == []               # 7 scored: too few
    assert hyperparameter_importance([{**r, "score": 0.5} for r in records]) == []  # no variance


def test_a_hyperparameter_that_did_not_vary_has_no_row():
    records = random_trials(20)
    for r in records:
        r["batch_norm"] = True
        r["score"] = math.log10(r["learning_rate"])
    assert "batch_norm" not in {r["hyperparameter"] for r in hyperparameter_importance(records)}


def test_each_hyperparameter_is_seen_on_the_scale_it_is_searched_on():
    assert list(on_scale("learning_rate", [1e-4, 0.01, 1.0])) == pytest.approx([-4, -2, 0])
    assert list(on_scale("one_minus_beta", [0.001, 0.1])) == pytest.approx([-3, -1])
    assert list(on_scale("batch_size", [16, 128])) == [4, 7]
    assert list(on_scale("optimizer", ["momentum", "adam", "momentum"])) == [1, 0, 1]
    assert list(on_scale("batch_norm", [True, False])) == [1, 0]
    assert list(on_scale("units", [8, 64])) == [8, 64]
