"""tfweek3.PopulationBasedTraining on models of your own, checked by value: what a generation
starts from (its parent's last weights and optimizer state, its own learning rate, momentum and
beta_1), what may be perturbed, where explore keeps the values, and what get_best_models returns.

The models are small and train on digits (8x8x1 images, integer labels) for a few epochs. A
subclass of the tuner keeps, for the tests, the state of every model after each epoch and right
after `start_from` loaded its parent (before it trains)."""

from __future__ import annotations

import math
import random

import keras
import keras_tuner as kt
import numpy as np
import pytest

import tfweek3
from tfweek3.training.data import load_dataset
from tfweek3.tuning.pbt import GENERATION, MEMBER, PARENT, explore

DATA = load_dataset("digits", layout="images", seed=0)
X, Y = DATA.x_train[:512], DATA.y_train[:512]
VALIDATION = (DATA.x_val[:128], DATA.y_val[:128])
BATCH = 64
STEPS = math.ceil(len(X) / BATCH)  # optimizer steps per epoch


def state_of(model: keras.Model) -> dict:
    """The model's weights and its optimizer's state, as NumPy values."""
    optimizer = model.optimizer
    slots = {v.path: v.numpy() for v in optimizer.variables
             if not v.path.endswith(("/iteration", "/learning_rate"))}
    return {"weights": model.get_weights(), "slots": slots,
            "iterations": int(optimizer.iterations.numpy()),
            "learning_rate": float(optimizer.learning_rate.numpy()),
            "config": optimizer.get_config()}


