"""Every promise KerasTuner's own oracle and tuner tests check, kept by tfweek3's oracles and tuners.

KerasTuner 1.4.8's tests of its oracles, tuners and distributed mode (engine/oracle_test,
engine/tuner_test, engine/base_tuner_test, tuners/randomsearch_test and gridsearch_test,
distribute/oracle_chief_test and oracle_client_test) check 32 distinct promises. Each is checked
here, in tfweek3's own tests, on tfweek3's RandomOracle / GridOracle and RandomSearch / GridSearch
(the distributed ones also run as real processes in test_distributed.py and test_cli_model.py).
Most use a hypermodel whose fit trains nothing and returns what a test needs, so that the
search's own machinery is what is tested.
"""

import threading
import time
import types

import keras
import keras_tuner as kt
import numpy as np
import pytest

import tfweek3
from tfweek3.tuning import tuners as tuners_module
from tfweek3.tuning.oracles import GridOracle, RandomOracle
from tfweek3.tuning.tuners import EpochTuner

ORACLES = [RandomOracle, GridOracle]


class Placed(kt.Tuner):
    """A tuner that only gives an oracle its project folder; the tests drive the oracle."""

    def run_trial(self, trial, *args, **kwargs):
        raise NotImplementedError


def placed(oracle, folder):
    Placed(oracle=oracle, directory=str(folder), project_name="p")
    return oracle


def space(n: int = 10) -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Int("x", 0, n - 1)
    return hp


def end(oracle, trial, status="COMPLETED", message=None):
    trial.status = status
    trial.message = message
    oracle.end_trial(trial)


class Returns(kt.HyperModel):
    """A hypermodel that trains nothing: its fit returns `result(hp)` (a number, a dict, a
    History, a string...), after calling `check(model, kwargs)` if given."""

    def __init__(self, result, check=None, extra=None, points=10):
        super().__init__()
        self.result, self.check, self.extra, self.points = result, check, extra, points

    def build(self, hp):
        hp.Int("x", 0, self.points - 1)
        if self.extra:
            self.extra(hp)
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    def fit(self, hp, model, *args, **kwargs):
        if self.check:
            self.check(model, kwargs)
        return self.result(hp)


def random_search(folder, hypermodel, objective="score", **kwargs):
    if isinstance(objective, str) and objective in ("score", "loss_like"):
        objective = kt.Objective(objective, "max" if objective == "score" else "min")
    kwargs.setdefault("max_trials", 3)
    return tfweek3.RandomSearch(hypermodel, objective=objective, directory=str(folder),
                                tensorboard=False, seed=1, **kwargs)


# --- 1-5: objectives, reports, directions, ranking ------------------------------------------------

@pytest.mark.parametrize("oracle_class", ORACLES)
def test_objectives_are_parsed_as_keras_tuner_does(oracle_class):
    assert oracle_class(objective="val_accuracy").objective.direction == "max"
    assert oracle_class(objective="val_loss").objective.direction == "min"
    assert oracle_class(objective=["val_loss", "mse"]).objective.name == "multi_objective"
    with pytest.raises(ValueError, match="Could not infer optimization direction"):
        oracle_class(objective="custom_metric")
    unparsed = oracle_class()  # constructible with no arguments; "auto" verbosity means 1
    unparsed.verbose = "auto"
    assert unparsed.verbose == 1


@pytest.mark.parametrize("oracle_class", ORACLES)
def test_a_report_needs_the_objective_and_a_multi_objective_needs_each_part(tmp_path,
                                                                            oracle_class):
    single = placed(oracle_class(objective="val_loss", max_trials=3, hyperparameters=space()),
                    tmp_path / "single")
    trial = single.create_trial("a")
    with pytest.raises(ValueError, match="Objective value missing"):
        single.update_trial(trial.trial_id, {"unknown": 0.5})
    multi = placed(oracle_class(objective=["val_loss", "mse"], max_trials=3,
                                hyperparameters=space()), tmp_path / "multi")
    trial = multi.create_trial("a")
    multi.update_trial(trial.trial_id, {"val_loss": 0.5, "mse": 0.1})         # a result
    multi.update_trial(trial.trial_id, {"epoch/val_loss": 0.5, "epoch/mse": 0.1}, step=1)
    with pytest.raises(ValueError, match="Objective value missing"):
        multi.update_trial(trial.trial_id, {"val_loss": 0.5})
    end(multi, trial)
    assert multi.get_trial(trial.trial_id).score == pytest.approx(0.6)  # both to minimize


