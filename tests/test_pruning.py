"""Median-stopping pruning: the rule on scripted reports, the oracle's answers (no training), the
records and the summary line; then `tfweek3 tune --prune median` end to end, resumed, and with
--workers 2."""

import csv
import json
import statistics

import keras_tuner as kt
import numpy as np
import pytest
from helpers_processes import run, run_here

from tfweek3.search.config import SearchConfig
from tfweek3.search.present import best_text
from tfweek3.search.run import run_search
from tfweek3.search.space import SearchSpace
from tfweek3.tuning.importance import importance_phrase
from tfweek3.tuning.oracles import GridOracle, RandomOracle
from tfweek3.tuning.pruning import MedianRule, Pruned, epochs_saved, median_stop
from tfweek3.tuning.results import SearchResult, rank, record_from_state, summary_line

# Five finished trials' validation accuracy, epoch by epoch.
FINISHED = [
    {1: 0.30, 2: 0.60, 3: 0.70, 4: 0.80},
    {1: 0.50, 2: 0.55, 3: 0.65, 4: 0.70},
    {1: 0.20, 2: 0.40, 3: 0.35, 4: 0.50},   # best so far at epoch 3: 0.40
    {1: 0.70, 2: 0.72, 3: 0.74, 4: 0.76},
    {1: 0.10, 2: 0.20, 3: 0.30, 4: 0.40},
]
RULE = {"direction": "max", "epochs": 4, "min_trials": 5, "after": 2}


def test_a_trial_below_the_median_of_the_others_best_so_far_is_stopped():
    # Best so far at epoch 2: 0.60 0.55 0.40 0.72 0.20 -> median 0.55.
    verdict = median_stop({1: 0.3, 2: 0.5}, FINISHED, 2, **RULE)
    assert verdict == Pruned(epoch=2, best=0.5, median=0.55, trials=5)
    # At epoch 3 the third trial counts with its best so far (0.40), not its 0.35.
    assert statistics.median([0.70, 0.65, 0.40, 0.74, 0.30]) == 0.65
    assert median_stop({1: 0.3, 2: 0.5, 3: 0.6}, FINISHED, 3, **RULE).median == 0.65


def test_a_trial_at_or_above_the_median_goes_on_and_its_best_so_far_counts():
    assert median_stop({1: 0.3, 2: 0.55}, FINISHED, 2, **RULE) is None  # equal: not worse
    # A bad third epoch after a good second one: its best so far (0.7) beats the median 0.65.
    assert median_stop({1: 0.3, 2: 0.7, 3: 0.1}, FINISHED, 3, **RULE) is None


def test_a_tie_with_the_median_up_to_float32_rounding_goes_on():
    # 208/288, 209/288 and 210/288 as float32, the way a trial reports a validation accuracy.
    a, b, c = (float(np.float32(k / 288)) for k in (208, 209, 210))
    others = [{1: 0.1, 2: v} for v in (0.0, 0.0, a, c, 0.9, 0.9)]
    assert statistics.median([0.0, 0.0, a, c, 0.9, 0.9]) != b  # (a + c) / 2 misses b by ~1e-8
    assert median_stop({1: 0.1, 2: b}, others, 2, **RULE) is None
    assert median_stop({1: 0.1, 2: a}, others, 2, **RULE).median == pytest.approx(b)


def test_no_decision_before_prune_after_nor_at_the_last_epoch():
    hopeless = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
    assert median_stop(hopeless, FINISHED, 1, **RULE) is None       # epoch 1 < after = 2
    assert median_stop(hopeless, FINISHED, 4, **RULE) is None       # the last: nothing to save
    assert median_stop(hopeless, FINISHED, 3, **RULE).epoch == 3
    assert median_stop(hopeless, FINISHED, 3, **{**RULE, "after": 4}) is None


