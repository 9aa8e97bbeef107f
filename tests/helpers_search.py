"""Helpers for the search tests: run `tfweek3 tune` as a process and watch its folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")


def start_tune(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python -m tfweek3 tune ARGS` in the background, stdout and stderr captured."""
    return subprocess.Popen([sys.executable, "-m", "tfweek3", "tune", *args],
                            env=dict(ENV, **(env or {})), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_json(path: Path) -> dict | None:
    """The JSON in `path`, or None while it does not exist yet."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def epochs_reported(trial_file: Path) -> int:
    """How many epochs of a trial have reached the oracle (0 if none yet)."""
    state = read_json(trial_file)
    if state is None:
        return 0
    history = state["metrics"]["metrics"].get("epoch/val_accuracy", {}).get("observations", [])
    return len(history)


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen | None = None):
    """Poll `condition()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"process ended before {what}:\n{out}\n{err}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def observations(trial_file: Path, metric: str = "val_accuracy") -> list[dict]:
    """The per-epoch observations of one metric of a trial ("epoch/<metric>" in its file):
    [{"value": [...], "step": epoch}], epochs from 1."""
    return read_json(trial_file)["metrics"]["metrics"][f"epoch/{metric}"]["observations"]


def hparams_written(log_dir: Path) -> dict:
    """The hyperparameters a TensorBoard run folder records for the HParams dashboard."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import plugin_data_pb2

    (events,) = log_dir.glob("events.out.tfevents.*")
    for event in tf.compat.v1.train.summary_iterator(str(events)):
        for value in event.summary.value:
            if value.tag == "_hparams_/session_start_info":
                data = plugin_data_pb2.HParamsPluginData.FromString(
                    value.metadata.plugin_data.content)
                return dict(data.session_start_info.hparams)
    return {}
