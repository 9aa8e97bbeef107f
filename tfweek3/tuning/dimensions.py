"""The hyperparameters a search declared, as its results, figures and importance see them.

KerasTuner saves a search's space in oracle.json (`HyperParameters.get_config()`).
Each hyperparameter that can vary becomes a `Dimension`: its name, a label for
people, and the scale it is sampled on, which is the scale it is drawn and
learned on afterwards:

    Float or Int, sampling="log"          log10        alpha on [1e-4, 1]: each decade alike
    Float or Int, sampling="reverse_log"  reverse_log  dense near max: -log10(max + min - x)
    Float or Int, sampling="linear"       linear       hidden units, a dropout rate
    Choice of powers of two               log2         mini-batch sizes 16, 32, 64
    Choice of other numbers               linear
    Choice of strings                     category     an optimizer's name
    Boolean                               0/1
    Fixed                                 left out: it does not vary

Read from plain JSON: no TensorFlow, no KerasTuner, so the process that
supervises a `--workers` search can draw the figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# A hyperparameter named "one_minus_<x>" (tfweek3.hp_beta's 1 - beta) gets an "<x>" column too.
ONE_MINUS = "one_minus_"


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: what it is called, how it varies, the scale it is drawn on."""

    name: str
    kind: str                    # "Float", "Int", "Choice" or "Boolean"
    scale: str                   # "log10", "reverse_log", "linear", "log2", "category", "0/1"
    low: float | None = None     # a numeric range's ends, in the hyperparameter's own units
    high: float | None = None
    values: tuple = ()           # a Choice's values, as declared
    label: str = ""

    @property
    def title(self) -> str:
        """The label, or the name when there is none."""
        return self.label or self.name

    def on_scale(self, values: Sequence[Any]) -> np.ndarray:
        """`values` as the scale sees them: log10 of alpha, a category's code, ..."""
        if self.scale == "category":
            order = {value: code for code, value in enumerate(self.categories(values))}
            return np.asarray([order[v] for v in values], dtype=float)
        x = np.asarray([float(v) for v in values], dtype=float)
        if self.scale == "log10":
            return np.log10(x)
        if self.scale == "log2":
            return np.log2(x)
        if self.scale == "reverse_log":
            return -np.log10(self.high + self.low - x)
        return x

    def from_scale(self, y: float) -> float:
        """The value at position `y` of the scale (the inverse of on_scale, numeric scales)."""
        if self.scale == "log10":
            return 10.0 ** y
        if self.scale == "log2":
            return 2.0 ** y
        if self.scale == "reverse_log":
            return self.high + self.low - 10.0 ** -y
        return y

    def categories(self, seen: Sequence[Any] = ()) -> list:
        """A category's values in a fixed order: the declared ones, then any others seen."""
        known = list(self.values) or [False, True]
        return known + sorted({v for v in seen if v not in known}, key=str)


def dimensions(space_config: Mapping[str, Any],
               labels: Mapping[str, str] | None = None) -> list[Dimension]:
    """The searched hyperparameters of a KerasTuner space (its get_config(), as in oracle.json).

    In declaration order; Fixed ones left out. `labels` names them for people
    (the course calls learning_rate "alpha"); the others are labelled by their names.
    """
    labels = labels or {}
    found = []
    for entry in space_config.get("space", []):
        kind, config = entry["class_name"], entry["config"]
        name = config["name"]
        label = labels.get(name, name)
        if kind in ("Float", "Int"):
            if config["min_value"] == config["max_value"]:
                continue
            scale = {"log": "log10", "reverse_log": "reverse_log"}.get(config.get("sampling"),
                                                                        "linear")
            found.append(Dimension(name, kind, scale, float(config["min_value"]),
                                   float(config["max_value"]), label=label))
        elif kind == "Choice":
            values = tuple(config["values"])
            if len(values) < 2:
                continue
            found.append(Dimension(name, kind, _choice_scale(values), min_values(values),
                                   max_values(values), values, label))
        elif kind == "Boolean":
            found.append(Dimension(name, kind, "0/1", 0.0, 1.0, (False, True), label))
    return found


def _choice_scale(values: tuple) -> str:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "category"
    if all(v > 0 and float(v).is_integer() and int(v) & (int(v) - 1) == 0 for v in values):
        return "log2"
    return "linear"


def min_values(values: tuple) -> float | None:
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return float(min(numbers)) if len(numbers) == len(values) else None


def max_values(values: tuple) -> float | None:
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return float(max(numbers)) if len(numbers) == len(values) else None


def with_derived(values: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's values with 1 - x beside every "one_minus_<x>" (beta beside one_minus_beta).

    The derived value comes just before its hyperparameter, the order of the
    results' columns: learning_rate, beta, one_minus_beta, ...
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        derived = name[len(ONE_MINUS):] if name.startswith(ONE_MINUS) else None
        if derived and derived not in values and isinstance(value, (int, float)):
            out[derived] = 1.0 - value
        out[name] = value
    return out


def format_value(value: Any) -> str:
    """A hyperparameter's value in a line of text: 3 significant digits for floats."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else str(value)
    return str(value)
