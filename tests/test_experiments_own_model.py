"""Notebook 5's helpers (tfweek3.course.own_model): coarse to fine's boxes, the epochs a search
trained, the contests' tables, where the contests' data come from, and the contests themselves
on a tiny model (a few seconds each)."""

import gzip
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import keras
import matplotlib
import numpy as np
import pytest

import tfweek3
from tfweek3.course import own_model
from tfweek3.training import keras_data
from tfweek3.tuning.results import SearchResult

matplotlib.use("Agg")


def tiny_model(hp, input_shape=(8, 8, 1)):
    """A softmax regression on the pixels, alpha and beta on the course's scales, a dropout."""
    alpha = tfweek3.hp_alpha(hp, low=1e-3, high=1.0)
    beta = tfweek3.hp_beta(hp)
    model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                              keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5)),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(alpha, momentum=beta),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def small_digits(seed: int):
    """The digits as images, cut to 300 training, 100 validation and 100 test examples."""
    data = tfweek3.load_dataset("digits", seed=seed, layout="images")
    return replace(data, x_train=data.x_train[:300], y_train=data.y_train[:300],
                   x_val=data.x_val[:100], y_val=data.y_val[:100],
                   x_test=data.x_test[:100], y_test=data.y_test[:100])


def on_100_examples(accuracy: float) -> bool:
    """Whether an accuracy is k / 100: measured on small_digits' 100 test examples."""
    return 0.0 <= accuracy <= 1.0 and abs(accuracy * 100 - round(accuracy * 100)) < 1e-4


def box(**ranges):
    """A HyperParameters config: a Float per (low, high), a Fixed per single value."""
    space = []
    for name, value in ranges.items():
        if isinstance(value, tuple):
            space.append({"class_name": "Float", "config": {"name": name, "min_value": value[0],
                                                            "max_value": value[1]}})
        else:
            space.append({"class_name": "Fixed", "config": {"name": name, "value": value}})
    return {"space": space, "values": {}}


def record(round_number, score, alpha, omb, status="completed"):
    return {"round": round_number, "score": score, "status": status,
            "hyperparameters": {"learning_rate": alpha, "one_minus_beta": omb}}


def test_round_rows_read_each_rounds_box_and_its_completed_trials():
    boxes = [box(learning_rate=(1e-3, 1.0), one_minus_beta=(1e-3, 0.1), filters=8),
             box(learning_rate=(0.01, 0.2), one_minus_beta=(0.01, 0.05), filters=8)]
    records = [record(1, 0.5, 0.002, 0.01), record(1, 0.9, 0.05, 0.02),
               record(1, 0.7, 0.5, 0.05), record(2, 0.95, 0.1, 0.03),
               record(2, 0.2, 0.02, 0.04, status="pruned")]
    rows = own_model.round_rows(SearchResult(records=records, best=records[3], directory=""),
                                boxes)
    assert [r["trials"] for r in rows] == [3, 2]
    assert rows[0]["box"] == {"learning_rate": (1e-3, 1.0), "one_minus_beta": (1e-3, 0.1)}
    assert rows[0]["best"] == 0.9 and rows[0]["median"] == pytest.approx(0.7)
    assert rows[1]["best"] == rows[1]["median"] == 0.95  # the pruned trial does not count
    text = own_model.format_rounds(rows)
    assert "round 2: 2 trials, best 0.950, median 0.950" in text
    assert "learning_rate   [0.01, 0.2]" in text
    fig = own_model.plot_boxes(SearchResult(records=records, best=records[3], directory="",
                                            objective="val_accuracy"), boxes)
    left = fig.axes[0]
    assert len(left.patches) == 2  # one box per round
    assert left.get_xscale() == left.get_yscale() == "log"


def test_epochs_trained_counts_what_a_continued_hyperband_trial_added():
    def trial(values, epochs=None):
        history = [None] * (epochs or 0)
        metrics = SimpleNamespace(exists=lambda name: epochs is not None,
                                  get_history=lambda name: history)
        return SimpleNamespace(hyperparameters=SimpleNamespace(values=values), metrics=metrics)

    oracle = SimpleNamespace(trials={
        "0": trial({"tuner/epochs": 3, "tuner/initial_epoch": 0}),
        "1": trial({"tuner/epochs": 9, "tuner/initial_epoch": 3}),   # continued: 6 more
        "2": trial({"learning_rate": 0.1}, epochs=4),                # a pruned trial's 4
        "3": trial({"learning_rate": 0.2})})                        # failed before an epoch
    assert own_model.epochs_trained(oracle) == 3 + 6 + 4