class Watched(tfweek3.PopulationBasedTraining):
    """PopulationBasedTraining keeping every model's state after each epoch (`after_epoch`, by
    trial id and epoch from 1) and once its parent is loaded (`started`, by trial id)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.after_epoch: dict[tuple[str, int], dict] = {}
        self.started: dict[str, dict] = {}

    def start_from(self, trial, model):
        super().start_from(trial, model)
        self.started[trial.trial_id] = state_of(model)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        super().on_epoch_end(trial, model, epoch, logs)
        self.after_epoch[trial.trial_id, epoch + 1] = state_of(model)


class Countdown(keras.callbacks.Callback):
    """Reports `countdown` = -epoch: a score that gets worse every epoch, so that a generation's
    best epoch is its first (not its last) and all members tie (the lower member ranks first)."""

    def on_epoch_end(self, epoch, logs=None):
        logs["countdown"] = -float(epoch)


def compile_for_digits(model: keras.Model, optimizer) -> keras.Model:
    # (No XLA: on models this small compiling it costs more than it saves.)
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=False)
    return model


def mlp(units: int = 16, dropout: float = 0.0) -> keras.Model:
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(units, activation="relu"),
                             keras.layers.Dropout(dropout), keras.layers.Dense(10)])


def build_adam(hp):
    """Adam whose learning rate and beta_1 are searched."""
    optimizer = keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-1, sampling="log"),
                                      beta_1=hp.Float("beta_1", 0.5, 0.95))
    return compile_for_digits(mlp(), optimizer)


def build_sgd(hp):
    """SGD whose learning rate and momentum are searched."""
    optimizer = keras.optimizers.SGD(hp.Float("learning_rate", 1e-3, 1e-1, sampling="log"),
                                     momentum=hp.Float("momentum", 0.5, 0.95))
    return compile_for_digits(mlp(), optimizer)


def search(build, folder, objective, callbacks=(), population=2, epochs=4, ready_epochs=2,
           **kwargs) -> Watched:
    tuner = Watched(build, objective=objective, population=population, epochs=epochs,
                    ready_epochs=ready_epochs, resample_probability=0.0, seed=1,
                    directory=str(folder), project_name="pbt", tensorboard=False,
                    write_results=False, **kwargs)
    tuner.search(X, Y, validation_data=VALIDATION, batch_size=BATCH, callbacks=list(callbacks),
                 verbose=0)
    return tuner


def values_of(tuner) -> dict[str, dict]:
    return {t.trial_id: t.hyperparameters.values for t in tuner.oracle.trials.values()}


@pytest.fixture(scope="module", params=[("adam", "beta_1"), ("sgd", "momentum")],
                ids=["adam-beta_1", "sgd-momentum"])
def countdown_search(request, tmp_path_factory):
    """Two members, two generations of two epochs; member 2 copies member 1 (a tie: the lower
    member ranks first). Returns (tuner, the optimizer's searched setting)."""
    optimizer, setting = request.param
    build = build_adam if optimizer == "adam" else build_sgd
    tuner = search(build, tmp_path_factory.mktemp(optimizer), kt.Objective("countdown", "max"),
                   callbacks=[Countdown()])
    return tuner, setting


def test_the_optimizer_settings_are_found_and_perturbed(countdown_search):
    tuner, setting = countdown_search
    assert tuner.oracle.perturb == ["learning_rate", setting]
    assert len(tuner.oracle.trials) == 4 and all(t.status == "COMPLETED"
                                                 for t in tuner.oracle.trials.values())


def test_a_generation_starts_from_its_parents_last_weights_not_its_best(countdown_search):
    tuner, _ = countdown_search
    later = {tid: v for tid, v in values_of(tuner).items() if v[GENERATION] == 2}
    assert len(later) == 2
    for trial_id, values in later.items():
        child = tuner.started[trial_id]
        last, best = (tuner.after_epoch[values[PARENT], epoch] for epoch in (2, 1))
        assert len(child["weights"]) == len(last["weights"])
        for mine, parents in zip(child["weights"], last["weights"]):
            np.testing.assert_array_equal(mine, parents)
        # The parent's best epoch (its first, by the countdown) had other weights: the copy
        # took the last ones, which is what the next generation continues from.
        assert any(not np.array_equal(mine, b) for mine, b in zip(child["weights"],
                                                                   best["weights"]))


def test_a_generation_starts_from_its_parents_optimizer_state(countdown_search):
    tuner, _ = countdown_search
    for trial_id, values in values_of(tuner).items():
        if values[GENERATION] != 2:
            continue
        child, parent = tuner.started[trial_id], tuner.after_epoch[values[PARENT], 2]
        # Not restarted at 0 (loaded into an unbuilt optimizer, Keras would skip them).
        assert child["iterations"] == parent["iterations"] == 2 * STEPS
        assert child["slots"].keys() == parent["slots"].keys() and child["slots"]
        for path, value in parent["slots"].items():  # Adam's moments, SGD's velocity
            np.testing.assert_array_equal(child["slots"][path], value, err_msg=path)
        assert any(np.any(value != 0) for value in child["slots"].values())
        # ...and it trains on from there: the count goes on over the member's life.
        assert tuner.after_epoch[trial_id, 4]["iterations"] == 4 * STEPS


def test_a_copy_trains_with_its_own_mutated_learning_rate_and_momentum(countdown_search):
    tuner, setting = countdown_search
    values = values_of(tuner)
    (copier,) = [tid for tid, v in values.items()
                 if v[GENERATION] == 2 and values[v[PARENT]][MEMBER] != v[MEMBER]]
    mine, parents = values[copier], values[values[copier][PARENT]]
    assert (mine[MEMBER], parents[MEMBER]) == (2, 1)  # the tie: member 2 copies member 1
    started, parent_state = tuner.started[copier], tuner.after_epoch[mine[PARENT], 2]
    for name, low, high in (("learning_rate", 1e-3, 1e-1), (setting, 0.5, 0.95)):
        assert mine[name] in (pytest.approx(min(high, parents[name] * 1.25)),
                              pytest.approx(max(low, parents[name] * 0.8)))
        assert mine[name] != pytest.approx(parents[name])
    # The learning rate is the copy's own, not the one that came with the parent's optimizer.
    assert started["learning_rate"] == pytest.approx(mine["learning_rate"], rel=1e-6)
    assert parent_state["learning_rate"] == pytest.approx(parents["learning_rate"], rel=1e-6)
    assert started["learning_rate"] != pytest.approx(parent_state["learning_rate"], rel=1e-3)
    # Momentum and beta_1 are the compiled optimizer's: the copy's model has the mutated one.
    assert started["config"][setting] == pytest.approx(mine[setting])
    assert parent_state["config"][setting] == pytest.approx(parents[setting])
    assert tuner.after_epoch[copier, 4]["config"][setting] == pytest.approx(mine[setting])
    # A member that went on keeps its own values.
    for tid, v in values.items():
        if v[GENERATION] == 2 and tid != copier:
            assert {k: v[k] for k in ("learning_rate", setting)} == \
                {k: values[v[PARENT]][k] for k in ("learning_rate", setting)}
            assert tuner.started[tid]["learning_rate"] == pytest.approx(v["learning_rate"],
                                                                        rel=1e-6)


def test_get_best_models_is_the_last_generations_best_member(countdown_search):
    # By the countdown every generation-1 trial scores better than any generation-2 trial: the
    # best member at the end is still one of the last generation (member 1, ranked first).
    tuner, _ = countdown_search
    values = values_of(tuner)
    (winner,) = [tid for tid, v in values.items() if v[GENERATION] == 2 and v[MEMBER] == 1]
    assert tuner.get_best_hyperparameters(1)[0].values == values[winner]
    best = tuner.get_best_models(1)[0]
    for mine, winners in zip(best.get_weights(), tuner.after_epoch[winner, 4]["weights"]):
        np.testing.assert_array_equal(mine, winners)


# --- what may be perturbed -----------------------------------------------------------------

def build_four(hp):
    """Declares a learning rate, a momentum, hidden units and a dropout rate."""
    optimizer = keras.optimizers.SGD(hp.Float("learning_rate", 1e-3, 1e-1, sampling="log"),
                                     momentum=hp.Float("momentum", 0.5, 0.95))
    model = mlp(hp.Int("units", 8, 32, step=8), hp.Float("dropout", 0.0, 0.5))
    return compile_for_digits(model, optimizer)


class SubclassedMLP(keras.Model):
    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(10)

    def call(self, x):
        return self.out(self.hidden(self.flatten(x)))


def build_subclassed(hp):
    optimizer = keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-2, sampling="log"))
    return compile_for_digits(SubclassedMLP(hp.Int("units", 8, 32, step=8)), optimizer)


