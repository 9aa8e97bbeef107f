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
# # 4. Programming frameworks: TensorFlow
#
# Course section 6. A framework lets you write only the forward pass: it records the operations
# and computes the backward pass for you. This notebook:
#
# 1. minimizes the lecture's $J(w) = w^2 - 10w + 25 = (w - 5)^2$ with a `tf.Variable`, Adam and
#    `tf.GradientTape`: $w$ goes to 5;
# 2. trains the week's network LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SOFTMAX with 25 and 12
#    hidden units with `tfweek3.train` on digits, and on the course's SIGNS files when you have them;
# 3. times one training step run eagerly (as the assignment does) against the same step compiled
#    with `tf.function`, and a whole epoch of `tfweek3.train`.
#
# The code: `tfweek3.course.tf_basics` (this notebook's experiments), `tfweek3.training.network`,
# `tfweek3.training.loop`, `tfweek3.training.data`.

# %%
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from tfweek3.course import tf_basics
from tfweek3.training.data import load_dataset
from tfweek3.training.evaluation import accuracy
from tfweek3.training.loop import train
from tfweek3.training.network import build_network

tf.get_logger().setLevel("ERROR")

# %% tags=["parameters"]
# Parameters. TFWEEK3_FAST=1 (what the tests use) shrinks the training and the timings.
FAST = os.environ.get("TFWEEK3_FAST") == "1"
EPOCHS = 5 if FAST else 100        # the assignment trains 100 epochs
TIMED_STEPS = 20 if FAST else 200  # training steps timed in each mode
# The course's SIGNS files (train_signs.h5, test_signs.h5) if you have them: set TFWEEK3_SIGNS to
# their folder, or put them in notebooks/datasets/.
SIGNS_FOLDER = Path(os.environ.get("TFWEEK3_SIGNS", "datasets"))
SEED = 0

# %% [markdown]
# ## 1. Minimizing $J(w) = w^2 - 10w + 25$
#
# The whole program of the lecture, in `tf_basics.minimize_quadratic`:
#
# ```python
# w = tf.Variable(0.0)
# optimizer = keras.optimizers.Adam(learning_rate=0.1)
# for step in range(1000):
#     with tf.GradientTape() as tape:
#         J = w**2 - 10 * w + 25          # only the forward pass is written
#     dw = tape.gradient(J, w)            # the tape gives dJ/dw = 2w - 10
#     optimizer.apply_gradients([(dw, w)])
# ```

# %%
quadratic = tf_basics.minimize_quadratic(steps=1000, learning_rate=0.1)
print(f"w after 0, 10, 100, 1000 steps: {quadratic['w'][[0, 10, 100, 1000]].round(4)}")
print(f"J(w) at the end: {quadratic['J'][-1]:.2e}")
fig = tf_basics.plot_quadratic(quadratic)

# %% [markdown]
# The lecture then makes the coefficients data, $J(w) = x_0 w^2 + x_1 w + x_2$: the same code
# minimizes any quadratic. With $x = [1, -20, 100]$, $J = (w - 10)^2$:

# %%
other = tf_basics.minimize_quadratic(steps=1000, learning_rate=0.1, coefficients=(1.0, -20.0, 100.0))
print(f"w after 1000 steps: {other['w'][-1]:.4f}")

# %% [markdown]
# ## 2. The week's network, trained with `tfweek3.train`
#
# LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SOFTMAX with 25 and 12 hidden units
# (`build_network(..., hidden_units=(25, 12), batch_norm=None)`). `tfweek3.train` is the
# GradientTape loop of the lecture: forward under the tape, cost $J$ from the logits, gradients,
# Adam update, for each mini-batch of 32. The assignment's settings: Adam with $\alpha = 10^{-4}$,
# 100 epochs. Digits first (64 pixels, 10 classes):

# %%
digits = load_dataset("digits", validation_fraction=0.2, seed=SEED)
keras.utils.set_random_seed(SEED)
model = build_network(digits.input_dim, digits.num_classes, hidden_units=(25, 12), batch_norm=None)
model.summary()

# %%
results = {}
for learning_rate in (1e-4, 1e-3):
    keras.utils.set_random_seed(SEED)
    model = build_network(digits.input_dim, digits.num_classes, hidden_units=(25, 12), batch_norm=None)
    run = train(model, digits, epochs=EPOCHS, batch_size=32, optimizer="adam",
                learning_rate=learning_rate, seed=SEED, verbose=0)
    results[learning_rate] = {
        "history": run.history,
        "train": accuracy(model, digits.x_train, digits.y_train),
        "val": accuracy(model, digits.x_val, digits.y_val),
        "test": accuracy(model, digits.x_test, digits.y_test),
    }
    print(f"alpha = {learning_rate:g}: accuracy train {results[learning_rate]['train']:.3f}, "
          f"validation {results[learning_rate]['val']:.3f}, test {results[learning_rate]['test']:.3f}")

# %%
fig = tf_basics.plot_history(results[1e-4]["history"], title="digits, Adam, alpha = 1e-4 (the assignment's)")
fig = tf_basics.plot_history(results[1e-3]["history"], title="digits, Adam, alpha = 1e-3")

