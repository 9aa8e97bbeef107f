"""tfweek3's tuners on models written the plain KerasTuner way: a Sequential MLP, a Functional
convnet and a subclassed keras.Model; what a search leaves for any hyperparameter names; median
pruning beside a user's own EarlyStopping and trials of unequal length (scripted curves, no
training); divergence; a model that does not report the objective; the same seed, the same
search."""

import csv
import json
import math

import keras
import keras_tuner as kt
import numpy as np
import pytest
from helpers_models import HYPERMODELS, digits, functional_convnet, sequential_mlp
from helpers_search import hparams_written

import tfweek3
from tfweek3.tuning.outcomes import ObjectiveMissing


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def search(tuner, epochs=2, **kwargs):
    (x, y), (x_val, y_val) = digits()
    tuner.search(x, y, epochs=epochs, validation_data=(x_val, y_val), verbose=0, **kwargs)
    return tuner


@pytest.mark.parametrize("kind, tuner_class, extra", [
    ("sequential", tfweek3.RandomSearch, {"max_trials": 3}),
    ("functional", tfweek3.GridSearch, {"max_trials": 3}),
    ("subclassed", tfweek3.CoarseToFine, {"max_trials": 4, "rounds": 2, "zoom_k": 1}),
])
def test_each_kind_of_model_through_a_tuner_as_keras_tuner_users_drive_it(
        tmp_path, kind, tuner_class, extra):
    def make():
        return tuner_class(HYPERMODELS[kind], objective="val_accuracy", directory=str(tmp_path),
                           project_name="mine", seed=1, **extra)

    tuner = search(make())
    project = tmp_path / "mine"
    rows = read_csv(project / "trials.csv")
    assert len(rows) == extra["max_trials"]
    declared = [hp.name for hp in tuner.oracle.get_space().space]
    # The model's own names are the columns (1 - beta's beta beside it), in declared order.
    columns = [c for c in rows[0] if c in declared]
    assert columns == [n for n in declared if n in rows[0]] and "learning_rate" in columns
    for row in rows:
        history = json.loads((project / f"trial_{row['trial_id']}" / "trial.json").read_text())
        epochs = history["metrics"]["metrics"]["epoch/val_accuracy"]["observations"]
        assert [o["step"] for o in epochs] == [1, 2]
        assert float(row["score"]) == pytest.approx(max(o["value"][0] for o in epochs))
        assert row["status"] == "completed"

    # The best model is the best trial's best epoch: it scores what the trial was scored.
    best_row = max(rows, key=lambda r: float(r["score"]))
    (model,) = tuner.get_best_models(1)
    _, (x_val, y_val) = digits()
    assert model.evaluate(x_val, y_val, verbose=0)[1] == pytest.approx(float(best_row["score"]),
                                                                       abs=1e-6)
    best_hp = tuner.get_best_hyperparameters(1)[0].values
    assert best_hp["learning_rate"] == pytest.approx(float(best_row["learning_rate"]))
    best = json.loads((project / "best_hyperparameters.json").read_text())
    assert best["trial"] == int(best_row["trial"])
    for name in ("curves.png", "parallel.png", "scores.png"):
        assert (project / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Reloaded from its folder, as KerasTuner's tuners are: the same best, nothing trains again.
    again = make()
    assert again.oracle.get_best_trials(1)[0].trial_id == tuner.oracle.get_best_trials(1)[0].trial_id
    search(again)
    assert len(again.oracle.trials) == extra["max_trials"]
    assert again.get_best_models(1)[0].evaluate(x_val, y_val, verbose=0)[1] == pytest.approx(
        float(best_row["score"]), abs=1e-6)


def test_tensorboard_holds_each_trials_own_hyperparameters_and_curves(tmp_path):
    pytest.importorskip("tensorboard")
    import tensorflow as tf

    tuner = search(tfweek3.RandomSearch(functional_convnet, objective="val_accuracy",
                                        max_trials=2, directory=str(tmp_path), seed=2))
    for trial in tuner.oracle.trials.values():
        log_dir = tmp_path / "tensorboard" / "untitled_project" / f"trial_{trial.trial_id}"
        hparams = hparams_written(log_dir)
        values = trial.hyperparameters.values
        assert hparams["one_minus_beta"].number_value == pytest.approx(values["one_minus_beta"])
        assert hparams["filters"].number_value == values["filters"]
        steps = [e.step for e in tf.compat.v1.train.summary_iterator(
            str(next((log_dir / "validation").glob("events.*")))) if e.summary.value]
        assert sorted(set(steps)) == [1, 2]  # the curves beside them, epochs from 1


# --- pruning beside the user's own callbacks, on scripted curves -------------------------------

class ScriptedCurves(kt.HyperModel):
    """A hypermodel whose fit trains nothing: trial k reports curves[k] epoch by epoch through
    the callbacks, as Model.fit would, and stops when a callback sets model.stop_training.
    Its planned epochs may differ from trial to trial (`epochs_of`)."""

    def __init__(self, curves, epochs_of=None):
        super().__init__()
        self.curves = curves
        self.epochs_of = epochs_of or {}

    def build(self, hp):
        hp.Int("k", 0, len(self.curves) - 1)  # which curve: a grid hands them out in order
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(loss="mse")
        return model

    def fit(self, hp, model, *args, callbacks=(), epochs=1, **kwargs):
        k = hp.get("k")
        epochs = self.epochs_of.get(k, epochs)
        history = keras.callbacks.History()
        callback_list = keras.callbacks.CallbackList([*callbacks, history], model=model,
                                                     epochs=epochs)
        model.stop_training = False
        callback_list.on_train_begin()
        for epoch, value in enumerate(self.curves[k][:epochs]):
            callback_list.on_epoch_end(epoch, {"loss": 1 - value, "val_accuracy": value})
            if model.stop_training:
                break
        return history


def scripted_search(tmp_path, curves, callbacks=(), epochs_of=None, epochs=4):
    tuner = tfweek3.GridSearch(ScriptedCurves(curves, epochs_of), objective="val_accuracy",
                               max_trials=len(curves), prune="median", prune_min_trials=3,
                               prune_after=2, directory=str(tmp_path), tensorboard=False)
    tuner.search(epochs=epochs, callbacks=list(callbacks), verbose=0)
    records = {int(r["trial"]): r for r in read_csv(tmp_path / "untitled_project" / "trials.csv")}
    return [records[k + 1] for k in range(len(curves))]


GOOD = [[0.5, 0.6, 0.7, 0.8], [0.5, 0.65, 0.75, 0.8], [0.4, 0.6, 0.7, 0.75]]


def test_a_losing_trial_is_pruned_after_the_epoch_the_rule_stops_it(tmp_path):
    rows = scripted_search(tmp_path, [*GOOD, [0.3, 0.4, 0.9, 0.9]])
    assert [r["status"] for r in rows] == ["completed"] * 3 + ["pruned"]
    assert rows[3]["epochs"] == "2" and float(rows[3]["pruned_median"]) == pytest.approx(0.6)
    assert float(rows[3]["score"]) == pytest.approx(0.4)  # its best epoch before it stopped


def test_a_users_own_early_stopping_is_not_taken_for_pruning(tmp_path):
    # Trial 4 dips at epoch 3 below its epoch 2: EarlyStopping(patience=0) stops it there, where
    # the median (0.7) is above its best so far (0.62). It ended by the user's rule: completed.
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=0)
    rows = scripted_search(tmp_path, [*GOOD, [0.5, 0.62, 0.61, 0.61]], callbacks=[stop])
    assert rows[3]["status"] == "completed" and rows[3]["epochs"] == "3"
    assert float(rows[3]["score"]) == pytest.approx(0.62)


