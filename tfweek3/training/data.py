"""The data sets of the week, ready for a softmax classifier, and their mini-batches.

Three sources, named by a spec string:

    "digits"          scikit-learn's handwritten digits (8x8 images, 10 classes,
                      1797 examples). It ships inside scikit-learn: no download.
    "signs:FOLDER"    the course's SIGNS files, FOLDER/train_signs.h5 and
                      FOLDER/test_signs.h5 (keys train_set_x, train_set_y,
                      test_set_x, test_set_y, list_classes; 64x64x3 uint8 images,
                      labels 0 to 5).
    "npz:FILE"        any NumPy .npz file with x_train, y_train, x_test, y_test
                      (and optionally class_names).
    "keras:NAME"      keras:mnist, keras:fashion_mnist or keras:cifar10, the data sets of
                      keras.datasets, downloaded on first use into Keras's own cache
                      (keras_data.py).

Every source ends up the same way: pixels scaled to [0, 1], and a stratified
validation split taken from the training examples with a seed. For the course
network (layout="flat", the default) each image is flattened to a row of pixels
and the labels are one-hot (y_j = 1 for the true class j, the form the loss
L = -sum_j y_j log y_hat_j expects). For a model of your own (layout="images")
an image keeps its shape (height, width, channels; a grey image gets one
channel) and the labels stay integers, for a sparse loss such as
keras.losses.SparseCategoricalCrossentropy. Bad input raises `DataError`, whose
message names the file and the key.

How an epoch goes through the training examples, in mini-batches: batches.py.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass

import numpy as np

from tfweek3.training import keras_data

SPECS = "digits, signs:FOLDER, npz:FILE or keras:mnist, keras:fashion_mnist, keras:cifar10"

# digits has no test split of its own: a fixed 20% of it is held out, with a fixed
# seed, so that the test set is the same whatever seed a run uses.
DIGITS_TEST_FRACTION = 0.2
DIGITS_TEST_SEED = 0


class DataError(ValueError):
    """A data file that cannot be used: missing, missing a key, or inconsistent."""


LAYOUTS = ("flat", "images")


@dataclass
class Dataset:
    """Train, validation and test splits, x float32 in [0, 1].

    layout "flat": x (m, n_x), y (m, C) one-hot float32; "images": x (m, height,
    width, channels) as stored, y (m,) integer labels.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: list[str]
    name: str
    layout: str = "flat"

    @property
    def input_dim(self) -> int:
        """n_x, the number of input features (pixels) of one example."""
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one example: (n_x,) flat, (height, width, channels) as images."""
        return tuple(int(n) for n in self.x_train.shape[1:])


def load_dataset(spec: str = "digits", validation_fraction: float = 0.2, seed: int = 0,
                 layout: str = "flat") -> Dataset:
    """Load the data set named by `spec` ("digits", "signs:FOLDER" or "npz:FILE").

    `validation_fraction` of the training examples (stratified: each class keeps
    its share) become the validation set; `seed` chooses which ones. `layout`:
    "flat" (the course network: rows of pixels, one-hot labels) or "images"
    (a model of your own: images as stored, integer labels).
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(
            f"validation_fraction must be between 0 and 1 (exclusive); got {validation_fraction}"
        )
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}; got {layout!r}")
    kind, _, location = spec.partition(":")
    if kind == "digits" and not location:
        x_train, y_train, x_test, y_test, class_names = _read_digits()
    elif kind == "signs" and location:
        x_train, y_train, x_test, y_test, class_names = _read_signs(location)
    elif kind == "npz" and location:
        x_train, y_train, x_test, y_test, class_names = _read_npz(location)
    elif kind == "keras" and location in keras_data.SETS:
        x_train, y_train, x_test, y_test, class_names = _read_keras(location)
    else:
        raise ValueError(f"dataset must be {SPECS}; got {spec!r}")

    train_idx, val_idx = _stratified_split(y_train, validation_fraction, seed, spec)
    num_classes = len(class_names)
    if layout == "images":
        labels = (y_train[train_idx], y_train[val_idx], y_test)
    else:
        x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
        labels = tuple(one_hot(y, num_classes)
                       for y in (y_train[train_idx], y_train[val_idx], y_test))
    return Dataset(
        x_train=x_train[train_idx],
        y_train=labels[0],
        x_val=x_train[val_idx],
        y_val=labels[1],
        x_test=x_test,
        y_test=labels[2],
        num_classes=num_classes,
        class_names=class_names,
        name=spec,
        layout=layout,
    )


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels (m,) -> one-hot rows (m, C) of float32: row i has a 1 in column labels[i]."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


