"""Population-based training as a KerasTuner oracle: pandas and caviar at once (course section 3).

Caviar trains many models side by side and keeps the best; pandas babysits one
model, nudging its learning rate as it trains. Population-based training
(Jaderberg et al. 2017) does both: a population of P members trains side by
side, and every K epochs (--ready-epochs) each member is compared with the
others. A member in the bottom quantile (25%) *exploits*: it copies the weights
and the optimizer state of a member of the top quantile, with its
hyperparameters, and *explores*: it multiplies alpha and 1 - beta by 1.25 or
0.8 (each with probability 1/2), or, with a small probability (0.2), draws them
afresh on their log scales; they stay inside the search space's ranges. The
other members go on with their own weights and hyperparameters. The network,
the mini-batch size and the optimizer are never perturbed (copied weights must
fit them), so a copy takes its parent's. A member whose last generation
diverged or failed always copies a good one, so it is not lost.

In KerasTuner's terms each trial is one member's generation of K epochs (the
last generation may be shorter), and the oracle hands trials out generation by
generation: *synchronous*. Generation g + 1 starts once every member has ended
generation g, so that each member is ranked among the whole population, and the
search is the same whatever the number of workers or the order they finish in:
with one process, with --workers N, on several hosts, or resumed after a kill
(the exploit and explore draws come from a random generator seeded by the
search's seed, the generation and the member). The price: at the end of each
generation a worker with nothing left to train waits for the others.

A trial's hyperparameters hold, beside the search space's values, `member` and
`generation` (both from 1) and `parent`: the KerasTuner id of the trial whose
last checkpoint it starts from (its own member's previous generation, or the
member it copied; none in generation 1). The training side is pbt_tuner.py.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras_tuner as kt

from tfweek3.tuning import keras_tuner_internals as internals
from tfweek3.tuning.config import SearchConfig, SearchError
from tfweek3.tuning.oracles import Week3Oracle
from tfweek3.tuning.search_space import HP_NAMES, LOG_SCALE, SearchSpace

Status = kt.engine.trial.TrialStatus
ENDED = (Status.COMPLETED, Status.FAILED)
# The settings a resumed search must share with the one that started the folder.
POPULATION_SETTINGS = ("population", "epochs", "ready_epochs", "exploit_quantile",
                       "perturb_factor", "resample_probability", "seed")


class NoSurvivorError(RuntimeError):
    """Every member of a generation diverged or failed: nobody is left to copy."""


@dataclass(frozen=True)
class Ended:
    """One member's finished generation: its trial, its hyperparameters and its score.

    score is None when the generation diverged or failed.
    """

    member: int
    trial_id: str
    values: Mapping[str, Any]
    score: float | None


def member_random(seed: int, generation: int, member: int) -> random.Random:
    """The random generator of one member's step: the same draws whenever and wherever it runs."""
    return random.Random(f"pbt:{seed}:{generation}:{member}")


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    """A draw whose log10 is uniform on [log10 low, log10 high] (the course's scale for alpha)."""
    if low == high:
        return low  # a fixed value, exactly (10 ** log10(x) may differ from x in the last bit)
    return 10.0 ** rng.uniform(math.log10(low), math.log10(high))


def sample_member(space: SearchSpace, rng: random.Random) -> dict[str, Any]:
    """A generation-1 member: every hyperparameter drawn from the space on its own scale."""
    values: dict[str, Any] = {name: log_uniform(rng, *getattr(space, name)) for name in LOG_SCALE}
    values["units"] = rng.randint(*space.units)
    values["layers"] = rng.randint(*space.layers)
    values["batch_size"] = rng.choice(sorted(space.batch_size))
    values["batch_norm"] = bool(rng.choice(space.batch_norm))
    values["optimizer"] = rng.choice(space.optimizer)
    return values


def explore(values: Mapping[str, Any], space: SearchSpace, rng: random.Random,
            factor: float, resample_probability: float) -> dict[str, Any]:
    """Perturb alpha and 1 - beta of a copied member; the rest stays as copied.

    Each, independently: with probability `resample_probability` drawn afresh
    on its log scale, else multiplied by `factor` or 1 / `factor`, then kept
    inside the space's range. A range whose ends are equal stays fixed.
    """
    new = dict(values)
    for name in LOG_SCALE:
        low, high = getattr(space, name)
        if low == high:
            continue
        if rng.random() < resample_probability:
            new[name] = log_uniform(rng, low, high)
        else:
            new[name] = min(high, max(low, values[name] * rng.choice((factor, 1.0 / factor))))
    return new


def rank_members(ended: list[Ended], direction: str) -> list[Ended]:
    """Best first (ties: the lower member number first); diverged and failed members last."""
    sign = -1.0 if direction == "max" else 1.0
    scored = sorted((e for e in ended if e.score is not None),
                    key=lambda e: (sign * e.score, e.member))
    return scored + sorted((e for e in ended if e.score is None), key=lambda e: e.member)


