# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Softmax regression
#
# Course section 5. Softmax regression generalizes logistic regression to $C$ classes. The output
# layer computes $z^{[L]} = W^{[L]} a^{[L-1]} + b^{[L]}$ and then
#
# $$t = e^{z^{[L]}}, \qquad a^{[L]} = \hat y = \frac{t}{\sum_{j=1}^{C} t_j}.$$
#
# This notebook shows four things, each with a measurement:
#
# 1. softmax against hardmax on the lecture's $z = [5, 2, -1, 3]$;
# 2. the decision regions of softmax regression on a 2-D problem with 3 and with 4 classes: its
#    borders are straight lines;
# 3. the loss $L(\hat y, y) = -\sum_j y_j \log \hat y_j$ and the cost $J$;
# 4. the gradient at the output layer, $dz^{[L]} = \hat y - y$, checked with `tf.GradientTape`.
#
# The code lives in the package: `tfweek3.layers.softmax` (the functions and the layer),
# `tfweek3.course.softmax_regression` (this notebook's experiments), `tfweek3.course.toy_data` (the 2-D data).

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from tfweek3.course import demo, softmax_regression, toy_data
from tfweek3.layers import reference
from tfweek3.layers.softmax import categorical_cross_entropy, cost, softmax
from tfweek3.training.evaluation import accuracy
from tfweek3.training.network import logits_model

tf.get_logger().setLevel("ERROR")

# %% tags=["parameters"]
# Parameters. TFWEEK3_FAST=1 (what the tests use) shrinks the training to seconds.
FAST = os.environ.get("TFWEEK3_FAST") == "1"
EPOCHS = 15 if FAST else 60        # training epochs of each 2-D model
SEED = 0

# %% [markdown]
# ## 1. Softmax against hardmax
#
# "Hardmax" puts a 1 at the largest $z_j$ and 0 elsewhere. Softmax is its soft version: the largest
# $z_j$ gets the largest probability, but every class keeps some. For $z = [5, 2, -1, 3]$:
# $t = [e^5, e^2, e^{-1}, e^3] = [148.4, 7.4, 0.4, 20.1]$, $\sum_j t_j = 176.3$, so
# $\hat y = [0.842, 0.042, 0.002, 0.114]$.

# %%
example = demo.softmax_example()
print("z       =", example["z"])
print("softmax =", np.round(example["softmax"], 3), " sum =", example["softmax"].sum())
print("hardmax =", example["hardmax"])
fig = softmax_regression.plot_softmax_vs_hardmax(example)

# %% [markdown]
# With $C = 2$ softmax is logistic regression: $\hat y_1 = e^{z_1} / (e^{z_1} + e^{z_2})
# = \sigma(z_1 - z_2)$. Checked on random logits:

# %%
z_pairs = tf.random.stateless_normal((1000, 2), seed=(SEED, 1)) * 5
first_class = softmax(z_pairs)[:, 0]
gap_to_sigmoid = float(tf.reduce_max(tf.abs(first_class - tf.sigmoid(z_pairs[:, 0] - z_pairs[:, 1]))))
print(f"largest |softmax(z)_1 - sigmoid(z_1 - z_2)| over 1000 pairs: {gap_to_sigmoid:.2e}")

# %% [markdown]
# ## 2. Decision regions of softmax regression
#
# Softmax regression is the network without hidden layers: `build_network(2, C, hidden_units=())`.
# It predicts the class with the largest $z_j = w_j \cdot x + b_j$, so the border between the
# regions of classes $i$ and $j$ lies where $z_i = z_j$, that is on the straight line
# $(w_i - w_j) \cdot x + (b_i - b_j) = 0$. The dashed lines below are these lines, computed from the
# trained $W$ and $b$; the coloured regions are the model's predictions on a grid. The third panel
# adds the course's two hidden layers (25 and 12 units) to the 4-class problem: a hidden layer is
# what lets the borders bend.

# %%
three = toy_data.blobs(num_classes=3, seed=SEED)
four = toy_data.blobs(num_classes=4, seed=SEED)
model_3 = softmax_regression.fit(three, epochs=EPOCHS, seed=SEED)
model_4 = softmax_regression.fit(four, epochs=EPOCHS, seed=SEED)
model_4_hidden = softmax_regression.fit(four, hidden_units=(25, 12), epochs=EPOCHS, seed=SEED)
accuracies = {name: accuracy(model, data.x_test, data.y_test) for name, model, data in
              [("3 classes", model_3, three), ("4 classes", model_4, four),
               ("4 classes, hidden layers", model_4_hidden, four)]}
print({name: round(value, 3) for name, value in accuracies.items()}, "(test accuracy)")

