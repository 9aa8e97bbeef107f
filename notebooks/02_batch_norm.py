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
# # 2. Batch normalization
#
# Course section 4. For one layer's pre-activations over a mini-batch $z^{(1)}, \dots, z^{(m)}$,
# per unit:
#
# $$\mu = \frac{1}{m}\sum_i z^{(i)}, \qquad \sigma^2 = \frac{1}{m}\sum_i (z^{(i)} - \mu)^2, \qquad
# z^{(i)}_{\text{norm}} = \frac{z^{(i)} - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \qquad
# \tilde z^{(i)} = \gamma\, z^{(i)}_{\text{norm}} + \beta,$$
#
# with $\gamma$ and $\beta$ learned like $W$. The sections of this notebook follow the note:
#
# 1. the formulas step by step on one small batch: NumPy, `ManualBatchNorm` and Keras side by side;
# 2. batch norm in the network, and why $b^{[l]}$ goes;
# 3. training with and without batch norm at several learning rates;
# 4. why it works: the covariate shift of a hidden layer, and the black-cats / coloured-cats story;
# 5. the slight regularization effect, and how it fades with the mini-batch size;
# 6. batch norm at test time: moving (exponentially weighted) statistics against exact ones, and
#    why a single example cannot be normalized with its own statistics;
# 7. small mini-batches, where test time and training disagree, and batch renormalization.
#
# The experiments are in the package: `tfweek3.course.bn_formulas`,
# `tfweek3.course.learning_rate_sweep`, `tfweek3.course.covariate_shift`, `tfweek3.course.bn_noise`,
# `tfweek3.course.bn_test_time`, `tfweek3.course.bn_small_batches`. The data is scikit-learn's
# handwritten digits (8x8 images, 10 classes), which ships with scikit-learn: nothing to download.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from tfweek3.course import (
    bn_formulas,
    bn_noise,
    bn_small_batches,
    bn_test_time,
    covariate_shift,
    demo,
    learning_rate_sweep,
)
from tfweek3.layers import reference
from tfweek3.training.data import load_dataset
from tfweek3.training.loop import train
from tfweek3.training.network import build_network

tf.get_logger().setLevel("ERROR")