@pytest.mark.parametrize("direction", ["max", "min"])
def test_metrics_take_the_objectives_direction_and_the_best_come_first(tmp_path, direction):
    oracle = placed(RandomOracle(objective=kt.Objective("a", direction), max_trials=5,
                                 hyperparameters=space()), tmp_path)
    for score in (0.3, 0.9, 0.1, 0.5):
        trial = oracle.create_trial("t")
        oracle.update_trial(trial.trial_id, {"a": score})
        end(oracle, trial)
    assert oracle.get_trial(trial.trial_id).metrics.get_direction("a") == direction
    best = [t.score for t in oracle.get_best_trials(4)]
    assert best == sorted(best, reverse=direction == "max")


# --- 6: a trial's score, whatever its fit returns -------------------------------------------

def history(losses):
    h = keras.callbacks.History()
    h.history = {"loss_like": losses}
    return h


@pytest.mark.parametrize("result, best", [
    (lambda hp: history([5.0, 3.0, 4.0]), 3.0),           # a History: its best epoch
    (lambda hp: {"loss_like": 3.0, "other": 7.0}, 3.0),     # a dict
    (lambda hp: 3.0, 3.0),                                  # a float
    (lambda hp: 3, 3.0),                                    # an int
])
def test_the_score_is_what_fit_returned_at_its_best(tmp_path, result, best):
    tuner = random_search(tmp_path, Returns(result), objective="loss_like", max_trials=2)
    tuner.search()
    assert tuner.oracle.get_best_trials(1)[0].score == best


def test_executions_are_averaged(tmp_path):
    runs = iter([1.0, 2.0, 6.0])
    tuner = random_search(tmp_path, Returns(lambda hp: next(runs)), objective="loss_like",
                          max_trials=1, executions_per_trial=3)
    tuner.search()
    assert tuner.oracle.get_best_trials(1)[0].score == pytest.approx(3.0)


@pytest.mark.parametrize("result, objective, error, match", [
    (lambda hp: "three", "loss_like", TypeError, r"HyperModel\.fit\(\) to be one of"),
    (lambda hp: None, "loss_like", kt.errors.FatalTypeError, "Did you forget"),
    (lambda hp: {"a": 1.0}, None, TypeError, r"HyperModel\.fit\(\) to be a single float"),
])
def test_what_fit_may_not_return_stops_the_search(tmp_path, result, objective, error, match):
    tuner = random_search(tmp_path, Returns(result), objective=objective)
    with pytest.raises(error, match=match):
        tuner.search()


def test_no_objective_means_the_float_fit_returns_minimized(tmp_path):
    tuner = random_search(tmp_path, Returns(lambda hp: float(hp.get("x"))), objective=None,
                          max_trials=4)
    tuner.search()
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == min(t.hyperparameters.get("x") for t in tuner.oracle.trials.values())


# --- 7-11: NaN, retries, failures, the same tuner, resume -----------------------------------------

@pytest.mark.parametrize("oracle_class", ORACLES)
def test_a_nan_objective_is_invalid_and_never_best(tmp_path, oracle_class):
    oracle = placed(oracle_class(objective="val_loss", max_trials=5, hyperparameters=space(),
                                 max_retries_per_trial=1), tmp_path)
    for value in (0.5, float("nan")):
        trial = oracle.create_trial("t")
        oracle.update_trial(trial.trial_id, {"val_loss": value})
        end(oracle, trial)
    assert oracle.trials[trial.trial_id].status == "INVALID"  # a NaN score: to retry
    again = oracle.create_trial("t")
    assert again.trial_id == trial.trial_id
    oracle.update_trial(again.trial_id, {"val_loss": -0.1})
    end(oracle, again)
    assert oracle.get_best_trials(1)[0].score == -0.1