# %% [markdown]
# The assignment's $\alpha = 10^{-4}$ is slow on digits: with 36 mini-batches per epoch, 100 epochs
# are only 3600 small steps. Ten times larger trains in a fraction of the epochs: $\alpha$ is the
# hyperparameter to tune first (notebook 1).
#
# ### The SIGNS data set
#
# The assignment's data: 64x64x3 images of hand signs 0 to 5, 1080 training and 120 test images,
# in `train_signs.h5` and `test_signs.h5`. They are not shipped with tfweek3; if you have them,
# point `TFWEEK3_SIGNS` at their folder. The course reports about 0.75 train / 0.69 test accuracy
# after 100 epochs.

# %%
signs = None
if (SIGNS_FOLDER / "train_signs.h5").exists():
    signs_data = load_dataset(f"signs:{SIGNS_FOLDER}", validation_fraction=0.1, seed=SEED)
    keras.utils.set_random_seed(SEED)
    signs_model = build_network(signs_data.input_dim, signs_data.num_classes, (25, 12), batch_norm=None)
    signs_run = train(signs_model, signs_data, epochs=EPOCHS, batch_size=32, optimizer="adam",
                      learning_rate=1e-4, seed=SEED, verbose=0)
    signs = {"train": accuracy(signs_model, signs_data.x_train, signs_data.y_train),
             "test": accuracy(signs_model, signs_data.x_test, signs_data.y_test)}
    print(f"SIGNS ({len(signs_data.x_train)} training images of {signs_data.input_dim} values): "
          f"accuracy train {signs['train']:.3f}, test {signs['test']:.3f}")
    fig = tf_basics.plot_history(signs_run.history, title="SIGNS, Adam, alpha = 1e-4")
else:
    print(f"No SIGNS files in {SIGNS_FOLDER.resolve()}: skipped (set TFWEEK3_SIGNS to their folder).")

# %% [markdown]
# ## 3. Eager against compiled
#
# The assignment's loop runs eagerly: Python executes every operation of every step one by one.
# `tf.function` traces the step once into a graph and replays the graph; `jit_compile=True` also
# compiles it with XLA. The same step (`tf_basics.make_train_step`: forward under the tape, cost
# from logits, gradients, Adam update), on the same mini-batch of 32 digits, median over
# the timed steps after a warm-up (tracing and compiling are not counted):

# %%
step_ms = tf_basics.time_steps(digits, batch_size=32, steps=TIMED_STEPS)
for mode, ms in step_ms.items():
    print(f"{mode:<18} {ms:7.3f} ms per step   ({step_ms['eager'] / ms:5.1f}x eager)")

# %% [markdown]
# `tfweek3.train` goes one step further: a whole epoch, all its mini-batches, is one `tf.function`
# call that shuffles and loops over the mini-batches inside the graph: Python runs once per epoch.

# %%
epoch_time = tf_basics.time_epochs(digits, epochs=3 if FAST else 10, batch_size=32)
eager_epoch = step_ms["eager"] * epoch_time["steps_per_epoch"] / 1000
print(f"tfweek3.train: {epoch_time['seconds_per_epoch'] * 1000:.1f} ms per epoch of "
      f"{epoch_time['steps_per_epoch']} steps; the eager loop would take about {eager_epoch * 1000:.0f} ms")

# %% [markdown]
# ## What you should see
#
# The numbers of this run (a fresh run prints its own):

# %%
print("full run" if not FAST else "fast mode (TFWEEK3_FAST=1): few epochs, rough numbers")
print(f"1. w**2 - 10w + 25 with Adam (0.1): w = {quadratic['w'][-1]:.4f} after 1000 steps "
      f"(J = {quadratic['J'][-1]:.1e}); with x = [1, -20, 100]: w = {other['w'][-1]:.4f}")
for learning_rate, result in results.items():
    print(f"2. digits, 25-12 network, Adam alpha = {learning_rate:g}, {EPOCHS} epochs: "
          f"train {result['train']:.3f}, validation {result['val']:.3f}, test {result['test']:.3f}")
print("   SIGNS: " + ("not available in this run" if signs is None
                       else f"train {signs['train']:.3f}, test {signs['test']:.3f}"))
print("3. ms per training step: " + ", ".join(f"{mode} {ms:.3f}" for mode, ms in step_ms.items())
      + f"; tf.function is {step_ms['eager'] / step_ms['tf.function']:.1f}x faster than eager")
print(f"   one epoch of tfweek3.train: {epoch_time['seconds_per_epoch'] * 1000:.1f} ms "
      f"(eager estimate {eager_epoch * 1000:.0f} ms)")

# %% [markdown]
# ## Try it yourself
#
# Write the lecture's training step yourself; `tfweek3 exercise check` runs it beside
# `tfweek3.make_train_step` on the course network and names the classic mistakes (see
# docs/practice.md). In a terminal:
#
# ```
# tfweek3 exercise start train_step    # writes train_step.py, with TODO
# tfweek3 exercise check train_step
# ```
#
# - Exercise 7, `train_step`: one `tf.GradientTape` step: the forward pass with `training=True`,
#   the cost $J$, its gradients, the optimizer's update.