# --- readers: each returns x_train, y_train (int labels), x_test, y_test, class_names ---


def _read_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images[..., np.newaxis] / 16.0).astype(np.float32)  # 8x8x1; pixels are 0..16
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=DIGITS_TEST_SEED
    )
    return x_train, y_train, x_test, y_test, [str(c) for c in digits.target_names]


def _read_signs(folder: str):
    import h5py

    arrays = {}
    for filename, keys in (
        ("train_signs.h5", ("train_set_x", "train_set_y", "list_classes")),
        ("test_signs.h5", ("test_set_x", "test_set_y")),
    ):
        path = os.path.join(folder, filename)
        if not os.path.isfile(path):
            raise DataError(f"{path}: file not found (a SIGNS folder has {filename})")
        try:
            with h5py.File(path, "r") as f:
                for key in keys:
                    if key not in f:
                        raise DataError(f"{path}: missing key {key!r} (found {sorted(f.keys())})")
                    arrays[key] = (np.asarray(f[key][()]), path)
        except OSError as error:
            raise DataError(f"{path}: not a readable HDF5 file ({error})") from None

    classes = arrays["list_classes"][0].reshape(-1)
    class_names = [c.decode() if isinstance(c, bytes) else str(c) for c in classes]
    x_train = _images(*arrays["train_set_x"], "train_set_x")
    x_test = _images(*arrays["test_set_x"], "test_set_x")
    y_train = _labels(*arrays["train_set_y"], "train_set_y", len(class_names))
    y_test = _labels(*arrays["test_set_y"], "test_set_y", len(class_names))
    _check_lengths(x_train, y_train, arrays["train_set_y"][1], "train_set_x", "train_set_y")
    _check_lengths(x_test, y_test, arrays["test_set_y"][1], "test_set_x", "test_set_y")
    return x_train, y_train, x_test, y_test, class_names


def _read_npz(path: str):
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None
    for key in ("x_train", "y_train", "x_test", "y_test"):
        if key not in arrays:
            raise DataError(f"{path}: missing key {key!r} (found {sorted(arrays)})")

    if "class_names" in arrays:
        class_names = [str(c) for c in arrays["class_names"].reshape(-1)]
    else:
        # Without names, the classes are 0 .. the largest label seen.
        labels = np.concatenate([arrays["y_train"].reshape(-1), arrays["y_test"].reshape(-1)])
        largest = int(labels.max()) if labels.size and np.all(np.isfinite(labels)) else 0
        class_names = [str(c) for c in range(max(largest, 0) + 1)]
    if len(class_names) < 2:
        raise DataError(f"{path}: needs at least 2 classes; found {len(class_names)}")

    train_max = arrays["x_train"].max() if arrays["x_train"].size else 0
    x_train = _images(arrays["x_train"], path, "x_train", scale_max=train_max)
    x_test = _images(arrays["x_test"], path, "x_test", scale_max=train_max)
    y_train = _labels(arrays["y_train"], path, "y_train", len(class_names))
    y_test = _labels(arrays["y_test"], path, "y_test", len(class_names))
    _check_lengths(x_train, y_train, path, "x_train", "y_train")
    _check_lengths(x_test, y_test, path, "x_test", "y_test")
    if x_train[0].size != x_test[0].size:
        raise DataError(
            f"{path}: x_train and x_test have different sizes per example "
            f"({x_train[0].size} and {x_test[0].size} values)"
        )
    return x_train, y_train, x_test, y_test, class_names