# %% tags=["parameters"]
# Parameters. TFWEEK3_FAST=1 (what the tests use) shrinks every experiment to seconds.
FAST = os.environ.get("TFWEEK3_FAST") == "1"
SEEDS = (0,) if FAST else (0, 1, 2)
LEARNING_RATES = (0.1, 3.0) if FAST else (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
SWEEP_EPOCHS = 4 if FAST else 30           # plain SGD, mini-batches of 32
TRACK_EPOCHS = 3 if FAST else 20           # covariate shift and test-time experiments
CAT_EPOCHS = 10 if FAST else 40
GAP_BATCH_SIZES = (16, 128) if FAST else (8, 32, 128)
GAP_EPOCHS = 3 if FAST else 40
SMALL_BATCH_SIZES = (2, 64) if FAST else (2, 4, 8, 64)
SMALL_BATCH_EPOCHS = 1 if FAST else 10
SMALL_BATCH_SEEDS = (0,) if FAST else (0, 1)
TARGET = 0.95                              # "epochs to 95% validation accuracy"

data = load_dataset("digits", validation_fraction=0.2, seed=0)
print(f"digits: {len(data.x_train)} training, {len(data.x_val)} validation, "
      f"{len(data.x_test)} test examples of {data.input_dim} pixels, {data.num_classes} classes")

# %% [markdown]
# ## 1. The formulas on one batch
#
# A mini-batch of $m = 4$ examples of a layer with 3 units (rows are examples, as in Keras), with
# $\gamma = [1, 2, 0.5]$ and $\beta = [0, 1, -1]$. First each line of the formulas with the NumPy
# reference (`tfweek3.layers.reference.batch_norm_forward`), $\varepsilon = 10^{-3}$:

# %%
z_tilde, cache = reference.batch_norm_forward(demo.Z, demo.GAMMA, demo.BETA, epsilon=1e-3)
print("z =\n", demo.Z)
print("mu     = (1/m) sum_i z(i)          =", cache["mu"])
print("sigma2 = (1/m) sum_i (z(i) - mu)^2 =", cache["sigma2"])
print("z_norm = (z - mu) / sqrt(sigma2 + eps) =\n", np.round(cache["z_norm"], 4))
print("z_tilde = gamma * z_norm + beta =\n", np.round(z_tilde, 4))
print("per unit, z_norm has mean", np.round(cache["z_norm"].mean(axis=0), 6),
      "and variance", np.round(cache["z_norm"].var(axis=0), 4), "(1 up to epsilon)")

# %% [markdown]
# The same training step with the three implementations: the NumPy reference, `ManualBatchNorm`
# (the package's layer, written from these formulas) and `keras.layers.BatchNormalization`. The
# last two lines are the moving statistics after this one step, starting from mean 0 and variance 1
# with momentum 0.99: $0.99 \cdot 0 + 0.01 \cdot \mu$ and $0.99 \cdot 1 + 0.01 \cdot \sigma^2$.

# %%
side_by_side = demo.batch_norm_side_by_side()
print(demo.format_side_by_side(side_by_side))
forward_gap = max(np.max(np.abs(np.asarray(side_by_side[name]["z_tilde"]) - z_tilde))
                  for name in side_by_side)
print(f"\nlargest difference of z_tilde from the NumPy reference: {forward_gap:.1e}")

# %% [markdown]
# The backward pass. With $d\tilde z = \partial J / \partial \tilde z$:
#
# $$d\beta = \sum_i d\tilde z^{(i)}, \qquad d\gamma = \sum_i d\tilde z^{(i)} z^{(i)}_{\text{norm}},
# \qquad dz^{(i)} = \frac{\gamma}{\sqrt{\sigma^2 + \varepsilon}} \Big(d\tilde z^{(i)} -
# \frac{1}{m}\big(d\beta + z^{(i)}_{\text{norm}}\, d\gamma\big)\Big).$$
#
# The closed form (NumPy), `tf.GradientTape` through `ManualBatchNorm` (which registers that closed
# form as its gradient) and through Keras's layer (plain autodiff):

# %%
dz_tilde = np.random.default_rng(0).normal(size=demo.Z.shape)
backward = bn_formulas.backward_side_by_side(demo.Z, demo.GAMMA, demo.BETA, dz_tilde)
for name, grads in backward.items():
    print(f"{name:<26} dgamma {np.round(grads['dgamma'], 4)}  dbeta {np.round(grads['dbeta'], 4)}")
backward_gap = max(np.max(np.abs(grads[key] - backward["numpy closed form"][key]))
                   for grads in backward.values() for key in grads)
print(f"largest difference from the closed form (dz, dgamma, dbeta): {backward_gap:.1e}")

# %% [markdown]
# ## 2. Batch norm in the network, and why $b$ goes
#
# In the network, each hidden layer becomes LINEAR -> BN -> RELU: $z^{[l]} = W^{[l]} a^{[l-1]}$,
# $\tilde z^{[l]} = \gamma^{[l]} z^{[l]}_{\text{norm}} + \beta^{[l]}$, $a^{[l]} = \text{relu}(\tilde z^{[l]})$.
# Backprop gives $dW^{[l]}, d\gamma^{[l]}, d\beta^{[l]}$ and any optimizer updates them.
#
# The bias $b^{[l]}$ is useless: adding $b$ to every example adds $b$ to $\mu$ too, so
# $(z + b) - \text{mean}(z + b) = z - \text{mean}(z)$. $\beta^{[l]}$ takes its role. The course
# network without and with batch norm (`tfweek3.build_network`): the Dense layers lose their
# bias, each batch-norm layer brings $\gamma, \beta$ (trained) and the moving statistics (not trained).

# %%
for batch_norm in (None, "manual"):
    model = build_network(data.input_dim, data.num_classes, batch_norm=batch_norm)
    print(f"batch_norm={batch_norm!r}: {model.count_params()} parameters")
    print(bn_formulas.parameter_table(model), "\n")

# %% [markdown]
# Measured: a Dense layer *with* a bias, followed by batch norm, on a batch of 32 digits. Setting
# every bias to 5 instead of 0 changes nothing downstream, and the gradient of any cost with respect
# to $b$ is 0 (up to float32 rounding) while that of $W$ is not.

# %%
bias = bn_formulas.bias_cancels(data.x_train[:32], units=25, bias=5.0)
print(bias)

# %% [markdown]
# ## 3. Training with and without batch norm at several learning rates
#
# The course network (25 and 12 hidden units) on digits, plain mini-batch gradient descent
# (`optimizer="sgd"`, mini-batches of 32), the same seeds, for each learning rate $\alpha$: once
# LINEAR -> RELU, once LINEAR -> BN -> RELU. A run whose loss becomes NaN or infinite stops
# (`DivergedError`) and is marked with an x.

# %%
runs = learning_rate_sweep.sweep(data, LEARNING_RATES, seeds=SEEDS, epochs=SWEEP_EPOCHS,
                                 optimizer="sgd", batch_size=32)
fig = learning_rate_sweep.plot_sweep(runs, target=TARGET)

# %%
summary = learning_rate_sweep.summarize(runs, target=TARGET, trains_at=0.9)
print(learning_rate_sweep.format_summary(summary, target=TARGET))
only_bn = learning_rate_sweep.only_batch_norm_trains(summary)
print("\nlearning rates where only the batch-norm network trains (>= 90% validation accuracy):",
      only_bn)

# %% [markdown]
# Read the table two rows at a time (same $\alpha$). Where both train, the batch-norm network
# reaches 95% in fewer epochs. At a small $\alpha$ the plain network is merely slow; at a large one
# it stalls near chance (10%) while the batch-norm network still trains; at the largest rates both
# fail. Normalizing each layer's $z$ keeps its scale near $\gamma$ whatever $W$ does, so a large
# step on $W$ cannot blow up the next layers: the cost surface is rounder, as with normalized
# inputs, and a wider range of $\alpha$ works.

# %% [markdown]
# ## 4. Why it works: covariate shift
#
# Look at the network from layer 3. It learns from $a^{[2]} = \text{relu}(z^{[2]})$; while
# $W^{[1]}, W^{[2]}$ change, the distribution of $z^{[2]}$ moves under its feet. With batch norm,
# over each mini-batch, $\tilde z^{[2]}$ has mean $\beta^{[2]}$ and standard deviation close to
# $\gamma^{[2]}$, whatever $W^{[1]}, W^{[2]}$ do: layer 3 sees a steadier input and each layer can
# learn more on its own.
#
# Measured: the mean and the spread of each unit of what layer 2's RELU receives ($z^{[2]}$ without
# batch norm, $\tilde z^{[2]}$ with it, computed as in a training step) on a fixed probe batch of
# 256 validation digits, after every epoch of SGD with $\alpha = 0.1$.

# %%
tracks = [covariate_shift.track_layer_statistics(data, batch_norm, layer=2, epochs=TRACK_EPOCHS,
                                                 optimizer="sgd", learning_rate=0.1)
          for batch_norm in ("none", "manual")]
fig = covariate_shift.plot_tracks(tracks, layer=2)
for track in tracks:
    print(f"{'with' if track.batch_norm != 'none' else 'without'} batch norm: "
          f"mean drift {track.mean_drift()[-1]:.2f} starting spreads, "
          f"spread x{track.spread_ratio()[-1]:.2f} after {len(track.means) - 1} epochs")

# %% [markdown]
# Without batch norm the units' means wander and their spread grows many times over; with it, each
# unit stays near mean $\beta$ and spread $\gamma$, which gradient descent moves slowly.
#
# The lecture's picture of covariate shift: a cat classifier trained on black cats only, then used
# on coloured cats. Here a 2-D stand-in (`tfweek3.course.toy_data.cats`): the rule is always
# "cat when $x_2 > |x_1| - 1$", but black cats have $x_1 < 0$ and coloured cats $x_1 > 0$. The
# mapping $x \to y$ never changes; the distribution of $x$ does.

# %%
cats = covariate_shift.shifted_cats(epochs=CAT_EPOCHS)
print(f"trained on black cats: accuracy {cats.black_model_on_black:.3f} on black cats, "
      f"{cats.black_model_on_coloured:.3f} on coloured cats")
print(f"trained on all cats:   accuracy {cats.all_model_on_coloured:.3f} on coloured cats")
fig = covariate_shift.plot_cats(cats)

# %% [markdown]
# The model trained on black cats only ever saw the left arm of the V and extends it the wrong way.
# Batch norm cannot fix a shift of the data itself; what it does is keep the *hidden* layers'
# inputs from shifting like this while the network trains.

# %% [markdown]
# ## 5. A slight regularization effect, weaker with larger mini-batches
#
# In training, each example is normalized with its mini-batch's $\mu$ and $\sigma^2$: estimates
# from $m$ examples, so they carry noise. The standard deviation of a mean of $m$ of $N$ values
# drawn without replacement is
#
# $$\text{std}(\mu_{\text{batch}}) = \sigma \sqrt{\frac{N - m}{m (N - 1)}} \approx \frac{\sigma}{\sqrt m}.$$
#
# Measured on $z^{[1]}$ of a trained batch-norm network, over 300 random mini-batches per size,
# and, for 10 validation digits, how much the predicted probability of the true class moves with
# the other examples of its mini-batch:

# %%
keras.utils.set_random_seed(0)
bn_model = build_network(data.input_dim, data.num_classes, batch_norm="manual")
train(bn_model, data, epochs=TRACK_EPOCHS, optimizer="sgd", learning_rate=0.1, verbose=0)
z1 = covariate_shift.linear_output(bn_model, 1, data.x_train)
NOISE_SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512)
noise = bn_noise.batch_mean_noise(z1, NOISE_SIZES, draws=300)
PREDICTION_SIZES = (4, 16, 64, 256)
prediction = bn_noise.prediction_noise(bn_model, data.x_val, data.y_val, PREDICTION_SIZES,
                                       examples=10, draws=10 if FAST else 20)