def test_no_decision_until_min_trials_others_reached_the_epoch():
    hopeless = {1: 0.0, 2: 0.0, 3: 0.0}
    # A sixth trial that stopped after epoch 2 counts at epoch 2, not at epoch 3.
    others = [*FINISHED[:4], {1: 0.9, 2: 0.9}]
    assert median_stop(hopeless, others, 2, **RULE).trials == 5
    assert median_stop(hopeless, others, 3, **RULE) is None        # only 4 reached epoch 3
    assert median_stop(hopeless, others, 3, **{**RULE, "min_trials": 4}).trials == 4


def test_for_a_loss_lower_is_better():
    losses = [{e: 1.0 - v for e, v in curve.items()} for curve in FINISHED]
    rule = {**RULE, "direction": "min"}
    verdict = median_stop({1: 0.9, 2: 0.6}, losses, 2, **rule)
    assert verdict.median == pytest.approx(0.45) and verdict.best == 0.6
    assert median_stop({1: 0.9, 2: 0.3}, losses, 2, **rule) is None


# --- the oracle, driven directly -------------------------------------------------------------

class ScriptedTuner(kt.Tuner):
    """A tuner that only gives an oracle its project folder; the tests drive the oracle."""

    def run_trial(self, trial, *args, **kwargs):
        raise NotImplementedError


def pruning_oracle(folder, oracle_class=RandomOracle, trials=10):
    hp = kt.HyperParameters()
    hp.Int("units", 1, 20)  # 20 points, for the grid too
    oracle = oracle_class(objective=kt.Objective("val_accuracy", "max"), max_trials=trials,
                          seed=1, hyperparameters=hp, pruning=MedianRule(**RULE))
    ScriptedTuner(oracle=oracle, directory=str(folder), project_name="project")
    if (folder / "project" / "oracle.json").exists():
        oracle.reload()
    return oracle


def run_scripted(oracle, curve, result=None):
    """Report `curve` epoch by epoch until the oracle says stop; end the trial as KerasTuner
    does with the result the worker returns (tuner.py). Returns the answers and the trial id."""
    trial = oracle.create_trial("tuner0")
    answers = []
    for epoch, value in curve.items():
        answers.append(oracle.update_trial(trial.trial_id, {"epoch/val_accuracy": value},
                                           step=epoch))
        if answers[-1].status == "STOPPED":
            break
    reported = {e: v for e, v in curve.items() if e <= len(answers)}
    outcome = {"val_accuracy": max(reported.values()), "epochs": float(len(answers))}
    last = answers[-1]
    if last.status == "STOPPED":
        outcome.update({"pruned": 1.0, **{name: last.metrics.get_last_value(name)
                                          for name in ("pruned_median", "pruned_trials")}})
    oracle.update_trial(trial.trial_id, result or outcome)
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    return answers, trial.trial_id


