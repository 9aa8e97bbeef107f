"""The `tfweek3` command line: one subcommand per job of the week.

Each subcommand lives in its own module, which provides `add_parser(subparsers)`;
the parser it adds sets `func`, which takes the parsed arguments and returns the
exit status, and `on_stop`, the line to print when the command is stopped.

Exit statuses: 0 done, 1 failed (a diverged run, failing trials, an unreadable
state file), 2 bad input (as argparse uses for bad flags), 130 stopped by Ctrl-C
or SIGTERM. A stop ends the command within a couple of seconds, keeps
what is done (checkpoints, finished trials) and prints one line saying so and
how to continue. Parsing the flags imports no TensorFlow: --help and bad flags
answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from tfweek3.cli import babysit, demo, exercise, train, tune
from tfweek3.search import caviar
from tfweek3.training import stopping

COMMAND_MODULES = [demo, train, tune, babysit, exercise]
STOPPED = 130  # what a shell reports for a process ended by SIGINT


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad flags give one line, `tfweek3 CMD: error: ...`, and exit status 2 (not the usage)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # Subcommand parsers are made by add_parser with the class of this one.
    parser = OneLineErrorParser(
        prog="tfweek3",
        description="Companion to week 3 of the deep-learning course: batch norm, "
        "softmax, a GradientTape training loop and hyperparameter search.",
        epilog="Exit status: 0 done, 1 failed, 2 bad input, 130 stopped (Ctrl-C or SIGTERM; "
        "run the same command again to continue). `tfweek3 COMMAND --help` for each command.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(subparsers)
    return parser


def _stop(signum, frame):
    stopping.request()  # check() raises it at the next epoch's end, whatever happens here
    _quiet_stderr()
    if stopping.interrupts_now():  # (inside an epoch: raised at its end, stopping.py)
        raise KeyboardInterrupt


_kept_stderr: int | None = None


def _quiet_stderr() -> None:
    """From a stop on, what the interrupted work writes to stderr goes nowhere: a stop that
    surfaced as another error inside TensorFlow's C++ code is printed there, past any handler.
    The command's one line goes to the stderr kept aside."""
    global _kept_stderr
    if _kept_stderr is not None:
        return
    try:
        sys.stderr.flush()
    except (OSError, RuntimeError, ValueError):  # a write the signal interrupted
        pass
    _kept_stderr = os.dup(sys.stderr.fileno())
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stderr.fileno())
    os.close(devnull)


def _unraisable(info) -> None:
    """A KeyboardInterrupt Python had to drop (raised in a __del__ or weakref callback) is not
    news: the stop it carried was recorded, and the run ends at the next epoch."""
    if not issubclass(info.exc_type, KeyboardInterrupt):
        sys.__unraisablehook__(info)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    # SIGTERM stops like Ctrl-C; SIGINT is handled even where it was inherited as ignored.
    # (Put back afterwards, however it ends, for a caller that runs main() in its own
    # process, as tests do.)
    previous = (signal.signal(signal.SIGINT, _stop), signal.signal(signal.SIGTERM, _stop),
                sys.unraisablehook)
    sys.unraisablehook = _unraisable
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        _stopped(parser, args)
    except Exception:
        if not stopping.requested():
            raise
        _stopped(parser, args)  # the stop surfaced as another error (stopping.py)
    finally:  # (_stopped ends the process: nothing to put back then)
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
        sys.unraisablehook = previous[2]


def _stopped(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The command was stopped: its one line, then exit status 130 at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # one line, even if Ctrl-C comes twice
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    line = args.on_stop(args)
    if line and not caviar.supervised():  # (the supervisor of --workers says what was kept)
        _quiet_stderr()
        with open(_kept_stderr, "w", closefd=False) as stderr:
            print(f"{parser.prog} {args.command}: {line}", file=stderr)
    # What is kept is on disk already (checkpoints and trial files are written whole as the
    # run goes): end now, not after TensorFlow's threads (or a supervisor's) have ended.
    _exit_now(STOPPED)


def end_process(status: int) -> None:
    """End this process with `status`, at once when TensorFlow was imported.

    After TensorFlow is imported, Python's normal exit spends about a second (1.0
    s on a quiet 2-core machine) destroying TensorFlow's native state after the
    command's last line. Every file a command keeps is written and closed by then
    (checkpoints, trial files, TensorBoard writers), so the output streams and
    logging are flushed and the process ends without that teardown.
    """
    if "tensorflow" in sys.modules:
        _exit_now(status)
    sys.exit(status)


def _exit_now(status: int) -> None:
    """Flush the output streams and logging, then end the process without Python's teardown."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(status)


def run() -> None:
    """The `tfweek3` script and `python -m tfweek3`."""
    end_process(main())


if __name__ == "__main__":
    run()
