"""KerasTuner search with the week's training loop: scoring, divergence, grid,
coarse to fine, resume after SIGKILL, results."""

import csv
import itertools
import json
import math
import os
import signal

import pytest
from helpers_processes import run_here, start
from helpers_search import hparams_written, observations, read_json, wait_for

from tfweek3.course.grid_vs_random import synthetic_score
from tfweek3.course.synthetic_search import random_vs_grid_win_rate, synthetic_search
from tfweek3.search import hypermodel
from tfweek3.search.config import SearchConfig
from tfweek3.search.run import run_search
from tfweek3.search.space import SearchSpace, space_of_box
from tfweek3.tuning.coarse_to_fine import narrow_box
from tfweek3.tuning.results import format_table, rank, record_from_state

# A small network, so that a trial takes about a second on digits.
SMALL = {"units": (8, 8), "layers": (1, 1), "batch_size": (64,), "batch_norm": (False,)}


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def quiet(_line: str) -> None:
    pass


def test_each_trial_trains_with_train_and_reports_every_epoch(tmp_path, monkeypatch):
    calls = []
    real_train = hypermodel.train

    def spy(model, data, **kwargs):
        calls.append({**kwargs, "learning_rate": float(model.optimizer.learning_rate),
                      "beta": float(getattr(model.optimizer, "momentum", None)
                                    or model.optimizer.beta_1),
                      "optimizer": type(model.optimizer).__name__})
        return real_train(model, data, **kwargs)

    monkeypatch.setattr(hypermodel, "train", spy)
    config = SearchConfig(trials=3, epochs=2, directory=str(tmp_path), seed=1,
                          space=SearchSpace(optimizer=("momentum",), **SMALL))
    lines = []
    result = run_search(config, log=lines.append)

    rows = read_csv(tmp_path / "trials.csv")
    assert len(calls) == 3 and len(rows) == 3
    for call, row in zip(calls, rows):
        # Each trial trains with its own alpha and beta = 1 - (1 - beta).
        assert call["learning_rate"] == pytest.approx(float(row["learning_rate"]))
        assert call["beta"] == pytest.approx(1 - float(row["one_minus_beta"]))
        assert call["beta"] == pytest.approx(float(row["beta"]))
        assert (call["epochs"], call["batch_size"], call["optimizer"]) == (2, 64, "SGD")
        # Validation accuracy reached the oracle after each epoch; the score is the best epoch.
        history = observations(tmp_path / "search" / f"trial_{row['trial_id']}" / "trial.json")
        assert [obs["step"] for obs in history] == [1, 2]  # epochs count from 1
        assert float(row["score"]) == pytest.approx(max(obs["value"][0] for obs in history))
        assert 0.0 < call["learning_rate"] < 1.0 and row["status"] == "completed"
        assert int(row["epochs"]) == 2

    # The best trial is the one with the highest score, in every output.
    best_row = max(rows, key=lambda row: float(row["score"]))
    best = json.loads((tmp_path / "best_hyperparameters.json").read_text())
    assert best["trial"] == int(best_row["trial"]) == result.best["trial"]
    assert [row["trial"] for row in rows] == ["1", "2", "3"]  # from 1, as the progress lines
    assert [row["trial_id"] for row in rows] == ["0", "1", "2"]  # KerasTuner's, the folders'
    assert [line.split()[1] for line in lines if line.startswith("trial ")] == ["1/3", "2/3", "3/3"]
    assert best["hyperparameters"]["learning_rate"] == pytest.approx(float(best_row["learning_rate"]))
    assert lines[-1].startswith(f"best: alpha={float(best_row['learning_rate']):.4g}")
    assert sum(line.startswith("trial ") for line in lines) == 3
    assert (tmp_path / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tensorboard_logs_hold_each_trials_hyperparameters(tmp_path):
    pytest.importorskip("tensorboard")

    config = SearchConfig(trials=2, epochs=1, directory=str(tmp_path),
                          space=SearchSpace(**SMALL))
    result = run_search(config, log=quiet)
    for record in result.records:
        log_dir = tmp_path / "tensorboard" / "search" / f"trial_{record['trial_id']}"
        hparams = hparams_written(log_dir)
        assert hparams["learning_rate"].number_value == pytest.approx(record["learning_rate"])
        assert hparams["optimizer"].string_value == record["optimizer"]
        # Beside it, the curves of the training loop, for the dashboard's metrics.
        assert list((log_dir / "validation").glob("events.out.tfevents.*"))


def test_objective_can_be_the_validation_loss(tmp_path):
    config = SearchConfig(trials=2, epochs=2, directory=str(tmp_path), objective="val_loss",
                          space=SearchSpace(**SMALL), tensorboard=False)
    result = run_search(config, log=quiet)
    for record in result.records:
        history = observations(tmp_path / "search" / f"trial_{record['trial_id']}" / "trial.json",
                               "val_loss")
        assert record["score"] == pytest.approx(min(obs["value"][0] for obs in history))
    assert result.best["score"] == min(record["score"] for record in result.records)


def test_diverged_trials_are_recorded_and_the_search_reaches_its_budget(tmp_path):
    # alpha = 1e20 with plain gradient descent: the loss is NaN within the first epoch.
    # Five divergences in a row: more than KerasTuner's default limit of 3 consecutive failures.
    config = SearchConfig(trials=5, epochs=2, directory=str(tmp_path), tensorboard=False,
                          space=SearchSpace(learning_rate=(1e20, 1e30), optimizer=("sgd",),
                                            **SMALL))
    lines = []
    result = run_search(config, log=lines.append)
    rows = read_csv(tmp_path / "trials.csv")
    assert len(rows) == 5
    for row in rows:
        assert row["status"] == "diverged"
        assert float(row["score"]) == 0.0  # the worst validation accuracy
        assert row["reason"].startswith("loss became NaN or inf in epoch 1, step ")
    assert result.best is None
    assert sum("diverged: loss became NaN" in line for line in lines) == 5


def test_grid_search_covers_the_stated_points_and_resumes(tmp_path):
    space = SearchSpace(optimizer=("adam",), **SMALL)
    config = SearchConfig(strategy="grid", grid_points=2, trials=2, epochs=1,
                          directory=str(tmp_path), space=space, tensorboard=False)
    run_search(config, log=quiet)
    assert len(read_csv(tmp_path / "trials.csv")) == 2
    # The same folder with a larger budget continues the grid where it stopped.
    config.trials = 4
    run_search(config, log=quiet)
    rows = read_csv(tmp_path / "trials.csv")
    tried = sorted((float(r["learning_rate"]), float(r["one_minus_beta"])) for r in rows)
    expected = sorted(itertools.product((1e-4, 1.0), (1e-3, 1e-1)))
    assert len(tried) == 4
    for (alpha, omb), (alpha_ref, omb_ref) in zip(tried, expected):
        assert alpha == pytest.approx(alpha_ref) and omb == pytest.approx(omb_ref)


def test_a_grid_search_killed_mid_trial_resumes_and_covers_each_point_once(tmp_path):
    args = ("--strategy", "grid", "--grid-points", "2", "--trials", "4", "--epochs", "3",
            "--dir", str(tmp_path), "--units", "8", "--layers", "1", "--batch-sizes", "64",
            "--batch-norm", "off", "--optimizers", "adam", "--no-tensorboard")
    paused = tmp_path / "paused"
    process = start("tune", *args, TFWEEK3_TEST_PAUSE=f"3:1:{paused}")
    wait_for(paused.exists, 180, "the third grid point to pause", process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    resumed = run_here("tune", *args)
    assert resumed.returncode == 0, resumed.stderr
    rows = read_csv(tmp_path / "trials.csv")
    assert [r["status"] for r in rows] == ["completed"] * 4
    tried = sorted((float(r["learning_rate"]), float(r["one_minus_beta"])) for r in rows)
    expected = sorted(itertools.product((1e-4, 1.0), (1e-3, 1e-1)))
    assert len(tried) == 4  # each point of the 2 x 2 grid once
    for point, point_ref in zip(tried, expected):
        assert point == pytest.approx(point_ref)


def test_a_search_folder_may_be_on_any_tensorflow_filesystem():
    """KerasTuner writes through tf.io.gfile, and so does tfweek3: "ram://" stands in for gs://."""
    import tensorflow as tf

    config = SearchConfig(trials=2, epochs=1, directory="ram://tune", tensorboard=False,
                          space=SearchSpace(**SMALL))
    result = run_search(config, log=quiet)
    assert len(result.records) == 2
    assert {"best_hyperparameters.json", "curves.png", "parallel.png", "scores.png", "search",
            "trials.csv", "trials.json"} <= set(tf.io.gfile.listdir("ram://tune"))
    table = tf.io.gfile.GFile("ram://tune/trials.csv").read().splitlines()
    assert table[0].startswith("round,trial,trial_id,status") and len(table) == 3
    # (Not resumed here: TensorFlow's ram:// does not truncate a file opened for writing, which
    # KerasTuner's own tuner0.json needs; gs:// and local folders replace a file written again.)


def test_coarse_to_fine_narrows_each_round_to_its_best_trials(tmp_path):
    space = SearchSpace(optimizer=("adam",), units=(8, 32), layers=(1, 1), batch_size=(64,),
                        batch_norm=(False,))
    config = SearchConfig(strategy="coarse-to-fine", trials=6, rounds=2, zoom_k=2, epochs=1,
                          directory=str(tmp_path), space=space, tensorboard=False)
    lines = []
    result = run_search(config, log=lines.append)
    rows = read_csv(tmp_path / "trials.csv")
    assert [row["round"] for row in rows] == ["1"] * 3 + ["2"] * 3

    round_1 = [r for r in result.records if r["round"] == 1]
    best_2 = sorted(round_1, key=lambda r: -r["score"])[:2]
    # The second round's box: the declared space narrowed around round 1's two best trials, on
    # each hyperparameter's own scale (tfweek3.tuning.coarse_to_fine), in the course's terms.
    state = json.loads((tmp_path / "search" / "oracle.json").read_text())
    declared = state["hyperparameters"]
    box = space_of_box(narrow_box(declared, declared, [r["hyperparameters"] for r in best_2],
                                  config.margin), space)
    assert result.boxes == [space, box]
    assert box.units != space.units and box.learning_rate != space.learning_rate
    for record in result.records:
        if record["round"] == 2:
            assert box.learning_rate[0] <= record["learning_rate"] <= box.learning_rate[1]
            assert box.one_minus_beta[0] <= record["one_minus_beta"] <= box.one_minus_beta[1]
            assert box.units[0] <= record["units"] <= box.units[1]
    assert sum(line.startswith("round 2/2 box: alpha [") for line in lines) == 1
    assert json.loads((tmp_path / "rounds.json").read_text())[1] == box.to_dict()


def test_a_search_killed_with_sigkill_resumes_without_rerunning_finished_trials(tmp_path):
    args = ("--trials", "3", "--epochs", "5", "--dir", str(tmp_path), "--units", "8",
            "--layers", "1", "--batch-sizes", "16", "--no-tensorboard", "--seed", "2")
    project = tmp_path / "search"
    paused = tmp_path / "paused"
    # The second trial stops after its third epoch and waits: it is killed there.
    process = start("tune", *args, TFWEEK3_TEST_PAUSE=f"2:3:{paused}")
    wait_for(paused.exists, 180, "the second trial to pause", process)
    first_trial = read_json(project / "trial_0" / "trial.json")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert first_trial["status"] == "COMPLETED"
    assert read_json(project / "trial_1" / "trial.json")["status"] == "RUNNING"

    resumed = run_here("tune", *args)
    assert resumed.returncode == 0, resumed.stderr
    progress = [line for line in resumed.stdout.splitlines() if line.startswith("trial ")]
    assert [line.split()[1] for line in progress] == ["2/3", "3/3"]  # trial 1 is not re-run

    rows = read_csv(tmp_path / "trials.csv")
    assert [row["trial"] for row in rows] == ["1", "2", "3"]
    assert all(row["status"] == "completed" for row in rows)
    # The finished trial is untouched; the cut-off one ran again from its first epoch.
    assert read_json(project / "trial_0" / "trial.json") == first_trial
    history = observations(project / "trial_1" / "trial.json")
    assert [obs["step"] for obs in history] == list(range(1, 6))
    assert all(len(obs["value"]) == 1 for obs in history)
    # (--overwrite starting afresh: test_stops.py, after an unreadable state file)


def test_records_of_diverged_failed_and_cut_off_trials():
    def state(status, metrics, message=None):
        return {"trial_id": "07", "status": status, "score": 0.5, "message": message,
                "hyperparameters": {"values": {"learning_rate": 0.1, "one_minus_beta": 0.05,
                                               "units": 8, "layers": 1, "batch_size": 32,
                                               "batch_norm": False, "optimizer": "adam"}},
                "metrics": {"metrics": {name: {"observations": [{"value": [v], "step": 0}]}
                                        for name, v in metrics.items()}}}

    diverged = record_from_state(state("COMPLETED", {"val_accuracy": 0.0, "diverged": 1.0,
                                                     "diverged_epoch": 3.0,
                                                     "diverged_step": -1.0}), "max")
    assert diverged["status"] == "diverged"
    assert diverged["reason"] == "loss became NaN or inf in epoch 3, validation"
    assert diverged["hyperparameters"]["beta"] == pytest.approx(0.95)
    failed = record_from_state(state("FAILED", {}, "Traceback...\nValueError: bad\n"), "max")
    assert (failed["status"], failed["reason"]) == ("failed", "ValueError: bad")
    running = record_from_state(state("RUNNING", {"epoch/val_accuracy": 0.4}), "max")
    assert running["status"] == "running" and running["epochs"] == 1

    assert (running["trial"], running["trial_id"]) == (8, "07")

    completed = dict(diverged, status="completed", score=0.9, trial=9)
    ranked = rank([failed, diverged, completed], "max")
    assert ranked[0]["status"] == "completed"
    table = format_table(ranked, "val_accuracy").splitlines()
    assert table[1].split()[:4] == ["1", "-", "9", "0.9000"]


def test_synthetic_objective_and_win_rate(tmp_path):
    assert synthetic_score(1e-2, 1e-8, best_alpha=1e-2, best_epsilon=1e-8) == 0.0
    # One decade off in alpha costs 1, one decade off in epsilon 0.01.
    assert synthetic_score(1e-1, 1e-8, 1e-2) == pytest.approx(-1.0)
    assert synthetic_score(1e-2, 1e-7, 1e-2) == pytest.approx(-0.01)

    # A 5 x 5 grid over alpha in [1e-4, 1] (one point per decade) and epsilon in
    # [1e-10, 1e-6]: its best is the grid point nearest the optimum, in closed form.
    best_alpha, best_epsilon = 10 ** -2.3, 10 ** -7.6
    grid = synthetic_search("grid", 25, 0, best_alpha, best_epsilon, str(tmp_path))
    assert grid == pytest.approx(-(0.3 ** 2 + 0.01 * 0.4 ** 2))
    # Random search returns the best of its 25 draws, each scored by the formula.
    rand = synthetic_search("random", 25, 0, best_alpha, best_epsilon, str(tmp_path))
    trials = [json.loads(path.read_text())
              for path in (tmp_path / "random_0").glob("trial_*/trial.json")]
    assert len(trials) == 25
    for trial in trials:
        values = trial["hyperparameters"]["values"]
        assert trial["score"] == pytest.approx(
            synthetic_score(values["alpha"], values["epsilon"], best_alpha, best_epsilon))
    assert rand == max(trial["score"] for trial in trials)

    shares = random_vs_grid_win_rate(seeds=4, budget=9, directory=str(tmp_path))
    assert shares["random_wins"] + shares["grid_wins"] + shares["ties"] == pytest.approx(1.0)
    assert math.isfinite(shares["random_mean_regret"]) and shares["grid_mean_regret"] > 0