@pytest.mark.parametrize("oracle_class", [RandomOracle, GridOracle])
def test_the_oracle_answers_stopped_with_the_median_and_a_resumed_search_keeps_it(
        tmp_path, oracle_class):
    oracle = pruning_oracle(tmp_path, oracle_class)
    for curve in FINISHED:
        answers, _ = run_scripted(oracle, curve)
        assert [a.status for a in answers] == ["RUNNING"] * 4  # fewer than 5 others: no pruning
    answers, pruned_id = run_scripted(oracle, {1: 0.3, 2: 0.5, 3: 0.9, 4: 0.9})
    assert [a.status for a in answers] == ["RUNNING", "STOPPED"]
    assert answers[-1].metrics.get_last_value("pruned_median") == 0.55
    assert answers[-1].metrics.get_last_value("pruned_trials") == 5
    answers, _ = run_scripted(oracle, {1: 0.3, 2: 0.6, 3: 0.9, 4: 0.9})
    assert [a.status for a in answers] == ["RUNNING"] * 4

    state = json.loads((tmp_path / "project" / f"trial_{pruned_id}" / "trial.json").read_text())
    record = record_from_state(state, "max", objective="val_accuracy")
    assert (record["status"], record["epochs"], record["score"]) == ("pruned", 2, 0.5)
    assert record["pruned_median"] == 0.55 and record["curve"] == [0.3, 0.5]
    assert record["reason"] == ("stopped after epoch 2: its best so far, 0.5000, was below the "
                                "median 0.5500 of 5 trials")

    # Reloaded, as a resumed search does: the pruned trial stays ended and pruned; it counts
    # in the median of the epochs it reached (2 of them), and nothing runs again.
    again = pruning_oracle(tmp_path, oracle_class)
    assert again.trials[pruned_id].status == "COMPLETED"
    assert again.trials[pruned_id].metrics.get_last_value("pruned") == 1.0
    assert again.get_state()["retry_queue"] == []
    answers, _ = run_scripted(again, {1: 0.3, 2: 0.57, 3: 0.0, 4: 0.0})
    # Epoch 2, over the 7 others: 0.60 0.55 0.40 0.72 0.20 0.50 0.60 -> median 0.55: goes on.
    # Epoch 3, over the 6 that reached it: 0.70 0.65 0.40 0.74 0.30 0.90 -> median 0.675.
    assert [a.status for a in answers] == ["RUNNING", "RUNNING", "STOPPED"]
    assert answers[-1].metrics.get_last_value("pruned_median") == pytest.approx(0.675)


def test_without_pruning_the_oracle_never_stops_a_trial(tmp_path):
    hp = kt.HyperParameters()
    hp.Int("units", 1, 20)
    oracle = RandomOracle(objective=kt.Objective("val_accuracy", "max"), max_trials=10, seed=1,
                          hyperparameters=hp)
    ScriptedTuner(oracle=oracle, directory=str(tmp_path), project_name="project")
    for curve in [*FINISHED, {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}]:
        answers, _ = run_scripted(oracle, curve)
        assert [a.status for a in answers] == ["RUNNING"] * 4


# --- records and the summary line -------------------------------------------------------------

def record(trial, status, score, epochs):
    return {"round": None, "trial": trial, "status": status, "score": score, "epochs": epochs,
            "hyperparameters": {"learning_rate": 0.01, "beta": 0.9}}


def test_pruned_trials_rank_after_completed_ones_and_the_summary_counts_the_saved_epochs():
    records = [record(1, "completed", 0.90, 8), record(2, "pruned", 0.95, 2),
               record(3, "pruned", 0.50, 3), record(4, "diverged", 0.0, 4),
               record(5, "completed", 0.92, 8)]
    assert [r["trial"] for r in rank(records, "max")] == [5, 1, 2, 3, 4]
    assert epochs_saved(records, 8) == (8 - 2) + (8 - 3)
    importance = [{"label": "alpha", "share": 0.613, "top_share": 0.93, "resamples": 200,
                   "forest_r2": 0.5, "trials": 5}]
    result = SearchResult(records=records, best=rank(records, "max")[0], directory="somewhere",
                          epochs=8, importance=importance)
    assert summary_line(result, pruned=True, describe=best_text) == (
        "best: alpha=0.01 beta=0.9000 val_accuracy=0.9200 (5 trials: 2 completed, 2 pruned, "
        "1 diverged; results in somewhere); pruning saved 11 of 40 epochs (28%); "
        "alpha matters most (61% of the explained variance; on top in 93% of 200 resamples)")


# --- end to end -------------------------------------------------------------------------------

