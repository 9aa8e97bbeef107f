"""Coarse to fine (course section 1): rounds of random search, each in a box around the best.

After a coarse random search, zoom into the region where the best points are
and sample more densely there. `CoarseToFine` splits `max_trials` between
`rounds`; round r + 1 draws its trials from a box around the `zoom_k` best
completed trials of round r, on each hyperparameter's own scale (`narrow_box`):

* Float and Int: [min, max] of the best values, widened by `margin` times the
  previous box's width, clipped to it; the width measured on the scale the
  hyperparameter is sampled on (log10 for sampling="log", so alpha's box grows
  by decades); an Int's ends are rounded outwards, and a range with a `step`
  keeps its ends on the declared grid;
* an ordered Choice (numbers): the values between the best ones;
* categories (strings, booleans) and Fixed values stay as they are.

The space the user declared is never changed: `get_space()`, the trials'
hyperparameters and a reloaded search see it; only the values are drawn from
the round's box (kept in oracle.json with the round of every trial). A round
starts when every trial of the previous one has ended: a worker that asks in
between is told to wait (IDLE), so the rounds work with any number of workers.
With pruning, a trial is judged against the trials of its own round.
"""

from __future__ import annotations

import math
from typing import Any

import keras_tuner as kt

from tfweek3.tuning.oracles import COMPLETED, FAILED, IDLE, STOPPED, RandomOracle
from tfweek3.tuning.random_search import make_oracle
from tfweek3.tuning.results import PRUNED_METRICS
from tfweek3.tuning.tuners import EpochTuner


