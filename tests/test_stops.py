"""Every command ends well, as a real process: Ctrl-C (SIGINT) and SIGTERM stop it within seconds
with one line saying what was kept and how to continue, exit status 130, and nothing lost (the same
command continues); a diverging run, failing trials, an unwritable folder or an unreadable state
file end in one line naming the cause, with the right exit status and no traceback. (The runs that
only set up a folder or continue after a stop go through the same main() in this process.)"""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers_processes import alive, messages, run, run_here, start, stop
from helpers_search import read_json, wait_for

from tfweek3.training import stopping

# A small network on digits: an epoch takes a few hundredths of a second.
SMALL_TUNE = ("--units", "8", "--layers", "1", "--batch-sizes", "16", "--no-tensorboard")


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_a_stop_during_epochs_is_raised_between_them(monkeypatch):
    """Inside `deferred()` (the epochs of train and train_together) the signal handler only records
    the stop; it is raised at the next check() or on leaving, never inside TensorFlow's code."""
    monkeypatch.setattr(stopping, "_requested", False)
    reached = []
    with pytest.raises(KeyboardInterrupt), stopping.deferred():
        with stopping.deferred():
            stopping.request()
            assert not stopping.interrupts_now()
        reached.append("after the inner one")  # only the outermost raises on leaving
    assert reached and stopping.interrupts_now()
    with pytest.raises(KeyboardInterrupt):
        stopping.check()


def test_train_stops_keeping_its_last_checkpoint_and_resumes(tmp_path):
    """Stopped by SIGINT, then (resumed) by SIGTERM: each time one line and the last checkpoint
    kept, and the resumed run goes on from it."""
    out = tmp_path / "run"
    args = ("train", "--out", str(out), "--epochs", "400", "--batch-size", "8", "--quiet")
    # The checkpoint's state file names ckpt-N only once it is whole (its index file comes first).
    state = out / "checkpoints" / "checkpoint"
    kept = 0
    for signum, resume in ((signal.SIGINT, ()), (signal.SIGTERM, ("--resume",))):
        process = start(*args, *resume)
        ckpt = f'"ckpt-{kept + 3}"'  # 3 more epochs than the last stop kept
        wait_for(lambda ckpt=ckpt: state.exists() and ckpt in state.read_text(), 120,
                 f"epoch {kept + 3}", process)
        _, stderr, seconds = stop(process, signum)
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
        (line,) = messages(stderr)
        now_kept = int(line.split("checkpoint after epoch ")[1].split()[0])
        assert now_kept >= kept + 3
        kept = now_kept
        assert line == (f"tfweek3 train: stopped; the checkpoint after epoch {kept} is kept in "
                        f"{out}/checkpoints. To continue: tfweek3 {' '.join(args)} --resume")
        print(f"train stopped {seconds:.2f} s after {signal.Signals(signum).name}")

    done = run_here(*args[:4], str(kept + 2), *args[5:], "--resume")
    assert done.returncode == 0, done.stderr
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == kept + 2  # the kept epochs, then two more: none lost


def test_babysit_stops_and_the_same_command_continues(tmp_path):
    args = ("babysit", "--dir", str(tmp_path), "--epochs", "300", "--batch-size", "8")
    process = start(*args)
    wait_for(lambda: len((tmp_path / "history.csv").read_text().splitlines()) > 2
             if (tmp_path / "history.csv").exists() else False, 120, "2 epochs", process)
    _, stderr, seconds = stop(process)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    (line,) = messages(stderr)
    kept = int(line.split("checkpoint after epoch ")[1].split()[0])
    assert line == (f"tfweek3 babysit: stopped; the checkpoint after epoch {kept} is kept in "
                    f"{tmp_path}. To continue: tfweek3 {' '.join(args)}")
    print(f"babysit stopped {seconds:.2f} s after SIGINT")
    (tmp_path / "control.txt").write_text("stop\n")
    again = run_here(*args)
    assert again.returncode == 0, again.stderr
    assert f"stopped: {kept} epochs" in again.stdout  # every kept epoch is still there


def test_tune_stops_keeping_finished_trials_and_resumes(tmp_path):
    args = ("tune", "--trials", "4", "--epochs", "30", "--dir", str(tmp_path), *SMALL_TUNE)
    process = start(*args)
    wait_for(lambda: (tmp_path / "search" / "trial_1" / "trial.json").exists(), 120,
             "the second trial", process)
    stdout, stderr, seconds = stop(process)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    finished = [line for line in stdout.splitlines() if line.startswith("trial ")]
    (line,) = messages(stderr)
    assert line == (f"tfweek3 tune: stopped; {len(finished)} finished trials kept in {tmp_path}. "
                    f"To continue: tfweek3 {' '.join(args)}")
    print(f"tune stopped {seconds:.2f} s after SIGINT, {len(finished)} trials finished")

    again = run_here(*args)
    assert again.returncode == 0, again.stderr
    resumed = [line.split()[1] for line in again.stdout.splitlines() if line.startswith("trial ")]
    assert resumed == [f"{n}/4" for n in range(len(finished) + 1, 5)]  # none twice, none lost
    assert [r["status"] for r in rows(tmp_path / "trials.csv")] == ["completed"] * 4


