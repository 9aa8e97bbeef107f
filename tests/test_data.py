"""The data sets (digits, SIGNS files, .npz) against their sources, and the mini-batch pipeline."""

import os

import numpy as np
import pytest
from helpers_data import write_signs
from sklearn.datasets import load_digits

from tfweek3.training.batches import make_batches
from tfweek3.training.data import DataError, load_dataset


def rows(x):
    """The examples of x as a sorted list of byte strings (to compare sets of examples)."""
    return sorted(row.tobytes() for row in np.ascontiguousarray(x))


def test_digits_is_sklearn_digits_scaled_split_and_one_hot():
    data = load_dataset("digits")
    digits = load_digits()
    assert (data.num_classes, data.input_dim) == (10, 64)
    assert data.class_names == [str(c) for c in range(10)]
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 1797
    assert len(data.x_test) == 360 and len(data.x_val) == 288
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        np.testing.assert_array_equal(y.sum(axis=1), 1.0)
    # Every example appears once, as data / 16, with its label.
    x_all = np.concatenate([data.x_train, data.x_val, data.x_test])
    y_all = np.concatenate([data.y_train, data.y_val, data.y_test]).argmax(axis=1)
    expected = (digits.data / 16.0).astype(np.float32)
    assert rows(x_all) == rows(expected)
    assert rows(np.column_stack([x_all, y_all]).astype(np.float32)) == rows(
        np.column_stack([expected, digits.target]).astype(np.float32))


def test_validation_split_is_stratified_and_seeded():
    a, b, c = load_dataset(seed=0), load_dataset(seed=0), load_dataset(seed=1)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert rows(a.x_val) != rows(c.x_val)
    np.testing.assert_array_equal(a.x_test, c.x_test)  # the test set does not move with the seed
    train_plus_val = a.y_train.sum(axis=0) + a.y_val.sum(axis=0)
    # Each class keeps its share: 0.2 of its examples, to within one example.
    assert np.all(np.abs(a.y_val.sum(axis=0) - 0.2 * train_plus_val) <= 1.0)


@pytest.mark.parametrize("label_shape", ["vector", "row"])
def test_signs_files_are_read_flattened_and_scaled(tmp_path, label_shape):
    labels = np.arange(30) % 6
    train, test = write_signs(tmp_path, labels=labels if label_shape == "vector" else labels[None, :])
    data = load_dataset(f"signs:{tmp_path}", validation_fraction=0.2)
    assert (data.num_classes, data.input_dim) == (6, 64 * 64 * 3)
    assert data.class_names == ["0", "1", "2", "3", "4", "5"]
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (24, 6, 12)
    assert sorted(data.y_val.argmax(axis=1)) == [0, 1, 2, 3, 4, 5]  # stratified: one per class
    np.testing.assert_allclose(data.x_test, test["test_set_x"].reshape(12, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.y_test.argmax(axis=1), test["test_set_y"])
    x_all = np.concatenate([data.x_train, data.x_val])
    assert rows(x_all) == rows((train["train_set_x"].reshape(30, -1) / 255.0).astype(np.float32))


def test_npz_with_integer_and_float_pixels(tmp_path):
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, size=(40, 5, 5), dtype=np.uint8)
    x_test = rng.random((10, 25)).astype(np.float64)  # already in [0, 1]: kept as is
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x_train, y_train=np.arange(40) % 4, x_test=x_test,
             y_test=np.arange(10) % 4, class_names=np.array(["a", "b", "c", "d"]))
    data = load_dataset(f"npz:{path}")
    assert data.class_names == ["a", "b", "c", "d"] and data.input_dim == 25
    assert rows(np.concatenate([data.x_train, data.x_val])) == rows(
        (x_train.reshape(40, -1) / 255.0).astype(np.float32))
    np.testing.assert_allclose(data.x_test, x_test, rtol=1e-6)


