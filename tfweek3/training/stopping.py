"""A stop asked for by Ctrl-C or SIGTERM, noticed at the next epoch whatever happened to the signal.

The command line's signal handler calls `request()` and raises KeyboardInterrupt.
Python drops an exception raised while it runs a __del__ method or a weakref
callback ("Exception ignored in ..."), so a Ctrl-C that lands there would be
lost and the run would go on. `check()`, called between epochs and between
trials, raises KeyboardInterrupt again once a stop has been requested.

A KeyboardInterrupt can also come out as another error: raised while
TensorFlow's C++ code had Python import a module (its nest.flatten, called on
each compiled call, can), it surfaces as "SystemError: <built-in function __import__>
returned a result with an exception set". Once a stop was requested, a trial
and the command line treat any error as that stop (`requested()`), so it is
neither a failed trial nor a traceback.

Both are avoided where most of a run's time goes: inside `deferred()` (the
epochs of `train` and `train_together`) the handler only records the stop, and
`check()` at the end of the epoch raises it, between two epochs, where no
TensorFlow code runs. A compiled epoch is one call into C++ that Python's
signal handler cannot interrupt anyway, so this adds no wait.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_requested = False
_deferring = 0


def request() -> None:
    """Remember that the run should stop (called from a signal handler)."""
    global _requested
    _requested = True


def requested() -> bool:
    return _requested


def interrupts_now() -> bool:
    """Whether the signal handler should raise KeyboardInterrupt now (outside `deferred()`)."""
    return _deferring == 0


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within: a stop is only recorded; the code inside calls `check()` where it may stop,
    and leaving the outermost `deferred()` raises one that is still pending."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if _deferring == 0:
        check()


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested."""
    if _requested:
        raise KeyboardInterrupt
