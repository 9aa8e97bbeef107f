"""Caviar: `tfweek3 tune --workers 2` with KerasTuner's distributed mode on loopback."""

import csv
import os
import signal
from pathlib import Path

import pytest
from helpers_processes import start
from helpers_search import observations, read_json, start_tune, wait_for

from tfweek3.search import caviar as distributed
from tfweek3.tuning.roles import distributed_role

EPOCHS = 6
TRIALS = 4


def test_role_follows_the_keras_tuner_variables(monkeypatch):
    monkeypatch.delenv("KERASTUNER_ORACLE_IP", raising=False)
    monkeypatch.delenv("KERASTUNER_TUNER_ID", raising=False)
    assert distributed_role() == "single"
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert distributed_role() == "chief"
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    assert distributed_role() == "worker"


def test_threads_are_shared_between_workers(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert [distributed.threads_per_worker(n) for n in (1, 2, 3, 16)] == [8, 4, 2, 1]


def test_a_killed_worker_is_replaced_and_every_trial_counts_once(tmp_path):
    folder = tmp_path / "caviar"
    project = folder / "search"
    paused = tmp_path / "paused"
    # Worker tuner0 stops after the third epoch of its first trial and waits: it is killed there.
    process = start(
        "tune", "--workers", "2", "--trials", str(TRIALS), "--epochs", str(EPOCHS),
        "--dir", str(folder), "--units", "16", "--layers", "1", "--batch-sizes", "16",
        "--no-tensorboard", "--seed", "3",
        TFWEEK3_TEST_PAUSE=f"1:3:{paused}", TFWEEK3_TEST_PAUSE_TUNER="tuner0")
    wait_for(paused.exists, 180, "tuner0 to pause in the middle of its first trial", process)
    pid = int(paused.read_text())
    assert pid == read_json(project / "workers.json")["processes"]["tuner0"]["pid"]
    killed_trial = read_json(project / "oracle.json")["ongoing_trials"]["tuner0"]
    os.kill(pid, signal.SIGKILL)

    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    assert "worker tuner0 died" in out
    workers = read_json(project / "workers.json")["processes"]
    assert workers["tuner0"]["restarts"] == 1 and workers["tuner0"]["pid"] != pid

    # Each trial once, all finished, one progress line each.
    with open(folder / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(row["trial"] for row in rows) == [str(i) for i in range(1, TRIALS + 1)]
    assert {row["status"] for row in rows} <= {"completed", "diverged"}
    assert sum(line.startswith("trial ") for line in out.splitlines()) == TRIALS

    # The killed trial ran again from scratch: one value per epoch, not the dead
    # run's epochs averaged with the new run's.
    history = observations(project / f"trial_{killed_trial}" / "trial.json")
    assert [obs["step"] for obs in history] == list(range(1, EPOCHS + 1))
    assert all(len(obs["value"]) == 1 for obs in history)
    best = max(obs["value"][0] for obs in history)
    (row,) = [row for row in rows if row["trial_id"] == killed_trial]
    assert float(row["score"]) == best


def test_chief_and_workers_share_one_search_by_hand(tmp_path):
    """The multi-host recipe of docs/search.md, on one host: same command, variables set by hand."""
    folder = tmp_path / "by_hand"
    port = str(distributed.free_port())
    common = ("--trials", "2", "--epochs", "1", "--dir", str(folder), "--units", "8",
              "--layers", "1", "--no-tensorboard")

    def start(tuner_id):
        return start_tune(*common, env={"KERASTUNER_TUNER_ID": tuner_id,
                                        "KERASTUNER_ORACLE_IP": "127.0.0.1",
                                        "KERASTUNER_ORACLE_PORT": port})

    chief = start("chief")
    worker = start("tuner0")
    out, err = worker.communicate(timeout=240)
    assert worker.returncode == 0, err
    assert sum(line.startswith("trial ") for line in out.splitlines()) == 2
    chief_out, chief_err = chief.communicate(timeout=120)
    assert chief.returncode == 0, chief_err
    # The chief wrote the results of the trials the worker ran.
    with open(Path(folder) / "trials.csv") as f:
        assert sorted(row["trial"] for row in csv.DictReader(f)) == ["1", "2"]
    assert "best: alpha=" in chief_out


def test_killing_the_command_stops_its_chief_and_workers(tmp_path):
    process = start_tune("--workers", "2", "--trials", "50", "--epochs", "50",
                         "--dir", str(tmp_path), "--no-tensorboard")
    status_file = tmp_path / "search" / "workers.json"
    wait_for(lambda: read_json(status_file), 60, "the workers to start", process)
    pids = [p["pid"] for p in read_json(status_file)["processes"].values()]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    def all_gone():
        for pid in pids:
            try:
                os.kill(pid, 0)
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split()[2] != "Z":  # a zombie has exited already
                        return False
            except (ProcessLookupError, FileNotFoundError):
                continue
        return True

    wait_for(all_gone, 30, "the chief and workers to exit")


def test_threads_that_cannot_be_applied_are_said_not_dropped():
    import tensorflow as tf

    tf.constant(1.0) + 1  # TensorFlow has started in this process: its threads are set
    lines = []
    distributed.limit_threads(3, log=lines.append)
    assert len(lines) == 1
    assert lines[0].startswith("--threads 3 not applied: TensorFlow had already started")


def test_a_worker_whose_chief_is_gone_ends_in_one_line(monkeypatch, tmp_path, capsys):
    """A worker's call to a chief that has ended fails with gRPC's UNAVAILABLE: one line naming
    the chief's address (none under `--workers`, whose supervisor says the chief stopped)."""
    import grpc

    from tfweek3.cli.main import main
    from tfweek3.tuning.roles import lost_chief

    channel = grpc.insecure_channel("127.0.0.1:9")  # nothing listens there: refused at once
    with pytest.raises(grpc.RpcError) as refused:
        channel.unary_unary("/tfweek3/Test")(b"", timeout=30)
    gone = refused.value
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "9")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    monkeypatch.delenv(distributed.SUPERVISOR_VARIABLE, raising=False)
    assert lost_chief(gone) == "UNAVAILABLE" and lost_chief(ValueError("x")) is None

    def run_search(*args, **kwargs):
        raise gone

    monkeypatch.setattr("tfweek3.search.run.run_search", run_search)
    args = ["tune", "--dir", str(tmp_path), "--trials", "1", "--no-tensorboard"]
    assert main(args) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tfweek3")]
    assert lines == [("tfweek3 tune: error: the chief at 127.0.0.1:9 is gone (gRPC UNAVAILABLE); "
                      "start the chief again, then this worker")]
    monkeypatch.setenv(distributed.SUPERVISOR_VARIABLE, "1")
    assert main(args) == 1
    assert "tfweek3" not in capsys.readouterr().err
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert lost_chief(gone) is None