def test_invalid_trials_are_retried_and_failed_ones_never(tmp_path):
    oracle = placed(RandomOracle(objective="val_loss", max_trials=5, hyperparameters=space(),
                                 max_retries_per_trial=1), tmp_path)
    first = oracle.create_trial("t")
    end(oracle, first, "INVALID", "OSError: disk")
    again = oracle.create_trial("u")
    assert again.trial_id == first.trial_id  # retried once, any tuner
    end(oracle, again, "INVALID", "OSError: disk")
    assert oracle.create_trial("t").trial_id != first.trial_id  # its one retry is spent
    failed = oracle.create_trial("v")
    end(oracle, failed, "FAILED", "ValueError: bad")
    assert oracle.create_trial("v").trial_id != failed.trial_id


def test_errors_in_a_trial_fatal_failed_or_retried(tmp_path):
    calls = []

    def raising(error):
        def result(hp):
            calls.append(hp.get("x"))
            raise error
        return result

    with pytest.raises(kt.errors.FatalError, match="stop everything"):
        random_search(tmp_path / "fatal", Returns(raising(kt.errors.FatalError(
            "stop everything")))).search()
    assert len(calls) == 1  # at once, no retry
    calls.clear()
    with pytest.raises(RuntimeError, match="Number of consecutive failures"):
        random_search(tmp_path / "failed", Returns(raising(kt.errors.FailedTrialError("no"))),
                      max_retries_per_trial=2).search()
    assert len(calls) == 3  # failed: not retried
    calls.clear()
    with pytest.raises(RuntimeError, match="Number of consecutive failures"):
        random_search(tmp_path / "other", Returns(raising(ValueError("retry me"))),
                      max_retries_per_trial=1).search()
    assert len(calls) == 6  # each tried twice before it counts as failed


def test_failures_in_a_row_end_the_search_with_the_last_ones_error(tmp_path):
    def bad_build(hp):
        hp.Int("x", 0, 9)
        raise ValueError(f"no model for x={hp.get('x')}")

    tuner = random_search(tmp_path, Returns(lambda hp: 1.0), max_trials=6)
    tuner.hypermodel.build = bad_build
    with pytest.raises(RuntimeError, match=r"(?s)Number of consecutive failures exceeded the "
                       r"limit of 3\..*ValueError: no model for x="):
        tuner.search()
    statuses = [t.status for t in tuner.oracle.trials.values()]
    assert statuses == ["FAILED"] * 3  # all three saved; no fourth
    assert (tmp_path / "untitled_project" / "trials.csv").exists()  # and the results written


def test_an_oversized_model_fails_and_ends_the_search_with_keras_tuners_error(tmp_path):
    tuner = random_search(tmp_path, Returns(lambda hp: 1.0), max_model_size=1)
    with pytest.raises(RuntimeError, match="Oversized model: 2 parameters"):
        tuner.search()


@pytest.mark.parametrize("oracle_class", ORACLES)
def test_a_tuner_asking_again_gets_its_ongoing_trial_and_a_reload_hands_it_out(tmp_path,
                                                                               oracle_class):
    oracle = placed(oracle_class(objective="val_loss", max_trials=5, hyperparameters=space()),
                    tmp_path)
    trial = oracle.create_trial("a")
    assert oracle.create_trial("a").trial_id == trial.trial_id
    reloaded = placed(oracle_class(objective="val_loss", max_trials=5, hyperparameters=space()),
                      tmp_path)
    reloaded.reload()
    again = reloaded.create_trial("b")
    assert again.trial_id == trial.trial_id
    reloaded.update_trial(again.trial_id, {"val_loss": 0.2})
    end(reloaded, again)
    assert reloaded.get_trial(again.trial_id).status == "COMPLETED"


# --- 12-14: no duplicates, locking, legacy calls ---------------------------------------------------