for m, measured, predicted in zip(noise["batch_sizes"], noise["measured"], noise["predicted"]):
    print(f"m = {m:>3}: std of the batch mean {measured:.4f}, formula {predicted:.4f}")
print("std of y_hat of the true class for m = 4, 16, 64, 256:", np.round(prediction, 4))

# %%
fig = bn_noise.plot_noise(noise, PREDICTION_SIZES, prediction)

# %% [markdown]
# That noise acts a little like dropout. Does it show in generalization? A wider network (100 and
# 100 hidden units, Adam, $\alpha = 10^{-3}$) can overfit digits; trained at several batch sizes with
# and without batch norm, the gap between the validation cost and the training cost (both measured
# afterwards in inference mode), averaged over the seeds:

# %%
gaps = bn_noise.generalization_gap(data, GAP_BATCH_SIZES, seeds=SEEDS, epochs=GAP_EPOCHS)
print(bn_noise.format_gaps(gaps))
gap_reduction = bn_noise.gap_reduction(gaps)

# %% [markdown]
# The effect is slight, and it shrinks as $m$ grows, as the noise does. The lecture's advice: it is
# a side effect; use dropout or L2 regularization when you want regularization.

# %% [markdown]
# ## 6. Batch norm at test time
#
# At test time examples may come one at a time, so $\mu$ and $\sigma^2$ must be estimates over the
# training set. Keras (and `ManualBatchNorm`) keep an exponentially weighted average of the
# mini-batches' statistics during training:
#
# $$\text{moving\_mean} \leftarrow 0.99 \cdot \text{moving\_mean} + 0.01 \cdot \mu_{\text{batch}}$$
#
# (the note's $v = \beta v + (1 - \beta)\theta$ with $\beta$ = momentum = 0.99). The alternative is
# the exact statistics: after training, run the whole training set through the network and compute
# them layer by layer (`bn_test_time.exact_statistics`). After each epoch, how far apart are they?

