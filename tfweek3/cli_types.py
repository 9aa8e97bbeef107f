"""argparse types shared by the subcommands: a bad value becomes an argparse error naming its flag.

argparse calls the type on the flag's text; an ArgumentTypeError becomes
`tfweek3 CMD: error: argument --flag: MESSAGE` and exit status 2.
"""

from __future__ import annotations

import argparse


def dataset_spec(text: str) -> str:
    """digits, signs:FOLDER or npz:FILE (the file itself is checked when it is loaded)."""
    kind, _, location = text.partition(":")
    if (kind == "digits" and not location) or (kind in ("signs", "npz") and location):
        return text
    raise argparse.ArgumentTypeError(f"expected digits, signs:FOLDER or npz:FILE; got {text!r}")


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
