"""Caviar: train many models in parallel (course section 3).

`tfweek3 tune --workers N` uses KerasTuner's distributed mode (the chief holds
the oracle, the workers train; tfweek3.tuning.roles). `run_with_workers`
starts the chief and N workers on 127.0.0.1, each worker limited to its share
of the cores, watches them, and restarts a worker
that dies (SIGKILL, out of memory) under the same tuner id: KerasTuner then
hands the restarted worker the very trial it was running, which runs again from
scratch, so every trial is still accounted for once.

The supervisor (the `tfweek3 tune` a person started) imports no TensorFlow:
it only starts, watches and stops processes. The chief and the workers are
started in their own session, so that a Ctrl-C in the terminal reaches the
supervisor alone, which then stops them with SIGTERM and waits for them.

On several hosts, run the same `tfweek3 tune` command in each process with the
variables set by hand (see docs/search.md): the chief on one host, workers anywhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from tfweek3.search.config import SearchConfig, SearchError, SearchInputError
from tfweek3.training import stopping
from tfweek3.tuning import storage

MAX_RESTARTS = 3  # per worker: a worker that keeps dying is a bug, not bad luck
SUPERVISOR_VARIABLE = "TFWEEK3_SUPERVISOR_PID"  # set for the processes --workers starts
STOP_SECONDS = 30  # how long the chief and workers get to end after SIGTERM
# ... and the workers once their chief has died: one asking it for a trial waits in gRPC, deaf
# to SIGTERM, and one still training reports to nobody (its trial runs again on a resume).
ORPHAN_SECONDS = 3
BAD_INPUT = 2  # the exit status of a `tfweek3` command given bad input


def supervised() -> bool:
    """Whether this process was started by a `tfweek3 tune --workers N` (the supervisor)."""
    return SUPERVISOR_VARIABLE in os.environ


def limit_threads(threads: int | None, log: Callable[[str], None] = print) -> None:
    """Let TensorFlow use `threads` threads in this process (None: leave as is).

    Must run before TensorFlow executes its first operation. N workers on C
    cores each get C // N, so that they share the cores instead of fighting.
    """
    if not threads:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log(f"--threads {threads} not applied: TensorFlow had already started in this process "
            f"and uses {tf.config.threading.get_intra_op_parallelism_threads() or 'all'} threads")


def watch_supervisor() -> None:
    """In a process started by --workers: exit if the `tfweek3 tune` that started it dies.

    Without this, killing the command (SIGKILL) would leave its chief and
    workers running on, writing into the folder a resumed search is using.
    """
    supervisor = os.environ.get(SUPERVISOR_VARIABLE)
    if not supervisor:
        return

    def watch() -> None:
        while os.getppid() == int(supervisor):
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="watch-supervisor").start()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def run_with_workers(config: SearchConfig, workers: int, *, log: Callable[[str], None] = print,
                     poll_seconds: float = 0.2) -> None:
    """Run one KerasTuner project with a chief and `workers` worker processes.

    `config` describes one project (its `project` set). Returns when every
    trial is done; raises SearchError if the chief dies, or a worker dies more
    than MAX_RESTARTS times. Whatever ends it (KeyboardInterrupt included), the
    chief and the workers are stopped before it returns or raises.
    """
    port = free_port()
    env = dict(os.environ, KERASTUNER_ORACLE_IP="127.0.0.1",
               KERASTUNER_ORACLE_PORT=str(port), TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONUNBUFFERED="1", **{SUPERVISOR_VARIABLE: str(os.getpid())})
    command = [sys.executable, "-m", "tfweek3", "tune", *config.to_argv()]
    threads = str(config.threads or threads_per_worker(workers))
    worker_command = [*command, "--threads", threads]
    project_dir = storage.join(config.directory, config.project)
    status_file = storage.join(project_dir, "workers.json")
    storage.makedirs(project_dir)

    def start(tuner_id: str) -> subprocess.Popen:
        args = command if tuner_id == "chief" else worker_command
        # A session of its own: the terminal's Ctrl-C goes to this process only.
        return subprocess.Popen(args, env=dict(env, KERASTUNER_TUNER_ID=tuner_id),
                                start_new_session=True)

    processes: dict[str, subprocess.Popen] = {}
    restarts: dict[str, int] = {}
    finished: set[str] = set()

    def write_status() -> None:
        status = {tuner_id: {"pid": p.pid, "restarts": restarts[tuner_id]}
                  for tuner_id, p in processes.items()}
        storage.write_text(status_file, json.dumps({"port": port, "processes": status}, indent=2))

    try:
        for tuner_id in ("chief", *(f"tuner{i}" for i in range(workers))):
            processes[tuner_id] = start(tuner_id)
            restarts[tuner_id] = 0
        write_status()
        log(f"caviar: chief on 127.0.0.1:{port} and {workers} workers "
            f"({threads} TensorFlow threads each)")
        while len(finished) < workers:
            time.sleep(poll_seconds)
            stopping.check()
            chief_status = processes["chief"].poll()
            if chief_status == BAD_INPUT:
                raise SearchInputError("the chief (the oracle's process) stopped on bad input "
                                       f"(exit status {BAD_INPUT}); its workers were stopped")
            if chief_status not in (None, 0):
                raise SearchError(f"the chief (the oracle's process) stopped with exit status "
                                  f"{chief_status}; its workers were stopped")
            if chief_status == 0:
                break  # the chief ends only when every trial has ended
            for tuner_id, process in list(processes.items()):
                if tuner_id == "chief" or tuner_id in finished or process.poll() is None:
                    continue
                if process.returncode == 0:
                    finished.add(tuner_id)
                    continue
                if process.returncode == BAD_INPUT:  # its one line is above: no use restarting
                    raise SearchInputError(f"worker {tuner_id} stopped on bad input (exit status "
                                           f"{BAD_INPUT}); the search was stopped")
                if restarts[tuner_id] >= MAX_RESTARTS:
                    raise SearchError(f"worker {tuner_id} died {MAX_RESTARTS + 1} times (last exit "
                                      f"status {process.returncode}); the search was stopped")
                restarts[tuner_id] += 1
                log(f"caviar: worker {tuner_id} died (exit status {process.returncode}); "
                    "restarting it, its trial runs again")
                processes[tuner_id] = start(tuner_id)
                write_status()
    finally:
        # The workers first: a worker asking a chief that has already ended for its next trial
        # would wait for it in gRPC, deaf to SIGTERM, until STOP_SECONDS are over.
        chief = processes.get("chief")
        orphans = chief is not None and chief.poll() not in (None, 0)
        stop([p for tuner_id, p in processes.items() if tuner_id != "chief"],
             ORPHAN_SECONDS if orphans else STOP_SECONDS)
        stop([chief] if chief is not None else [])


def stop(processes, seconds: float = STOP_SECONDS) -> None:
    """SIGTERM to every process still running, then wait up to `seconds` in all; SIGKILL one
    that has not ended by then."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
