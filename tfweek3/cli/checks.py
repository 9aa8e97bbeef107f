"""Checks a command makes before it starts work, each answering in one line.

They run before TensorFlow is imported, so a bad path or data set answers at
once; each returns an error message, or None when all is well.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile


def folder_error(path: str) -> str | None:
    """Why `path` cannot be used as an output folder (created if missing), or None."""
    if "://" in path:
        return None  # gs://... and other TensorFlow filesystems: checked when written
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        return f"cannot write in {path} ({error.strerror or error})"
    return None


def dataset_error(spec: str) -> str | None:
    """Why the data set `spec` cannot be loaded, or None (digits and SIGNS load without TensorFlow)."""
    from tfweek3.training.data import DataError, load_dataset

    try:
        load_dataset(spec)
    except (DataError, ValueError, OSError) as error:
        return str(error)
    return None


def model_file_error(spec: str) -> str | None:
    """Why `spec` ("FILE.py:NAME") names no Python file, or None; without TensorFlow, so that a
    mistyped path is answered at once."""
    from tfweek3.search.user_model import ModelFileError, model_file

    try:
        model_file(spec)
    except ModelFileError as error:
        return str(error)
    return None


def model_error(spec: str) -> str | None:
    """Why the hypermodel `spec` ("FILE.py:NAME") cannot be used, or None (imports TensorFlow)."""
    from tfweek3.search.user_model import ModelFileError, load_hypermodel

    try:
        load_hypermodel(spec)
    except ModelFileError as error:
        return str(error)
    return None


def same_command(add: tuple[str, ...] = (), drop: tuple[str, ...] = ("--overwrite",)) -> str:
    """The command line this process was started with, as a person would type it again."""
    argv = [arg for arg in sys.argv[1:] if arg not in drop]
    argv += [flag for flag in add if flag not in argv]
    return shlex.join(["tfweek3", *argv])
