"""Hypermodels written the plain KerasTuner way, as a learner would, and small data for them.

Three kinds of Keras model: a Sequential MLP, a Functional convnet and a
subclassed keras.Model; each compiled with a sparse loss and "accuracy", each
declaring its learning rate on a log scale (and the convnet its momentum on
the lecture's 1 - beta scale).
"""

from __future__ import annotations

import functools

import keras
import keras_tuner as kt

import tfweek3


@functools.cache
def digits():
    """Digits as 8x8x1 images with integer labels: (x_train, y_train), (x_val, y_val)."""
    data = tfweek3.load_dataset("digits", seed=0, layout="images")
    return (data.x_train, data.y_train), (data.x_val, data.y_val)


def sequential_mlp(hp):
    alpha = hp.Float("learning_rate", 1e-3, 0.3, sampling="log")
    model = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Flatten(),
        keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(alpha), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def functional_convnet(hp):
    alpha = tfweek3.hp_alpha(hp, low=1e-3, high=0.3)
    beta = tfweek3.hp_beta(hp)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(hp.Choice("filters", [4, 8]), 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(alpha, momentum=beta),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Subclassed(keras.Model):
    """A subclassed model: not built until it is called (KerasTuner keeps its build config)."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(self.flatten(x)))


class SubclassedHyperModel(kt.HyperModel):
    """A HyperModel whose fit also tunes the mini-batch size, as KerasTuner's guide shows."""

    def build(self, hp):
        model = Subclassed(hp.Int("units", 8, 32, step=8))
        model.compile(optimizer=keras.optimizers.Adam(
            hp.Float("learning_rate", 1e-3, 0.3, sampling="log")),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [32, 64]), **kwargs)


HYPERMODELS = {"sequential": sequential_mlp, "functional": functional_convnet,
               "subclassed": SubclassedHyperModel()}
