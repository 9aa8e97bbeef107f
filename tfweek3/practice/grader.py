"""Run an exercise's checks on the learner's file and name the mistakes it recognizes.

Each check compares the learner's output with tfweek3's reference (NumPy
float64, Keras, finite differences). When they differ, the check compares the
output with the classic wrong answers (`Mistake`s, each with a variant that
computes it); if one matches, the check's line gives that mistake's hint in
the note's words, otherwise the largest difference it measured.

Output, one line per check (a failed one says why on the line below it), then the verdict:

      pass  z_tilde on batches of shape (4, 3), (32, 5) and (7, 1)
      FAIL  a batch of one example: sigma2 = 0, z_tilde = beta
            hint: sigma2 divides by m - 1; the note's variance divides by m
    batch_norm_forward: 1 of 2 checks fails (0.01 s); fix the first one and check again
"""

from __future__ import annotations

import importlib
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfweek3.practice.learner import (
    Learner,
    LearnerError,
    TimeLimitExceeded,
    load,
    time_limit,
)
from tfweek3.practice.registry import Exercise


@dataclass(frozen=True)
class Mistake:
    """A classic wrong answer the grader recognizes, and the hint that names it."""

    key: str
    hint: str


class CheckFailed(Exception):
    """A check's verdict: `why` (the measured difference), or the recognized mistakes.

    mistakes: every wrong variant the learner's output matched (on a small or
    special input two slips can give the same numbers); the report names one.
    """

    def __init__(self, why: str, mistakes: tuple[Mistake, ...] = ()):
        super().__init__(why)
        self.why = why
        self.mistakes = tuple(mistakes)

    @classmethod
    def because(cls, *mistakes: Mistake) -> CheckFailed:
        return cls(f"hint: {mistakes[0].hint}", mistakes)


@dataclass(frozen=True)
class Check:
    what: str
    run: Callable[[Learner], None]


@dataclass
class Checks:
    """An exercise's checks, in order, and the mistakes they can recognize."""

    mistakes: tuple[Mistake, ...]
    items: list[Check] = field(default_factory=list)

    def add(self, what: str):
        """Decorator: the check `what` (the line printed), a function of the learner that
        returns when it passes and raises CheckFailed when it does not."""

        def register(function: Callable[[Learner], None]):
            self.items.append(Check(what, function))
            return function

        return register


@dataclass(frozen=True)
class Outcome:
    what: str
    passed: bool
    why: str = ""
    mistake: str | None = None  # the key of the recognized Mistake
    seconds: float = 0.0
    timed_out: bool = False
    skipped: bool = False  # not run: an earlier check ran out of time

    def line(self) -> str:
        """`pass  what`, or `FAIL  what` and, indented below it, why (a hint or a difference)."""
        if self.passed:
            return f"  pass  {self.what}"
        if self.skipped:
            return f"  skip  {self.what}"
        return f"  FAIL  {self.what}\n        {self.why}"


@dataclass
class Report:
    exercise: Exercise
    outcomes: list[Outcome] = field(default_factory=list)
    load_error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.load_error is None and all(outcome.passed for outcome in self.outcomes)

    @property
    def mistakes(self) -> list[str]:
        """The keys of the mistakes recognized, in order, each once."""
        return list(dict.fromkeys(o.mistake for o in self.outcomes if o.mistake))

    def verdict(self) -> str:
        name, total = self.exercise.name, len(self.outcomes)
        skipped = sum(outcome.skipped for outcome in self.outcomes)
        failed = sum(not outcome.passed for outcome in self.outcomes) - skipped
        if not failed:
            return f"{name}: all {total} checks pass ({self.seconds:.2f} s)"
        verb = "fails" if failed == 1 else "fail"
        more = f", {skipped} not run" if skipped else ""
        return (f"{name}: {failed} of {total} checks {verb}{more} ({self.seconds:.2f} s); "
                f"fix the first one and check again")


def checks_for(exercise: Exercise) -> Checks:
    return importlib.import_module(exercise.checks_module).CHECKS[exercise.name]


def grade(exercise: Exercise, path: str, seconds: float | None = 20.0,
          show: Callable[[str], None] | None = None) -> Report:
    """Import the learner's `path` and run the exercise's checks; `show` gets each line as it comes.

    seconds: the time limit of the import and of each check. A file that does
    not load gives one line (Report.load_error) and no checks.
    """
    show = show or (lambda line: None)
    report = Report(exercise)
    start = time.perf_counter()
    try:
        learner = load(path, exercise, seconds)
    except LearnerError as error:
        report.load_error = f"  FAIL  {error}"
        show(report.load_error)
        return report
    for check in checks_for(exercise).items:
        if any(outcome.timed_out for outcome in report.outcomes):  # it would hang again
            outcome = Outcome(check.what, False, skipped=True)
        else:
            outcome = run_check(check, learner, seconds, already=report.mistakes)
        report.outcomes.append(outcome)
        show(outcome.line())
    report.seconds = time.perf_counter() - start
    show(report.verdict())
    return report


