"""Caviar in one graph, in the search: trials trained together (--together K, tuning/groups.py)
are the trials trained one at a time, with the same files, pruning, failures and resume."""

from __future__ import annotations

import csv
import signal

import keras_tuner as kt
import numpy as np
import pytest
from helpers_processes import messages, run, run_here, start, stop
from helpers_search import wait_for

from tfweek3.search.config import SearchConfig
from tfweek3.search.run import run_search
from tfweek3.search.space import SearchSpace
from tfweek3.search.tuner import make_tuner
from tfweek3.training.data import load_dataset
from tfweek3.tuning import groups

# Small networks of every kind the default space draws (widths, depths, batch norm on and off,
# both optimizers, four mini-batch sizes), on digits.
SPACE = SearchSpace(units=(8, 24), layers=(1, 2))
VALIDATION = 288  # digits' validation examples: one more right answer is 1/288 of accuracy


def rows(directory) -> dict[str, dict]:
    with open(f"{directory}/trials.csv", newline="") as f:
        return {row["trial"]: row for row in csv.DictReader(f)}


def search(directory, together: int, **settings) -> dict[str, dict]:
    config = SearchConfig(directory=str(directory), seed=3, space=SPACE, tensorboard=False,
                          together=together, **{"trials": 8, "epochs": 3, **settings})
    run_search(config, log=lambda line: None)
    return rows(directory)


HP_COLUMNS = ("learning_rate", "one_minus_beta", "units", "layers", "batch_size", "batch_norm",
              "optimizer")


@pytest.mark.numerics
def test_a_pruned_search_together_is_the_search_one_at_a_time(tmp_path):
    """The same pruned search (10 trials, the median rule after epoch 1), alone and together:
    the same trials, scores, pruned trials, and a best model with its best epoch's weights."""
    settings = {"trials": 10, "epochs": 4, "prune": "median", "prune_after": 1,
                "prune_min_trials": 3}
    alone = search(tmp_path / "alone", 1, **settings)
    together = search(tmp_path / "together", 10, **settings)

    assert sorted(alone, key=int) == sorted(together, key=int) == [str(n) for n in range(1, 11)]
    for trial in alone:
        a, b = alone[trial], together[trial]
        assert [a[c] for c in HP_COLUMNS] == [b[c] for c in HP_COLUMNS]  # the oracle's own draws
        # float32 rounding apart (tests/test_stacked.py): at most two validation examples
        assert abs(float(a["score"]) - float(b["score"])) <= 2 / VALIDATION + 1e-7, trial
    scores = [float(r["score"]) for r in together.values()]
    assert max(scores) - min(scores) > 0.2  # the trials really differ

    # The median rule stops the same trials; a pruned member stopped updating there.
    pruned = {t for t, r in alone.items() if r["status"] == "pruned"}
    assert pruned, "the search should prune some trials"
    assert pruned == {t for t, r in together.items() if r["status"] == "pruned"}
    for trial in pruned:
        assert together[trial]["epochs"] == alone[trial]["epochs"]
        assert int(together[trial]["epochs"]) < 4

    # Each trial of the group is charged its share of the group's time, not the whole of it.
    seconds = [float(r["duration_seconds"]) for r in together.values()]
    assert all(s > 0 for s in seconds)
    assert max(seconds) - min(seconds) < 0.5 * min(seconds) + 0.05

    # get_best_models: the best member's network with its best epoch's weights.
    data = load_dataset("digits", seed=3, layout="flat")
    config = SearchConfig(directory=str(tmp_path / "together"), seed=3, space=SPACE,
                          tensorboard=False, together=10, **settings)
    tuner = make_tuner(config, data, "search", log=lambda line: None)
    best_trial = tuner.oracle.get_best_trials(1)[0]
    predicted = np.argmax(tuner.get_best_models(1)[0].predict(data.x_val, verbose=0), axis=1)
    accuracy = float(np.mean(predicted == np.argmax(data.y_val, axis=1)))
    assert accuracy == pytest.approx(best_trial.score, abs=0.5 / VALIDATION)
    assert max(scores) == pytest.approx(best_trial.score)


def test_grid_and_coarse_to_fine_train_their_groups_as_the_oracle_hands_them_out(tmp_path):
    grid = search(tmp_path / "grid", 4, strategy="grid", grid_points=2, trials=6, epochs=2)
    assert len(grid) == 6 and {r["status"] for r in grid.values()} == {"completed"}
    rounds = search(tmp_path / "c2f", 30, strategy="coarse-to-fine", trials=6, rounds=2,
                    epochs=2)
    # The second round's box comes from the first round's results: a group is one round.
    assert [r["round"] for r in sorted(rounds.values(), key=lambda r: int(r["trial"]))] == \
        ["1"] * 3 + ["2"] * 3


