"""A schedule of alpha and beta, replayed with `train_on_schedule` and `tfweek3 train --schedule`:
segments carry the weights, the optimizer's moments and the data order across, exactly as one run;
bad files are one line naming the field."""

import json

import keras
import numpy as np
import pytest

from tfweek3.cli.main import main
from tfweek3.training.data import load_dataset
from tfweek3.training.loop import train
from tfweek3.training.network import build_network
from tfweek3.training.schedule import (
    Schedule,
    ScheduleError,
    Segment,
    load_schedule,
    train_on_schedule,
)

NETWORK = {"hidden_units": [16], "batch_norm": "manual", "optimizer": "adam", "batch_size": 64}


def schedule(*segments):
    """A schedule of (first, last, alpha, beta) segments on NETWORK."""
    return Schedule.from_dict({"network": NETWORK, "segments": [
        {"first_epoch": f, "last_epoch": la, "learning_rate": a, "beta": b}
        for f, la, a, b in segments]})


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", seed=0)


def fresh_model(data):
    keras.utils.set_random_seed(0)
    return build_network(data.input_dim, data.num_classes, (16,), "manual")


def test_segments_with_the_same_alpha_and_beta_are_one_uninterrupted_run(data, tmp_path):
    """Three segments of the same alpha and beta make the same weights as one call of train: the
    optimizer's moments and iteration count, the epoch count and the data order carry over."""
    one_call = fresh_model(data)
    whole = train(one_call, data, epochs=5, batch_size=64, optimizer="adam",
                  learning_rate=0.01, beta=0.8, seed=0, verbose=0)
    segmented = fresh_model(data)
    replay = train_on_schedule(segmented, data, schedule((1, 2, 0.01, 0.8), (3, 3, 0.01, 0.8),
                                                         (4, 5, 0.01, 0.8)),
                               checkpoint_dir=str(tmp_path), seed=0, verbose=0)
    np.testing.assert_allclose(replay.history["val_loss"], whole.history["val_loss"], rtol=1e-5)
    for a, b in zip(segmented.get_weights(), one_call.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(replay.optimizer.iterations) == int(whole.optimizer.iterations)


def test_each_epoch_trains_with_its_segments_alpha_and_beta(data, tmp_path):
    plan = schedule((1, 2, 0.01, 0.9), (3, 4, 0.002, 0.95))
    seen = []
    result = train_on_schedule(fresh_model(data), data, plan, checkpoint_dir=str(tmp_path),
                               seed=0, verbose=0, on_segment=seen.append)
    assert seen == list(plan.segments)
    assert result.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.002, 0.002])
    assert result.optimizer.beta_1 == 0.95


def test_a_schedule_cut_off_resumes_where_it_stopped(data, tmp_path):
    plan = schedule((1, 2, 0.01, 0.9), (3, 4, 0.002, 0.95))
    uninterrupted = fresh_model(data)
    train_on_schedule(uninterrupted, data, plan, checkpoint_dir=str(tmp_path / "a"), verbose=0)
    cut = train_on_schedule(fresh_model(data), data, plan, checkpoint_dir=str(tmp_path / "b"),
                            verbose=0, on_epoch_end=lambda epoch, logs: epoch == 3)
    assert cut.epochs_run == 3
    resumed_model = fresh_model(data)
    resumed = train_on_schedule(resumed_model, data, plan, checkpoint_dir=str(tmp_path / "b"),
                                resume=True, verbose=0)
    assert resumed.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.002, 0.002])
    for a, b in zip(resumed_model.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("change, says", [
    ({"network": None}, "network: missing"),
    ({"network": {**NETWORK, "hidden_units": [16, 0]}}, "network.hidden_units: expected a list"),
    ({"network": {**NETWORK, "optimizer": "adagrad"}}, "network.optimizer: expected one of"),
    ({"segments": []}, "segments: expected a non-empty list"),
    ({"segments": [{"first_epoch": 1, "last_epoch": 2, "learning_rate": 0.1, "beta": 0.9},
                   {"first_epoch": 4, "last_epoch": 5, "learning_rate": 0.1, "beta": 0.9}]},
     "segments[2]: epochs 4-5 do not follow on (the segment should start at epoch 3)"),
    ({"segments": [{"first_epoch": 1, "last_epoch": 2, "learning_rate": -1, "beta": 0.9}]},
     "segments[1]: learning_rate must be a positive number"),
    ({"segments": [{"first_epoch": 1, "last_epoch": 2, "learning_rate": 0.1}]},
     "segments[1]: expected first_epoch, last_epoch, learning_rate and beta"),
])
def test_a_bad_schedule_file_names_the_field(tmp_path, change, says):
    path = tmp_path / "best_schedule.json"
    path.write_text(json.dumps({**schedule((1, 2, 0.1, 0.9)).to_dict(), **change}))
    with pytest.raises(ScheduleError) as error:
        load_schedule(str(path))
    assert str(error.value).startswith(f"{path}: {says}")


def test_a_schedule_survives_its_file():
    plan = schedule((1, 3, 0.01, 0.9), (4, 4, 0.0125, 0.92))
    assert Schedule.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    assert plan.epochs == 4 and plan.at(4) == Segment(4, 4, 0.0125, 0.92)


@pytest.mark.parametrize("argv, says", [
    (["--learning-rate", "0.1"], "argument --learning-rate: not allowed with --schedule"),
    (["--epochs", "7"], "argument --epochs: not allowed with --schedule"),
])
def test_train_refuses_flags_the_schedule_sets(tmp_path, capsys, argv, says):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schedule((1, 2, 0.1, 0.9)).to_dict()))
    status = main(["train", "--schedule", str(path), "--out", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert status == 2 and err == f"tfweek3 train: error: {says}, which sets it\n"


def test_train_names_what_is_wrong_with_the_schedule_file(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text("{not json")
    status = main(["train", "--schedule", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"tfweek3 train: error: argument --schedule: {path}: "
                                          "not JSON (") and err.count("\n") == 1


@pytest.mark.slow  # the same stop as tfweek3 train's (test_stops.py); resuming: tested above
def test_a_replay_stopped_by_ctrl_c_continues_with_resume(tmp_path):
    from helpers_processes import messages, run, start, stop
    from helpers_search import wait_for

    plan = {"network": {**NETWORK, "batch_size": 8}, "segments": [
        {"first_epoch": 1, "last_epoch": 12, "learning_rate": 0.01, "beta": 0.9},
        {"first_epoch": 13, "last_epoch": 24, "learning_rate": 0.001, "beta": 0.95}]}
    path = tmp_path / "best_schedule.json"
    path.write_text(json.dumps(plan))
    out = tmp_path / "replay"
    args = ("train", "--schedule", str(path), "--out", str(out), "--quiet")
    process = start(*args)
    wait_for(lambda: (out / "checkpoints" / "ckpt-3.index").exists(), 120, "3 epochs", process)
    _, stderr, _ = stop(process)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    (line,) = messages(stderr)
    kept = int(line.split("checkpoint after epoch ")[1].split()[0])
    assert kept < 24 and line.endswith(f"To continue: tfweek3 {' '.join(args)} --resume")
    again = run(*args, "--resume")
    assert again.returncode == 0, again.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["learning_rate"] == pytest.approx([0.01] * 12 + [0.001] * 12)
