"""The private Keras names tfweek3 depends on: all of them here, each with its reason.

One, for speed. Keras 3 writes and reads a weights file (.weights.h5) by walking
each object's attributes, leaving out those of its base class: a "skip set",
the attribute names of a reference Layer, Optimizer, ... that
`saving_lib.get_attr_skipset` means to build once and keep in Keras's global
state. Keras 3.15 keeps it under `saving_attr_skipset_<type>` but looks for
`saving_attr_skiplist_<type>`, so every save and every load builds those
reference objects again, an Optimizer with its variables among them: about half
of the 12 ms a search spends writing a trial's checkpoint of the course network
(6.9 ms with the sets kept) and a third of the 17 ms of loading it (11.6 ms).
`keep_saving_skipsets` keeps each set under the name Keras looks for.
`tests/test_keras_internals.py` checks the names below against the installed
Keras and fails, naming this module, when a release no longer needs it.

One more lives where it is used, in the training floor (which imports nothing
from here): `training/optimizers.optimizer_slots` finds an optimizer's state for
a variable (Adam's momentum and velocity, SGD's momentum) by the names Keras
gives those variables, since Keras has no public way to ask for them; a member
of a stacked network moves its optimizer state in and out of Keras's with it.
"""

from __future__ import annotations

PRIVATE_NAMES = {
    "keras.src.saving.saving_lib.get_attr_skipset":
        "builds the skip set of a kind of object (Keras's own function, so the sets are its own)",
    "keras.src.backend.common.global_state.get_global_attribute / set_global_attribute":
        "where Keras looks for a kept skip set, as saving_attr_skiplist_<type>",
    "optimizer slot names <variable path with _>_momentum / _velocity":
        "how training/optimizers.optimizer_slots finds Adam's and SGD's state for a variable",
}
SKIPSET_KINDS = ("Operation", "Layer", "Functional", "Sequential", "Metric", "Optimizer", "Loss")


def skipset_key(kind: str) -> str:
    """The global attribute under which Keras 3.15's get_attr_skipset looks for a kept set."""
    return f"saving_attr_skiplist_{kind}"


def keep_saving_skipsets() -> None:
    """Keep Keras's saving skip sets where Keras looks for them (see the module's docstring).

    Called before each save and load: keras.backend.clear_session() empties
    Keras's global state (a search of your own model clears it before every
    trial), and the global state is per thread.
    """
    from keras.src.backend.common import global_state
    from keras.src.saving import saving_lib

    for kind in SKIPSET_KINDS:
        if global_state.get_global_attribute(skipset_key(kind)) is None:
            global_state.set_global_attribute(skipset_key(kind), saving_lib.get_attr_skipset(kind))
