"""The data sets every Keras learner knows: keras:mnist, keras:fashion_mnist, keras:cifar10.

They come from where keras.datasets takes them, into Keras's own cache
($KERAS_HOME/datasets, or ~/.keras/datasets), as for any Keras user: on first
use `keras.utils.get_file` downloads a set (its checksum checked, where
keras.datasets gives one); afterwards it is read from the cache, in the format
keras.datasets keeps it:

    keras:mnist           datasets/mnist.npz: x_train (60000, 28, 28) uint8, y_train, x_test,
                          y_test
    keras:fashion_mnist   datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    keras:cifar10         datasets/cifar-10-batches-py-target/cifar-10-batches-py/data_batch_1..5,
                          test_batch: pickled dicts of b"data" (n, 3072) and b"labels"

Without a network, a first use ends in one line (DataError): the download
failed, from where, and what to do. Reading needs no TensorFlow; downloading
imports Keras.
"""

from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass

import numpy as np

GOOGLE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@dataclass(frozen=True)
class KerasSet:
    """Where keras.datasets keeps one data set, and its classes."""

    files: tuple[str, ...]       # in the cache, under cache_subdir
    origins: tuple[str, ...]     # where each is downloaded from
    cache_subdir: str = "datasets"
    file_hash: str | None = None
    extract: bool = False
    class_names: tuple[str, ...] = tuple(str(d) for d in range(10))


FASHION = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
           "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
SETS = {
    "mnist": KerasSet(
        ("mnist.npz",), (GOOGLE + "mnist.npz",),
        file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    "fashion_mnist": KerasSet(
        FASHION, tuple(GOOGLE + f for f in FASHION), cache_subdir="datasets/fashion-mnist",
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                     "Sneaker", "Bag", "Ankle boot")),
    "cifar10": KerasSet(
        ("cifar-10-batches-py-target",),
        ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",), extract=True,
        file_hash="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        class_names=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                     "ship", "truck")),
}


class DownloadError(OSError):
    """A data set that is not in Keras's cache and could not be downloaded."""


def keras_home() -> str:
    """Keras's cache: $KERAS_HOME, or ~/.keras (what keras.utils.get_file documents)."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def cache_folder(name: str) -> str:
    """The folder of Keras's cache where a set's files are."""
    return os.path.join(keras_home(), SETS[name].cache_subdir)


def fetch(name: str) -> list[str]:
    """The paths of a set's files in Keras's cache, downloaded first when missing."""
    spec = SETS[name]
    paths = []
    for fname, origin in zip(spec.files, spec.origins):
        path = os.path.join(cache_folder(name), fname)
        if not os.path.exists(path):
            path = _download(name, fname, origin)
        paths.append(path)
    return paths


def _download(name: str, fname: str, origin: str) -> str:
    import keras

    spec = SETS[name]
    try:
        return keras.utils.get_file(fname, origin=origin, file_hash=spec.file_hash,
                                    cache_subdir=spec.cache_subdir, cache_dir=keras_home(),
                                    extract=spec.extract)
    except Exception as error:  # noqa: BLE001 -- urllib, HTTP and hash errors alike
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DownloadError(
            f"keras:{name}: the download from {origin} failed ({reason}); run once with a "
            f"network, or put {fname} in {cache_folder(name)}") from None


def read(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """x_train, y_train, x_test, y_test (images as stored, integer labels) and the class names."""
    paths = fetch(name)
    if name == "mnist":
        with np.load(paths[0], allow_pickle=False) as f:
            arrays = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    elif name == "fashion_mnist":
        y_train, x_train, y_test, x_test = (_idx(path) for path in paths)
        arrays = x_train, y_train, x_test, y_test
    else:
        folder = os.path.join(paths[0], "cifar-10-batches-py")
        train = [_cifar_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
        x_test, y_test = _cifar_batch(os.path.join(folder, "test_batch"))
        arrays = (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
                  x_test, y_test)
    return (*arrays, list(SETS[name].class_names))


def _idx(path: str) -> np.ndarray:
    """An IDX file (gzip): labels after an 8-byte header, 28x28 images after a 16-byte one."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[:4], "big") == 2049:  # labels
        return np.frombuffer(data, np.uint8, offset=8)
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28)


def _cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A pickled CIFAR batch: images (n, 32, 32, 3) uint8 and their labels."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    x = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, np.asarray(batch[b"labels"], np.int64)
