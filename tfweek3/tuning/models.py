"""A trial's model: built as KerasTuner's own tuners build it, kept, and loaded back.

`build` is what KerasTuner's Tuner does before a trial trains (a cleared
session, the hypermodel's build, the tuner's compile overrides, the
`max_model_size` check), with one addition: with the tuner's `seed`, every
trial's initial weights are drawn after keras.utils.set_random_seed(seed), so
that trials differ by their hyperparameters only. `load` is what
get_best_models calls: the trial's model with the weights its trial kept
(reports.SaveBestEpoch), at the paths KerasTuner's own tuners use.
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings

import keras
import keras_tuner as kt

from tfweek3.tuning import storage
from tfweek3.tuning.keras_internals import keep_saving_skipsets


def checkpoint_path(tuner, trial_id: str) -> str:
    """The trial's kept weights: its best epoch's (PBT: its last), with the optimizer's state."""
    return storage.join(tuner.get_trial_dir(trial_id), "checkpoint.weights.h5")


def load_checkpoint(tuner, trial_id: str, model: keras.Model) -> None:
    """Load trial `trial_id`'s kept weights (and optimizer state) into `model`."""
    keep_saving_skipsets()
    model.load_weights(checkpoint_path(tuner, trial_id))


def build_config_path(tuner, trial_id: str) -> str:
    """The trial's model's build config (how to build a subclassed model before loading it)."""
    return storage.join(tuner.get_trial_dir(trial_id), "build_config.json")


def build(tuner, hp, for_trial: bool = False) -> keras.Model:
    """The model of the hyperparameters `hp`.

    for_trial: the model a trial trains. A hypermodel with a method
    `build_for_trial(hp)` is asked with it instead of `build`, and may give back
    a model it keeps from an earlier trial, reset (the course network keeps one
    per architecture, compiled once). Keras's session is then left as it is
    (its models are still in use), and the hypermodel draws its own initial
    weights: keras.utils.set_random_seed also empties TensorFlow's caches of
    compiled kernels, which a kept model would rebuild at its next call (about
    0.2 s for the course network, more than ten of its epochs on digits).
    """
    keep = for_trial and hasattr(tuner.hypermodel, "build_for_trial")
    if not keep:
        keras.backend.clear_session(free_memory=tuner.free_memory)  # (gc.collect() with it)
        if tuner.seed is not None:
            keras.utils.set_random_seed(tuner.seed)
    with distributed(tuner):
        model = tuner.hypermodel.build_for_trial(hp) if keep else tuner.hypermodel.build(hp)
        if not isinstance(model, keras.Model):
            raise kt.errors.FatalTypeError(
                "Expected the model-building function, or HyperModel.build() to return a valid "
                f"Keras Model instance. Received: {model} of type {type(model)}.")
        override_compile(tuner, model)
    size = sum(math.prod(w.shape) for w in model.trainable_weights) if model.built else 0
    if tuner.max_model_size and size > tuner.max_model_size:
        raise kt.errors.FailedTrialError(f"Oversized model: {size} parameters. Skip model.")
    return model


def keep_build_config(tuner, trial_id: str, model: keras.Model) -> None:
    """Write how the trained model was built (a subclassed model is built by its first call)."""
    storage.write_text(build_config_path(tuner, trial_id), json.dumps(model.get_build_config()))


def rebuild(tuner, trial_id: str, model: keras.Model) -> None:
    """Build a model that is not built yet as trial `trial_id`'s was when it trained.

    Keras's build_from_config creates a subclassed model's weights without
    marking it built; one call on zeros of the recorded input shape does both.
    """
    if model.built:
        return
    config = storage.read_json(build_config_path(tuner, trial_id))
    if not config:
        return
    model.build_from_config(config)
    shape = config.get("input_shape")
    if not model.built and isinstance(shape, (list, tuple)) and all(
            isinstance(n, int) or n is None for n in shape):
        model(keras.ops.zeros([1, *[n or 1 for n in shape[1:]]]))


def override_compile(tuner, model: keras.Model) -> None:
    """Recompile with the tuner's optimizer, loss or metrics, where it was given them."""
    if not (tuner.optimizer or tuner.loss or tuner.metrics):
        return
    kwargs = {"optimizer": model.optimizer, "loss": model.loss,
              "metrics": [m for m in model.metrics if m.name not in ("loss", "compile_metric")]}
    if tuner.loss:
        kwargs["loss"] = tuner.loss
    if tuner.optimizer:
        kwargs["optimizer"] = (tuner.optimizer if isinstance(tuner.optimizer, str) else
                               keras.optimizers.deserialize(
                                   keras.optimizers.serialize(tuner.optimizer)))
    if tuner.metrics:
        kwargs["metrics"] = tuner.metrics
    model.compile(**kwargs)


def distributed(tuner):
    """The tuner's tf.distribute strategy's scope, or nothing."""
    strategy = tuner.distribution_strategy
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def load(tuner, trial) -> keras.Model:
    """The trial's model with the weights it kept (what get_best_models returns)."""
    model = build(tuner, trial.hyperparameters)
    rebuild(tuner, trial.trial_id, model)
    with warnings.catch_warnings(), distributed(tuner):
        # The file holds the optimizer's state too, which a model that is not training skips.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        load_checkpoint(tuner, trial.trial_id, model)
    return model
