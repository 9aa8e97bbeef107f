"""tfweek3's oracles against KerasTuner's promises and their own additions, driven directly
(no training): epoch reports, the objective check, retries, resuming, failures in a row."""

import json

import keras_tuner as kt
import pytest

from tfweek3.tuning.oracles import GridOracle, RandomOracle
from tfweek3.tuning.storage import StateFileError

OBJECTIVE = kt.Objective("val_accuracy", "max")


class ScriptedTuner(kt.Tuner):
    """A tuner that only gives an oracle its project folder; the tests drive the oracle."""

    def run_trial(self, trial, *args, **kwargs):
        raise NotImplementedError


def place(oracle, folder):
    """Give `oracle` the project folder folder/project, and reload it if a search was there,
    as KerasTuner does when a search starts again on the same folder."""
    ScriptedTuner(oracle=oracle, directory=str(folder), project_name="project")
    if (folder / "project" / "oracle.json").exists():
        oracle.reload()
    return oracle


def space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Float("alpha", 1e-4, 1.0, sampling="log")
    return hp


def oracle_in(folder, oracle_class=RandomOracle, **kwargs):
    """An oracle over one float, in folder/project (reloaded if it exists there)."""
    oracle = oracle_class(objective=OBJECTIVE, max_trials=kwargs.pop("max_trials", 6), seed=1,
                          hyperparameters=space(), **kwargs)
    return place(oracle, folder)


def trial_file(folder, trial_id):
    return json.loads((folder / "project" / f"trial_{trial_id}" / "trial.json").read_text())


def end(oracle, trial, status="COMPLETED", message=None):
    trial.status = status
    trial.message = message
    oracle.end_trial(trial)


def test_epoch_reports_are_recorded_in_memory_and_written_at_most_once_a_second(tmp_path):
    oracle = oracle_in(tmp_path)
    oracle.SAVE_RUNNING_TRIAL_SECONDS = 3600.0
    trial = oracle.create_trial("tuner0")
    for epoch in range(1, 6):
        answer = oracle.update_trial(trial.trial_id, {"epoch/val_accuracy": 0.1 * epoch},
                                     step=epoch)
        # What the chief sends back to a worker: the status, not the history.
        assert answer.status == "RUNNING" and answer.trial_id == trial.trial_id
        assert not answer.metrics.exists("epoch/val_accuracy")
    kept = oracle.get_trial(trial.trial_id).metrics.get_history("epoch/val_accuracy")
    assert [obs.step for obs in kept] == [1, 2, 3, 4, 5]
    on_disk = trial_file(tmp_path, trial.trial_id)["metrics"]["metrics"]["epoch/val_accuracy"]
    assert [obs["step"] for obs in on_disk["observations"]] == [1]  # only the first write

    # The trial's result, as Tuner.run_trial returns it, scores the trial; the end writes all.
    oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    end(oracle, trial)
    saved = trial_file(tmp_path, trial.trial_id)
    assert saved["score"] == 0.5 and saved["best_step"] == 5
    assert len(saved["metrics"]["metrics"]["epoch/val_accuracy"]["observations"]) == 5

    oracle.SAVE_RUNNING_TRIAL_SECONDS = 0.0
    trial = oracle.create_trial("tuner0")
    for epoch in (1, 2, 3):
        oracle.update_trial(trial.trial_id, {"epoch/val_accuracy": 0.5}, step=epoch)
        written = trial_file(tmp_path, trial.trial_id)["metrics"]["metrics"]
        assert len(written["epoch/val_accuracy"]["observations"]) == epoch


def test_a_report_without_the_objective_is_refused_as_keras_tuner_does(tmp_path):
    oracle = oracle_in(tmp_path)
    trial = oracle.create_trial("tuner0")
    with pytest.raises(ValueError, match="Objective value missing.*'val_accuracy'"):
        oracle.update_trial(trial.trial_id, {"epoch/val_acuracy": 0.5}, step=1)
    with pytest.raises(ValueError, match="Objective value missing"):
        oracle.update_trial(trial.trial_id, {"val_acuracy": 0.5})
    stock = kt.oracles.RandomSearchOracle(objective=OBJECTIVE, max_trials=2,
                                          hyperparameters=space())
    ScriptedTuner(oracle=stock, directory=str(tmp_path), project_name="stock")
    with pytest.raises(ValueError, match="Objective value missing"):
        stock.update_trial(stock.create_trial("tuner0").trial_id, {"val_acuracy": 0.5})


def test_a_trial_waiting_for_a_retry_is_retried_after_a_reload(tmp_path):
    oracle = oracle_in(tmp_path, max_retries_per_trial=1)
    first = oracle.create_trial("tuner0")
    end(oracle, first, "INVALID", "Traceback...\nOSError: disk full")  # queued for its retry
    # The process dies here; the search is started again on the same folder.
    again = oracle_in(tmp_path, max_retries_per_trial=1)
    retried = again.create_trial("tuner0")
    assert retried.trial_id == first.trial_id
    assert retried.hyperparameters.values == first.hyperparameters.values


