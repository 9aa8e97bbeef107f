"""The files of a search: local paths with plain Python, others (gs://, s3://) through tf.io.gfile.

A search folder may be on any filesystem TensorFlow knows (KerasTuner itself
writes through tf.io.gfile), so that workers on several hosts can share one.
Local paths do not need TensorFlow, which the `--workers` supervisor never
imports. Every write goes to a temporary file first and is then renamed over
the old one: a process killed mid-write leaves the previous version, never half a file.
"""

from __future__ import annotations

import glob as _glob
import json
import os
import shutil
import uuid


class StateFileError(RuntimeError):
    """A state file that cannot be read (truncated, not JSON, from another kind of run)."""

    def __init__(self, path: str | os.PathLike, cause: Exception):
        self.path = str(path)
        super().__init__(f"{path} is unreadable ({type(cause).__name__}: {cause})")


class SearchMismatch(RuntimeError):
    """A folder holds a search with other settings than the one asked to continue it."""


def is_remote(path: str | os.PathLike) -> bool:
    """Whether `path` names a file on another filesystem, like gs://bucket/runs."""
    return "://" in str(path)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def join(*parts: str | os.PathLike) -> str:
    return os.path.join(*map(str, parts))


def exists(path: str | os.PathLike) -> bool:
    return _gfile().exists(str(path)) if is_remote(path) else os.path.exists(path)


def makedirs(path: str | os.PathLike) -> None:
    if is_remote(path):
        _gfile().makedirs(str(path))
    else:
        os.makedirs(path, exist_ok=True)


def read_text(path: str | os.PathLike) -> str:
    if is_remote(path):
        with _gfile().GFile(str(path), "r") as f:
            return f.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def read_json(path: str | os.PathLike):
    """The JSON content of `path`, or StateFileError naming it."""
    try:
        return json.loads(read_text(path))
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise StateFileError(path, error) from error


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` through a temporary file renamed over it."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` through a temporary file renamed over it."""
    tmp = f"{path}.{uuid.uuid4().hex[:12]}.tmp"  # one of its own: writers may meet
    if is_remote(path):
        gfile = _gfile()
        with gfile.GFile(tmp, "wb") as f:
            f.write(data)
        gfile.rename(tmp, str(path), overwrite=True)
        return
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def glob(pattern: str | os.PathLike) -> list[str]:
    if is_remote(pattern):
        return sorted(_gfile().glob(str(pattern)))
    return sorted(_glob.glob(str(pattern)))


def rmtree(path: str | os.PathLike) -> None:
    if is_remote(path):
        _gfile().rmtree(str(path))
    else:
        shutil.rmtree(path)
