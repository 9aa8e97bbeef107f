"""Run `tfweek3` commands as real processes, stop them with signals, and read what they said."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

INJECT = str(Path(__file__).resolve().parent / "inject")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def command_env(**extra: str) -> dict[str, str]:
    """The environment of a tfweek3 process; with `extra`, the fault injection of inject/."""
    env = dict(ENV, **extra)
    if extra:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (INJECT, env.get("PYTHONPATH")) if p)
    return env


# Puts SIGINT at its default disposition, then becomes `python -m tfweek3 ARGS`: pytest may run
# as a background job of a non-interactive shell, whose children inherit SIGINT ignored.
LAUNCH = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
          "os.execv(sys.executable, [sys.executable, '-m', 'tfweek3', *sys.argv[1:]])")


def start(*args: str, **extra_env: str) -> subprocess.Popen:
    """`python -m tfweek3 ARGS` in the background, with SIGINT at its default disposition."""
    return subprocess.Popen([sys.executable, "-c", LAUNCH, *args], env=command_env(**extra_env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(*args: str, timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfweek3", *args], env=command_env(**extra_env),
                          capture_output=True, text=True, timeout=timeout, check=False)


def run_here(*args: str) -> subprocess.CompletedProcess:
    """`tfweek3 ARGS` run by cli.main.main in this process, ended as `run` gives a process's end.

    For a command whose process is not what the test is about (a search resumed after a kill, a
    run that makes a folder for the next one): it spares a new process's 5 s of imports
    (TensorFlow, sklearn, matplotlib). How a command ends on a stop or an error is tested
    against real processes (`run`, `start`)."""
    from tfweek3.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exit_:  # bad input: argparse's exit
            status = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def stop(process: subprocess.Popen, signum: int = signal.SIGINT,
         timeout: float = 30) -> tuple[str, str, float]:
    """Send `signum`, wait for the process to end; its stdout, stderr and the seconds it took."""
    sent = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=timeout)
    return out, err, time.monotonic() - sent


def messages(stderr: str) -> list[str]:
    """The lines of stderr that are not TensorFlow's or Python's warnings."""
    return [line for line in stderr.splitlines() if line.startswith("tfweek3 ")]


def alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
