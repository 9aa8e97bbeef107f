"""The learner's file, imported and called so that whatever goes wrong is one clear line.

A syntax error, an import error, a missing function, a wrong signature, an
exception inside the learner's function or code that never returns each
become a `LearnerError` (or `TimeLimitExceeded`) whose message names the file
and the line, never a traceback.

The time limit is SIGALRM: it interrupts Python code (a `while True:` loop, a
sleep, input()), not a computation stuck inside C; `tfweek3 exercise check`
runs the checks in a child process and stops it if it goes quiet for longer.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import os
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from tfweek3.practice.registry import Exercise, Signature


class LearnerError(Exception):
    """What went wrong in the learner's code, in one line."""


class TimeLimitExceeded(BaseException):
    """The learner's code ran past the time limit.

    A BaseException, so that an `except Exception:` in the learner's loop does not swallow it.
    """


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise TimeLimitExceeded in this block after `seconds` (in the main thread; else no limit)."""
    if (not seconds or not hasattr(signal, "SIGALRM")  # no SIGALRM on Windows: no limit
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def expired(signum, frame):
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Learner:
    """The learner's module; `call` and `run` turn its exceptions into LearnerError."""

    def __init__(self, path: str, module: ModuleType):
        self.path = os.path.abspath(path)
        self.file = os.path.basename(path)
        self.module = module

    def get(self, name: str) -> Any:
        return getattr(self.module, name)

    def call(self, name: str, *args: Any) -> Any:
        """The learner's `name(*args)`, with copies of NumPy arrays (an in-place edit stays theirs)."""
        function = self.get(name)
        return self.run(name, lambda: function(*[_copy(arg) for arg in args]))

    def run(self, label: str, thunk: Callable[[], Any]) -> Any:
        """thunk(), which runs the learner's code (`label` names it in the message)."""
        try:
            return thunk()
        except NotImplementedError as error:
            if self.raised_here(error):  # the starter's `raise NotImplementedError`
                raise LearnerError(f"{label} is not written yet: fill in its TODO lines "
                                   f"(NotImplementedError{self.where(error)})") from None
            raise LearnerError(f"{label} raised {self.describe(error)}") from None
        except SystemExit:
            raise LearnerError(f"{label} called sys.exit(): return a value instead") from None
        except Exception as error:  # noqa: BLE001 -- whatever the learner's code raises
            raise LearnerError(f"{label} raised {self.describe(error)}") from None

    def describe(self, error: BaseException) -> str:
        """`ValueError: message (line 12 of file.py)`: the type, the message's first line, where."""
        text, where = f"{type(error).__name__}: {first_line(error)}", self.where(error)
        return f"{text} ({where.strip()})" if where else text

    def raised_here(self, error: BaseException) -> bool:
        """Whether `error` was raised by a line of the learner's file itself."""
        frames = traceback.extract_tb(error.__traceback__)
        return bool(frames) and os.path.abspath(frames[-1].filename) == self.path

    def where(self, error: BaseException) -> str:
        """' at line N of FILE' for the deepest frame of the learner's file, or ''."""
        line = None
        for frame in traceback.extract_tb(error.__traceback__):
            if os.path.abspath(frame.filename) == self.path:
                line = frame.lineno
        # Inside tf.function the learner's frames are in the message, not in the traceback.
        traced = re.findall(rf'File "{re.escape(self.path)}", line (\d+)', str(error))
        if traced:
            line = int(traced[-1])
        return "" if line is None else f" at line {line} of {self.file}"


ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


def first_line(error: BaseException) -> str:
    """The message's informative line: Keras prefixes 'Exception encountered when calling...',
    and an error inside tf.function starts with 'in user code:' and ends with the cause."""
    lines = [line.strip() for line in ANSI_CODES.sub("", str(error)).splitlines() if line.strip()]
    prefix = f"{type(error).__name__}:"
    if lines and lines[0] == "in user code:":  # the traced frames, then "TypeName: message"
        starts = [i for i, line in enumerate(lines) if line.startswith(prefix)]
        lines = lines[starts[-1]:] if starts else lines[-1:]
    lines = [line.removeprefix(prefix).strip() for line in lines]
    lines = [line for line in lines
             if line and not line.startswith("Exception encountered when calling")]
    text = lines[0] if lines else "(no message)"
    return text if len(text) <= 200 else text[:197] + "..."


def load(path: str, exercise: Exercise, seconds: float | None = None) -> Learner:
    """Import the learner's file and check that it defines what the exercise calls.

    Raises LearnerError with one line: the syntax or import error and its line,
    the missing name, or the signature that does not fit.
    """
    file = os.path.basename(path)
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.append(folder)  # the learner's own helpers beside the file; appended: no shadowing
    module_name = f"tfweek3_exercise_{exercise.name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    learner = Learner(path, module)
    sys.modules[module_name] = module
    try:
        with time_limit(seconds):
            spec.loader.exec_module(module)
    except SyntaxError as error:
        where = os.path.basename(error.filename or file)
        raise LearnerError(f"{where}, line {error.lineno}: {type(error).__name__}: {error.msg}") \
            from None
    except TimeLimitExceeded:
        raise LearnerError(f"importing {file} did not finish within {seconds:g} s "
                           f"(code at the top level that never ends?)") from None
    except SystemExit:
        raise LearnerError(f"{file} calls sys.exit() when imported") from None
    except Exception as error:  # noqa: BLE001 -- whatever the learner's file raises
        raise LearnerError(f"importing {file} failed: {learner.describe(error)}") from None
    for signature in exercise.writes:
        _check_signature(learner, signature)
    return learner


def _check_signature(learner: Learner, signature: Signature) -> None:
    name, file = signature.name, learner.file
    if not hasattr(learner.module, name):
        defined = sorted(n for n, v in vars(learner.module).items()
                         if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v))
                         and getattr(v, "__module__", None) == learner.module.__name__)
        also = f" (it defines {', '.join(defined)})" if defined else ""
        raise LearnerError(f"{file} has no {name}{also}: write {signature}")
    value = getattr(learner.module, name)
    if signature.kind == "layer":
        _check_layer(learner, signature, value)
        return
    if not callable(value) or inspect.isclass(value):
        raise LearnerError(f"{name} in {file} is not a function (it is {_short(value)}): "
                           f"write {signature}")
    _check_binds(value, f"{name}{_signature_text(value)} in {file}", signature.params, {},
                 f"the grader calls {signature}")


def _check_layer(learner: Learner, signature: Signature, value: Any) -> None:
    import keras

    name, file = signature.name, learner.file
    if not (inspect.isclass(value) and issubclass(value, keras.layers.Layer)):
        raise LearnerError(f"{name} in {file} must be a class deriving from keras.layers.Layer")
    keywords = dict.fromkeys(signature.params, 0.5)
    _check_binds(value, f"{name}{_signature_text(value)} in {file}", (), keywords,
                 f"the grader builds {name}({', '.join(p + '=...' for p in signature.params)})")
    _check_binds(value.call, f"{name}.call{_signature_text(value.call)} in {file}",
                 ("self", "inputs"), {"training": True},
                 "Keras calls layer.call(inputs, training=...)")


def _check_binds(function, described: str, args, kwargs, how: str) -> None:
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        raise LearnerError(f"{described} does not fit: {how}") from None
    except ValueError:
        return  # no signature to read (a builtin): let the call tell


def _signature_text(function) -> str:
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _copy(value: Any) -> Any:
    """A copy of NumPy arrays and of dicts holding them; other values as they are."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if type(value).__module__ == "numpy" and hasattr(value, "copy"):
        return copy.copy(value)
    return value
