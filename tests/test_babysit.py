"""Pandas: one model babysat epoch by epoch through its control file."""

import csv

import pytest
from helpers_processes import run_here

from tfweek3.search.babysit import BabysitConfig, babysit, parse_control

SMALL = {"hidden_units": (16,), "batch_norm": None, "learning_rate": 0.01, "beta": 0.9}


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_the_control_file_sets_alpha_and_momentum_rolls_back_and_stops(tmp_path):
    # What a person would write into the control file, before the n-th epoch.
    script = {2: "learning_rate 0.05\n", 4: "momentum 0.5   # calmer\nrollback 2\n", 5: "stop\n"}
    calls, before_rollback = [], {}

    def write_control(epoch):
        calls.append(epoch)
        if len(calls) == 4:
            before_rollback["history"] = read_csv(tmp_path / "history.csv")
        if len(calls) in script:
            (tmp_path / "control.txt").write_text(script[len(calls)])

    lines = []
    result = babysit(BabysitConfig(directory=str(tmp_path), epochs=6, **SMALL),
                     before_epoch=write_control, log=lines.append)

    # Epochs 1, 2, 3 ran; before epoch 4 the run went back to epoch 2, reran epoch 3, stopped.
    assert calls == [1, 2, 3, 4, 4]
    assert result.stopped
    actions = [(r["epoch"], r["action"], r["value"], r["previous"])
               for r in read_csv(tmp_path / "actions.csv")]
    assert actions == [("2", "learning_rate", "0.05", "0.01"), ("4", "beta", "0.5", "0.9"),
                       ("4", "rollback", "2.0", "3"), ("4", "stop", "", "")]
    history = result.history
    assert history["learning_rate"] == pytest.approx([0.01, 0.05, 0.05])
    # The first two epochs are those of the checkpoint, exactly; epoch 3 was trained again.
    old = before_rollback["history"]
    assert [float(row["val_loss"]) for row in old[:2]] == history["val_loss"][:2]
    assert float(old[2]["val_loss"]) != history["val_loss"][2]
    assert result.train_result.optimizer.momentum == 0.5
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("*.index")) == [
        "ckpt-1.index", "ckpt-2.index", "ckpt-3.index"]
    assert not (tmp_path / "control.txt").exists()
    assert (tmp_path / "control.txt.applied").read_text() == "stop\n"
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "epoch 4: rolled back to the checkpoint of epoch 2" in lines

    # Running again continues from epoch 3 with the learning rate and momentum last set.
    again = babysit(BabysitConfig(directory=str(tmp_path), epochs=4, **SMALL), log=lines.append)
    assert again.history["val_loss"][:3] == history["val_loss"]
    assert again.history["learning_rate"] == pytest.approx([0.01, 0.05, 0.05, 0.05])
    assert again.train_result.optimizer.momentum == 0.5
    assert len(read_csv(tmp_path / "history.csv")) == 4


def test_control_lines_are_parsed_and_bad_ones_reported():
    actions, problems = parse_control("lr 0.1\nalpha 3e-4\nbeta 0.99\n\nrollback 0\nfly 2\nstop\n")
    assert [(a.name, a.value) for a in actions] == [
        ("learning_rate", 0.1), ("learning_rate", 3e-4), ("beta", 0.99), ("stop", None)]
    assert len(problems) == 2
    assert problems[0].startswith("control.txt line 5 ignored: 'rollback 0'")
    assert problems[1].startswith("control.txt line 6 ignored: 'fly 2'")


def test_babysit_command_reads_the_control_file(tmp_path):
    (tmp_path / "control.txt").write_text("learning_rate 0.02\n")
    done = run_here("babysit", "--dir", str(tmp_path), "--epochs", "2", "--hidden-units", "8",
                    "--batch-norm", "none")
    assert done.returncode == 0, done.stderr
    assert "epoch 1: learning_rate 0.01 -> 0.02" in done.stdout
    history = read_csv(tmp_path / "history.csv")
    assert [float(row["learning_rate"]) for row in history] == pytest.approx([0.02, 0.02])


@pytest.mark.parametrize("flags, named", [
    (["--beta", "1.5"], "--beta"),
    (["--learning-rate", "0"], "--learning-rate"),
    (["--hidden-units", "25,x"], "--hidden-units"),
    (["--dataset", "npz:/no/such/file.npz"], "--dataset"),
])
def test_babysit_bad_flags_are_one_line_exit_2(flags, named, tmp_path, capsys):
    from tfweek3.cli.main import main

    try:
        status = main(["babysit", "--dir", str(tmp_path), *flags])
    except SystemExit as exit_:
        status = exit_.code
    assert status == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and named in errors[0]
    assert errors[0].startswith("tfweek3 babysit: error: ")