def test_a_diverging_member_is_recorded_and_the_others_complete(tmp_path):
    wild = SearchSpace(learning_rate=(1e-3, 1e20), units=(8, 8), layers=(1, 1),
                       optimizer=("sgd",), batch_norm=(False,))
    config = SearchConfig(directory=str(tmp_path), seed=0, space=wild, tensorboard=False,
                          trials=8, epochs=2, together=8)
    run_search(config, log=lambda line: None)
    found = rows(tmp_path).values()
    rates = {status: [float(r["learning_rate"]) for r in found if r["status"] == status]
             for status in ("diverged", "completed")}
    assert rates["diverged"] and rates["completed"], rates
    assert max(rates["completed"]) < min(rates["diverged"])  # the large alphas, and only they
    assert all(float(r["score"]) == 0.0 for r in found if r["status"] == "diverged")
    assert all(float(r["score"]) > 0.1 for r in found if r["status"] == "completed")


def test_trials_that_cannot_be_stacked_train_alone_in_the_same_search(tmp_path):
    mixed = SearchSpace(units=(8, 8), layers=(1, 1), optimizer=("rmsprop", "adam"))
    config = SearchConfig(directory=str(tmp_path), seed=0, space=mixed, tensorboard=False,
                          trials=6, epochs=2, together=6)
    data = load_dataset("digits", seed=0, layout="flat")
    tuner = make_tuner(config, data, "search", log=lambda line: None)
    hp = kt.HyperParameters()
    tuner.hypermodel.build(hp)
    hp.values["optimizer"] = "rmsprop"
    assert not tuner.hypermodel.trains_together(hp)
    hp.values["optimizer"] = "adam"
    assert tuner.hypermodel.trains_together(hp)
    run_search(config, log=lambda line: None)
    found = rows(tmp_path)
    assert {r["optimizer"] for r in found.values()} == {"rmsprop", "adam"}
    assert {r["status"] for r in found.values()} == {"completed"}


def test_members_ask_the_oracle_under_their_own_tuner_ids():
    assert [groups.member_id("tuner0", k) for k in range(3)] == ["tuner0.m0", "tuner0.m1",
                                                                "tuner0.m2"]


def test_together_with_a_model_of_your_own_is_a_bad_flag(tmp_path):
    done = run_here("tune", "--together", "4", "--dir", str(tmp_path), "--model", "x.py:build")
    assert done.returncode == 2
    (line,) = messages(done.stderr)
    assert "together" in line and "one at a time" in line, line


def test_a_stopped_group_is_trained_again_and_finished_groups_are_kept(tmp_path):
    args = ("tune", "--trials", "6", "--epochs", "60", "--together", "3", "--dir", str(tmp_path),
            "--units", "8:16", "--layers", "1", "--batch-sizes", "64", "--no-tensorboard")
    process = start(*args)
    wait_for(lambda: (tmp_path / "search" / "trial_3" / "trial.json").exists(), 180,
             "the second group", process)
    stdout, stderr, _ = stop(process, signal.SIGTERM)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    finished = [line.split()[1] for line in stdout.splitlines() if line.startswith("trial ")]
    assert finished == ["1/6", "2/6", "3/6"]  # the first group; the second was cut off
    (line,) = messages(stderr)
    assert line == (f"tfweek3 tune: stopped; 3 finished trials kept in {tmp_path}. "
                    f"To continue: tfweek3 {' '.join(args)}")
    again = run_here(*args)
    assert again.returncode == 0, again.stderr
    resumed = [line.split()[1] for line in again.stdout.splitlines() if line.startswith("trial ")]
    assert resumed == ["4/6", "5/6", "6/6"]
    # the group's lines come at its end: a line says when it starts
    starts = [line for line in again.stdout.splitlines() if line.startswith("training ")]
    assert starts == ["training 3 trials together as one stacked network, epochs 1 to 60"]
    assert [r["status"] for r in rows(tmp_path).values()] == ["completed"] * 6


def test_with_workers_each_process_trains_its_own_groups(tmp_path):
    done = run("tune", "--workers", "2", "--together", "3", "--trials", "6", "--epochs", "2",
               "--dir", str(tmp_path), "--units", "8:16", "--layers", "1", "--no-tensorboard")
    assert done.returncode == 0, done.stderr
    found = rows(tmp_path)
    assert sorted(found, key=int) == [str(n) for n in range(1, 7)]  # each trial once
    assert {r["status"] for r in found.values()} == {"completed"}