# %%
moving = bn_test_time.track_moving_vs_exact(data, epochs=TRACK_EPOCHS, optimizer="sgd",
                                            learning_rate=0.1)
fig = bn_test_time.plot_moving_vs_exact(moving)
test_time = bn_test_time.compare_accuracies(moving.model, data)
print({name: round(value, 4) for name, value in test_time.items()})

# %% [markdown]
# The moving variance starts at 1, far from the true $\sigma^2$, and after $t$ steps that start
# still weighs $0.99^t$ in the average: the gap falls at the rate of the dashed line for the first
# epochs (36 steps each). After that the moving statistics follow the exact ones within a few
# percent (they average batches of the last hundred or so steps, taken with slightly older
# weights) and give the same accuracy. Either works; the moving average needs no extra pass over
# the data.
#
# Why not normalize a test example with its own statistics? With $m = 1$, $\mu = z$ and
# $\sigma^2 = 0$, so $z_{\text{norm}} = 0$ and $\tilde z = \beta$ whatever the input: every example
# gets the same prediction.

# %%
alone = bn_test_time.one_example_at_a_time(moving.model, data.x_val[:200])
alone_classes = np.argmax(alone, axis=1)
alone_accuracy = float(np.mean(alone_classes == np.argmax(data.y_val[:200], axis=1)))
print("predicted classes of the first 20 examples, each normalized alone:", alone_classes[:20])
print(f"largest difference between any two of the 200 predictions: "
      f"{np.max(np.abs(alone - alone[0])):.1e}; accuracy {alone_accuracy:.3f}")

