"""Faults injected into the `tfweek3` processes that tests start (this folder is put first on
their PYTHONPATH, so Python imports this module when each process starts).

TFWEEK3_TEST_FAILING_TRIALS=1   every trial's training raises ValueError("injected: ...")
TFWEEK3_TEST_DYING_WORKER=ID    the worker process with that KerasTuner tuner id exits at once
TFWEEK3_TEST_PAUSE=N:E:FILE     the N-th trial this process trains (from 1) stops after epoch E:
                                it writes FILE (holding its pid) and waits to be killed. Only
                                once: a process started after FILE exists does not pause.
                                N = any: the first trial that reaches epoch E (epochs of a pbt
                                member count over its whole life, so E picks a generation).
TFWEEK3_TEST_PAUSE_TUNER=ID     with it, only the process with that tuner id pauses

The course network's trials train through `train` as tfweek3/search/hypermodel.py imports it:
it is replaced there.
"""

import os
import time

if os.environ.get("TFWEEK3_TEST_DYING_WORKER") == os.environ.get("KERASTUNER_TUNER_ID", "-"):
    os._exit(3)

TRAINING_MODULES = ("tfweek3.search.hypermodel",)

if os.environ.get("TFWEEK3_TEST_FAILING_TRIALS"):
    import importlib

    def failing_train(model, data, **kwargs):
        raise ValueError("injected: the data set could not be read")

    for name in TRAINING_MODULES:
        importlib.import_module(name).train = failing_train

PAUSE = os.environ.get("TFWEEK3_TEST_PAUSE")
if PAUSE and os.environ.get("TFWEEK3_TEST_PAUSE_TUNER", os.environ.get("KERASTUNER_TUNER_ID")) \
        == os.environ.get("KERASTUNER_TUNER_ID"):
    import importlib

    from tfweek3.training.loop import train as real_train

    trial_number, pause_epoch, marker = PAUSE.split(":", 2)
    calls = []

    def pausing_train(model, data, *, on_epoch_end, **kwargs):
        calls.append(1)

        def hook(epoch, logs):
            stop = on_epoch_end(epoch, logs)
            if (trial_number in ("any", str(len(calls))) and epoch == int(pause_epoch)
                    and not os.path.exists(marker)):
                with open(marker + ".tmp", "w") as f:
                    f.write(str(os.getpid()))
                os.replace(marker + ".tmp", marker)
                time.sleep(3600)
            return stop

        return real_train(model, data, on_epoch_end=hook, **kwargs)

    for name in TRAINING_MODULES:
        importlib.import_module(name).train = pausing_train
