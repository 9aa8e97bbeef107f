"""Softmax regression on a 2-D problem: decision regions, the loss, and the gradient y_hat - y.

Softmax regression is the network with no hidden layer: z = W x + b (one z_j
per class), y_hat = softmax(z). It predicts the class with the largest z_j, so
the border between the regions of classes i and j is where z_i = z_j:

    (w_i - w_j) . x + (b_i - b_j) = 0,

a straight line. With C classes the plane is cut into C convex pieces by pieces
of such lines: the lecture's pictures of linear decision boundaries. A hidden
layer is what bends them.

The loss of one example is L(y_hat, y) = -sum_j y_j log y_hat_j, the cost is
J = (1/m) sum_i L, and its gradient at the output layer is dz = y_hat - y per
example, so dJ/dz = (y_hat - y) / m for the cost: `gradient_check` compares
that formula with GradientTape and with finite differences.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tfweek3.layers import reference
from tfweek3.layers.softmax import categorical_cross_entropy, cost, softmax
from tfweek3.training.data import Dataset
from tfweek3.training.loop import train
from tfweek3.training.network import build_network

PLANE = (-4.5, 4.5)  # the square the regions are drawn on, for both x1 and x2


def fit(data: Dataset, hidden_units: Sequence[int] = (), *, epochs: int = 60,
        learning_rate: float = 0.05, seed: int = 0) -> keras.Model:
    """Train softmax regression (hidden_units=()) or a small network on a 2-D data set with Adam."""
    keras.utils.set_random_seed(seed)
    model = build_network(data.input_dim, data.num_classes, hidden_units, batch_norm=None)
    train(model, data, epochs=epochs, optimizer="adam", learning_rate=learning_rate, seed=seed,
          verbose=0)
    return model


def predicted_classes(model: keras.Model, resolution: int = 300,
                      plane: tuple[float, float] = PLANE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The class the model predicts at every point of a resolution x resolution grid: x1, x2, class."""
    x1, x2 = np.meshgrid(np.linspace(*plane, resolution), np.linspace(*plane, resolution))
    points = np.stack([x1.ravel(), x2.ravel()], axis=1).astype(np.float32)
    classes = np.argmax(model(points, training=False).numpy(), axis=1)
    return x1, x2, classes.reshape(x1.shape)


def boundary_lines(model: keras.Model) -> list[tuple[int, int, np.ndarray, float]]:
    """For softmax regression: (i, j, w_i - w_j, b_i - b_j) for every pair of classes.

    The border between regions i and j lies on (w_i - w_j) . x + (b_i - b_j) = 0.
    """
    head = model.get_layer("softmax")
    w, b = head.kernel.numpy(), head.bias.numpy()   # w: (2, C), one column per class
    pairs = []
    for i in range(w.shape[1]):
        for j in range(i + 1, w.shape[1]):
            pairs.append((i, j, w[:, i] - w[:, j], float(b[i] - b[j])))
    return pairs


def plot_regions(panels: list[tuple[keras.Model, Dataset, str]], lines: bool = True):
    """One panel per (model, data, title): the predicted regions, the training points and,
    for softmax regression, the lines z_i = z_j (dashed) on which the borders lie."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.4), squeeze=False)
    for ax, (model, data, title) in zip(axes[0], panels):
        c = data.num_classes
        x1, x2, classes = predicted_classes(model)
        ax.contourf(x1, x2, classes, levels=np.arange(c + 1) - 0.5,
                    cmap=ListedColormap(colours[:c]), alpha=0.25)
        labels = np.argmax(data.y_train, axis=1)
        for j in range(c):
            ax.scatter(data.x_train[labels == j, 0], data.x_train[labels == j, 1], s=9,
                       color=colours[j], label=data.class_names[j])
        if lines and len(model.layers) == 2:  # input and softmax only: softmax regression
            xs = np.linspace(*PLANE, 2)
            for _, _, dw, db in boundary_lines(model):
                if abs(dw[1]) > 1e-9:
                    ax.plot(xs, -(dw[0] * xs + db) / dw[1], "k--", lw=0.7, alpha=0.6)
        ax.set_xlim(*PLANE)
        ax.set_ylim(*PLANE)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x1")
    axes[0, 0].set_ylabel("x2")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def lecture_loss() -> dict[str, float]:
    """The lecture's example: y = [0, 1, 0, 0], y_hat = [0.3, 0.2, 0.1, 0.4], so L = -log 0.2."""
    y = tf.constant([[0.0, 1.0, 0.0, 0.0]])
    y_hat = tf.constant([[0.3, 0.2, 0.1, 0.4]])
    return {"L": float(categorical_cross_entropy(y, y_hat)[0]), "-log 0.2": float(-np.log(0.2))}


def gradient_check(z: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """dJ/dz three ways for logits z (m, C) and one-hot y: GradientTape through
    tfweek3.softmax.cost, the formula (y_hat - y) / m, and central finite differences.

    Returns the largest absolute differences between them, and the size of the gradient.
    """
    z64 = np.asarray(z, np.float64)
    y64 = np.asarray(y, np.float64)
    z_t = tf.constant(z64)
    with tf.GradientTape() as tape:
        tape.watch(z_t)
        J = cost(tf.constant(y64), z_t, from_logits=True)
    tape_grad = tape.gradient(J, z_t).numpy()
    formula = (softmax(z_t).numpy() - y64) / len(z64)
    numeric = reference.numerical_gradient(lambda v: reference.softmax_cost_and_grad(v, y64)[0], z64)
    return {
        "tape_vs_formula": float(np.max(np.abs(tape_grad - formula))),
        "numeric_vs_formula": float(np.max(np.abs(numeric - formula))),
        "largest_gradient": float(np.max(np.abs(formula))),
    }


def plot_softmax_vs_hardmax(example: dict[str, np.ndarray]):
    """Bars of softmax(z) and hardmax(z) for one z (see tfweek3.demo.softmax_example)."""
    import matplotlib.pyplot as plt

    positions = np.arange(len(example["z"]))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(positions - 0.2, example["softmax"], width=0.4, label="softmax(z)")
    ax.bar(positions + 0.2, example["hardmax"], width=0.4, label="hardmax(z)")
    for p, value in zip(positions, example["softmax"]):
        ax.text(p - 0.2, value + 0.02, f"{value:.3f}", ha="center", fontsize=8)
    ax.set_xticks(positions, [f"z={v:g}" for v in example["z"]])
    ax.set_ylim(0, 1.15)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
