"""Population-based training for any model written the KerasTuner way (the oracle is pbt.py).

    tuner = tfweek3.PopulationBasedTraining(build_model, objective="val_accuracy",
                                            population=8, epochs=20, ready_epochs=2,
                                            directory="runs/pbt")
    tuner.search(x, y, validation_data=(x_val, y_val))

A trial trains one member for one generation of `ready_epochs` epochs:

1. it builds the member's model from its hyperparameters (a copy's mutated
   values included), compiled by the user's build(hp);
2. unless this is generation 1, it loads the parent trial's last checkpoint:
   the weights and the optimizer's state (moments, iteration count), after
   building the optimizer (Keras skips an unbuilt optimizer's variables with
   only a warning: Adam's moments and `iterations` would restart at 0), then
   puts the member's own learning rate back (the parent's came with the
   optimizer's variables);
3. it trains with the model's own fit from the parent's last epoch on
   (`initial_epoch`), epochs numbered over the member's whole life;
4. it keeps its weights and optimizer state after its last epoch, not its
   best: the next generation continues from there.

What can change mid-training in Keras 3, and how. The learning rate is a
variable of the optimizer (keras.optimizers.Optimizer.learning_rate): assigning
it takes effect at the next step, with nothing retraced (not with a
LearningRateSchedule: then the schedule itself is rebuilt). Momentum (SGD),
beta_1 and beta_2 (Adam), rho (RMSprop), weight decay, a Dropout rate are
Python floats read when the train step is traced: a change needs a new model
(or `model.make_train_function(force=True)`). Every generation builds a new
model from the member's values, so all of these may be perturbed; what cannot
change is anything that changes the weights' shapes (units, filters, layers):
a member must fit its parent's weights. By default `perturb` holds the
hyperparameters that set the optimizer's learning rate, momentum or beta_1,
found by building the model with each numeric hyperparameter moved and
watching the optimizer's settings; name others with perturb=[...].

A member's score is the objective after its last epoch (how good it is now),
and get_best_models gives the best members' weights after their last epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import keras_tuner as kt

from tfweek3.tuning import models, storage
from tfweek3.tuning.figures import write_figures
from tfweek3.tuning.pbt import GENERATION, MEMBER, PARENT, PBTOracle
from tfweek3.tuning.pbt_results import (
    final_ranking,
    generation_line,
    write_population_figure,
)
from tfweek3.tuning.population import Population, generation_epochs
from tfweek3.tuning.results import record_from_state, write_tables
from tfweek3.tuning.roles import distributed_role
from tfweek3.tuning.tuners import EpochTuner

OPTIMIZER_SETTINGS = ("learning_rate", "momentum", "beta_1")


class PopulationBasedTraining(EpochTuner):
    """PBT over a user's hypermodel; see the module's docstring.

    population, epochs (each member's, in all), ready_epochs, exploit_quantile,
    perturb_factor, resample_probability: pbt.Population; perturb: the names
    of the hyperparameters a copy perturbs (None: those that set the
    optimizer's learning rate, momentum or beta_1). The other arguments are
    KerasTuner's RandomSearch's (but max_trials: population x generations).
    """

    score_last_epoch = True
    # A generation is short: no full garbage collection before each (0.4 to 0.7 s a trial here);
    # Python's own collector frees the previous generations' models as it goes.
    free_memory = False
    # No importance: a member's score owes as much to the weights it copied and the generation it
    # reached as to its hyperparameters, which the forest would take for their effect.
    importance = False

    def __init__(self, hypermodel=None, objective=None, population: int = 8, epochs: int = 10,
                 ready_epochs: int = 2, exploit_quantile: float = 0.25,
                 perturb_factor: float = 1.25, resample_probability: float = 0.2,
                 perturb: Sequence[str] | None = None, seed: int | None = None,
                 hyperparameters=None, tune_new_entries: bool = True,
                 allow_new_entries: bool = True, max_retries_per_trial: int = 0,
                 max_consecutive_failed_trials: int = 3, **kwargs):
        if kwargs.get("executions_per_trial", 1) != 1:
            raise ValueError("executions_per_trial: a PBT member trains once per generation")
        self.settings = Population(population, epochs, ready_epochs, exploit_quantile,
                                   perturb_factor, resample_probability, seed or 0).validate()
        self.perturb_asked = None if perturb is None else list(perturb)
        self._sample = None
        oracle = PBTOracle(self.settings, objective=objective, hyperparameters=hyperparameters,
                           tune_new_entries=tune_new_entries, allow_new_entries=allow_new_entries,
                           max_retries_per_trial=max_retries_per_trial,
                           max_consecutive_failed_trials=max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, seed=seed, **kwargs)

    def search(self, *fit_args, **fit_kwargs):
        """Train the population; `epochs` is the tuner's (each generation sets its own range)."""
        fit_kwargs["epochs"] = self.settings.epochs
        if distributed_role() != "worker":
            x = fit_args[0] if fit_args else fit_kwargs.get("x")
            sample = x[:1] if hasattr(x, "shape") and hasattr(x, "__getitem__") else None
            self.oracle.perturb = self.mutable_hyperparameters(sample)
        super().search(*fit_args, **fit_kwargs)

    def mutable_hyperparameters(self, sample=None) -> list[str]:
        """The names a copy perturbs: those asked for, checked to keep the weights' shapes, or
        those that set the optimizer's learning rate, momentum or beta_1. `sample`, one input
        example, builds a model that its build(hp) leaves unbuilt (a subclassed model)."""
        space = self.oracle.get_space()
        declared = {hp.name: hp for hp in space.space}
        self._sample = sample
        base = self._probe(space, {})
        if self.perturb_asked is not None:
            for name in self.perturb_asked:
                if name not in declared or type(declared[name]).__name__ == "Fixed":
                    raise ValueError(f"perturb: {name!r} is not a hyperparameter the model "
                                     f"declares (it declares {', '.join(declared)})")
                for value in _other_values(declared[name]):
                    moved = self._probe(space, {name: value})
                    if moved["shapes"] != base["shapes"]:
                        raise ValueError(
                            f"perturb: {name!r} changes the model's weights; a member copies "
                            "its parent's weights, so only hyperparameters that keep their "
                            "shapes (a learning rate, a momentum, a dropout rate) may change")
            return list(self.perturb_asked)
        numeric = {name: hp for name, hp in declared.items()
                   if type(hp).__name__ in ("Float", "Int")
                   or (type(hp).__name__ == "Choice" and hp.get_config().get("ordered"))}
        found = [name for name, hp in numeric.items()
                 if any(self._probe(space, {name: v})["settings"] != base["settings"]
                        for v in _other_values(hp))]
        if not found:
            raise ValueError("perturb: no hyperparameter sets the optimizer's learning rate, "
                             "momentum or beta_1; name the ones to perturb with perturb=[...]")
        return found

    def _probe(self, space, changes: dict[str, Any]) -> dict[str, Any]:
        hp = space.copy()
        hp.values.update(changes)
        keras.backend.clear_session()
        model = self.hypermodel.build(hp)
        if not model.built and self._sample is not None:
            model(self._sample)  # a subclassed model: its weights exist once it is called
        config = model.optimizer.get_config() if model.optimizer is not None else {}
        return {"settings": {k: str(config.get(k)) for k in OPTIMIZER_SETTINGS},
                "shapes": [tuple(w.shape) for w in model.weights] if model.built else None}

    # --- one member's generation ---------------------------------------------------------------

    def fit_arguments(self, trial, kwargs: dict[str, Any]) -> dict[str, Any]:
        first, last = generation_epochs(trial.hyperparameters.values[GENERATION],
                                        self.settings.ready_epochs, self.settings.epochs)
        return {**kwargs, "epochs": last, "initial_epoch": first - 1}

    def start_from(self, trial, model: keras.Model) -> None:
        """Load the parent's last weights and optimizer state, keeping the member's learning rate."""
        parent = trial.hyperparameters.values.get(PARENT)
        if not parent:
            return
        optimizer = model.optimizer
        if optimizer is None:
            raise ValueError("PBT copies a parent's optimizer state: build(hp) must return a "
                             "compiled model")
        models.rebuild(self, parent, model)
        optimizer.build(model.trainable_variables)
        own_rate = optimizer.get_config()["learning_rate"]  # the member's (a dict: a schedule)
        try:
            models.load_checkpoint(self, parent, model)
        except ValueError as error:
            if "could not be loaded" not in str(error) and "shape" not in str(error):
                raise
            raise kt.errors.FatalValueError(
                f"perturb: a copy of trial {parent} cannot take its weights: a perturbed "
                f"hyperparameter changes the model's weights ({error})") from None
        if not isinstance(own_rate, dict):
            optimizer.learning_rate = own_rate

    def starting_model(self, trial) -> keras.Model | None:
        """A member trained together starts from its parent's model, as start_from leaves it
        (a network the hypermodel may keep for the next trial: copy it before asking again)."""
        if not trial.hyperparameters.values.get(PARENT):
            return None
        model = models.build(self, trial.hyperparameters, for_trial=True)
        self.start_from(trial, model)
        return model

    def log_dir(self, trial) -> str:
        """One TensorBoard run per member: its whole life, copies included."""
        return storage.join(self.directory, "tensorboard", self.project_name,
                            f"member_{trial.hyperparameters.values[MEMBER]}")

    def trial_line(self, trial) -> str:
        direction = self.oracle.objective.direction
        ended = record_from_state(self.oracle.get_trial(trial.trial_id).get_state(), direction,
                                  self.project_dir)
        parent = trial.hyperparameters.values.get(PARENT)
        parent_record = (record_from_state(self.oracle.get_trial(parent).get_state(), direction)
                         if parent else None)
        return generation_line(ended, parent_record, self.settings, self.oracle.objective.name,
                               self.describe)

    def results(self, write: bool = False):
        """The search's records; the winner is the best member after its last epoch. With
        `write`, every search's files and schedules.png."""
        result = super().results(write=False)
        ranked = final_ranking(result.records, result.direction)
        result.best = ranked[0] if ranked and ranked[0]["status"] == "completed" else None
        result.strategy = "pbt"
        if write:
            write_tables(result)
            write_figures(result)
            write_population_figure(result, self.settings, getattr(self.oracle, "perturb", []))
        return result


def _other_values(hp) -> list[Any]:
    """Values of a declared hyperparameter other than its default: its ends, or its choices."""
    config, kind = hp.get_config(), type(hp).__name__
    if kind in ("Float", "Int"):
        return [v for v in (config["min_value"], config["max_value"]) if v != hp.default]
    if kind == "Choice":
        return [v for v in config["values"] if v != hp.default]
    if kind == "Boolean":
        return [not hp.default]
    return []
