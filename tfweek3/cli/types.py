"""argparse types shared by the subcommands: a bad value becomes an argparse error naming its flag.

argparse calls the type on the flag's text; an ArgumentTypeError becomes
`tfweek3 CMD: error: argument --flag: MESSAGE` and exit status 2.
"""

from __future__ import annotations

import argparse

from tfweek3.training.keras_data import SETS

KERAS_SETS = tuple(SETS)
DATASET_HELP = ("digits (8x8 images, bundled), signs:FOLDER (the course's SIGNS files), "
                "npz:FILE (x_train, y_train, x_test, y_test), or "
                f"{', '.join('keras:' + name for name in KERAS_SETS)} (downloaded into Keras's "
                "cache on first use) (digits)")


def dataset_spec(text: str) -> str:
    """digits, signs:FOLDER, npz:FILE or keras:NAME (a file is checked when it is loaded)."""
    kind, _, location = text.partition(":")
    if ((kind == "digits" and not location) or (kind in ("signs", "npz") and location)
            or (kind == "keras" and location in KERAS_SETS)):
        return text
    raise argparse.ArgumentTypeError(
        f"expected digits, signs:FOLDER, npz:FILE or keras:{'|'.join(KERAS_SETS)}; got {text!r}")


def hidden_units(text: str) -> tuple[int, ...]:
    """Units per hidden layer, like 25,12; 'none' for softmax regression (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        units = tuple(int(part) for part in text.split(","))
    except ValueError:
        units = ()
    if not units or min(units) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, like 25,12 (or none); got {text!r}"
        )
    return units


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    return _whole_number_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """A whole number >= 0."""
    return _whole_number_at_least(text, 0)


def _whole_number_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None


def positive_float(text: str) -> float:
    """A finite number above 0 (a learning rate, say)."""
    value = number(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


def beta(text: str) -> float:
    """An averaging weight beta in [0, 1) (momentum, RMSprop's rho, Adam's beta1)."""
    value = number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1); got {text!r}")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1; got {text!r}")
    return value


def float_range(text: str) -> tuple[float, float]:
    """MIN:MAX (or one value, fixed) for a log-scale range: 0 < MIN <= MAX."""
    low, high = _split_range(text, float)
    if low > high:
        raise argparse.ArgumentTypeError(f"minimum {low:g} is above maximum {high:g}")
    if low <= 0:
        raise argparse.ArgumentTypeError(
            f"a log-scale range must stay above 0, got {low:g}:{high:g}")
    return low, high


def int_range(text: str) -> tuple[int, int]:
    """MIN:MAX (or one value, fixed) of whole numbers >= 1."""
    low, high = _split_range(text, int)
    if low > high:
        raise argparse.ArgumentTypeError(f"minimum {low} is above maximum {high}")
    if low < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {low}:{high}")
    return low, high


def _split_range(text: str, kind):
    parts = text.split(":")
    try:
        values = [kind(part) for part in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX, got {text!r}") from None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX, got {text!r}")
    return tuple(values)


def powers_of_two(text: str) -> tuple[int, ...]:
    """Mini-batch sizes like 16,32,64."""
    try:
        values = tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 16,32,64, got {text!r}") from None
    if any(v < 1 or v & (v - 1) for v in values):
        raise argparse.ArgumentTypeError(f"mini-batch sizes must be powers of two, got {text!r}")
    return values


def names_among(choices: tuple[str, ...]):
    """A type for NAME,NAME,... each among `choices`."""

    def names(text: str) -> tuple[str, ...]:
        values = tuple(part.strip() for part in text.split(",") if part.strip())
        if not values or any(v not in choices for v in values):
            raise argparse.ArgumentTypeError(f"choose among {','.join(choices)}, got {text!r}")
        return values

    return names