def test_random_search_draws_no_point_twice_and_stops_when_the_space_is_spent(tmp_path):
    oracle = placed(RandomOracle(objective="val_loss", max_trials=10, hyperparameters=space(4),
                                 seed=3), tmp_path)
    values = []
    while (trial := oracle.create_trial("t")).status == "RUNNING":
        values.append(trial.hyperparameters.get("x"))
        oracle.update_trial(trial.trial_id, {"val_loss": 1.0})
        end(oracle, trial)
    assert sorted(values) == [0, 1, 2, 3]


@pytest.mark.parametrize("oracle_class", ORACLES)
def test_concurrent_calls_on_one_oracle_are_serialized(tmp_path, oracle_class):
    oracle = placed(oracle_class(objective="val_loss", max_trials=8, hyperparameters=space()),
                    tmp_path)
    # (In one process a trial is the oracle's own object, marked COMPLETED before end_trial
    # scores it: the display's ranking would meet it unscored. Workers hold copies.)
    oracle.verbose = 0
    errors = []

    def work(name):
        try:
            while (trial := oracle.create_trial(name)).status == "IDLE":  # the grid may wait
                time.sleep(0.01)
            oracle.update_trial(trial.trial_id, {"val_loss": 1.0})
            end(oracle, trial)
        except Exception as error:  # noqa: BLE001 -- collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(oracle.trials) == 8 and all(t.status == "COMPLETED"
                                           for t in oracle.trials.values())


def test_the_legacy_end_trial_call_is_accepted(tmp_path):
    oracle = placed(RandomOracle(objective="val_loss", max_trials=3, hyperparameters=space()),
                    tmp_path)
    trial = oracle.create_trial("a")
    oracle.update_trial(trial.trial_id, {"val_loss": 1.0})
    oracle.end_trial(trial.trial_id, "COMPLETED")
    assert oracle.get_trial(trial.trial_id).status == "COMPLETED"


# --- 15-17: the search space, IDLE, the grid -------------------------------------------------------

def test_search_space_rules(tmp_path):
    with pytest.raises(ValueError, match="tune_new_entries=False"):
        RandomOracle(objective="val_loss", tune_new_entries=False)
    fixed = kt.HyperParameters()
    fixed.Int("x", 0, 9)
    with pytest.raises(RuntimeError, match="`allow_new_entries` is `False`"):
        random_search(tmp_path / "static", Returns(lambda hp: 1.0,
                                                   extra=lambda hp: hp.Float("lr", 0, 1)),
                      hyperparameters=fixed, allow_new_entries=False)
    # A hyperparameter declared in fit joins the space; every conditional branch is declared.
    def conditional(hp):
        with hp.conditional_scope("x", [0]):
            hp.Int("only_at_0", 1, 3)

    def declare_in_fit(hp):
        hp.Boolean("shuffle")
        return 1.0

    tuner = random_search(tmp_path / "dynamic", Returns(declare_in_fit, extra=conditional),
                          max_trials=2)
    assert {"x", "only_at_0"} <= {p.name for p in tuner.oracle.get_space().space}
    tuner.search()
    assert "shuffle" in {p.name for p in tuner.oracle.get_space().space}


class IdleAtFirst(RandomOracle):
    """Says IDLE to the first `idle` requests, then hands out trials."""

    idle = 1
    asked = 0

    def populate_space(self, trial_id):
        self.asked += 1
        if self.asked <= self.idle:
            return {"status": "IDLE", "values": None}
        return super().populate_space(trial_id)


def test_an_idle_answer_makes_the_tuner_ask_again(tmp_path):
    oracle = IdleAtFirst(objective=kt.Objective("score", "max"), max_trials=2)
    tuner = EpochTuner(oracle, Returns(lambda hp: 1.0), directory=str(tmp_path),
                       tensorboard=False)
    tuner.WAIT_SECONDS = 0.01
    tuner.search()
    assert oracle.asked >= 3 and len(oracle.trials) == 2