def test_summarize_gives_means_spread_and_wins_with_ties_to_each():
    rows = [{"seed": 0, "method": "grid", "val": 0.90, "test": 0.80, "seconds": 10},
            {"seed": 0, "method": "random", "val": 0.95, "test": 0.80, "seconds": 20},
            {"seed": 1, "method": "grid", "val": 0.97, "test": 0.90, "seconds": 12},
            {"seed": 1, "method": "random", "val": 0.93, "test": 0.84, "seconds": 22}]
    grid, random = own_model.summarize(rows)
    assert grid["method"] == "grid" and grid["seeds"] == 2
    assert grid["val"] == pytest.approx(0.935) and grid["test"] == pytest.approx(0.85)
    assert grid["test_sd"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert (grid["test_wins"], random["test_wins"]) == (2, 1)  # seed 0 a tie: both win
    assert (grid["val_wins"], random["val_wins"]) == (1, 1)
    assert random["seconds"] == 21
    lines = own_model.format_summary([grid, random]).splitlines()
    assert lines[1].split()[:4] == ["grid", "0.9350", "0.8500", f"{grid['test_sd']:.4f}"]
    fig = own_model.plot_contests({"a": rows, "b": rows})
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2  # a line per seed


def test_a_preset_grid_holds_its_values_and_counts_its_points():
    grid = {"learning_rate": (1e-3, 1.0, 10, "log"), "dropout": (0.0, 0.45, 0.15, "linear")}
    assert own_model.grid_size(grid) == 16
    hp = own_model.preset({"one_minus_beta": 0.1}, grid)
    assert [round(v, 6) for v in hp.space[0].values] == [0.001, 0.01, 0.1, 1.0]
    tiny_model(hp)  # build(hp) meets the names already declared: it takes their values
    assert hp.get("one_minus_beta") == 0.1
    assert hp.get("learning_rate") == pytest.approx(1e-3)  # the grid's first point
    assert {p.name for p in hp.space} == {"learning_rate", "dropout", "one_minus_beta"}


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file as keras.datasets keeps Fashion-MNIST: magic 2049 (labels) or 2051 (images)."""
    magic = 2049 if array.ndim == 1 else 2051
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_the_contests_take_fashion_mnist_from_keras_cache_when_it_is_there(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert own_model.contest_spec() == "digits"
    assert "not in Keras's cache" in own_model.data_note("digits")
    folder = Path(keras_data.cache_folder("fashion_mnist"))
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, m in (("train", 200), ("t10k", 50)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (m, 28, 28)))
        if split == "train":
            assert own_model.contest_spec() == "digits"  # a file missing: not there
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(m) % 10)
    spec = own_model.contest_spec()
    assert spec == "keras:fashion_mnist"
    assert "is in Keras's cache" in own_model.data_note(spec)
    limits = {"train": 100, "val": 30, "test": 20}
    assert "at most 100 training, 30 validation and 20 test" in own_model.data_note(spec, limits)
    data = own_model.contest_data(spec, seed=1, limits=limits)
    assert data.x_train.shape == (100, 28, 28, 1) and data.x_val.shape == (30, 28, 28, 1)
    assert data.x_test.shape == (20, 28, 28, 1) and data.y_test.dtype.kind in "iu"
    assert data.x_train.max() <= 1.0
    again = own_model.contest_data(spec, seed=1, limits=limits)
    assert np.array_equal(again.x_train, data.x_train)  # the same subset for the same seed
    assert len(own_model.contest_data(spec, seed=1).x_train) == 160  # 200 less the validation
    digits = own_model.contest_data("digits", seed=1)
    assert digits.x_train.shape[1:] == (8, 8, 1) and len(digits.x_train) > 1000  # not cut


def test_grid_walks_its_points_and_random_search_draws_as_many(tmp_path):
    grid = {"learning_rate": (0.01, 0.1, 10, "log"), "dropout": (0.0, 0.3, 0.3, "linear")}
    rows = own_model.grid_against_random(tiny_model, small_digits, 1, 1, grid,
                                         {"one_minus_beta": 0.1}, str(tmp_path))
    assert [(r["method"], r["tried"], r["trials"]) for r in rows] == [("grid", 2, 4),
                                                                      ("random", 4, 4)]
    alphas = {}
    for method in ("grid", "random"):
        trials = sorted((tmp_path / f"{method}_0").glob("trial_*/trial.json"))
        values = [json.loads(t.read_text())["hyperparameters"]["values"] for t in trials]
        assert len(values) == 4 and all(v["one_minus_beta"] == 0.1 for v in values)
        alphas[method] = {round(v["learning_rate"], 9) for v in values}
    assert alphas["grid"] == {0.01, 0.1}
    assert round(rows[0]["best_values"]["learning_rate"], 9) in alphas["grid"]
    assert all(1e-3 <= a <= 1.0 for a in alphas["random"]) and not alphas["random"] & {0.01, 0.1}
    assert all(on_100_examples(r["val"]) and on_100_examples(r["test"]) for r in rows)


def test_pbt_and_random_search_train_the_same_epochs(tmp_path):
    rows = own_model.pbt_against_random(tiny_model, small_digits, 1, 2, 2, 1, str(tmp_path))
    assert [(r["method"], r["epochs"]) for r in rows] == [("random", 4), ("pbt", 4)]
    assert all(on_100_examples(r["test"]) for r in rows)  # scored on the 100 test examples


def test_pruned_random_search_gets_no_more_epochs_than_hyperband(tmp_path):
    rows = own_model.hyperband_against_pruned(tiny_model, small_digits, 1, 3, str(tmp_path))
    hyperband, pruned = rows
    assert hyperband["method"] == "Hyperband" and pruned["method"] == "pruned random"
    # max_epochs 3, factor 3: 3 trials of 1 epoch, the best continued to 3 (2 more), then 2
    # trials of 3 epochs: KerasTuner's brackets, counted as the epochs each trial added.
    assert hyperband["epochs"] == 3 * 1 + 2 + 2 * 3 and hyperband["trials"] == 6
    assert hyperband["epochs"] - 3 < pruned["epochs"] <= hyperband["epochs"]
    assert on_100_examples(hyperband["test"]) and on_100_examples(pruned["test"])
