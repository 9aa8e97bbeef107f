"""Coarse to fine for any declared space: each hyperparameter's box narrowed on its own scale (log,
steps, choices, categories), the declared space untouched, rounds that wait for each other, and
pruning within a round. The oracle is driven directly, with no training."""

import math

import keras_tuner as kt
import pytest

from tfweek3.tuning.coarse_to_fine import CoarseToFineOracle, narrow_box, split_trials


def space():
    hp = kt.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1.0, sampling="log")
    hp.Float("dropout", 0.0, 0.5)
    hp.Int("filters", 8, 64, step=8)
    hp.Float("decay", 1e-6, 1e-2, step=10, sampling="log")
    hp.Choice("batch_size", [16, 32, 64, 128])
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Boolean("batch_norm")
    hp.Fixed("seed", 3)
    return hp


def configs(box):
    return {e["config"]["name"]: e["config"] for e in box["space"]}


def test_each_hyperparameter_narrows_on_its_own_scale():
    declared = space().get_config()
    best = [{"learning_rate": 1e-3, "dropout": 0.1, "filters": 24, "decay": 1e-4,
             "batch_size": 32, "activation": "tanh", "batch_norm": True},
            {"learning_rate": 1e-2, "dropout": 0.2, "filters": 40, "decay": 1e-3,
             "batch_size": 64, "activation": "relu", "batch_norm": False}]
    box = configs(narrow_box(declared, declared, best, margin=0.1))
    # log: [-3, -2] widened by 0.1 x 4 decades each side
    assert (box["learning_rate"]["min_value"], box["learning_rate"]["max_value"]) == \
        pytest.approx((10 ** -3.4, 10 ** -1.6))
    # linear: [0.1, 0.2] widened by 0.1 x 0.5
    assert (box["dropout"]["min_value"], box["dropout"]["max_value"]) == \
        pytest.approx((0.05, 0.25))
    # an Int with step 8: [24 - 5.6, 40 + 5.6] out to the declared grid 8, 16, ..., 64
    assert (box["filters"]["min_value"], box["filters"]["max_value"]) == (16, 48)
    # a log grid with step 10: [1e-4, 1e-3] widened by 0.4 decades, out to the decades
    assert (box["decay"]["min_value"], box["decay"]["max_value"]) == \
        pytest.approx((1e-5, 1e-2))
    assert box["batch_size"]["values"] == [32, 64]  # ordered choices between the best
    assert box["activation"]["values"] == ["relu", "tanh", "gelu"]  # categories stay
    assert box["seed"]["value"] == 3 and "batch_norm" in box


def test_the_box_never_leaves_the_previous_one():
    declared = space().get_config()
    best = [{"learning_rate": 1.0, "filters": 64, "dropout": 0.5}]
    box = configs(narrow_box(declared, declared, best, margin=0.5))
    assert box["learning_rate"]["max_value"] == 1.0 and box["learning_rate"]["min_value"] > 1e-4
    assert box["filters"]["max_value"] == 64 and box["dropout"]["max_value"] == 0.5


class ScriptedTuner(kt.Tuner):
    def run_trial(self, trial, *args, **kwargs):
        raise NotImplementedError


def oracle_in(folder, trials=9, rounds=3, **kwargs):
    oracle = CoarseToFineOracle(objective=kt.Objective("score", "max"), max_trials=trials,
                                rounds=rounds, zoom_k=2, seed=1, hyperparameters=space(),
                                **kwargs)
    ScriptedTuner(oracle=oracle, directory=str(folder), project_name="p")
    if (folder / "p" / "oracle.json").exists():
        oracle.reload()
    return oracle


def finish(oracle, trial, score):
    oracle.update_trial(trial.trial_id, {"score": score})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def test_rounds_draw_from_narrowing_boxes_and_the_declared_space_stays(tmp_path):
    oracle = oracle_in(tmp_path)
    declared = oracle.get_space().get_config()
    seen = []
    while (trial := oracle.create_trial("tuner0")).status == "RUNNING":
        values = trial.hyperparameters.values
        seen.append((oracle.round_of[trial.trial_id], values))
        # The best trials have the highest learning rate: the boxes climb towards 1.
        finish(oracle, trial, math.log10(values["learning_rate"]))
    assert [r for r, _ in seen] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert split_trials(10, 3) == [4, 3, 3]
    for number, box in enumerate(oracle.boxes, start=1):
        low = configs(box)["learning_rate"]["min_value"]
        assert all(values["learning_rate"] >= low for r, values in seen if r == number)
    lows = [configs(box)["learning_rate"]["min_value"] for box in oracle.boxes]
    assert lows[0] == 1e-4 and lows[0] < lows[1] < lows[2]
    # What the user declared is unchanged: for the trials, get_space and a reloaded search.
    assert oracle.get_space().get_config() == declared
    assert oracle_in(tmp_path).get_space().get_config() == declared
    assert oracle_in(tmp_path).boxes == oracle.boxes


def test_a_round_waits_for_the_previous_one_to_end(tmp_path):
    oracle = oracle_in(tmp_path, trials=4, rounds=2)
    first, second = oracle.create_trial("a"), oracle.create_trial("b")
    finish(oracle, first, 0.5)
    assert oracle.create_trial("a").status == "IDLE"  # round 1's second trial still runs
    finish(oracle, second, 0.6)
    assert oracle.create_trial("a").status == "RUNNING"
    assert len(oracle.boxes) == 2


def test_pruning_judges_a_trial_against_its_own_round(tmp_path):
    from tfweek3.tuning.pruning import MedianRule

    oracle = oracle_in(tmp_path, trials=6, rounds=2)
    oracle.pruning = MedianRule(direction="max", min_trials=2, after=1)
    for value in (0.9, 0.8, 0.85):  # round 1: good trials
        trial = oracle.create_trial("t")
        oracle.update_trial(trial.trial_id, {"epoch/score": value}, step=1)
        finish(oracle, trial, value)
    answers = []
    for value in (0.5, 0.4, 0.3):  # round 2, all below round 1's median, judged among themselves
        trial = oracle.create_trial("t")
        answers.append(oracle.update_trial(trial.trial_id, {"epoch/score": value}, step=1).status)
        finish(oracle, trial, value)
    assert answers == ["RUNNING", "RUNNING", "STOPPED"]  # 0.3 is below 0.5 and 0.4's median


def test_a_budget_smaller_than_the_rounds_is_refused():
    with pytest.raises(ValueError, match=r"max_trials \(2\) cannot fill 3 rounds"):
        CoarseToFineOracle(objective="val_loss", max_trials=2, rounds=3)