# %%
fig = softmax_regression.plot_regions([
    (model_3, three, f"softmax regression, C = 3 (test acc {accuracies['3 classes']:.2f})"),
    (model_4, four, f"softmax regression, C = 4 (test acc {accuracies['4 classes']:.2f})"),
    (model_4_hidden, four, "25 and 12 hidden units, C = 4"),
])

# %% [markdown]
# The borders between regions are pieces of the dashed lines: linear decision boundaries, as in
# the lecture's pictures. The weights behind the 3-class picture:

# %%
for i, j, dw, db in softmax_regression.boundary_lines(model_3):
    print(f"border of classes {i} and {j}: {dw[0]:+.2f} x1 {dw[1]:+.2f} x2 {db:+.2f} = 0")

# %% [markdown]
# ## 3. The loss and the cost
#
# $$L(\hat y, y) = -\sum_{j=1}^{C} y_j \log \hat y_j, \qquad J = \frac{1}{m} \sum_{i=1}^{m} L(\hat y^{(i)}, y^{(i)}).$$
#
# With a one-hot $y$ only the true class's term is left: $L = -\log \hat y_{\text{true}}$. Making
# $L$ small makes the probability of the true class large (maximum likelihood). The lecture's
# example: $y = [0, 1, 0, 0]$, $\hat y = [0.3, 0.2, 0.1, 0.4]$, so $L = -\log 0.2 = 1.609$: the model
# gave the true class only 0.2.

# %%
loss_example = softmax_regression.lecture_loss()
print(loss_example)

# %% [markdown]
# The cost of the trained 4-class model on its test set, computed three ways: `tfweek3.cost`
# from the probabilities, the same from the logits $z$ (the stable form used in training), and the
# NumPy reference.

# %%
logits_4 = logits_model(model_4)(four.x_test)
y_hat_4 = model_4(four.x_test)
costs = {
    "cost(y, y_hat)": float(cost(four.y_test, y_hat_4)),
    "cost(y, z, from_logits=True)": float(cost(four.y_test, logits_4, from_logits=True)),
    "NumPy reference": float(reference.cross_entropy(four.y_test, y_hat_4.numpy()).mean()),
}
print({name: round(value, 6) for name, value in costs.items()})
first_losses = categorical_cross_entropy(four.y_test[:3], y_hat_4[:3]).numpy()
print("loss L of the first 3 test examples:", np.round(first_losses, 4))

# %% [markdown]
# ## 4. The gradient $dz^{[L]} = \hat y - y$
#
# For one example, $\partial L / \partial z_j = \hat y_j - y_j$; for the cost $J$, which averages
# over $m$ examples, $\partial J / \partial z^{(i)} = (\hat y^{(i)} - y^{(i)}) / m$. This is all
# the backward pass needs from the output layer. Below, on random logits (float64), the formula
# against `tf.GradientTape` through `tfweek3.cost` and against central finite differences.

# %%
rng = np.random.default_rng(SEED)
z_random = rng.normal(scale=3.0, size=(8, 4))
y_random = np.eye(4)[rng.integers(0, 4, 8)]
gradients = softmax_regression.gradient_check(z_random, y_random)
print(gradients)

# %% [markdown]
# ## What you should see
#
# The numbers of this run (a fresh run prints its own):

# %%
print("full run" if not FAST else "fast mode (TFWEEK3_FAST=1): few epochs, rough numbers")
print(f"softmax([5, 2, -1, 3]) = {np.round(example['softmax'], 3)}, hardmax = {example['hardmax']}")
print(f"softmax with C = 2 equals sigmoid(z1 - z2) to {gap_to_sigmoid:.1e}")
print("test accuracy: " + ", ".join(f"{name} {value:.3f}" for name, value in accuracies.items()))
print(f"lecture loss L = {loss_example['L']:.4f} (-log 0.2 = {loss_example['-log 0.2']:.4f})")
print(f"cost of the 4-class model on its test set: {costs['cost(y, y_hat)']:.4f}")
print(f"dJ/dz: GradientTape vs (y_hat - y)/m {gradients['tape_vs_formula']:.1e}, "
      f"finite differences vs formula {gradients['numeric_vs_formula']:.1e} "
      f"(gradient entries up to {gradients['largest_gradient']:.3f})")

# %% [markdown]
# ## Try it yourself
#
# Write softmax and the cost yourself; `tfweek3 exercise check` compares them with the NumPy
# reference (logits around 1000 and float32 included) and names the classic mistakes (see
# docs/practice.md). In a terminal:
#
# ```
# tfweek3 exercise start softmax_cost    # writes softmax_cost.py, with TODO
# tfweek3 exercise check softmax_cost
# ```
#
# - Exercise 6, `softmax_cost`: `softmax(z)` and the cost $J$ from the logits, stable for large
#   logits.