def tuner_of(build, folder, perturb=None):
    return tfweek3.PopulationBasedTraining(build, objective="val_accuracy", population=2,
                                           epochs=2, ready_epochs=1, perturb=perturb, seed=1,
                                           directory=str(folder), project_name="pbt",
                                           tensorboard=False, write_results=False)


def test_perturb_none_finds_what_sets_the_optimizers_learning_rate_and_momentum(tmp_path):
    assert tuner_of(build_four, tmp_path).mutable_hyperparameters() == ["learning_rate",
                                                                         "momentum"]
    # A rate that keeps the weights' shapes may be asked for.
    assert tuner_of(build_four, tmp_path / "b", ["dropout", "learning_rate"]) \
        .mutable_hyperparameters() == ["dropout", "learning_rate"]


def test_a_hyperparameter_that_changes_the_weights_shapes_is_refused(tmp_path):
    tuner = tuner_of(build_four, tmp_path, perturb=["units"])
    with pytest.raises(ValueError, match=r"^perturb: 'units' changes the model's weights; a "
                       "member copies its parent's weights"):
        tuner.search(X, Y, validation_data=VALIDATION, verbose=0)
    assert tuner.oracle.trials == {}  # refused before anything trained


def test_a_name_the_model_does_not_declare_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^perturb: 'width' is not a hyperparameter the model "
                       r"declares \(it declares learning_rate, momentum, units, dropout\)"):
        tuner_of(build_four, tmp_path, perturb=["width"]).mutable_hyperparameters()


def test_a_model_without_a_searched_optimizer_setting_must_name_what_to_perturb(tmp_path):
    def build(hp):
        return compile_for_digits(mlp(hp.Int("units", 8, 32, step=8),
                                      hp.Float("dropout", 0.0, 0.5)), "adam")

    with pytest.raises(ValueError, match=r"no hyperparameter sets the optimizer's learning rate, "
                       r"momentum or beta_1; name the ones to perturb with perturb=\[\.\.\.\]"):
        tuner_of(build, tmp_path).mutable_hyperparameters()


def test_a_shape_changing_hyperparameter_of_a_subclassed_model_is_refused(tmp_path):
    # A subclassed model has no weights until it is called: search() gives the check one
    # example of its x to build it with.
    with pytest.raises(ValueError, match="perturb: 'units' changes the model's weights"):
        tuner_of(build_subclassed, tmp_path, perturb=["units"]).mutable_hyperparameters(
            DATA.x_train[:1])


# --- where explore keeps the values ------------------------------------------------------------

def declared_space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Float("log_rate", 1e-4, 1e-1, sampling="log")
    hp.Float("momentum", 0.5, 0.99)
    hp.Int("layers", 1, 6)
    hp.Int("units", 8, 64, step=8)
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Float("grid_rate", 1e-4, 1e-1, step=10, sampling="log")
    return hp


