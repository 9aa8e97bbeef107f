"""keras:mnist, keras:fashion_mnist and keras:cifar10, offline: small stand-in files in Keras's
cache, in the format keras.datasets keeps them, read by load_dataset as for the real ones; and a
first use without a network, one line naming where from and what to do, as a real process."""

import gzip
import pickle

import numpy as np
import pytest
from helpers_processes import messages, run

from tfweek3.training.data import DataError, load_dataset
from tfweek3.training.keras_data import SETS


def images(n, shape, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def labels(n, seed):
    return np.arange(n, dtype=np.uint8) % 10  # every class, in turn (a stratified split needs it)


def stand_in_mnist(home, n_train=100, n_test=20):
    folder = home / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    x_train, x_test = images(n_train, (28, 28), 1), images(n_test, (28, 28), 2)
    np.savez(folder / "mnist.npz", x_train=x_train, y_train=labels(n_train, 1),
             x_test=x_test, y_test=labels(n_test, 2))
    return x_train, x_test


def stand_in_fashion(home, n_train=100, n_test=20):
    folder = home / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    x_train, x_test = images(n_train, (28, 28), 3), images(n_test, (28, 28), 4)
    for prefix, x, y in (("train", x_train, labels(n_train, 3)), ("t10k", x_test, labels(n_test, 4))):
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write((2049).to_bytes(4, "big") + len(y).to_bytes(4, "big") + y.tobytes())
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write((2051).to_bytes(4, "big") + len(x).to_bytes(4, "big")
                    + (28).to_bytes(4, "big") * 2 + x.tobytes())
    return x_train, x_test


def stand_in_cifar(home, n=20):
    folder = home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        x = images(n, (32, 32, 3), 10 + i)  # (height, width, channels)
        stored = x.transpose(0, 3, 1, 2).reshape(n, 3072)  # as CIFAR stores it: channels first
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": stored, b"labels": list(labels(n, i))}, f)
        batches[name] = x
    return np.concatenate([batches[f"data_batch_{k}"] for k in range(1, 6)]), batches["test_batch"]


@pytest.mark.parametrize("name, stand_in, shape, classes", [
    ("mnist", stand_in_mnist, (28, 28, 1), "0"),
    ("fashion_mnist", stand_in_fashion, (28, 28, 1), "T-shirt/top"),
    ("cifar10", stand_in_cifar, (32, 32, 3), "airplane"),
])
def test_a_keras_set_is_read_from_kerass_cache_as_images_or_flat(tmp_path, monkeypatch, name,
                                                                  stand_in, shape, classes):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    x_train, x_test = stand_in(tmp_path)
    data = load_dataset(f"keras:{name}", seed=3, layout="images")
    assert data.input_shape == shape and data.class_names[0] == classes
    assert data.y_train.dtype == np.int64 and data.y_train.ndim == 1
    assert len(data.x_train) + len(data.x_val) == len(x_train)
    assert len(data.x_val) == int(np.ceil(0.2 * len(x_train)))  # the usual split
    # Pixels scaled to [0, 1], the test split as stored, each image in its own shape.
    np.testing.assert_allclose(data.x_test, (x_test.reshape(len(x_test), *shape) / 255.0),
                               rtol=1e-6)
    flat = load_dataset(f"keras:{name}", seed=3)
    assert flat.x_train.shape == (len(data.x_train), int(np.prod(shape)))
    np.testing.assert_array_equal(flat.y_val.argmax(axis=1), data.y_val)  # one-hot, same split
    np.testing.assert_array_equal(flat.x_val.reshape(data.x_val.shape), data.x_val)


def test_a_damaged_cache_file_is_an_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"keras:mnist: a file in .*datasets is not readable"):
        load_dataset("keras:mnist")


def test_a_first_use_without_a_network_is_one_line_with_what_to_do(tmp_path):
    # No network: every connection refused at once (a proxy on a closed local port).
    closed = "http://127.0.0.1:9"
    done = run("tune", "--dataset", "keras:mnist", "--dir", str(tmp_path / "run"),
               KERAS_HOME=str(tmp_path / "keras"), HTTPS_PROXY=closed, HTTP_PROXY=closed,
               https_proxy=closed, http_proxy=closed, NO_PROXY="", no_proxy="")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = messages(done.stderr)
    origin = SETS["mnist"].origins[0]
    assert line.startswith(f"tfweek3 tune: error: argument --dataset: keras:mnist: the download "
                           f"from {origin} failed (")
    assert line.endswith(f"run once with a network, or put mnist.npz in "
                         f"{tmp_path / 'keras' / 'datasets'}")
    assert not (tmp_path / "run" / "trials.csv").exists()
