"""The private KerasTuner names tfweek3 depends on still mean what they meant.

Every name in tfweek3/tuning/keras_tuner_internals.py's PRIVATE_NAMES is checked
here against the installed KerasTuner; a release that renames or changes one
fails with a message naming it.
"""

import keras_tuner as kt
import pytest

from tfweek3.tuning import keras_tuner_internals as internals


class ScriptedTuner(kt.Tuner):
    def run_trial(self, trial, *args, **kwargs):
        raise NotImplementedError


@pytest.fixture
def grid_oracle(tmp_path):
    hp = kt.HyperParameters()
    hp.Choice("units", [8, 16, 32])
    oracle = kt.oracles.GridSearchOracle(objective=kt.Objective("score", "max"), max_trials=3,
                                         hyperparameters=hp)
    ScriptedTuner(oracle=oracle, directory=str(tmp_path), project_name="project")
    return oracle


def check(name: str, condition: bool, what: str) -> None:
    assert condition, (f"KerasTuner {kt.__version__} changed the private name {name!r} that "
                       f"tfweek3 relies on ({what}); see tfweek3/tuning/keras_tuner_internals.py")


def test_every_private_name_is_listed_with_its_reason():
    assert set(internals.PRIVATE_NAMES) == {
        "Oracle._get_oracle_fname", "Oracle._get_trial_dir", "Oracle._save_trial",
        "MetricHistory.update, via MetricsTracker.metrics", "GridSearchOracle._ordered_ids",
        "GridSearchOracle._populate_next", "GridSearchOracle._compare",
        "Tuner._build_and_fit_model", "keras_tuner.src.config.DEBUG"}
    assert all(len(reason) > 20 for reason in internals.PRIVATE_NAMES.values())


def test_oracle_file_and_trial_folder(grid_oracle, tmp_path):
    name = "Oracle._get_oracle_fname"
    check(name, hasattr(kt.Oracle, "_get_oracle_fname"), "the method is gone")
    check(name, internals.oracle_file(grid_oracle) == str(tmp_path / "project" / "oracle.json"),
          "it no longer names project/oracle.json")
    name = "Oracle._get_trial_dir"
    check(name, hasattr(kt.Oracle, "_get_trial_dir"), "the method is gone")
    check(name, internals.trial_dir(grid_oracle, "07") == str(tmp_path / "project" / "trial_07"),
          "it no longer names project/trial_<id>")


def test_save_trial_is_what_keras_tuner_calls_to_write_a_trial(grid_oracle, tmp_path):
    name = "Oracle._save_trial"
    check(name, hasattr(kt.Oracle, "_save_trial"), "the method is gone")
    written = []
    grid_oracle._save_trial = written.append  # what create_trial must call
    trial = grid_oracle.create_trial("tuner0")
    check(name, written and written[0] is trial, "create_trial no longer calls it")


def test_metric_history_update_through_metrics_tracker_metrics():
    name = "MetricHistory.update, via MetricsTracker.metrics"
    trial = kt.engine.trial.Trial(kt.HyperParameters(), trial_id="0")
    tracker = trial.metrics
    tracker.register("epoch/loss", "min")
    check(name, isinstance(getattr(tracker, "metrics", None), dict), "no metrics dict")
    for step, value in ((1, 0.5), (2, 0.25)):
        internals.record_epoch(trial, "epoch/loss", value, step)
    check(name, [(o.step, o.value) for o in tracker.get_history("epoch/loss")]
          == [(1, [0.5]), (2, [0.25])], "an update no longer adds one observation per step")
    check(name, tracker.get_best_value("epoch/loss") == 0.25, "the best value is not kept")


def test_grid_position(grid_oracle):
    for attribute in ("_ordered_ids", "_populate_next", "_compare"):
        check(f"GridSearchOracle.{attribute}", hasattr(grid_oracle, attribute), "it is gone")
    check("GridSearchOracle._ordered_ids", hasattr(grid_oracle._ordered_ids, "insert"),
          "it is no longer a linked list with insert()")
    check("GridSearchOracle._populate_next", isinstance(grid_oracle._populate_next, list),
          "it is no longer a list of trial ids")
    check("GridSearchOracle._compare",
          grid_oracle._compare({"units": 8}, {"units": 16}) == -1
          and grid_oracle._compare({"units": 16}, {"units": 16}) == 0,
          "it no longer orders two trials' values")
    first = grid_oracle.create_trial("tuner0")
    first.status = "COMPLETED"
    grid_oracle.update_trial(first.trial_id, {"score": 1.0})
    grid_oracle.end_trial(first)
    internals.rebuild_grid_position(grid_oracle)
    check("GridSearchOracle._populate_next", grid_oracle._populate_next == [first.trial_id],
          "rebuilding the grid position no longer lists the trials to continue from")
    check("GridSearchOracle._ordered_ids",
          grid_oracle.create_trial("tuner0").hyperparameters.values == {"units": 16},
          "the rebuilt grid does not continue with the next point")


def test_debug_is_what_prints_a_failed_trials_traceback(tmp_path, capsys):
    name = "keras_tuner.src.config.DEBUG"
    from keras_tuner.src import config

    check(name, isinstance(getattr(config, "DEBUG", None), bool), "the flag is gone")

    class Failing(ScriptedTuner):
        def run_trial(self, trial, *args, **kwargs):
            raise ValueError("a failing trial")

    def failed_trial_output() -> str:
        oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "max"),
                                               max_trials=1, hyperparameters=space())
        Failing(oracle=oracle, directory=str(tmp_path), project_name="p", overwrite=True).search(
            verbose=0)
        return capsys.readouterr().err

    before = config.DEBUG
    try:
        config.DEBUG = True
        check(name, "ValueError: a failing trial" in failed_trial_output(), "True does not print")
        internals.keep_failed_trials_off_stderr()
        check(name, "a failing trial" not in failed_trial_output(), "False still prints")
    finally:
        config.DEBUG = before


def space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Choice("units", [8, 16])
    return hp


def test_build_and_fit_model_is_the_hook_keras_tuners_run_trial_calls(tmp_path):
    import inspect

    import tfweek3

    name = "Tuner._build_and_fit_model"
    check(name, hasattr(kt.Tuner, "_build_and_fit_model"), "the method is gone")
    check(name, "self._build_and_fit_model(" in inspect.getsource(kt.Tuner.run_trial),
          "Tuner.run_trial no longer calls it")
    calls = []

    class Hooked(tfweek3.RandomSearch):
        def _build_and_fit_model(self, trial, *args, **kwargs):
            calls.append(trial.trial_id)
            return {"score": 1.0}

    def build(hp):
        hp.Int("units", 1, 4)
        import keras

        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    tuner = Hooked(build, objective=kt.Objective("score", "max"), max_trials=2,
                   directory=str(tmp_path), tensorboard=False)
    tuner.search()
    assert calls == ["0", "1"]  # an override of the hook runs, as in KerasTuner's own tuners
