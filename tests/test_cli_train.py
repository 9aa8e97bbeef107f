"""`tfweek3 train`: its flags, its errors, and the files it writes, checked against the checkpoints."""

import json

import numpy as np
import pytest
import tensorflow as tf
from helpers_data import write_signs
from helpers_network import numpy_accuracy, numpy_cost, numpy_forward

from tfweek3.cli.main import main
from tfweek3.training.data import load_dataset
from tfweek3.training.network import build_network

FLAGS = ["--dataset", "--hidden", "--batch-norm", "--optimizer", "--learning-rate", "--beta",
         "--batch-size", "--epochs", "--patience", "--seed", "--validation-fraction", "--out",
         "--resume", "--jit-compile", "--quiet", "--schedule"]


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for flag in FLAGS:
        assert f"{flag} " in out
    for words in ("signs:FOLDER", "npz:FILE", "manual", "keras", "rmsprop", "default: 25,12"):
        assert words in out


@pytest.mark.parametrize("argv, flag", [
    (["--batch-norm", "batch"], "--batch-norm"),
    (["--hidden", "25,x"], "--hidden"),
    (["--learning-rate", "-1"], "--learning-rate"),
    (["--beta", "1"], "--beta"),
    (["--epochs", "0"], "--epochs"),
    (["--dataset", "mnist"], "--dataset"),
    (["--optimizer", "adagrad"], "--optimizer"),
    (["--no-such-flag"], "--no-such-flag"),
])
def test_bad_flags_are_argparse_errors(capsys, argv, flag):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and flag in err


def test_missing_data_file_is_one_line_and_status_2(capsys, tmp_path):
    status = main(["train", "--dataset", f"signs:{tmp_path}", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("tfweek3 train: error:") and str(tmp_path / "train_signs.h5") in err


def test_a_run_writes_its_files_and_resumes(capsys, tmp_path):
    write_signs(tmp_path, m_train=60, m_test=18)
    out = tmp_path / "out"
    argv = ["train", "--dataset", f"signs:{tmp_path}", "--hidden", "8", "--batch-norm", "keras",
            "--optimizer", "momentum", "--learning-rate", "0.01", "--batch-size", "16",
            "--seed", "3", "--out", str(out), "--quiet"]
    assert main([*argv, "--epochs", "2"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert all(len(values) == 2 for values in history.values())
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert tf.io.gfile.glob(str(out / "logs" / "train" / "events.out.tfevents.*"))
    assert tf.io.gfile.glob(str(out / "logs" / "validation" / "events.out.tfevents.*"))

    # metrics.json against the network restored from the last checkpoint, in NumPy.
    metrics = json.loads((out / "metrics.json").read_text())
    data = load_dataset(f"signs:{tmp_path}", seed=3)
    model = build_network(data.input_dim, 6, hidden_units=(8,), batch_norm="keras")
    latest = tf.train.latest_checkpoint(str(out / "checkpoints"))
    assert latest.endswith("ckpt-2")
    tf.train.Checkpoint(model=model).restore(latest).expect_partial()
    for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val),
                        ("test", data.x_test, data.y_test)):
        y_hat = numpy_forward(model, x, training=False)
        assert metrics[f"{split}_accuracy"] == pytest.approx(numpy_accuracy(y, y_hat))
        assert metrics[f"{split}_loss"] == pytest.approx(numpy_cost(y, y_hat), abs=1e-5)
    assert metrics["epochs_run"] == 2
    assert metrics["val_loss"] == pytest.approx(history["val_loss"][-1], abs=1e-6)

    assert main([*argv, "--epochs", "3", "--resume"]) == 0
    resumed = json.loads((out / "history.json").read_text())
    assert all(len(values) == 3 for values in resumed.values())
    assert {key: values[:2] for key, values in resumed.items()} == history
    assert tf.train.latest_checkpoint(str(out / "checkpoints")).endswith("ckpt-3")


def test_divergence_is_one_line_and_status_1(capsys, tmp_path):
    out = tmp_path / "out"
    status = main(["train", "--optimizer", "sgd", "--learning-rate", "1e30", "--epochs", "2",
                   "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1
    assert "training diverged" in err and "epoch 1, step" in err
    assert json.loads((out / "history.json").read_text())["loss"] == []
    assert tf.train.latest_checkpoint(str(out / "checkpoints")) is None


def test_defaults_on_digits_reach_95_percent_test_accuracy(tmp_path):
    assert main(["train", "--out", str(tmp_path), "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs_run"] == 50
    assert metrics["test_accuracy"] >= 0.95
    history = json.loads((tmp_path / "history.json").read_text())
    assert np.argmax(history["val_accuracy"]) + 1 == metrics["best_epoch"]  # epochs from 1


@pytest.mark.parametrize("command, flag", [("train", "--out"), ("babysit", "--dir")])
def test_an_output_folder_that_cannot_be_written_is_one_line_and_status_2(capsys, tmp_path,
                                                                           command, flag):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main([command, flag, str(blocker / "out")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"tfweek3 {command}: error: argument {flag}: cannot write in {blocker / 'out'} "
        f"(Not a directory)")
