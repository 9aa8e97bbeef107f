"""The week's exercises, in the course's order: what the learner writes and where it is checked.

Imports neither NumPy nor TensorFlow: `tfweek3 exercise list` and `start` read
only this module and the starter files.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Signature:
    """A function (or Keras layer class) the learner's file must define, as the grader calls it.

    params: the positional parameters the grader passes, in order. For a layer,
    the keyword arguments of its constructor; `call(inputs, training=None)` is
    checked too.
    """

    name: str
    params: tuple[str, ...]
    kind: str = "function"  # or "layer"

    def __str__(self) -> str:
        if self.kind == "layer":
            return f"class {self.name}(keras.layers.Layer) with {self.name}({', '.join(self.params)})"
        return f"{self.name}({', '.join(self.params)})"


@dataclass(frozen=True)
class Exercise:
    """One exercise: the learner's file is NAME.py and defines `writes`."""

    number: int
    name: str
    title: str
    section: str
    notebook: str
    writes: tuple[Signature, ...]
    checks_module: str
    needs_tensorflow: bool = False

    @property
    def file_name(self) -> str:
        return f"{self.name}.py"

    def starter_text(self) -> str:
        """The file `tfweek3 exercise start` writes: the signature, the formula, TODO."""
        return resources.files("tfweek3.practice.starters").joinpath(self.file_name).read_text()

    def solution_path(self) -> str:
        """The package's own solution (its tests grade it: it passes every check)."""
        return str(resources.files("tfweek3.practice.solutions").joinpath(self.file_name))


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        1, "sample_alpha",
        "sample the learning rate alpha on a log scale in [low, high]: r uniform, alpha = 10**r",
        "2. The right scale", "01_hyperparameter_search",
        (Signature("sample_alpha", ("low", "high", "size", "rng")),),
        "tfweek3.practice.checks_sampling",
    ),
    Exercise(
        2, "sample_beta",
        "sample momentum beta in [low, high] through 1 - beta on a log scale",
        "2. The right scale", "01_hyperparameter_search",
        (Signature("sample_beta", ("low", "high", "size", "rng")),),
        "tfweek3.practice.checks_sampling",
    ),
    Exercise(
        3, "batch_norm_forward",
        "batch norm of a mini-batch in NumPy: mu, sigma2, z_norm, z_tilde, and a cache",
        "4. Batch normalization", "02_batch_norm",
        (Signature("batch_norm_forward", ("z", "gamma", "beta", "epsilon")),),
        "tfweek3.practice.checks_batch_norm",
    ),
    Exercise(
        4, "batch_norm_backward",
        "batch norm backward in closed form from the cache: dz, dgamma, dbeta",
        "4. Batch normalization", "02_batch_norm",
        (Signature("batch_norm_backward", ("dz_tilde", "cache")),),
        "tfweek3.practice.checks_batch_norm",
    ),
    Exercise(
        5, "batch_norm_layer",
        "a Keras layer with the training/inference switch and moving averages",
        "4. Batch normalization (at test time)", "02_batch_norm",
        (Signature("SimpleBatchNorm", ("momentum", "epsilon"), kind="layer"),),
        "tfweek3.practice.checks_layer", needs_tensorflow=True,
    ),
    Exercise(
        6, "softmax_cost",
        "softmax and the cross-entropy cost J, stable for large logits",
        "5. Softmax regression", "03_softmax",
        (Signature("softmax", ("z",)), Signature("softmax_cost", ("z", "y"))),
        "tfweek3.practice.checks_softmax",
    ),
    Exercise(
        7, "train_step",
        "one tf.GradientTape training step of the course network",
        "6. Programming frameworks: TensorFlow", "04_tensorflow",
        (Signature("train_step", ("model", "optimizer", "x", "y")),),
        "tfweek3.practice.checks_train_step", needs_tensorflow=True,
    ),
    Exercise(
        8, "median_prune",
        "the median stopping rule: stop a trial whose best so far is below the others' median",
        "3. Caviar: stop the losers early", "05_your_own_model",
        (Signature("median_prune", ("curve", "others", "epoch", "direction", "epochs",
                                    "min_trials", "after")),),
        "tfweek3.practice.checks_pruning",
    ),
)


class UnknownExercise(ValueError):
    """No exercise has that name or number."""


def find(name: str) -> Exercise:
    """The exercise called `name`, or numbered `name` ("3"); raises UnknownExercise."""
    for exercise in EXERCISES:
        if name in (exercise.name, str(exercise.number)):
            return exercise
    names = ", ".join(exercise.name for exercise in EXERCISES)
    raise UnknownExercise(f"no exercise {name!r}; choose a number from 1 to {len(EXERCISES)} "
                          f"or a name among {names}")


def for_notebook(notebook: str) -> list[Exercise]:
    """The exercises of one notebook's section, in order."""
    return [exercise for exercise in EXERCISES if exercise.notebook == notebook]