def split_trials(trials: int, rounds: int) -> list[int]:
    """Share a budget between rounds as evenly as possible (the first rounds get more)."""
    return [trials // rounds + (1 if r < trials % rounds else 0) for r in range(rounds)]


def _to_scale(config: dict[str, Any], value: float) -> float:
    low, high = config["min_value"], config["max_value"]
    if config.get("sampling") == "log":
        return math.log10(value)
    if config.get("sampling") == "reverse_log":
        return -math.log10(high + low - value)
    return float(value)


def _from_scale(config: dict[str, Any], y: float) -> float:
    low, high = config["min_value"], config["max_value"]
    if config.get("sampling") == "log":
        return 10.0 ** y
    if config.get("sampling") == "reverse_log":
        return high + low - 10.0 ** -y
    return y


def _on_grid(declared: dict[str, Any], value: float, outwards: int) -> float:
    """The declared grid's point next to `value`: below it (outwards -1) or above it (+1)."""
    step, low = declared["step"], declared["min_value"]
    if declared.get("sampling") == "log":
        k = math.log(value / low, step)
        k = math.floor(k + 1e-9) if outwards < 0 else math.ceil(k - 1e-9)
        return low * step ** k
    k = (value - low) / step
    k = math.floor(k + 1e-9) if outwards < 0 else math.ceil(k - 1e-9)
    return low + k * step


def narrow_box(box: dict[str, Any], declared: dict[str, Any], best: list[dict[str, Any]],
               margin: float = 0.1) -> dict[str, Any]:
    """The next round's box (a HyperParameters config) around the values of `best`.

    box: the current round's box; declared: the space the user declared (its
    grid); best: the hyperparameter values of the best trials (missing or
    inactive ones are skipped). See the module's docstring for the rules.
    """
    if not best:
        return box
    grid = {entry["config"]["name"]: entry["config"] for entry in declared["space"]}
    space = []
    for entry in box["space"]:
        kind, config = entry["class_name"], dict(entry["config"])
        values = [trial[config["name"]] for trial in best if trial.get(config["name"]) is not None]
        if values and kind in ("Float", "Int") and config["min_value"] < config["max_value"]:
            low, high = _to_scale(config, config["min_value"]), _to_scale(config, config["max_value"])
            ys = [_to_scale(config, v) for v in values]
            new_low = _from_scale(config, max(low, min(ys) - margin * (high - low)))
            new_high = _from_scale(config, min(high, max(ys) + margin * (high - low)))
            declared_config = grid.get(config["name"], config)
            if declared_config.get("step") and (kind == "Float" or declared_config["step"] > 1):
                new_low, new_high = (_on_grid(declared_config, new_low, -1),
                                     _on_grid(declared_config, new_high, +1))
            elif kind == "Int":
                new_low, new_high = math.floor(new_low + 1e-9), math.ceil(new_high - 1e-9)
            cast = int if kind == "Int" else float
            config["min_value"] = cast(max(config["min_value"], new_low))
            config["max_value"] = cast(min(config["max_value"], new_high))
            config["default"] = None
        elif values and kind == "Choice" and config.get("ordered"):
            kept = [v for v in config["values"] if min(values) <= v <= max(values)]
            config["values"], config["default"] = kept or config["values"], None
        space.append({"class_name": kind, "config": config})
    return {"space": space, "values": {}}


class CoarseToFineOracle(RandomOracle):
    """Random search in rounds, each round's box narrowed around the previous round's best."""

    def __init__(self, *args, rounds: int = 3, zoom_k: int = 3, margin: float = 0.1, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.max_trials or self.max_trials < rounds:
            raise ValueError(f"max_trials ({self.max_trials}) cannot fill {rounds} rounds")
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1); got {margin}")
        self.rounds, self.zoom_k, self.margin = rounds, zoom_k, margin
        self.boxes: list[dict[str, Any]] = []   # round r's box is boxes[r - 1]
        self.round_of: dict[str, int] = {}      # trial id -> its round (from 1)

    def get_state(self):
        return {**super().get_state(), "boxes": self.boxes, "round_of": self.round_of,
                "rounds": self.rounds}

    def set_state(self, state):
        super().set_state(state)
        self.boxes = state.get("boxes", [])
        self.round_of = state.get("round_of", {})

    def populate_space(self, trial_id):
        quotas = split_trials(self.max_trials, self.rounds)
        handed = [sum(r == n for r in self.round_of.values()) for n in range(1, self.rounds + 1)]
        number = next((n for n in range(1, self.rounds + 1) if handed[n - 1] < quotas[n - 1]),
                      None)
        if number is None or self.failure_stop is not None:
            return {"status": STOPPED, "values": None}
        if number > len(self.boxes):
            previous = [t for t, r in self.round_of.items() if r == number - 1]
            if any(self.trials[t].status not in (COMPLETED, FAILED) for t in previous):
                return {"status": IDLE, "values": None}  # the round is not over
            self.boxes.append(self._next_box(previous) if self.boxes
                              else self.hyperparameters.get_config())
        declared = self.hyperparameters
        self.hyperparameters = kt.HyperParameters.from_config(self.boxes[number - 1])
        try:
            response = super().populate_space(trial_id)
        finally:
            self.hyperparameters = declared
        if response["status"] == "RUNNING":
            self.round_of[trial_id] = number
        return response

    def peers(self, trial) -> list:
        """Pruning judges a trial against its own round: a later round's trials are drawn
        from a better box, and are compared with each other."""
        number = self.round_of.get(trial.trial_id)
        return [other for other in super().peers(trial)
                if self.round_of.get(other.trial_id) == number]

    def _next_box(self, previous: list[str]) -> dict[str, Any]:
        done = [self.trials[t] for t in previous if self.trials[t].status == COMPLETED
                and self.trials[t].score is not None
                and not self.trials[t].metrics.exists("diverged")
                and not self.trials[t].metrics.exists(PRUNED_METRICS["marker"])]
        done.sort(key=lambda t: t.score, reverse=self.objective.direction == "max")
        best = [t.hyperparameters.values for t in done[:self.zoom_k]]
        return narrow_box(self.boxes[-1], self.hyperparameters.get_config(), best, self.margin)


class CoarseToFine(EpochTuner):
    """Coarse-to-fine random search: `rounds` rounds sharing `max_trials`, each narrowed around
    the `zoom_k` best trials of the one before (widened by `margin` of its width); median
    pruning as RandomSearch. Otherwise KerasTuner's RandomSearch arguments."""

    def __init__(self, hypermodel=None, objective=None, max_trials: int = 30, rounds: int = 3,
                 zoom_k: int = 3, margin: float = 0.1, seed: int | None = None,
                 prune: str | None = None, prune_min_trials: int = 5, prune_after: int = 2,
                 **kwargs):
        oracle = make_oracle(CoarseToFineOracle, objective, max_trials, seed, prune,
                             prune_min_trials, prune_after, kwargs, rounds=rounds, zoom_k=zoom_k,
                             margin=margin)
        super().__init__(oracle, hypermodel, seed=seed, **kwargs)

    def round_of(self, trial_id: str) -> int | None:
        return getattr(self.oracle, "round_of", {}).get(trial_id)  # (a worker's client has none)

    def boxes(self) -> list[dict[str, Any]]:
        """Each round's box so far, as HyperParameters configs."""
        return list(self.oracle.boxes)