SMALL_TUNE = ("--units", "8", "--layers", "1", "--batch-sizes", "64", "--batch-norm", "off",
              "--no-tensorboard")


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def check_pruned_search(folder, stdout, trials=12, epochs=6):
    """What `--prune median` must leave; returns the records of trials.json."""
    rows = read_csv(folder / "trials.csv")
    assert len(rows) == trials
    pruned = [r for r in rows if r["status"] == "pruned"]
    assert pruned and len(pruned) < trials
    for r in pruned:
        assert 2 <= int(r["epochs"]) < epochs  # --prune-after 2; never at the last epoch
        assert float(r["pruned_median"]) > float(r["score"])
    assert {r["status"] for r in rows} <= {"completed", "pruned", "diverged"}
    trained = sum(int(r["epochs"]) for r in rows)
    assert trained < trials * epochs
    assert (f"pruning saved {trials * epochs - trained} of {trials * epochs} epochs"
            in stdout.splitlines()[-1])
    importance = [{**r, "share": float(r["share"]), "top_share": float(r["top_share"]),
                   "forest_r2": float(r["forest_r2"]), "trials": int(r["trials"]),
                   "resamples": int(r["resamples"])} for r in read_csv(folder / "importance.csv")]
    assert sum(r["share"] for r in importance) == pytest.approx(1.0)
    assert [int(r["rank"]) for r in importance] == list(range(1, len(importance) + 1))
    assert stdout.splitlines()[-1].endswith(importance_phrase(importance))
    for name in ("importance.png", "parallel.png", "curves.png", "scores.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads((folder / "trials.json").read_text())["trials"]


def assert_the_rule_was_applied(records, epochs, **rule):
    """One trial at a time: when trial k reported epoch e, trials 1..k-1 of its round had ended.
    Replaying their curves through the rule gives each trial's fate: stopped exactly where it
    was, or never."""
    rule = MedianRule(direction="max", epochs=epochs, **rule)
    for k, r in enumerate(records):
        earlier = [dict(enumerate(o["curve"], start=1)) for o in records[:k]
                   if o["round"] == r["round"]]
        curve = dict(enumerate(r["curve"], start=1))
        verdicts = [rule.decide(curve, earlier, e) for e in range(1, len(r["curve"]) + 1)]
        if r["status"] == "pruned":
            assert verdicts[:-1] == [None] * (len(verdicts) - 1)
            assert verdicts[-1].median == pytest.approx(r["pruned_median"])
        else:
            assert verdicts == [None] * len(verdicts)


def test_tune_prune_median_stops_losing_trials_by_the_rule_and_a_resume_keeps_them(tmp_path):
    args = ("--trials", "12", "--epochs", "6", "--prune", "median", "--dir", str(tmp_path),
            *SMALL_TUNE)
    done = run_here("tune", *args)
    assert done.returncode == 0, done.stderr
    records = check_pruned_search(tmp_path, done.stdout)

    assert_the_rule_was_applied(records, epochs=6)

    # The same command again: nothing trains, the pruned trials stay pruned.
    before = (tmp_path / "trials.csv").read_text()
    again = run_here("tune", *args)
    assert again.returncode == 0, again.stderr
    assert not [line for line in again.stdout.splitlines() if line.startswith("trial ")]
    assert (tmp_path / "trials.csv").read_text() == before


def test_tune_prune_median_with_two_workers(tmp_path):
    done = run("tune", "--trials", "12", "--epochs", "6", "--prune", "median", "--workers", "2",
               "--dir", str(tmp_path), *SMALL_TUNE, timeout=400)
    assert done.returncode == 0, done.stderr
    check_pruned_search(tmp_path, done.stdout)


def test_coarse_to_fine_prunes_each_round_against_its_own_trials(tmp_path):
    config = SearchConfig(strategy="coarse-to-fine", rounds=2, trials=10, epochs=3,
                          prune="median", prune_min_trials=2, directory=str(tmp_path),
                          tensorboard=False, space=SearchSpace(units=(8, 8), layers=(1, 1),
                                                               batch_size=(64,),
                                                               batch_norm=(False,)))
    result = run_search(config, log=lambda _line: None)
    assert [r["round"] for r in result.records] == [1] * 5 + [2] * 5
    assert any(r["status"] == "pruned" for r in result.records)
    assert_the_rule_was_applied(result.records, epochs=3, min_trials=2)
    assert result.best["status"] == "completed"  # the best trial is one that ran to the end
