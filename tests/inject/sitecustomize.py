"""Faults injected into the `tfweek3` processes that tests start (this folder is put first on
their PYTHONPATH, so Python imports this module when each process starts).

TFWEEK3_TEST_FAILING_TRIALS=1   every trial's training raises ValueError("injected: ...")
TFWEEK3_TEST_DYING_WORKER=ID    the worker process with that KerasTuner tuner id exits at once
TFWEEK3_TEST_PAUSE=N:E:FILE     the N-th trial this process trains (from 1) stops after epoch E:
                                it writes FILE (holding its pid) and waits to be killed. Only
                                once: a process started after FILE exists does not pause.
                                N = any: the first trial that reaches epoch E (epochs of a pbt
                                member count over its whole life, so E picks a generation).
                                Of processes reaching it together, one pauses.
TFWEEK3_TEST_PAUSE_TUNER=ID     with it, only the process with that tuner id pauses
TFWEEK3_TEST_STOP_AS_ERROR=E    the first trial's epoch E ends as a Ctrl-C that TensorFlow's C++
                                code turned into a SystemError: the process sends itself SIGINT,
                                writes a traceback to stderr as that C++ code does, then raises
                                that error (tfweek3/training/stopping.py)

Every trial of a search, the course network's or a model of your own, goes through
tfweek3.tuning.tuners.EpochTuner: its hooks are replaced.
"""

import contextlib
import os
import signal
import time

if os.environ.get("TFWEEK3_TEST_DYING_WORKER") == os.environ.get("KERASTUNER_TUNER_ID", "-"):
    os._exit(3)

if os.environ.get("TFWEEK3_TEST_FAILING_TRIALS"):
    from tfweek3.tuning.tuners import EpochTuner

    def failing_fit_begin(self, trial, model, params):
        raise ValueError("injected: the data set could not be read")

    EpochTuner.on_fit_begin = failing_fit_begin

STOP_AS_ERROR = os.environ.get("TFWEEK3_TEST_STOP_AS_ERROR")
if STOP_AS_ERROR:
    from tfweek3.training import stopping
    from tfweek3.tuning.tuners import EpochTuner

    epoch_end_before_stop = EpochTuner.on_epoch_end

    def stopping_epoch_end(self, trial, model, epoch, logs=None):
        epoch_end_before_stop(self, trial, model, epoch, logs)
        if epoch + 1 == int(STOP_AS_ERROR) and not stopping.requested():
            with contextlib.suppress(KeyboardInterrupt):  # TensorFlow's C++ code catches it,
                os.kill(os.getpid(), signal.SIGINT)
            os.write(2, b"Traceback (most recent call last):\n  File \"nest_util.py\", line 726\n"
                        b"SystemError: <built-in function __import__> returned a result with an "
                        b"exception set\n")
            raise SystemError("<built-in function __import__> returned a result with an "
                              "exception set")

    EpochTuner.on_epoch_end = stopping_epoch_end

PAUSE = os.environ.get("TFWEEK3_TEST_PAUSE")
if PAUSE and os.environ.get("TFWEEK3_TEST_PAUSE_TUNER", os.environ.get("KERASTUNER_TUNER_ID")) \
        == os.environ.get("KERASTUNER_TUNER_ID"):
    from tfweek3.tuning.tuners import EpochTuner

    trial_number, pause_epoch, marker = PAUSE.split(":", 2)
    trials: list[str] = []
    real_epoch_end = EpochTuner.on_epoch_end

    def pausing_epoch_end(self, trial, model, epoch, logs=None):
        real_epoch_end(self, trial, model, epoch, logs)
        if trial.trial_id not in trials:
            trials.append(trial.trial_id)
        if (trial_number in ("any", str(len(trials))) and epoch + 1 == int(pause_epoch)
                and not os.path.exists(marker)):
            mine = f"{marker}.{os.getpid()}.tmp"
            with open(mine, "w") as f:
                f.write(str(os.getpid()))
            try:  # whole, and only once: of two processes pausing together, the first stays
                os.link(mine, marker)
            except FileExistsError:
                return
            finally:
                os.remove(mine)
            time.sleep(3600)

    EpochTuner.on_epoch_end = pausing_epoch_end
