"""TensorFlow in the lecture's words (course section 6): minimize a cost, then time a training step.

The lecture's first program minimizes J(w) = w**2 - 10 w + 25 = (w - 5)**2.
Only the forward pass (J) is written; GradientTape records it and gives dJ/dw
(= 2w - 10), and the optimizer (Adam, learning rate 0.1) updates w:

    w = tf.Variable(0.0)
    with tf.GradientTape() as tape:
        J = w**2 - 10 * w + 25
    dw = tape.gradient(J, w)
    optimizer.apply_gradients([(dw, w)])

Repeated, w goes to 5.

The week's assignment runs its training loop eagerly: Python executes every
operation of every step, one at a time. `tf.function` traces the step once
into a graph and then runs the graph; `jit_compile=True` also compiles the
graph with XLA. `time_steps` times one mini-batch step each way on the same
network and data, and `time_epochs` times whole epochs of `tfweek3.train`,
which loops over the mini-batches inside one tf.function.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tfweek3.training.batches import epoch_steps
from tfweek3.training.data import Dataset
from tfweek3.training.loop import make_train_step, train
from tfweek3.training.network import build_network


def minimize_quadratic(steps: int = 1000, learning_rate: float = 0.1, w0: float = 0.0,
                       coefficients: Sequence[float] = (1.0, -10.0, 25.0)) -> dict[str, np.ndarray]:
    """Minimize J(w) = c0 w**2 + c1 w + c2 with Adam and GradientTape; w and J after every step.

    Returns arrays of length steps + 1 (entry 0 is the start).
    """
    c0, c1, c2 = (tf.constant(c, tf.float32) for c in coefficients)
    w = tf.Variable(w0, dtype=tf.float32)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)

    def J() -> tf.Tensor:
        return c0 * w**2 + c1 * w + c2

    ws, costs = [float(w.numpy())], [float(J().numpy())]
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = J()
        dw = tape.gradient(loss, w)
        optimizer.apply_gradients([(dw, w)])
        ws.append(float(w.numpy()))
        costs.append(float(J().numpy()))
    return {"w": np.array(ws), "J": np.array(costs)}


MODES = ("eager", "tf.function", "tf.function + XLA")


def time_steps(data: Dataset, *, batch_size: int = 32, steps: int = 100, warmup: int = 5,
               hidden_units: Sequence[int] = (25, 12), batch_norm: str | None = None,
               seed: int = 0, modes: Sequence[str] = MODES) -> dict[str, float]:
    """Median milliseconds per training step in each mode, on the same mini-batches.

    The first `warmup` steps (where tf.function traces and XLA compiles) are not timed.
    """
    x = tf.constant(data.x_train[:batch_size])
    y = tf.constant(data.y_train[:batch_size])
    medians = {}
    for mode in modes:
        keras.utils.set_random_seed(seed)
        model = build_network(data.input_dim, data.num_classes, hidden_units, batch_norm=batch_norm)
        optimizer = keras.optimizers.Adam(1e-4)
        optimizer.build(model.trainable_variables)
        step = make_train_step(model, optimizer)
        if mode == "tf.function":
            step = tf.function(step)
        elif mode == "tf.function + XLA":
            step = tf.function(step, jit_compile=True)
        elif mode != "eager":
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
        times = []
        for i in range(warmup + steps):
            start = time.perf_counter()
            step(x, y)[0].numpy()  # .numpy() waits for the step to finish
            if i >= warmup:
                times.append(time.perf_counter() - start)
        medians[mode] = 1000 * float(np.median(times))
    return medians


def time_epochs(data: Dataset, *, epochs: int = 5, batch_size: int = 32,
                hidden_units: Sequence[int] = (25, 12), seed: int = 0) -> dict[str, float]:
    """Median seconds per epoch of tfweek3.train (a whole epoch in one tf.function), first
    epoch (tracing) excluded, and the number of steps in an epoch."""
    keras.utils.set_random_seed(seed)
    model = build_network(data.input_dim, data.num_classes, hidden_units, batch_norm=None)
    stamps = [time.perf_counter()]
    train(model, data, epochs=epochs, batch_size=batch_size, optimizer="adam",
          learning_rate=1e-4, seed=seed, verbose=0,
          on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()))
    durations = np.diff(stamps)[1:] if epochs > 1 else np.diff(stamps)
    return {"seconds_per_epoch": float(np.median(durations)),
            "steps_per_epoch": epoch_steps(len(data.x_train), batch_size)}


def plot_quadratic(run: dict[str, np.ndarray]):
    """w and J(w) against the step: w goes to 5 and J to 0."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(run["w"])
    left.axhline(5.0, color="gray", ls="--", lw=0.8)
    left.set_ylabel("w")
    right.plot(run["J"])
    right.set_yscale("symlog", linthresh=1e-6)
    right.set_ylabel("J(w) = w**2 - 10 w + 25")
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_history(history: dict[str, list[float]], title: str = ""):
    """Learning curves: cost J and accuracy per epoch, training and validation."""
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in ((axes[0], "loss", "cost J"), (axes[1], "accuracy", "accuracy")):
        ax.plot(epochs, history[key], label="train")
        ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