STEPPED = ("units", "dropout", "grid_rate")


def test_mutated_values_stay_in_the_declared_range_and_on_the_grid():
    space = declared_space()
    declared = {hp.name: hp for hp in space.space}
    names = list(declared)
    # From each end and from the middle of every range, with resampling, many times.
    starts = [{n: declared[n].get_config()[end] for n in names}
              for end in ("min_value", "max_value")]
    starts.append({"log_rate": 0.003, "momentum": 0.9, "layers": 3, "units": 32,
                   "dropout": 0.2, "grid_rate": 0.01})
    for start in starts:
        for seed in range(300):
            moved = explore(start, space, names, random.Random(seed), 1.25, 0.2)
            for name, value in moved.items():
                config = declared[name].get_config()
                assert config["min_value"] <= value <= config["max_value"], (name, value)
                if type(declared[name]).__name__ == "Int":
                    assert isinstance(value, int), (name, value)
                if name in STEPPED:
                    assert value in [pytest.approx(v) for v in declared[name].values], \
                        (name, value)
    # Without resampling an unstepped value is exactly its parent's times 1.25 or 0.8 (or the
    # range's end it was clipped to).
    for seed in range(50):
        moved = explore(starts[2], space, ["log_rate", "momentum"], random.Random(seed), 1.25,
                        0.0)
        assert moved["log_rate"] in (pytest.approx(0.003 * 1.25), pytest.approx(0.003 * 0.8))
        assert moved["momentum"] in (pytest.approx(0.99), pytest.approx(0.9 * 0.8))


@pytest.mark.parametrize(("name", "start"), [("layers", 3), ("units", 16), ("dropout", 0.3)])
def test_a_stepped_value_moves_up_as_often_as_down(name, start):
    moved = [explore({name: start}, declared_space(), [name], random.Random(seed), 1.25,
                     0.0)[name] for seed in range(400)]
    up = sum(value > start + 1e-9 for value in moved) / len(moved)
    down = sum(value < start - 1e-9 for value in moved) / len(moved)
    assert up == pytest.approx(down, abs=0.1) and up > 0.3


# --- three kinds of models, and get_best_models --------------------------------------------------

def build_sequential(hp):
    return compile_for_digits(mlp(hp.Int("units", 16, 32, step=16)), keras.optimizers.Adam(
        hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")))


def build_functional(hp):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(hp.Choice("filters", [4, 8]), 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    return compile_for_digits(model, keras.optimizers.SGD(
        hp.Float("learning_rate", 1e-2, 1e-1, sampling="log"),
        momentum=hp.Float("momentum", 0.8, 0.95)))


@pytest.mark.parametrize(("build", "perturbed"), [
    pytest.param(build_sequential, ["learning_rate"], id="sequential-mlp"),
    pytest.param(build_functional, ["learning_rate", "momentum"], id="functional-convnet"),
    pytest.param(build_subclassed, ["learning_rate"], id="subclassed-model")])
def test_each_kind_of_model_runs_and_get_best_models_has_the_best_members_last_weights(
        tmp_path, build, perturbed):
    tuner = search(build, tmp_path, kt.Objective("val_loss", "min"), population=2, epochs=2,
                   ready_epochs=1)
    assert tuner.oracle.perturb == perturbed
    values = values_of(tuner)
    assert sorted((v[MEMBER], v[GENERATION]) for v in values.values()) == [
        (1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    winner = tuner.results().best
    assert winner["generation"] == 2
    # (Each generation lowers the validation loss here, so the last generation's best is also
    # the best score of the search: what KerasTuner's get_best_trials returns.)
    assert winner["score"] == min(t.score for t in tuner.oracle.trials.values())
    best = tuner.get_best_models(1)[0]
    last = tuner.after_epoch[winner["trial_id"], 2]["weights"]
    assert len(best.get_weights()) == len(last)
    for mine, winners in zip(best.get_weights(), last):
        np.testing.assert_array_equal(mine, winners)
    # The model predicts as the winner did after its last epoch.
    loss = best.evaluate(*VALIDATION, batch_size=BATCH, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(winner["score"], rel=1e-4)
    assert tuner.get_best_hyperparameters(1)[0].values == values[winner["trial_id"]]