def _read_keras(name: str):
    """A keras.datasets set from Keras's cache (downloaded on first use), pixels scaled."""
    try:
        x_train, y_train, x_test, y_test, class_names = keras_data.read(name)
    except keras_data.DownloadError as error:
        raise DataError(str(error)) from None
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as error:
        raise DataError(f"keras:{name}: a file in {keras_data.cache_folder(name)} is not "
                        f"readable ({type(error).__name__}: {error}); delete it to download "
                        "it again") from None
    where = f"keras:{name}"
    labels = [_labels(np.asarray(y).reshape(-1), where, key, len(class_names))
              for y, key in ((y_train, "y_train"), (y_test, "y_test"))]
    x_train = _images(np.asarray(x_train), where, "x_train", scale_max=255)
    x_test = _images(np.asarray(x_test), where, "x_test", scale_max=255)
    _check_lengths(x_train, labels[0], where, "x_train", "y_train")
    _check_lengths(x_test, labels[1], where, "x_test", "y_test")
    return x_train, labels[0], x_test, labels[1], class_names


def _images(x: np.ndarray, path: str, key: str, scale_max=None) -> np.ndarray:
    """Scale to [0, 1] (float32), each example in its own shape: an image of shape (height,
    width) gets one channel, (height, width, channels) and rows of values stay as they are.

    Integer pixels are divided by 255 (uint8) or by the largest training value;
    floats already in [0, 1] are kept, other floats are divided by the largest
    training value.
    """
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(f"{path}: key {key!r} must hold at least one example; got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{path}: key {key!r} must hold numbers; got dtype {x.dtype}")
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: key {key!r} holds NaN or infinite values")
    if x.dtype == np.uint8:
        scale = 255.0
    elif np.issubdtype(x.dtype, np.floating) and x.min() >= 0 and x.max() <= 1:
        scale = 1.0
    else:
        scale = float(scale_max) if scale_max is not None and scale_max > 0 else 1.0
    if x.min() < 0:
        raise DataError(f"{path}: key {key!r} holds negative pixel values")
    return np.clip(x.astype(np.float32) / np.float32(scale), 0.0, 1.0)


def _labels(y: np.ndarray, path: str, key: str, num_classes: int) -> np.ndarray:
    """Integer labels as a vector (m,); the course stores them as (m,) or (1, m)."""
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise DataError(f"{path}: key {key!r} must be a vector of labels; got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise DataError(f"{path}: key {key!r} must hold integer labels; got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y) & (y == np.round(y))):
        raise DataError(f"{path}: key {key!r} must hold integer labels; found non-integers")
    bad = (y < 0) | (y >= num_classes)
    if np.any(bad):
        raise DataError(
            f"{path}: key {key!r} has labels outside [0, {num_classes}): "
            f"{sorted(set(y[bad].tolist()))[:5]}"
        )
    return y.astype(np.int64)


def _check_lengths(x: np.ndarray, y: np.ndarray, path: str, x_key: str, y_key: str) -> None:
    if len(x) != len(y):
        raise DataError(
            f"{path}: keys {x_key!r} and {y_key!r} have different lengths ({len(x)} and {len(y)})"
        )


def _stratified_split(
    y: np.ndarray, fraction: float, seed: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation examples; each class keeps its share in both."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(y))
    counts = np.bincount(y)
    # Stratifying needs 2 examples of each class present and a split with room for each class.
    stratify = y if counts[counts > 0].min() >= 2 else None
    n_val = int(np.ceil(fraction * len(y)))
    n_classes = int(np.count_nonzero(counts))
    if stratify is not None and (n_val < n_classes or len(y) - n_val < n_classes):
        stratify = None
    if n_val >= len(y):
        raise DataError(
            f"{source}: too few training examples ({len(y)}) for a validation split of {fraction}"
        )
    train_idx, val_idx = train_test_split(
        indices, test_size=n_val, stratify=stratify, random_state=seed
    )
    return np.sort(train_idx), np.sort(val_idx)
