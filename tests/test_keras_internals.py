"""The private Keras names tfweek3 depends on (tfweek3/tuning/keras_internals.py) still mean
what they meant, and what keeping Keras's saving skip sets changes: no weights file's content,
only the reference objects built on each save."""

import h5py
import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state
from keras.src.saving import saving_lib

from tfweek3.training.optimizers import optimizer_slots
from tfweek3.tuning import keras_internals as internals


def check(name: str, condition: bool, what: str) -> None:
    assert condition, (f"Keras {keras.__version__} changed the private name {name!r} that "
                       f"tfweek3 relies on ({what}); see tfweek3/tuning/keras_internals.py")


def compiled_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(np.ones((8, 5)), np.zeros((8, 2)), epochs=2, verbose=0)  # moments to save
    return model


def datasets(path: str) -> dict[str, bytes]:
    """Every array of an .h5 file, by its path in the file."""
    found = {}
    with h5py.File(path, "r") as handle:
        handle.visititems(lambda name, item: found.__setitem__(name, item[()].tobytes())
                          if isinstance(item, h5py.Dataset) else None)
    return found


class CountLayers:
    """How many keras Layers get built while inside."""

    def __enter__(self):
        self.count, self.original = 0, keras.layers.Layer.__init__

        def counting(layer, *args, **kwargs):
            self.count += 1
            self.original(layer, *args, **kwargs)

        keras.layers.Layer.__init__ = counting
        return self

    def __exit__(self, *exc):
        keras.layers.Layer.__init__ = self.original


def test_every_private_name_is_listed_with_its_reason():
    assert set(internals.PRIVATE_NAMES) == {
        "keras.src.saving.saving_lib.get_attr_skipset",
        "keras.src.backend.common.global_state.get_global_attribute / set_global_attribute",
        "optimizer slot names <variable path with _>_momentum / _velocity"}
    assert all(len(reason) > 20 for reason in internals.PRIVATE_NAMES.values())
    check("get_attr_skipset", callable(getattr(saving_lib, "get_attr_skipset", None)),
          "builds a kind of object's skip set")
    check("global_state", all(callable(getattr(global_state, name, None)) for name in
                              ("get_global_attribute", "set_global_attribute")),
          "Keras's global attributes")


def test_keras_still_loses_its_skip_sets_so_keeping_them_is_still_needed():
    keras.backend.clear_session()
    saving_lib.get_attr_skipset("Layer")
    cached = global_state.get_global_attribute(internals.skipset_key("Layer"))
    assert cached is None, (
        f"Keras {keras.__version__} now keeps its saving skip sets where it looks for them: "
        "keep_saving_skipsets (tfweek3/tuning/keras_internals.py) is no longer needed")


def test_kept_skip_sets_spare_the_reference_objects_and_change_no_file(tmp_path):
    model = compiled_model(0)
    keras.backend.clear_session(free_memory=False)  # what a search of your own model does
    plain, kept = str(tmp_path / "plain.weights.h5"), str(tmp_path / "kept.weights.h5")
    with CountLayers() as unkept:
        model.save_weights(plain)
    internals.keep_saving_skipsets()
    with CountLayers() as built:
        model.save_weights(kept)
    assert unkept.count > 0 and built.count == 0
    assert datasets(plain) == datasets(kept)
    for path in (plain, kept):  # each file loads every weight and moment back
        other = compiled_model(1)
        other.load_weights(path)
        for mine, theirs in ((model.weights, other.weights),
                             (model.optimizer.variables, other.optimizer.variables)):
            assert len(mine) == len(theirs)
            for a, b in zip(mine, theirs):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("cleared", [False, True])
def test_keeping_is_done_again_after_clear_session(cleared):
    internals.keep_saving_skipsets()
    if cleared:
        keras.backend.clear_session()
        assert global_state.get_global_attribute(internals.skipset_key("Optimizer")) is None
    internals.keep_saving_skipsets()
    for kind in internals.SKIPSET_KINDS:
        kept = global_state.get_global_attribute(internals.skipset_key(kind))
        assert kept is not None and "_self_unconditional_dependency_names" in kept


@pytest.mark.parametrize("optimizer,slots", [
    (keras.optimizers.Adam(0.01), 2), (keras.optimizers.SGD(0.01, momentum=0.9), 1),
    (keras.optimizers.SGD(0.01), 0)])
def test_optimizer_slots_finds_every_slot_keras_makes(optimizer, slots):
    """Every variable of a built optimizer but its step count and learning rate is a slot of
    one of the model's variables, found by training/optimizers.optimizer_slots."""
    model = compiled_model(0)
    optimizer.build(model.trainable_variables)
    found = [slot for v in model.trainable_variables for slot in optimizer_slots(optimizer, v)]
    check("optimizer slot names", len(found) == slots * len(model.trainable_variables)
          and {id(v) for v in found} == {id(v) for v in optimizer.variables[2:]},
          "optimizer_slots in tfweek3/training/optimizers.py finds them by name")