def next_generation_values(ended: list[Ended], member: int, generation: int,
                           config: SearchConfig, space: SearchSpace) -> dict[str, Any]:
    """The hyperparameters of `member` in `generation` (from 2), the previous one having ended.

    n = max(1, floor(exploit_quantile * P)) members rank at the bottom and at
    the top. A bottom member, or one whose generation diverged or failed,
    copies a top member chosen at random and explores; the others continue.
    Raises NoSurvivorError when no member of the previous generation completed.
    """
    ranked = rank_members(ended, config.direction)
    scored = [e for e in ranked if e.score is not None]
    if not scored:
        raise NoSurvivorError(f"every member of generation {generation - 1} diverged or failed")
    n = max(1, int(config.exploit_quantile * len(ranked)))
    top = scored[:n]
    bottom = {e.member for e in ranked[-n:]} | {e.member for e in ranked if e.score is None}
    own = next(e for e in ended if e.member == member)
    rng = member_random(config.seed, generation, member)
    if member in bottom:
        parent = rng.choice(top)
        values = explore(parent.values, space, rng, config.perturb_factor,
                         config.resample_probability)
    else:
        parent, values = own, dict(own.values)
    return {**{name: values[name] for name in HP_NAMES},
            "member": member, "generation": generation, "parent": parent.trial_id}


class PopulationOracle(kt.Oracle):
    """KerasTuner's Oracle handing out one member's generation per trial, generation by generation.

    Built on the Oracle's public API: `populate_space` says what the next trial
    is (RUNNING with its values, IDLE while the generation is still running,
    STOPPED when nobody is left to copy), and the trials themselves are the
    population's state, so a reloaded oracle goes on where it stopped.
    """

    def __init__(self, config: SearchConfig, space: SearchSpace, **kwargs):
        self.config = config
        self.space = space
        super().__init__(objective=kt.Objective(config.objective, config.direction),
                         max_trials=config.population * config.generations,
                         # KerasTuner takes a seed of 0 for "pick one at random": start at 1.
                         seed=config.seed + 1, **kwargs)

    def populate_space(self, trial_id):
        population = self.config.population
        generation, members = self._latest_generation()
        if len(members) == population:
            if any(trial.status not in ENDED for trial in members.values()):
                return {"status": Status.IDLE, "values": None}  # wait for the whole generation
            generation, members = generation + 1, {}
        member = min(set(range(1, population + 1)) - set(members))
        if generation == 1:
            rng = member_random(self.config.seed, 1, member)
            values = {**sample_member(self.space, rng), "member": member, "generation": 1}
        else:
            try:
                values = next_generation_values(self._ended(generation - 1), member, generation,
                                                self.config, self.space)
            except NoSurvivorError as error:
                self.failure_stop = str(error)
                self.save()
                return {"status": Status.STOPPED, "values": None}
        return {"status": Status.RUNNING, "values": values}

    def _latest_generation(self) -> tuple[int, dict[int, kt.engine.trial.Trial]]:
        """The latest generation with a trial (1 before any), and its trials by member."""
        generations: dict[int, dict[int, kt.engine.trial.Trial]] = {}
        for trial in self.trials.values():
            values = trial.hyperparameters.values
            generations.setdefault(values["generation"], {})[values["member"]] = trial
        latest = max(generations, default=1)
        return latest, generations.get(latest, {})

    def _ended(self, generation: int) -> list[Ended]:
        ended = []
        for trial in self.trials.values():
            values = trial.hyperparameters.values
            if values["generation"] != generation:
                continue
            good = trial.status == Status.COMPLETED and not trial.metrics.exists("diverged")
            ended.append(Ended(values["member"], trial.trial_id, dict(values),
                               trial.score if good else None))
        return ended

    def get_state(self):
        settings = {name: getattr(self.config, name) for name in POPULATION_SETTINGS}
        return {**super().get_state(), "population": settings}

    def set_state(self, state):
        super().set_state(state)
        saved = state.get("population")
        current = {name: getattr(self.config, name) for name in POPULATION_SETTINGS}
        if saved is not None and saved != current:
            flags = " ".join(f"--{name.replace('_', '-')} {value}" for name, value in saved.items())
            raise SearchError(f"{internals.oracle_file(self)} belongs to a pbt search with {flags}: "
                              "run it with those flags to continue it, or add --overwrite")


class PBTOracle(Week3Oracle, PopulationOracle):
    """Population-based training with the course oracles' epoch reports, resuming and atomic files.

    Week3Oracle brings what every tfweek3 oracle does (see oracles.py): a trial
    cut off mid-run runs again, from the same parent, with the same values;
    failures in a row stop the search.
    """

    def status_after_epoch(self, trial, epoch: int) -> str:
        # A generation always trains to its end: the next one starts from its last checkpoint.
        return trial.status