def test_a_stop_that_surfaces_as_another_error_is_a_stop_not_a_failed_trial(tmp_path):
    """A Ctrl-C landing inside TensorFlow's C++ code can come out as a SystemError, whose
    traceback that code prints itself: once a stop was requested, the trial is not failed, the
    command ends as stopped, and what it wrote to stderr after the signal is not shown."""
    args = ("tune", "--trials", "3", "--epochs", "4", "--dir", str(tmp_path), *SMALL_TUNE)
    stopped = run(*args, TFWEEK3_TEST_STOP_AS_ERROR="2")
    assert stopped.returncode == 130 and "Traceback" not in stopped.stderr, stopped.stderr
    (line,) = messages(stopped.stderr)
    assert line.startswith("tfweek3 tune: stopped; 0 finished trials kept in")
    assert not list((tmp_path / "search").glob("trial_*/error.txt"))

    again = run_here(*args)
    assert again.returncode == 0, again.stderr
    assert [r["status"] for r in rows(tmp_path / "trials.csv")] == ["completed"] * 3


def test_tune_with_workers_stops_its_chief_and_workers_and_resumes(tmp_path):
    args = ("tune", "--workers", "2", "--trials", "4", "--epochs", "40", "--dir", str(tmp_path),
            *SMALL_TUNE)
    process = start(*args)
    status_file = tmp_path / "search" / "workers.json"

    def a_trial_running():
        oracle = read_json(tmp_path / "search" / "oracle.json") or {}
        return len(oracle.get("ongoing_trials", {})) == 2

    wait_for(a_trial_running, 180, "both workers to train", process)
    processes = read_json(status_file)["processes"]
    pids = [p["pid"] for p in processes.values()]
    # The supervisor has not loaded TensorFlow's library; the chief (KerasTuner's oracle) has.
    assert "tensorflow" not in (Path("/proc") / str(process.pid) / "maps").read_text()
    assert "tensorflow" in (Path("/proc") / str(processes["chief"]["pid"]) / "maps").read_text()
    _, stderr, seconds = stop(process)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    (line,) = messages(stderr)  # one line: the chief and workers say nothing
    assert line.startswith("tfweek3 tune: stopped; ") and "To continue: tfweek3 tune" in line
    assert not any(alive(pid) for pid in pids)
    print(f"tune --workers 2 stopped {seconds:.2f} s after SIGINT")

    again = run(*args)
    assert again.returncode == 0, again.stderr
    records = rows(tmp_path / "trials.csv")
    assert sorted(r["trial"] for r in records) == ["1", "2", "3", "4"]
    assert {r["status"] for r in records} == {"completed"}


def test_babysit_divergence_is_one_line_and_a_lower_learning_rate_continues(tmp_path):
    args = ("babysit", "--dir", str(tmp_path), "--epochs", "4", "--optimizer", "sgd",
            "--batch-norm", "none", "--learning-rate", "0.05")
    # Two good epochs, then a nudge that makes the loss NaN.
    first = run_here(*args[:4], "2", *args[5:])
    assert first.returncode == 0, first.stderr
    (tmp_path / "control.txt").write_text("learning_rate 1e6\n")
    diverged = run(*args)
    assert diverged.returncode == 1 and "Traceback" not in diverged.stderr
    (line,) = messages(diverged.stderr)
    assert line.startswith("tfweek3 babysit: error: training diverged: the loss is nan at epoch 3, "
                           "step ")
    assert line.endswith(f"the checkpoint after epoch 2 is kept. Write a lower 'learning_rate X' "
                         f"(or 'rollback K') into {tmp_path}/control.txt and run the same command "
                         f"again")
    (tmp_path / "control.txt").write_text("rollback 1\nlearning_rate 0.05\n")
    again = run_here(*args)
    assert again.returncode == 0, again.stderr
    assert "rolled back to the checkpoint of epoch 1" in again.stdout
    assert "done: 4 epochs" in again.stdout


def test_a_control_file_that_is_not_utf8_is_a_bad_line_and_training_goes_on(tmp_path):
    (tmp_path / "control.txt").write_bytes(b"learning_rate \xff\xfe0.1\nmomentum 0.8\n")
    done = run_here("babysit", "--dir", str(tmp_path), "--epochs", "2")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "control.txt line 1 ignored" in done.stdout
    assert "epoch 1: beta 0.9 -> 0.8" in done.stdout
    assert "done: 2 epochs" in done.stdout