# %% [markdown]
# ## 7. Small mini-batches, and batch renormalization
#
# The moving statistics are the test-time stand-in for the batch ones. With mini-batches of 2 to
# 8 examples the batch's $\mu$ and $\sigma^2$ are poor estimates (with $m = 2$, $z_{\text{norm}} =
# \pm 1$ whatever $z$ is): the network is trained on one normalization and tested on another.
#
# Batch renormalization (Ioffe, 2017; `ManualBatchNorm(renorm=True)`, as in Keras) attacks this
# test-time problem during training. It keeps moving averages $\mu_{\text{ren}}, \sigma_{\text{ren}}$
# of the batches' $\mu$ and $\sigma = \sqrt{\sigma^2 + \varepsilon}$ and corrects each batch toward them:
#
# $$r = \frac{\sigma}{\sigma_{\text{ren}}}, \qquad d = \frac{\mu - \mu_{\text{ren}}}{\sigma_{\text{ren}}},
# \qquad \tilde z = \gamma\,(r\, z_{\text{norm}} + d) + \beta,$$
#
# with $r$ and $d$ treated as constants by backprop (and optionally clipped). Then
# $r\, z_{\text{norm}} + d = (z - \mu_{\text{ren}}) / \sigma_{\text{ren}}$: training already uses the moving
# statistics, while the gradient still flows through the batch's $\mu$ and $\sigma^2$. $r = 1, d = 0$
# is batch norm.
#
# Measured: a network with two hidden layers of 64 units (LINEAR -> BN -> RELU) on digits, Adam
# ($\alpha = 10^{-3}$), trained at several mini-batch sizes with batch norm and with renormalization;
# the training accuracy of the last epoch (in training mode, the batches' own statistics) and the
# validation accuracy at test time (the moving statistics), averaged over the seeds.

# %%
small_runs = bn_small_batches.small_batch_sweep(data, SMALL_BATCH_SIZES, epochs=SMALL_BATCH_EPOCHS,
                                                seeds=SMALL_BATCH_SEEDS)
small_rows = bn_small_batches.summarize(small_runs)
print(bn_small_batches.format_summary(small_rows))
fig = bn_small_batches.plot_small_batches(small_rows)
small = {(row["batch_size"], row["renorm"]): row["test_time_accuracy"] for row in small_rows}

