"""`tfweek3 tune --model FILE.py:NAME`: a learner's own model through every strategy, with pruning
and with --workers 2, resumed after SIGKILL; and every bad input as one line with the right exit
status, against real processes (a resume and most bad input in this process, through the same
main())."""

import csv
import json
import os
import signal
import textwrap

import pytest
from helpers_processes import messages, run, run_here, start
from helpers_search import read_json, wait_for

from tfweek3.search.config import SearchConfig
from tfweek3.search.run import run_search

CONVNET = '''
import keras
import tfweek3


def build_model(hp):
    alpha = tfweek3.hp_alpha(hp, low=1e-3, high=0.3)
    beta = tfweek3.hp_beta(hp)
    inputs = keras.Input((8, 8, 1))   # digits reach the model as 8x8x1 images
    x = keras.layers.Conv2D(hp.Choice("filters", [4, 8]), 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(alpha, momentum=beta),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''


def model_file(folder, text=CONVNET, name="mine.py"):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def one_line(done, status):
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = messages(done.stderr)
    return line


@pytest.mark.parametrize("strategy, extra", [
    ("grid", {"trials": 4}),
    ("coarse-to-fine", {"trials": 6, "rounds": 2, "prune": "median", "prune_min_trials": 2,
                        "prune_after": 1}),
])
def test_a_users_model_through_a_strategy_in_process(tmp_path, strategy, extra):
    config = SearchConfig(strategy=strategy, epochs=3, directory=str(tmp_path / "run"),
                          tensorboard=False, model=model_file(tmp_path), **extra)
    lines = []
    result = run_search(config, log=lines.append)
    rows = read_csv(tmp_path / "run" / "trials.csv")
    assert len(rows) == extra["trials"]
    assert {"learning_rate", "beta", "one_minus_beta", "filters"} <= set(rows[0])
    assert all(r["status"] in ("completed", "pruned") for r in rows)
    assert result.best["score"] == max(float(r["score"]) for r in rows
                                       if r["status"] == "completed")
    assert lines[-1].startswith("best: learning_rate=")
    if strategy == "coarse-to-fine":
        assert [r["round"] for r in rows] == ["1"] * 3 + ["2"] * 3
        boxes = json.loads((tmp_path / "run" / "rounds.json").read_text())
        assert len(boxes) == 2 and boxes[0]["space"] != boxes[1]["space"]


def test_pbt_on_a_users_model_perturbs_its_learning_rate_and_momentum(tmp_path):
    done = run_here("tune", "--model", model_file(tmp_path), "--strategy", "pbt", "--population",
                    "3", "--epochs", "4", "--ready-epochs", "2", "--dir", str(tmp_path / "run"),
                    "--no-tensorboard")
    assert done.returncode == 0, done.stderr
    rows = read_csv(tmp_path / "run" / "trials.csv")
    assert [r["generation"] for r in rows] == ["1"] * 3 + ["2"] * 3
    state = read_json(tmp_path / "run" / "pbt" / "oracle.json")
    assert state["perturb"] == ["learning_rate", "one_minus_beta"]  # found, not named
    copied = [r for r in rows if r["parent"] and rows[int(r["parent"]) - 1]["member"] != r["member"]]
    assert copied  # the worst member of 3 copies the best
    for r in copied:
        parent = rows[int(r["parent"]) - 1]
        assert r["filters"] == parent["filters"]  # the architecture is copied, never perturbed
    assert (tmp_path / "run" / "schedules.png").exists()
    assert not (tmp_path / "run" / "best_schedule.json").exists()  # the course network's only


def test_random_search_with_pruning_and_two_workers_resumes_after_a_worker_is_killed(tmp_path):
    args = ("tune", "--model", model_file(tmp_path), "--trials", "8", "--epochs", "4",
            "--prune", "median", "--prune-min-trials", "3", "--workers", "2",
            "--dir", str(tmp_path / "run"), "--no-tensorboard", "--seed", "4")
    paused = tmp_path / "paused"
    process = start(*args, TFWEEK3_TEST_PAUSE=f"2:2:{paused}", TFWEEK3_TEST_PAUSE_TUNER="tuner1")
    wait_for(paused.exists, 240, "tuner1 to pause in its second trial", process)
    os.kill(int(paused.read_text()), signal.SIGKILL)
    out, err = process.communicate(timeout=400)
    assert process.returncode == 0, err
    assert "worker tuner1 died" in out
    rows = read_csv(tmp_path / "run" / "trials.csv")
    assert sorted(int(r["trial"]) for r in rows) == list(range(1, 9))  # each once
    assert {r["status"] for r in rows} <= {"completed", "pruned"}
    assert "pruning saved" in out.splitlines()[-1]


def test_a_killed_search_of_a_users_model_resumes_without_rerunning_finished_trials(tmp_path):
    args = ("tune", "--model", model_file(tmp_path), "--trials", "3", "--epochs", "4",
            "--dir", str(tmp_path / "run"), "--no-tensorboard")
    paused = tmp_path / "paused"
    process = start(*args, TFWEEK3_TEST_PAUSE=f"2:2:{paused}")
    wait_for(paused.exists, 240, "the second trial to pause", process)
    first = read_json(tmp_path / "run" / "search" / "trial_0" / "trial.json")
    process.kill()
    process.wait()
    done = run_here(*args)
    assert done.returncode == 0, done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines()
            if line.startswith("trial ")] == ["2/3", "3/3"]
    assert read_json(tmp_path / "run" / "search" / "trial_0" / "trial.json") == first
    assert [r["status"] for r in read_csv(tmp_path / "run" / "trials.csv")] == ["completed"] * 3


# --- bad input: one line each, the right exit status ---------------------------------------------

def test_a_model_file_that_is_missing_or_does_not_import_or_lacks_the_function(tmp_path):
    base = ("tune", "--dir", str(tmp_path / "run"), "--trials", "2", "--epochs", "1")
    missing = tmp_path / "none.py"
    assert one_line(run(*base, "--model", f"{missing}:build"), 2) == (
        f"tfweek3 tune: error: argument --model: {missing}: no such file")
    # The other cases in this process: the same main(), without a TensorFlow start-up each.
    broken = model_file(tmp_path, "import keras\n\ndef build_model(hp)\n    return 1\n", "bad.py")
    assert one_line(run_here(*base, "--model", broken), 2) == (
        f"tfweek3 tune: error: argument --model: {broken} does not import: "
        "SyntaxError: expected ':' (line 3)")
    raising = model_file(tmp_path, "import keras\nimport no_such_module\n", "raising.py")
    assert one_line(run_here(*base, "--model", raising), 2) == (
        f"tfweek3 tune: error: argument --model: {raising} does not import: "
        "ModuleNotFoundError: No module named 'no_such_module' (line 2)")
    good = model_file(tmp_path)
    assert one_line(run_here(*base, "--model", f"{good}:build"), 2) == (
        f"tfweek3 tune: error: argument --model: {good} has no function or HyperModel named "
        "'build' (it defines build_model)")
    assert one_line(run_here(*base, "--model", good, "--units", "8:16"), 2) == (
        "tfweek3 tune: error: argument --units: sets the course network's search space; with "
        "--model the space is the one your build(hp) declares")
    assert not (tmp_path / "run" / "trials.csv").exists()


def test_a_model_that_does_not_report_the_objective_names_what_it_reports(tmp_path):
    done = run_here("tune", "--model", model_file(tmp_path), "--objective", "val_auc",
                    "--dir", str(tmp_path / "run"), "--trials", "2", "--epochs", "1",
                    "--no-tensorboard")
    assert one_line(done, 2) == (
        "tfweek3 tune: error: argument --objective: the model reports accuracy, loss, "
        "val_accuracy, val_loss after an epoch, not the objective 'val_auc': compile it with "
        "that metric, or choose the objective among those")
    # Nothing lost: the trial it stopped at is on disk, to run again once this is fixed.
    state = read_json(tmp_path / "run" / "search" / "trial_0" / "trial.json")
    assert state["status"] == "RUNNING"


def test_a_hypermodel_that_raises_fails_its_trials_and_three_in_a_row_end_the_search(tmp_path):
    # It builds at its defaults (alpha = 1e-3: KerasTuner builds once to learn the space) and
    # raises for every alpha a trial draws.
    picky = model_file(tmp_path, CONVNET.replace(
        "    inputs = keras.Input((8, 8, 1))",
        "    if alpha > 1e-3:\n        raise ValueError(f'no model for alpha={alpha:.3g}')\n"
        "    inputs = keras.Input((8, 8, 1))"), "picky.py")
    done = run("tune", "--model", picky, "--dir", str(tmp_path / "run"), "--trials", "5",
               "--epochs", "1", "--no-tensorboard")
    line = one_line(done, 1)
    assert line.startswith("tfweek3 tune: error: the search stopped: 3 trials failed in a row; "
                           "the first, trial 1: ValueError: no model for alpha=")
    rows = read_csv(tmp_path / "run" / "trials.csv")
    assert [r["status"] for r in rows] == ["failed"] * 3
    assert all(r["reason"].startswith("ValueError: no model for alpha=") for r in rows)
    lines = [line for line in done.stdout.splitlines() if line.startswith("trial ")]
    assert [line.split(" -> ")[1].split(":")[0] for line in lines] == ["failed"] * 3
    assert (tmp_path / "run" / "search" / "trial_0" / "error.txt").exists()

    # One that raises even at its defaults cannot declare its space: bad input.
    never = model_file(tmp_path, CONVNET.replace(
        "    inputs = keras.Input((8, 8, 1))",
        "    raise ValueError('not today')\n    inputs = keras.Input((8, 8, 1))"), "never.py")
    done = run_here("tune", "--model", never, "--dir", str(tmp_path / "never"), "--trials", "2",
                    "--epochs", "1", "--no-tensorboard")
    assert one_line(done, 2) == (
        f"tfweek3 tune: error: argument --model: {never} raised when KerasTuner built it to "
        "learn its hyperparameters: ValueError: not today (line 9)")