def test_trials_that_raise_are_failed_and_three_in_a_row_stop_the_search(tmp_path):
    done = run("tune", "--trials", "6", "--epochs", "2", "--dir", str(tmp_path), *SMALL_TUNE,
               TFWEEK3_TEST_FAILING_TRIALS="1")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert messages(done.stderr) == [
        ("tfweek3 tune: error: the search stopped: 3 trials failed in a row; the first, trial 1: "
         "ValueError: injected: the data set could not be read")]
    # The results were written before it stopped: three failed trials, each with its error.
    records = rows(tmp_path / "trials.csv")
    assert [(r["trial"], r["status"]) for r in records] == [("1", "failed"), ("2", "failed"),
                                                            ("3", "failed")]
    assert {r["reason"] for r in records} == {
        "ValueError: injected: the data set could not be read"}
    assert "error.txt" in {p.name for p in (tmp_path / "search" / "trial_0").iterdir()}


def test_diverging_trials_are_recorded_not_failures(tmp_path):
    done = run("tune", "--trials", "4", "--epochs", "2", "--dir", str(tmp_path), "--alpha",
               "1e20:1e30", "--optimizers", "sgd", *SMALL_TUNE)
    assert done.returncode == 1  # no trial completed
    assert messages(done.stderr) == []
    assert done.stdout.splitlines()[-1].startswith("no trial completed (4 diverged)")
    assert [r["status"] for r in rows(tmp_path / "trials.csv")] == ["diverged"] * 4


def test_an_unreadable_state_file_is_one_line_and_overwrite_starts_afresh(tmp_path):
    args = ("tune", "--trials", "2", "--epochs", "1", "--dir", str(tmp_path), *SMALL_TUNE)
    assert run_here(*args).returncode == 0
    state = tmp_path / "search" / "oracle.json"
    state.write_text(state.read_text()[:50])
    broken = run(*args[:2], "3", *args[3:])
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    (line,) = messages(broken.stderr)
    assert line.startswith(f"tfweek3 tune: error: {state} is unreadable (JSONDecodeError: ")
    assert line.endswith("; run with --overwrite to start this search afresh")
    assert run_here(*args[:2], "1", *args[3:], "--overwrite").returncode == 0
    assert [r["trial"] for r in rows(tmp_path / "trials.csv")] == ["1"]  # the two before are gone


def test_the_chief_dying_is_an_error_and_its_workers_stop(tmp_path):
    process = start("tune", "--workers", "2", "--trials", "20", "--epochs", "40",
                    "--dir", str(tmp_path), *SMALL_TUNE)
    status_file = tmp_path / "search" / "workers.json"
    wait_for(lambda: (read_json(tmp_path / "search" / "oracle.json") or {}).get("ongoing_trials"),
             180, "a trial to start", process)
    pids = {k: p["pid"] for k, p in read_json(status_file)["processes"].items()}
    os.kill(pids["chief"], signal.SIGKILL)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "Traceback" not in err, err
    assert messages(err) == [("tfweek3 tune: error: the chief (the oracle's process) stopped "
                              "with exit status -9; its workers were stopped")]
    assert not any(alive(pid) for pid in pids.values())


def test_a_worker_that_keeps_dying_stops_the_search(tmp_path):
    done = run("tune", "--workers", "2", "--trials", "4", "--epochs", "2", "--dir", str(tmp_path),
               *SMALL_TUNE, TFWEEK3_TEST_DYING_WORKER="tuner1")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stdout.count("caviar: worker tuner1 died (exit status 3)") == 3
    assert messages(done.stderr) == [
        ("tfweek3 tune: error: worker tuner1 died 4 times (last exit status 3); the search was "
         "stopped")]


def test_help_and_bad_flags_answer_without_importing_tensorflow():
    code = ("import sys\nfrom tfweek3.cli.main import main\n"
            "for argv in ([\"--help\"], [\"tune\", \"--help\"], [\"train\", \"--help\"], "
            "[\"babysit\", \"--help\"], [\"tune\", \"--alpha\", \"0:1\"], [\"train\", \"--epochs\", \"0\"], "
            "[\"tune\", \"--model\", \"no_such_file.py:build\", \"--dir\", \"/tmp/tfweek3-none\"]):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_tuner') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


def test_a_finished_command_ends_without_teardown_and_keeps_all_it_wrote(tmp_path):
    """A command that imported TensorFlow ends through os._exit (cli.main.end_process): its
    last line, its files and its TensorBoard events must all be there, none cut short."""
    import tensorflow as tf

    out = tmp_path / "run"
    done = run("train", "--out", str(out), "--epochs", "3", "--batch-size", "32")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in last  # the summary line, flushed
    assert (out / "checkpoints" / "ckpt-3.index").exists()
    for split, key in (("train", "loss"), ("validation", "val_loss")):
        logged = {}
        for path in (out / "logs" / split).glob("events.out.tfevents.*"):
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for value in event.summary.value:
                    if value.tag == "loss":
                        logged[event.step] = float(tf.make_ndarray(value.tensor))
        assert sorted(logged) == [1, 2, 3]
        np.testing.assert_allclose([logged[s] for s in (1, 2, 3)], history[key], rtol=1e-6)
