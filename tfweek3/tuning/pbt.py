"""Population-based training as a KerasTuner oracle: pandas and caviar at once (course section 3).

Caviar trains many models side by side and keeps the best; pandas babysits one
model, nudging its learning rate as it trains. Population-based training
(Jaderberg et al. 2017) does both: a population of P members trains side by
side, and every K epochs (`ready_epochs`) each member is compared with the
others. A member in the bottom quantile (25%) *exploits*: it copies the weights
and the optimizer state of a member of the top quantile, with its
hyperparameters, and *explores*: each hyperparameter that may change
mid-training (`perturb`, pbt_tuner.py says which) is multiplied by 1.25 or 0.8
(each with probability 1/2), or, with a small probability (0.2), drawn afresh
from the declared space on its own scale; it stays inside the declared range
(and on its grid, with a step). The other members go on with their own weights
and hyperparameters. Everything else (the architecture, the mini-batch size)
is never perturbed (copied weights must fit it), so a copy takes its parent's.
A member whose last generation diverged or failed always copies a good one, so
it is not lost.

In KerasTuner's terms each trial is one member's generation of K epochs (the
last generation may be shorter), and the oracle hands trials out generation by
generation: *synchronous*. Generation g + 1 starts once every member has ended
generation g, so that each member is ranked among the whole population, and the
search is the same whatever the number of workers or the order they finish in:
with one process, with several workers, on several hosts, or resumed after a
kill (the draws come from a random generator seeded by the search's seed, the
generation and the member). The price: at the end of each generation a worker
with nothing left to train waits for the others.

A trial's hyperparameters hold, beside the declared space's values,
`pbt/member` and `pbt/generation` (both from 1) and `pbt/parent`: the
KerasTuner id of the trial whose last checkpoint it starts from (its own
member's previous generation, or the member it copied; none in generation 1).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import keras_tuner as kt

from tfweek3.tuning import keras_tuner_internals as internals
from tfweek3.tuning import storage
from tfweek3.tuning.oracles import (
    COMPLETED,
    FAILED,
    IDLE,
    RUNNING,
    STOPPED,
    EpochOracle,
)
from tfweek3.tuning.population import Ended, Population, member_random, rank_members
from tfweek3.tuning.results import PBT_PREFIX

MEMBER, GENERATION, PARENT = (PBT_PREFIX + "member", PBT_PREFIX + "generation",
                              PBT_PREFIX + "parent")
# The settings a resumed search must share with the one that started the folder.
POPULATION_SETTINGS = ("population", "epochs", "ready_epochs", "exploit_quantile",
                       "perturb_factor", "resample_probability", "seed")


class NoSurvivorError(RuntimeError):
    """Every member of a generation diverged or failed: nobody is left to copy."""


def draw(hp, rng: random.Random) -> Any:
    """A value of one declared hyperparameter, drawn on its own scale from `rng`."""
    config = hp.get_config()
    kind = type(hp).__name__
    if kind == "Fixed":
        return config["value"]
    if kind == "Boolean":
        return bool(rng.choice((False, True)))
    if kind == "Choice":
        return rng.choice(list(config["values"]))
    low, high = config["min_value"], config["max_value"]
    if low == high:
        return low
    if config["sampling"] == "linear" and kind == "Int" and (config["step"] or 1) == 1:
        return rng.randint(low, high)
    if config["sampling"] == "log" and not config["step"]:
        value = 10.0 ** rng.uniform(math.log10(low), math.log10(high))
    elif config["sampling"] == "linear" and not config["step"]:
        value = rng.uniform(low, high)
    else:  # reverse_log, or a step: through KerasTuner's own map from [0, 1) to the values
        value = hp.prob_to_value(rng.random())
    return round(value) if kind == "Int" else value


def sample_member(space: kt.HyperParameters, rng: random.Random) -> dict[str, Any]:
    """A generation-1 member: every active hyperparameter drawn on its own scale."""
    drawn = kt.HyperParameters()
    for hp in space.space:
        drawn.merge([hp])
        if drawn.is_active(hp):
            drawn.values[hp.name] = draw(hp, rng)
    return dict(drawn.values)


def explore(values: Mapping[str, Any], space: kt.HyperParameters, perturb: Sequence[str],
            rng: random.Random, factor: float, resample_probability: float) -> dict[str, Any]:
    """Perturb the `perturb` hyperparameters of a copied member; the rest stays as copied.

    Each, independently: with probability `resample_probability` drawn afresh
    (`draw`), else a number multiplied by `factor` or 1 / `factor` (a Choice
    moves to the value before or after it), then kept inside the declared range
    and on its grid. A range whose ends are equal stays fixed.
    """
    new = dict(values)
    declared = {hp.name: hp for hp in space.space}
    for name in perturb:
        hp = declared.get(name)
        if hp is None or name not in values or type(hp).__name__ == "Fixed":
            continue
        config, kind = hp.get_config(), type(hp).__name__
        if kind in ("Float", "Int") and config["min_value"] == config["max_value"]:
            continue
        if rng.random() < resample_probability:
            new[name] = draw(hp, rng)
        elif kind in ("Float", "Int"):
            by = rng.choice((factor, 1.0 / factor))
            moved = min(config["max_value"], max(config["min_value"], values[name] * by))
            new[name] = on_grid(hp, values[name], moved, up=by > 1)
        elif kind == "Choice":
            choices = list(config["values"])
            position = choices.index(values[name]) + rng.choice((1, -1))
            new[name] = choices[min(len(choices) - 1, max(0, position))]
    return new


def on_grid(hp, value: float, moved: float, up: bool) -> float:
    """`moved` kept to the values `hp` can take: a Float without a step as it is; otherwise the
    nearest value of its grid on its own scale (log for sampling="log"), or, when that is where
    `value` already was, the next value up or down: a perturbation always moves."""
    config = hp.get_config()
    if type(hp).__name__ == "Float" and not config["step"]:
        return moved
    if config["step"]:
        grid = sorted(hp.values)
    else:  # an Int on a log scale without a step: every integer
        grid = list(range(config["min_value"], config["max_value"] + 1))
    scale = math.log10 if config["sampling"] in ("log", "reverse_log") else float
    i = min(range(len(grid)), key=lambda k: abs(scale(grid[k]) - scale(moved)))
    if grid[i] == value:
        i = min(len(grid) - 1, i + 1) if up else max(0, i - 1)
    return grid[i]


def next_generation_values(ended: list[Ended], member: int, generation: int,
                           settings: Population, direction: str, space: kt.HyperParameters,
                           perturb: Sequence[str]) -> dict[str, Any]:
    """The values of `member` in `generation` (from 2), the previous one having ended.

    n = max(1, floor(exploit_quantile * P)) members rank at the bottom and at
    the top. A bottom member, or one whose generation diverged or failed,
    copies a top member chosen at random and explores; the others continue.
    Raises NoSurvivorError when no member of the previous generation completed.
    """
    ranked = rank_members(ended, direction)
    scored = [e for e in ranked if e.score is not None]
    if not scored:
        raise NoSurvivorError(f"every member of generation {generation - 1} diverged or failed")
    n = max(1, int(settings.exploit_quantile * len(ranked)))
    top = scored[:n]
    bottom = {e.member for e in ranked[-n:]} | {e.member for e in ranked if e.score is None}
    own = next(e for e in ended if e.member == member)
    rng = member_random(settings.seed, generation, member)
    parent_values = {k: v for k, v in own.values.items() if not k.startswith(PBT_PREFIX)}
    parent = own
    if member in bottom:
        parent = rng.choice(top)
        parent_values = {k: v for k, v in parent.values.items() if not k.startswith(PBT_PREFIX)}
        parent_values = explore(parent_values, space, perturb, rng, settings.perturb_factor,
                                settings.resample_probability)
    return {**parent_values, MEMBER: member, GENERATION: generation, PARENT: parent.trial_id}


class PBTOracle(EpochOracle, kt.Oracle):
    """KerasTuner's Oracle handing out one member's generation per trial, generation by generation.

    `populate_space` says what the next trial is (RUNNING with its values, IDLE
    while the generation is still running, STOPPED when nobody is left to
    copy), and the trials themselves are the population's state, so a reloaded
    oracle goes on where it stopped. EpochOracle brings what every tfweek3
    oracle does: epoch reports, a cut-off trial run again from the same parent
    with the same values, atomic files, failures in a row ending the search.
    `perturb` (the names explore changes) is set by the tuner before the search.
    """

    def __init__(self, settings: Population, objective=None, perturb: Sequence[str] = (),
                 **kwargs):
        self.settings = settings.validate()
        self.perturb = list(perturb)
        super().__init__(objective=objective,
                         max_trials=settings.population * settings.generations,
                         # KerasTuner takes a seed of 0 for "pick one at random": start at 1.
                         seed=settings.seed + 1, **kwargs)

    def populate_space(self, trial_id):
        if self.failure_stop is not None:
            return {"status": STOPPED, "values": None}
        population = self.settings.population
        generation, members = self._latest_generation()
        if len(members) == population:
            if any(trial.status not in (COMPLETED, FAILED) for trial in members.values()):
                return {"status": IDLE, "values": None}  # wait for the whole generation
            generation, members = generation + 1, {}
        member = min(set(range(1, population + 1)) - set(members))
        if generation == 1:
            rng = member_random(self.settings.seed, 1, member)
            values = {**sample_member(self.hyperparameters, rng), MEMBER: member,
                      GENERATION: 1}
        else:
            try:
                values = next_generation_values(
                    self._ended(generation - 1), member, generation, self.settings,
                    self.objective.direction, self.hyperparameters, self.perturb)
            except NoSurvivorError as error:
                self.failure_stop = str(error)
                self.save()
                return {"status": STOPPED, "values": None}
        return {"status": RUNNING, "values": values}

    def status_after_epoch(self, trial, epoch: int) -> str:
        # A generation always trains to its end: the next one starts from its last checkpoint.
        return trial.status

    def get_best_trials(self, num_trials=1):
        """The best members *now*: the latest generation with a completed trial, ranked by
        their score after their last epoch (KerasTuner's own ranking would mix generations,
        and hand back a member's weights from before it was overtaken); then the others."""
        done = [t for t in self.trials.values()
                if t.status == COMPLETED and not t.metrics.exists("diverged")]
        if not done:
            return super().get_best_trials(num_trials)
        latest = max(t.hyperparameters.values[GENERATION] for t in done)
        ended = [Ended(t.hyperparameters.values[MEMBER], t.trial_id, {}, t.score)
                 for t in done if t.hyperparameters.values[GENERATION] == latest]
        best = [self.trials[e.trial_id] for e in rank_members(ended, self.objective.direction)]
        rest = [t for t in super().get_best_trials(len(self.trials)) if t not in best]
        return (best + rest)[:num_trials]

    def _latest_generation(self) -> tuple[int, dict[int, Any]]:
        """The latest generation with a trial (1 before any), and its trials by member."""
        generations: dict[int, dict[int, Any]] = {}
        for trial in self.trials.values():
            values = trial.hyperparameters.values
            generations.setdefault(values[GENERATION], {})[values[MEMBER]] = trial
        latest = max(generations, default=1)
        return latest, generations.get(latest, {})

    def _ended(self, generation: int) -> list[Ended]:
        ended = []
        for trial in self.trials.values():
            values = trial.hyperparameters.values
            if values[GENERATION] != generation:
                continue
            good = trial.status == COMPLETED and not trial.metrics.exists("diverged")
            ended.append(Ended(values[MEMBER], trial.trial_id, dict(values),
                               trial.score if good else None))
        return ended

    def get_state(self):
        settings = {name: getattr(self.settings, name) for name in POPULATION_SETTINGS}
        return {**super().get_state(), "population": settings, "perturb": self.perturb}

    def set_state(self, state):
        super().set_state(state)
        saved = state.get("population")
        current = {name: getattr(self.settings, name) for name in POPULATION_SETTINGS}
        if saved is not None and saved != current:
            flags = " ".join(f"--{name.replace('_', '-')} {value}" for name, value in saved.items())
            raise storage.SearchMismatch(
                f"{internals.oracle_file(self)} belongs to a pbt search with {flags}: run it "
                "with those settings to continue it, or start afresh (--overwrite, or "
                "overwrite=True)")