@pytest.mark.parametrize(
    "change, file, words",
    [
        ("no_train_file", "train_signs.h5", ["file not found"]),
        ("no_test_file", "test_signs.h5", ["file not found"]),
        ("missing_key", "train_signs.h5", ["missing key", "train_set_y"]),
        ("missing_test_key", "test_signs.h5", ["missing key", "test_set_x"]),
        ("lengths", "train_signs.h5", ["train_set_x", "train_set_y", "different lengths"]),
        ("label_6", "train_signs.h5", ["train_set_y", "outside [0, 6)", "6"]),
        ("label_negative", "test_signs.h5", ["test_set_y", "outside [0, 6)", "-1"]),
    ],
)
def test_bad_signs_files_name_the_file_and_the_key(tmp_path, change, file, words):
    if change == "missing_key":
        write_signs(tmp_path, train_set_y=None)
    elif change == "missing_test_key":
        write_signs(tmp_path, test_set_x=None)
    elif change == "lengths":
        write_signs(tmp_path, labels=np.arange(29) % 6)
    elif change == "label_6":
        write_signs(tmp_path, labels=np.arange(30) % 7)
    elif change == "label_negative":
        write_signs(tmp_path, test_set_y=np.arange(12) % 6 - 1)
    else:
        write_signs(tmp_path)
        os.remove(tmp_path / file)
    with pytest.raises(DataError) as error:
        load_dataset(f"signs:{tmp_path}")
    message = str(error.value)
    assert str(tmp_path / file) in message
    for word in words:
        assert word in message


def test_bad_npz_files_name_the_file_and_the_key(tmp_path):
    path = tmp_path / "d.npz"
    with pytest.raises(DataError, match="file not found") as error:
        load_dataset(f"npz:{path}")
    assert str(path) in str(error.value)
    np.savez(path, x_train=np.zeros((8, 4)), y_train=np.arange(8) % 2, x_test=np.zeros((3, 4)))
    with pytest.raises(DataError, match="missing key 'y_test'") as error:
        load_dataset(f"npz:{path}")
    assert str(path) in str(error.value)
    np.savez(path, x_train=np.zeros((8, 4)), y_train=np.arange(8) % 2, x_test=np.zeros((3, 4)),
             y_test=np.array([0, 1, 5]), class_names=np.array(["no", "yes"]))
    with pytest.raises(DataError, match=r"'y_test' has labels outside \[0, 2\): \[5\]"):
        load_dataset(f"npz:{path}")


def test_bad_spec_is_a_value_error():
    with pytest.raises(ValueError, match="'mnist'"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="validation_fraction"):
        load_dataset("digits", validation_fraction=1.0)


def epochs_of(x, batch_size, seed, epochs, first_epoch=0):
    """The example indices of each epoch's mini-batches (x holds the indices as values)."""
    batches = [xb.numpy()[:, 0].astype(int) for xb, _ in
               make_batches(x, x, batch_size, seed, epochs=epochs, first_epoch=first_epoch)]
    per_epoch = -(-len(x) // batch_size)
    return [batches[i * per_epoch:(i + 1) * per_epoch] for i in range(epochs)]


def test_mini_batches_cover_every_example_in_a_new_order_each_epoch():
    x = np.arange(100, dtype=np.float32)[:, None]
    epochs = epochs_of(x, 32, seed=0, epochs=3)
    assert [len(batches) for batches in epochs] == [4, 4, 4]  # then the next epoch
    for batches in epochs:
        assert [len(b) for b in batches] == [32, 32, 32, 4]
        assert sorted(np.concatenate(batches)) == list(range(100))
    orders = [np.concatenate(b) for b in epochs]
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    assert not np.array_equal(orders[0], np.arange(100))
    # Same seed, same orders; another seed, other orders.
    again = [np.concatenate(b) for b in epochs_of(x, 32, seed=0, epochs=3)]
    other = [np.concatenate(b) for b in epochs_of(x, 32, seed=1, epochs=3)]
    np.testing.assert_array_equal(np.stack(again), np.stack(orders))
    assert not np.array_equal(other[0], orders[0])


def test_a_pipeline_started_at_epoch_e_gives_epoch_e_batches():
    """What resuming relies on: epoch 2's mini-batches do not depend on where the pipeline began."""
    x = np.arange(50, dtype=np.float32)[:, None]
    from_start = epochs_of(x, 16, seed=3, epochs=3)[2]
    resumed = epochs_of(x, 16, seed=3, epochs=1, first_epoch=2)[0]
    for a, b in zip(from_start, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_batches_pair_each_x_with_its_y():
    x = np.arange(20, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.eye(20, dtype=np.float32)
    for xb, yb in make_batches(x, y, 6, seed=0, epochs=2):
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy().argmax(axis=1))