def test_a_tuner_told_idle_waits_briefly_then_longer(tmp_path, monkeypatch):
    waits = []
    monkeypatch.setattr(tuners_module, "time",
                        types.SimpleNamespace(sleep=waits.append, monotonic=time.monotonic))
    oracle = IdleAtFirst(objective=kt.Objective("score", "max"), max_trials=2)
    oracle.idle = 7
    tuner = EpochTuner(oracle, Returns(lambda hp: 1.0), directory=str(tmp_path),
                       tensorboard=False)
    tuner.search()
    # 0.02 s, doubling up to 0.5 s while the answer stays IDLE; none once trials come
    assert waits == pytest.approx([0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5])
    assert len(oracle.trials) == 2


def test_the_grid_covers_every_combination_once_then_stops(tmp_path):
    def extra(hp):
        hp.Boolean("flag")
        hp.Choice("kind", ["a", "b", "c"])
        hp.Fixed("constant", 7)

    seen = []
    tuner = tfweek3.GridSearch(Returns(lambda hp: seen.append(dict(hp.values)) or 1.0,
                                       extra=extra, points=3),
                               objective=kt.Objective("score", "max"), directory=str(tmp_path),
                               tensorboard=False)
    tuner.search()
    combos = {(v["x"], v["flag"], v["kind"]) for v in seen}
    assert len(seen) == len(combos) == 3 * 2 * 3
    assert tuner.oracle.create_trial("late").status == "STOPPED"


# --- 21-30: the tuner: construction, callbacks, compile, results, folder, quiet ---------------------

def test_construction_checks(tmp_path):
    with pytest.raises(ValueError, match="Expected `oracle` argument to be an instance of"):
        EpochTuner("invalid", Returns(lambda hp: 1.0))
    with pytest.raises(ValueError, match="Received `hypermodel=None`"):
        tfweek3.RandomSearch(None, objective="val_loss", directory=str(tmp_path))
    with pytest.raises(ValueError, match="Unrecognized arguments"):
        tfweek3.RandomSearch(Returns(lambda hp: 1.0), objective="val_loss",
                             directory=str(tmp_path), unrecognized=3)


def test_callbacks_are_copied_for_each_execution_before_the_tuners_own(tmp_path):
    seen = []

    class Marker(keras.callbacks.Callback):
        pass

    def check(model, kwargs):
        seen.append(kwargs["callbacks"])

    tuner = random_search(tmp_path, Returns(lambda hp: 1.0, check=check), max_trials=2,
                          executions_per_trial=2)
    marker = Marker()
    tuner.search(callbacks=[marker])
    firsts = [callbacks[0] for callbacks in seen]
    assert len(seen) == 4 and all(isinstance(c, Marker) for c in firsts)
    assert len({id(c) for c in firsts}) == 4 and marker not in firsts
    with pytest.raises(kt.errors.FatalValueError, match="should be deep-copyable"):
        random_search(tmp_path / "x", Returns(lambda hp: 1.0)).search(callbacks=[kt])


def test_the_tuners_compile_arguments_override_the_models(tmp_path):
    seen = []

    def check(model, kwargs):
        seen.append((type(model.optimizer).__name__, model.loss))

    tuner = random_search(tmp_path, Returns(lambda hp: 1.0, check=check), max_trials=2,
                          optimizer=keras.optimizers.RMSprop(0.01), loss="mae")
    tuner.search()
    assert seen == [("RMSprop", "mae")] * 2


def test_overwrite_starts_afresh_and_remaining_trials_counts_down(tmp_path):
    tuner = random_search(tmp_path, Returns(lambda hp: 1.0), max_trials=5)
    assert tuner.remaining_trials == 5
    tuner.search()
    assert len(tuner.oracle.trials) == 5 and tuner.remaining_trials == 0
    again = random_search(tmp_path, Returns(lambda hp: 1.0), max_trials=5, overwrite=True)
    assert len(again.oracle.trials) == 0


def test_verbose_zero_prints_nothing(tmp_path, capsys):
    (x, y) = (np.zeros((8, 1)), np.zeros((8, 1)))

    def build(hp):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1)), loss="mse")
        return model

    tfweek3.RandomSearch(build, objective="val_loss", max_trials=2, directory=str(tmp_path),
                         tensorboard=False).search(x, y, validation_data=(x, y), epochs=1,
                                                   verbose=0)
    assert capsys.readouterr().out == ""
