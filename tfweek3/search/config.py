"""One search's settings (`SearchConfig`), and the command-line flags that say the same.

`tfweek3 tune` fills a SearchConfig from its flags; `SearchConfig.to_argv()`
turns one back into flags, which is how the processes of a `--workers` search
(caviar.py) are started with the very same search. Both directions use
the table `FLAGS` below, and tests check that a config survives the round trip.
With `model` ("FILE.py:build_model") the search is over a model of your own,
and its space is the one its build(hp) declares; without, over the course
network and `space`.

No TensorFlow here: the command line validates a config before TensorFlow loads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from tfweek3.search.space import SearchSpace, SearchSpaceError
from tfweek3.training.names import DIRECTIONS
from tfweek3.tuning.population import Population

STRATEGIES = ("random", "grid", "coarse-to-fine", "pbt")
PRUNERS = ("none", "median")  # --prune: median stopping (pruning.py), or every trial to the end
# A course trial is scored on one of the metrics `train` records; DIRECTIONS says which way is
# better. A model of your own may be scored on any metric it reports.
OBJECTIVES = tuple(DIRECTIONS)
# --batch-norm both/on/off, and the values of the batch_norm hyperparameter each allows.
BATCH_NORM_CHOICES = {"both": (False, True), "on": (True,), "off": (False,)}

# The flag behind each setting (and each SearchSpace range), for to_argv and for error messages.
FLAGS = {
    "strategy": "--strategy", "trials": "--trials", "epochs": "--epochs", "dataset": "--dataset",
    "directory": "--dir", "seed": "--seed", "objective": "--objective",
    "grid_points": "--grid-points", "rounds": "--rounds", "zoom_k": "--zoom-k",
    "margin": "--margin", "workers": "--workers", "together": "--together",
    "threads": "--threads", "top_k": "--top-k",
    "learning_rate": "--alpha", "one_minus_beta": "--one-minus-beta", "units": "--units",
    "layers": "--layers", "batch_size": "--batch-sizes", "batch_norm": "--batch-norm",
    "optimizer": "--optimizers", "prune": "--prune", "prune_min_trials": "--prune-min-trials",
    "prune_after": "--prune-after",
    "population": "--population", "ready_epochs": "--ready-epochs",
    "exploit_quantile": "--exploit-quantile", "perturb_factor": "--perturb-factor",
    "resample_probability": "--resample-probability", "model": "--model",
}


class SearchError(RuntimeError):
    """A search that cannot go on: trials failing in a row, or its processes dying."""


class SearchInputError(SearchError):
    """A search that cannot start on what it was given: a model file, an objective its model
    does not report (the command's exit status 2, as for bad flags)."""


@dataclass
class SearchConfig:
    """Everything a search needs; `tfweek3 tune` fills it from its flags."""

    strategy: str = "random"
    trials: int = 30
    epochs: int = 10
    dataset: str = "digits"
    directory: str = "runs/tune"
    seed: int = 0
    objective: str = "val_accuracy"
    space: SearchSpace = field(default_factory=SearchSpace)
    grid_points: int = 3          # grid: points per numeric dimension
    rounds: int = 3               # coarse-to-fine: number of rounds
    zoom_k: int = 3               # coarse-to-fine: a round's box spans its best k trials
    margin: float = 0.1           # coarse-to-fine: widening, as a share of the old range
    population: int = 8           # pbt: members trained side by side (tuning/pbt.py)
    ready_epochs: int = 2         # pbt: epochs between two exploit/explore steps
    exploit_quantile: float = 0.25      # pbt: the bottom share copies the top share
    perturb_factor: float = 1.25        # pbt: alpha and 1 - beta times 1.25 or 1/1.25 (0.8)
    resample_probability: float = 0.2   # pbt: ...or drawn afresh from the search space
    workers: int = 1              # caviar: worker processes (caviar.py)
    together: int = 1             # caviar in one graph: trials trained at once (tuning/groups.py)
    threads: int | None = None    # TensorFlow threads of this process (None: all)
    top_k: int = 5                # rows of the table printed at the end
    project: str | None = None    # run one KerasTuner project only (used by workers)
    write_results: bool = True    # False in chief/worker processes started by --workers
    tensorboard: bool = True
    prune: str = "none"           # "median": stop trials below the median (pruning.py)
    prune_min_trials: int = 5     # pruning: only once this many other trials reached the epoch
    prune_after: int = 2          # pruning: a trial trains at least this many epochs
    model: str | None = None      # "FILE.py:NAME": a hypermodel of your own (user_model.py)

    @property
    def direction(self) -> str:
        """"max" or "min": which way the objective is better (a name of your model's own:
        "min" for a loss or an error, "max" for anything else, such as an accuracy)."""
        if self.objective in DIRECTIONS:
            return DIRECTIONS[self.objective]
        return "min" if "loss" in self.objective or "error" in self.objective else "max"

    def validate(self) -> SearchConfig:
        """Raise SearchSpaceError naming the first bad setting; return self."""
        if self.strategy not in STRATEGIES:
            raise SearchSpaceError(f"strategy: choose among {', '.join(STRATEGIES)}")
        if self.model is None and self.objective not in OBJECTIVES:
            raise SearchSpaceError(f"objective: the course network reports "
                                   f"{', '.join(OBJECTIVES)}; choose among them")
        if self.prune not in PRUNERS:
            raise SearchSpaceError(f"prune: choose among {', '.join(PRUNERS)}")
        for name in ("trials", "epochs", "workers", "together", "rounds", "zoom_k", "top_k",
                     "prune_min_trials", "prune_after"):
            if getattr(self, name) < 1:
                raise SearchSpaceError(f"{name}: must be at least 1")
        if self.grid_points < 2:
            raise SearchSpaceError("grid_points: must be at least 2")
        if self.strategy == "coarse-to-fine" and self.trials < self.rounds:
            raise SearchSpaceError(
                f"trials: {self.trials} trials cannot fill {self.rounds} rounds")
        if self.prune != "none" and self.strategy == "pbt":
            raise SearchSpaceError("prune: pbt replaces its losing members itself; --prune works "
                                   "with random, grid and coarse-to-fine")
        if self.prune != "none" and self.prune_after >= self.epochs:
            raise SearchSpaceError(f"prune_after: must be below --epochs ({self.epochs}), or no "
                                   f"trial can be stopped early")
        if self.together > 1 and self.model is not None:
            raise SearchSpaceError("together: trains the course network's trials as one stacked "
                                   "network; a model of your own trains its trials one at a time")
        if not 0 <= self.margin < 1:
            raise SearchSpaceError("margin: must be in [0, 1)")
        self._validate_population()
        self.space.validate()
        return self

    def to_argv(self) -> list[str]:
        """The `tfweek3 tune` flags that describe this config (for worker processes)."""
        space = self.space
        values = {
            "strategy": self.strategy, "trials": self.trials, "epochs": self.epochs,
            "dataset": self.dataset, "directory": self.directory, "seed": self.seed,
            "objective": self.objective, "grid_points": self.grid_points, "rounds": self.rounds,
            "zoom_k": self.zoom_k, "margin": repr(self.margin), "workers": self.workers,
            "together": self.together,
            "population": self.population, "ready_epochs": self.ready_epochs,
            "exploit_quantile": repr(self.exploit_quantile),
            "perturb_factor": repr(self.perturb_factor),
            "resample_probability": repr(self.resample_probability),
            "threads": self.threads, "top_k": self.top_k,
            "learning_rate": _range(space.learning_rate),
            "one_minus_beta": _range(space.one_minus_beta),
            "units": _range(space.units), "layers": _range(space.layers),
            "batch_size": ",".join(str(b) for b in space.batch_size),
            "batch_norm": {v: k for k, v in BATCH_NORM_CHOICES.items()}[
                tuple(sorted(space.batch_norm))],
            "optimizer": ",".join(space.optimizer), "prune": self.prune,
            "prune_min_trials": self.prune_min_trials, "prune_after": self.prune_after,
            "model": self.model,
        }
        argv = []
        for name, value in values.items():
            if value is not None:
                argv += [FLAGS[name], str(value)]
        if self.project:
            argv += ["--project", self.project]
        if not self.write_results:
            argv.append("--no-results")
        if not self.tensorboard:
            argv.append("--no-tensorboard")
        return argv

    @property
    def generations(self) -> int:
        """pbt: the steps of --ready-epochs epochs that make --epochs (the last may be shorter)."""
        return self.population_settings().generations

    def population_settings(self) -> Population:
        """The pbt settings, as the tuning floor's PopulationBasedTraining takes them."""
        return Population(self.population, self.epochs, self.ready_epochs,
                          self.exploit_quantile, self.perturb_factor, self.resample_probability,
                          self.seed)

    def _validate_population(self) -> None:
        settings = self.population_settings()
        if self.strategy != "pbt":  # only pbt trains members in generations of ready_epochs
            settings = dataclasses.replace(settings, epochs=max(self.epochs,
                                                                self.ready_epochs + 1))
        try:
            settings.validate()
        except ValueError as error:
            raise SearchSpaceError(str(error)) from None

    def replace(self, **changes) -> SearchConfig:
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)


def _range(pair: tuple) -> str:
    low, high = pair
    return f"{low!r}:{high!r}"
