"""`tfweek3 exercise`: the week's functions, written by the learner, checked by the package.

    tfweek3 exercise list                          the exercises, in the course's order
    tfweek3 exercise start batch_norm_forward      writes ./batch_norm_forward.py (TODO inside)
    tfweek3 exercise check batch_norm_forward      one line per check, then a verdict

`check` runs the learner's code in a child process (tfweek3.cli.exercise_child),
relays its lines, and stops it when it stays silent for longer than the time
limit allows (code stuck where the time limit cannot interrupt it). Exit
status: 0 every check passes, 1 a check fails (or the file does not import),
2 bad arguments (an unknown exercise, no such file), 130 stopped.

`list`, `start` and --help import neither NumPy nor TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import subprocess
import sys
import time

from tfweek3.cli import checks, types
from tfweek3.practice import registry

STARTUP_SECONDS = 60.0  # allowed before the child's first line: Python, NumPy, TensorFlow


def exercise_name(text: str) -> registry.Exercise:
    try:
        return registry.find(text)
    except registry.UnknownExercise as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "exercise", help="practice: write the week's functions; the package checks them",
        description="The week's exercises: sample alpha and beta on the right scale, batch "
        "norm forward and backward, a batch-norm Keras layer, softmax and its cost, a "
        "GradientTape step, the median stopping rule. `start` writes a file with the "
        "signature, the formula and TODO; `check` runs your code against tfweek3's references (NumPy, Keras, finite "
        "differences) and names the classic mistakes it recognizes.",
    )
    parser.set_defaults(func=lambda args: _usage(parser), on_stop=lambda args: "stopped")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    listing = actions.add_parser("list", help="the exercises, one a line, in the course's order",
                                 description="The exercises, one a line: number, name, section "
                                 "of the note, what you write.")
    listing.set_defaults(func=run_list)

    start = actions.add_parser(
        "start", help="write the starter file NAME.py (never overwrites yours)",
        description="Write NAME.py in --dir: the signature, a docstring with the formula in "
        "the note's names, and TODO where you write. An existing file is left as it is.")
    start.add_argument("exercise", metavar="NAME", type=exercise_name,
                       help="the exercise's name or number (see `tfweek3 exercise list`)")
    start.add_argument("--dir", default=".", dest="directory",
                       help="folder to write NAME.py in, made if missing (the current folder)")
    start.set_defaults(func=run_start)

    check = actions.add_parser(
        "check", help="check your NAME.py: one line per check, then a verdict",
        description="Import your file and run the exercise's checks: values on several "
        "inputs and shapes, gradients against finite differences, edge cases. A failed "
        "check says why below it: the largest difference, or a hint naming the mistake. "
        "Exit status 0 when every check passes, 1 otherwise, 2 for bad arguments.")
    check.add_argument("exercise", metavar="NAME", type=exercise_name,
                       help="the exercise's name or number (see `tfweek3 exercise list`)")
    check.add_argument("--file", default=None,
                       help="your file (default: NAME.py in the current folder)")
    check.add_argument("--time-limit", type=types.positive_float, default=20.0,
                       metavar="SECONDS",
                       help="time allowed for importing your file and for each check (20)")
    check.set_defaults(func=run_check, on_stop=lambda args: "stopped before the verdict; run "
                       "the same command to check again")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_list(args: argparse.Namespace) -> int:
    for exercise in registry.EXERCISES:
        print(f"{exercise.number:>2}  {exercise.name:<20} {exercise.section:<39} {exercise.title}")
    print("\nStart one with `tfweek3 exercise start NAME`, check it with "
          "`tfweek3 exercise check NAME`.")
    return 0


def run_start(args: argparse.Namespace) -> int:
    exercise = args.exercise
    problem = checks.folder_error(args.directory)
    if problem is not None:
        return _error("start", f"argument --dir: {problem}", 2)
    path = os.path.join(args.directory, exercise.file_name)
    shown = os.path.relpath(path)
    check = f"tfweek3 exercise check {exercise.name}"
    if os.path.abspath(args.directory) != os.getcwd():
        check += f" --file {shown}"
    try:
        with open(path, "x") as f:  # "x": fails if the file exists, so theirs is never replaced
            f.write(exercise.starter_text())
    except FileExistsError:
        return _error("start", f"{shown} already exists and is left as it is; check it with "
                               f"`{check}`, or delete it to start again", 1)
    print(f"wrote {shown}: fill in the TODO lines, then run `{check}`")
    return 0


def run_check(args: argparse.Namespace) -> int:
    exercise = args.exercise
    path = args.file or exercise.file_name
    if not os.path.isfile(path):
        how = "give --file PATH" if args.file else \
            f"write it with `tfweek3 exercise start {exercise.name}`, or give --file PATH"
        return _error("check", f"no file {path}; {how}", 2)
    command = [sys.executable, "-m", "tfweek3.cli.exercise_child", exercise.name,
               os.path.abspath(path), "--time-limit", repr(args.time_limit)]
    return _supervise(command, silence=args.time_limit + STARTUP_SECONDS)


def _supervise(command: list[str], silence: float) -> int:
    """Run the child, pass its output on, and stop it after `silence` seconds without output."""
    # PYTHONSAFEPATH (Python 3.11+): the current folder, where the learner's files are, is not
    # put first on sys.path, so a learner's numpy.py or keras.py does not hide the real one.
    env = {**os.environ, "PYTHONSAFEPATH": "1", "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)  # Ctrl-C reaches us; we stop the child
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(child.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + silence
            while True:
                if time.monotonic() > deadline:
                    print(f"  FAIL  no answer for {silence:g} s: stopped. The code may be stuck "
                          f"where the time limit cannot interrupt it (inside TensorFlow or "
                          f"NumPy)", flush=True)
                    return 1
                if not selector.select(timeout=1.0):
                    continue
                chunk = os.read(child.stdout.fileno(), 65536)
                if not chunk:
                    break
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
                deadline = time.monotonic() + silence
        status = child.wait()
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        child.stdout.close()
    if status in (0, 1):
        return status
    print(f"  FAIL  the check ended early (exit status {status}): the code ended the Python "
          f"process (os._exit? a crash?)", flush=True)
    return 1


def _error(action: str, message: str, status: int) -> int:
    print(f"tfweek3 exercise {action}: error: {message}", file=sys.stderr)
    return status