# %% [markdown]
# With $m = 2$ batch norm trains to a lower accuracy with the batches' statistics (the dashed red
# line: the normalization itself is noisy) and its test-time accuracy falls below that of the
# larger batches: the moving statistics are not what the network was trained with.
# Renormalization trains with (nearly) the test-time normalization and recovers most of the gap
# at $m = 2$ and $m = 4$; at $m = 8$ and above the two are within noise of each other here. The
# lecture's test-time problem, in other words, is mild for batches of tens of examples and real
# for a handful.

# %% [markdown]
# ## What you should see
#
# The numbers of this run (a fresh run prints its own; the committed notebook shows a full run):

# %%
print("full run" if not FAST else "fast mode (TFWEEK3_FAST=1): few epochs, rough numbers")
print(f"1. three implementations agree: forward {forward_gap:.1e}, backward {backward_gap:.1e}")
print(f"2. bias under batch norm: z_tilde changes by {bias['max_change_of_z_tilde']:.1e}, "
      f"|dJ/db| <= {bias['max_abs_dJ_db']:.1e} (|dJ/dW| up to {bias['max_abs_dJ_dW']:.2f})")
print("3. epochs to 95% validation accuracy (median over seeds; '-' never), SGD:")
for lr in LEARNING_RATES:
    cells = []
    for row in (r for r in summary if r["learning_rate"] == lr):
        reach = "-" if row["epochs_to_target"] is None else f"{row['epochs_to_target']:g}"
        cells.append(f"{learning_rate_sweep.LABELS[row['batch_norm']]} {reach} "
                     f"(final {row['final_val_accuracy']:.3f}, diverged {row['diverged']})")
    print(f"   alpha {lr:g}: " + "; ".join(cells))
print(f"   only the batch-norm network trains at alpha = {only_bn}")
for track in tracks:
    print(f"4. {'with' if track.batch_norm != 'none' else 'without'} batch norm, layer 2: "
          f"mean drift {track.mean_drift()[-1]:.2f} spreads, spread x{track.spread_ratio()[-1]:.2f}")
print(f"   cats: black-trained model {cats.black_model_on_black:.3f} on black, "
      f"{cats.black_model_on_coloured:.3f} on coloured; all-trained {cats.all_model_on_coloured:.3f}")
print(f"5. std of the batch mean at m = 2, 32, 512: {noise['measured'][0]:.4f}, "
      f"{noise['measured'][4]:.4f}, {noise['measured'][-1]:.4f} "
      f"(formula {noise['predicted'][0]:.4f}, {noise['predicted'][4]:.4f}, {noise['predicted'][-1]:.4f})")
print("   gap reduction by batch norm (val J - train J, without minus with): "
      + ", ".join(f"batch {m}: {value:+.4f}" for m, value in gap_reduction.items()))
print(f"6. test accuracy with moving statistics {test_time['test_moving']:.4f}, "
      f"with exact ones {test_time['test_exact']:.4f}; "
      f"each example normalized alone: accuracy {alone_accuracy:.3f}, "
      f"{len(set(alone_classes.tolist()))} distinct prediction(s)")
print("7. test-time accuracy, batch norm -> renormalization: "
      + ", ".join(f"m = {m}: {small[(m, False)]:.3f} -> {small[(m, True)]:.3f}"
                  for m in SMALL_BATCH_SIZES))

# %% [markdown]
# ## Try it yourself
#
# Write this section's formulas yourself; `tfweek3 exercise check` compares them with the NumPy
# reference, finite differences and `keras.layers.BatchNormalization`, and names the classic
# mistakes (see docs/practice.md). In a terminal:
#
# ```
# tfweek3 exercise start batch_norm_forward    # writes batch_norm_forward.py, with TODO
# tfweek3 exercise check batch_norm_forward
# ```
#
# - Exercise 3, `batch_norm_forward`: $\mu$, $\sigma^2$, $z_{\text{norm}}$, $\tilde z$ of a
#   mini-batch in NumPy, and the cache.
# - Exercise 4, `batch_norm_backward`: $dz$, $d\gamma$, $d\beta$ in closed form from that cache.
# - Exercise 5, `batch_norm_layer`: a small Keras layer with the training/inference switch and
#   the moving averages.