def test_a_shorter_trial_is_not_pruned_at_its_own_last_epoch(tmp_path):
    # Trial 4 plans 2 epochs, where the median of the others is 0.6 and its best 0.45: its last
    # epoch, nothing to save by stopping it. Trial 5 plans 4 and loses at epoch 2: pruned.
    rows = scripted_search(tmp_path, [*GOOD, [0.3, 0.45], [0.3, 0.45, 0.9, 0.9]],
                           epochs_of={3: 2})
    assert [r["status"] for r in rows[3:]] == ["completed", "pruned"]
    assert [r["epochs"] for r in rows[3:]] == ["2", "2"]


# --- divergence, an objective the model lacks, the same seed --------------------------------------

def test_a_diverging_trial_is_recorded_and_the_search_goes_on(tmp_path):
    def exploding(hp):  # logits, and a learning rate that sends them to infinity at once
        model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.SGD(hp.Float("learning_rate", 1e30, 1e31)),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        return model

    tuner = search(tfweek3.RandomSearch(exploding, objective="val_accuracy", max_trials=4,
                                        directory=str(tmp_path), seed=1, tensorboard=False))
    rows = read_csv(tmp_path / "untitled_project" / "trials.csv")
    assert len(rows) == 4  # 4 divergences, more than 3 in a row: not failures
    for row in rows:
        assert row["status"] == "diverged" and float(row["score"]) == 0.0
        assert row["reason"] == "loss became NaN or inf in epoch 1, training"
    assert tuner.results().best is None


def test_a_model_that_does_not_report_the_objective_stops_the_search_naming_what_it_reports(
        tmp_path):
    tuner = tfweek3.RandomSearch(sequential_mlp, objective=kt.Objective("val_auc", "max"),
                                 max_trials=3, directory=str(tmp_path), tensorboard=False)
    with pytest.raises(ObjectiveMissing, match="reports accuracy, loss, val_accuracy, val_loss "
                       "after an epoch, not the objective 'val_auc'"):
        search(tuner)
    assert len(tuner.oracle.trials) == 1  # it stopped at the first trial


def test_the_same_seed_draws_the_same_hyperparameters_and_scores(tmp_path):
    def scores(folder):
        tuner = search(tfweek3.RandomSearch(sequential_mlp, objective="val_accuracy",
                                            max_trials=3, directory=str(folder), seed=5,
                                            tensorboard=False))
        return [(t.hyperparameters.values, t.score) for t in tuner.oracle.trials.values()]

    first, second = scores(tmp_path / "a"), scores(tmp_path / "b")
    assert [v for v, _ in first] == [v for v, _ in second]
    np.testing.assert_allclose([s for _, s in first], [s for _, s in second], rtol=0, atol=1e-6)
    assert len({math.log10(v["learning_rate"]) for v, _ in first}) == 3
