"""`tfweek3 tune --model FILE.py:NAME`: a hypermodel of your own, written the KerasTuner way.

NAME in FILE.py is either a function `build_model(hp)` returning a compiled
Keras model (KerasTuner wraps it), a `keras_tuner.HyperModel` subclass (made
with no arguments: override its `fit` to tune the mini-batch size, say) or an
instance of one. Every process of a `--workers` search imports the same file.

The data reach the model's `fit` as stored: images keep their shape (height,
width, channels) and labels stay integers, so compile with a sparse loss
(keras.losses.SparseCategoricalCrossentropy and "accuracy").
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import traceback
from typing import Any


class ModelFileError(ValueError):
    """A model file that does not import, or lacks the function it was asked for."""


def split_spec(spec: str) -> tuple[str, str]:
    """"FILE.py:NAME" -> (FILE.py, NAME); NAME defaults to build_model."""
    path, colon, name = spec.rpartition(":")
    if not colon or not path.endswith(".py"):
        path, name = spec, "build_model"
    if not path.endswith(".py"):
        raise ModelFileError(f"expected FILE.py:NAME (a Python file and the function in it), "
                             f"got {spec!r}")
    if not name.isidentifier():
        raise ModelFileError(f"{name!r} is not a Python name (in {spec!r})")
    return path, name


def model_file(spec: str) -> tuple[str, str]:
    """"FILE.py:NAME" -> (FILE.py, NAME) of a file that exists; ModelFileError otherwise.
    Needs no TensorFlow: the command line checks it before TensorFlow loads."""
    path, name = split_spec(spec)
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such file")
    return path, name


def load_hypermodel(spec: str) -> Any:
    """The hypermodel NAME of FILE.py: a build function, or a HyperModel instance.

    Raises ModelFileError in one line: the file is missing, does not import
    (the error and its line), or has no NAME (listing what it does define).
    """
    import keras_tuner as kt

    path, name = model_file(spec)
    module_name = "tfweek3_model_" + hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:12]
    if module_name not in sys.modules:
        loader = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader)
        try:
            loader.loader.exec_module(module)
        except Exception as error:  # noqa: BLE001 -- any error of the user's file, in one line
            raise ModelFileError(f"{path} does not import: {describe_error(error, path)}") from None
        sys.modules[module_name] = module
    module = sys.modules[module_name]
    found = getattr(module, name, None)
    if inspect.isclass(found) and issubclass(found, kt.HyperModel):
        return found()
    if isinstance(found, kt.HyperModel) or inspect.isfunction(found):
        return found
    defined = sorted(n for n, v in vars(module).items() if not n.startswith("_")
                     and (inspect.isfunction(v) or isinstance(v, kt.HyperModel)
                          or (inspect.isclass(v) and issubclass(v, kt.HyperModel)))
                     and getattr(v, "__module__", module_name) == module_name)
    what = f"it defines {', '.join(defined)}" if defined else "it defines no function"
    raise ModelFileError(f"{path} has no function or HyperModel named {name!r} ({what})")


def describe_error(error: Exception, path: str) -> str:
    """'SyntaxError: invalid syntax (line 3)', or the error with the file's line it came from."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg} (line {error.lineno})"
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
             if os.path.abspath(frame.filename) == os.path.abspath(path)]
    where = f" (line {lines[-1]})" if lines else ""
    return f"{type(error).__name__}: {error}{where}"