def run_check(check: Check, learner: Learner, seconds: float | None,
              already: list[str] = ()) -> Outcome:
    """Run one check with the time limit; of several matching mistakes, name one that an
    earlier check named (`already`), else the first."""
    start = time.perf_counter()

    def outcome(passed: bool, why: str = "", mistake: str | None = None,
                timed_out: bool = False) -> Outcome:
        return Outcome(check.what, passed, why, mistake, time.perf_counter() - start, timed_out)

    try:
        # The grader says what overflowed or divided by zero; NumPy's and Keras's warnings repeat it.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            with time_limit(seconds):
                check.run(learner)
    except CheckFailed as failure:
        if not failure.mistakes:
            return outcome(False, failure.why)
        again = [m for m in failure.mistakes if m.key in already]
        if again:  # named in full by an earlier check
            return outcome(False, "hint: the same mistake as above", again[0].key)
        return outcome(False, f"hint: {failure.mistakes[0].hint}", failure.mistakes[0].key)
    except LearnerError as error:
        return outcome(False, str(error))
    except TimeLimitExceeded as error:
        return outcome(False, f"did not finish within {seconds:g} s{learner.where(error)} "
                              f"(a loop that never ends?); the checks below are not run",
                       timed_out=True)
    except Exception as error:  # noqa: BLE001 -- the learner's output broke the check itself
        return outcome(False, f"could not be checked: {learner.describe(error)}")
    return outcome(True)


# ---------------------------------------------------------------------------
# Comparing the learner's output with the reference and with the wrong variants
# ---------------------------------------------------------------------------

Variants = Iterable[tuple[Mistake, Callable[[], Any]]]


def as_array(value: Any, name: str) -> np.ndarray:
    """The learner's value as a float64 array, or CheckFailed saying what it is instead."""
    if value is None:
        raise CheckFailed(f"{name} is None: not written yet (fill in its TODO line)")
    try:
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name} is a {type(value).__name__}, not an array of numbers") from None
    return array


def close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """Same shape, and equal within the tolerances (nan matching nan, inf matching inf)."""
    return got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))


def expect_close(value: Any, expected: Any, name: str, variants: Variants = (),
                 rtol: float = 1e-5, atol: float = 1e-5, reshape: bool = False) -> None:
    """Pass if the learner's `value` equals `expected`; otherwise fail with the first
    variant it matches (its mistake's hint), or with the largest difference.
    The default tolerances pass a right answer computed in float32 (off by
    about 1e-6 on these inputs); the classic slips are off by 1e-3 or more.

    variants: (mistake, thunk) pairs; a thunk returns the variant's value of this
    quantity (computed only on a mismatch). reshape: accept any shape with the
    same number of entries (mu as (units,) or (1, units)).
    """
    got = as_array(value, name)
    expected = np.asarray(expected, dtype=np.float64)
    if reshape and got.size == expected.size:
        got = got.reshape(expected.shape)
    if close(got, expected, rtol, atol):
        return
    matched = []
    for mistake, variant in variants:
        wrong = np.asarray(variant(), dtype=np.float64)
        candidate = got.reshape(wrong.shape) if reshape and got.size == wrong.size else got
        if close(candidate, wrong, rtol, atol) and mistake not in matched:
            matched.append(mistake)
    if matched:
        raise CheckFailed.because(*matched)
    raise CheckFailed(difference(got, expected, name, rtol, atol))


def difference(got: np.ndarray, expected: np.ndarray, name: str, rtol: float = 1e-5,
               atol: float = 1e-5) -> str:
    """Where and by how much `got` differs from `expected`, in a phrase."""
    if got.shape != expected.shape:
        return f"{name} has shape {got.shape}; expected {expected.shape}"
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    index = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else ()
    at = f"{name}: entry [{', '.join(map(str, index))}]" if index else name
    text = f"{at} is {_number(got[index])}, the reference gives {_number(expected[index])}"
    finite = np.isfinite(got) & np.isfinite(expected)
    if finite.all() and got.size > 1:
        text += f" (largest difference {np.max(np.abs(got - expected)):.3g})"
    return text


def _number(value: float) -> str:
    return f"{float(value):.6g}"