def test_a_cut_off_trial_runs_again_without_its_old_epochs(tmp_path):
    oracle = oracle_in(tmp_path)
    oracle.SAVE_RUNNING_TRIAL_SECONDS = 0.0
    done = oracle.create_trial("tuner0")
    oracle.update_trial(done.trial_id, {"epoch/val_accuracy": 0.7}, step=1)
    oracle.update_trial(done.trial_id, {"val_accuracy": 0.7})
    end(oracle, done)
    cut = oracle.create_trial("tuner0")
    oracle.update_trial(cut.trial_id, {"epoch/val_accuracy": 0.2}, step=1)
    # Killed mid-trial: on reload, the finished trial stays, the cut-off one is handed out again.
    again = oracle_in(tmp_path)
    handed = again.create_trial("tuner1")
    assert handed.trial_id == cut.trial_id and not handed.metrics.metrics
    assert not trial_file(tmp_path, cut.trial_id)["metrics"]["metrics"]
    assert again.get_trial(done.trial_id).score == 0.7
    # A restarted worker asking with the same tuner id gets its trial back, emptied too.
    again.update_trial(handed.trial_id, {"epoch/val_accuracy": 0.3}, step=1)
    back = again.create_trial("tuner1")
    assert back.trial_id == cut.trial_id and not back.metrics.metrics


def test_trials_failing_in_a_row_stop_the_search_with_the_first_error(tmp_path):
    oracle = oracle_in(tmp_path)
    ok = oracle.create_trial("tuner0")
    oracle.update_trial(ok.trial_id, {"val_accuracy": 0.5})
    end(oracle, ok)
    for n in range(3):
        trial = oracle.create_trial("tuner0")
        assert trial.status == "RUNNING"
        if n < 2:
            end(oracle, trial, "FAILED", f"Traceback (most recent call last):\nValueError: bad {n}\n")
    # The third raises KerasTuner's error, with the failing trial's own, as KerasTuner's oracles do.
    with pytest.raises(RuntimeError, match=r"(?s)^Number of consecutive failures exceeded the "
                       r"limit of 3\.\nTraceback \(most recent call last\):\nValueError: bad 2"):
        end(oracle, trial, "FAILED", "Traceback (most recent call last):\nValueError: bad 2\n")
    assert oracle.failure_stop == "3 trials failed in a row; the first, trial 2: ValueError: bad 0"
    assert oracle.create_trial("tuner0").status == "STOPPED"
    saved = json.loads((tmp_path / "project" / "oracle.json").read_text())
    assert saved["failure_stop"] == oracle.failure_stop
    # The failed trials were saved as failed before the search stopped.
    assert [trial_file(tmp_path, f"{i}")["status"] for i in (1, 2, 3)] == ["FAILED"] * 3
    # Started again (its cause fixed, say), the search tries the next trial.
    assert oracle_in(tmp_path).create_trial("tuner0").status == "RUNNING"


def test_a_success_between_failures_resets_the_count(tmp_path):
    oracle = oracle_in(tmp_path, max_trials=10)
    for outcome in ("FAILED", "FAILED", "COMPLETED", "FAILED", "FAILED"):
        trial = oracle.create_trial("tuner0")
        if outcome == "COMPLETED":
            oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
        end(oracle, trial, outcome, "ValueError: bad")
    assert oracle.failure_stop is None
    assert oracle.create_trial("tuner0").status == "RUNNING"


def test_an_unreadable_state_file_is_an_error_naming_it(tmp_path):
    oracle = oracle_in(tmp_path)
    trial = oracle.create_trial("tuner0")
    oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    end(oracle, trial)
    state = tmp_path / "project" / "oracle.json"
    state.write_text(state.read_text()[:40])  # truncated
    with pytest.raises(StateFileError, match=f"{state} is unreadable"):
        oracle_in(tmp_path)
    state.write_bytes(b"\xff\xfe not json")
    with pytest.raises(StateFileError, match="oracle.json is unreadable"):
        oracle_in(tmp_path)


def test_files_are_written_whole_through_a_temporary_file(tmp_path):
    oracle = oracle_in(tmp_path)
    trial = oracle.create_trial("tuner0")
    project = tmp_path / "project"
    assert json.loads((project / "oracle.json").read_text())["ongoing_trials"] == {
        "tuner0": trial.trial_id}
    assert not list(project.rglob("*.tmp"))


def test_the_grid_oracle_continues_where_it_stopped(tmp_path):
    hp = kt.HyperParameters()
    hp.Choice("units", [8, 16, 32, 64])
    oracle = place(GridOracle(objective=OBJECTIVE, max_trials=2, hyperparameters=hp), tmp_path)
    for _ in range(2):
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
        end(oracle, trial)
    again = place(GridOracle(objective=OBJECTIVE, max_trials=4, hyperparameters=hp), tmp_path)
    values = []
    while (trial := again.create_trial("tuner0")).status == "RUNNING":
        values.append(trial.hyperparameters.values["units"])
        again.update_trial(trial.trial_id, {"val_accuracy": 0.5})
        end(again, trial)
    assert values == [32, 64]  # 8 and 16 were tried before the reload


def test_the_trial_that_ended_last_is_not_run_again_after_a_reload(tmp_path):
    """KerasTuner 1.4.8's own reload hands it out again: end_trial saves the oracle while the
    trial is still in ongoing_trials. Ours hands out a new trial."""
    oracle = oracle_in(tmp_path)
    for _ in range(2):
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
        end(oracle, trial)
    saved = json.loads((tmp_path / "project" / "oracle.json").read_text())
    assert saved["ongoing_trials"] == {"tuner0": trial.trial_id}  # KerasTuner's saved state
    again = oracle_in(tmp_path)
    assert again.create_trial("tuner0").trial_id == "2"
    assert again.get_trial(trial.trial_id).status == "COMPLETED"
