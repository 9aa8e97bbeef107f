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
# # 1. Hyperparameter search
#
# Course sections 1 to 3: the tuning process, the right scale, and pandas against caviar.
#
# 1. Grid against random: the note's picture of 25 points, and how often random search wins on a
#    synthetic benchmark where one hyperparameter matters and the other hardly does.
# 2. The right scale: $\alpha$ and $1 - \beta$ drawn uniformly and on a log scale.
# 3. Coarse to fine: a random search in rounds, each round's box around the best points of the last.
# 4. Caviar: many models at once (a search with 2 worker processes, and the trials trained together
#    as one stacked network).
# 5. Pandas: one model babysat, its learning rate nudged through a control file, one bad day
#    rolled back.
# 6. Cut the losers early (median-stopping pruning) and see which hyperparameters mattered, beside
#    the lecture's claim that $\alpha$ matters most.
# 7. Pandas + caviar = PBT: population-based training, the schedule it finds, and PBT against
#    random search and one babysat model at the same number of training epochs.
#
# The searches are KerasTuner tuners from `tfweek3.tuning` (`RandomSearch`, `CoarseToFine`,
# `PopulationBasedTraining`), which search any model written the KerasTuner way;
# `tfweek3.search` (`tfweek3 tune`, `run_search`) points them at the course network, and every
# trial trains it on digits with the week's loop, `tfweek3.train`. This notebook's own helpers:
# `tfweek3.course.grid_vs_random`, `tfweek3.course.log_scale`, `tfweek3.course.search_rounds`,
# `tfweek3.course.nudges`, `tfweek3.course.pruning_importance`, `tfweek3.course.pbt_contest`.
#
# Which hyperparameters first (the lecture): $\alpha$; then momentum $\beta$, the mini-batch size
# and the hidden units; then the number of layers and learning-rate decay. Adam's $\beta_1$,
# $\beta_2$, $\varepsilon$ are rarely tuned.

# %%
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf
from IPython.display import display

from tfweek3 import SearchConfig, random_vs_grid_win_rate, run_search
from tfweek3.course import (
    grid_vs_random,
    log_scale,
    nudges,
    pbt_contest,
    pruning_importance,
    search_rounds,
)
from tfweek3.search import present
from tfweek3.search.babysit import BabysitConfig, babysit
from tfweek3.search.space import SearchSpace
from tfweek3.tuning.figures import plot_curves, plot_importance, plot_parallel
from tfweek3.tuning.pbt_results import (
    all_copies,
    copies,
    final_ranking,
    format_population_table,
    lineage,
)
from tfweek3.tuning.results import rank, summary_line

tf.get_logger().setLevel("ERROR")

# %% tags=["parameters"]
# Parameters. TFWEEK3_FAST=1 (what the tests use) shrinks the searches to seconds.
FAST = os.environ.get("TFWEEK3_FAST") == "1"
BENCHMARK_SEEDS = 3 if FAST else 100     # synthetic random-vs-grid contests
SAMPLES = 100_000                        # draws for the histograms
ROUNDS = 3                               # coarse to fine
ROUND_TRIALS = 1 if FAST else 8          # trials per round
SEARCH_EPOCHS = 2 if FAST else 8         # epochs per trial
CAVIAR_TRIALS = 2 if FAST else 8
CAVIAR_EPOCHS = 1 if FAST else 15
TOGETHER_TRIALS = 3 if FAST else 30      # section 4, in one graph: the default search of tfweek3 tune
TOGETHER_EPOCHS = 1 if FAST else 10
BABYSIT_EPOCHS = 4 if FAST else 12
PRUNE_TRIALS = 7 if FAST else 30         # section 6: one random search, with and without pruning
PRUNE_EPOCHS = 3 if FAST else 12
PBT_SEEDS = 1 if FAST else 3             # pbt against random search and one babysat model
PBT_POPULATION = 2 if FAST else 8        # members (and random trials)
PBT_EPOCHS = 2 if FAST else 12           # epochs per member (and per random trial)
PBT_READY = 1 if FAST else 2             # epochs between two exploit/explore steps
RUNS = Path("runs") / "01_hyperparameter_search"   # where the searches write their trials
SEED = 0

# %% [markdown]
# ## 1. Grid against random
#
# You do not know in advance which hyperparameter matters most. Say $\alpha$ matters a lot and
# Adam's $\varepsilon$ hardly at all. A $5 \times 5$ grid trains 25 models but tries only 5 values
# of $\alpha$; 25 random points try 25 values of $\alpha$. Both on the log scale of each range
# (section 2), $\alpha \in [10^{-4}, 1]$ and $\varepsilon \in [10^{-10}, 10^{-6}]$:

# %%
grid = grid_vs_random.grid_points(per_axis=5)
random_points = grid_vs_random.random_points(n=25, seed=SEED)
print("grid:   25 models, distinct values of (alpha, epsilon):", grid_vs_random.distinct_values(grid))
print("random: 25 models, distinct values of (alpha, epsilon):",
      grid_vs_random.distinct_values(random_points))
cube = grid_vs_random.grid_points(per_axis=5, ranges=((1e-4, 1.0), (1e-10, 1e-6), (0.9, 0.999)))
print(f"3 hyperparameters on a 5x5x5 grid: {len(cube)} models, distinct values of each:",
      grid_vs_random.distinct_values(cube))
fig = grid_vs_random.plot_grid_vs_random(grid, random_points)

# %% [markdown]
# Does it matter? `tfweek3.random_vs_grid_win_rate` plays the two searches against each
# other with KerasTuner's GridSearch and RandomSearch oracles, 25 trials each, on a synthetic score
# where one decade off in $\alpha$ costs 1 and one decade off in $\varepsilon$ costs 0.01:
#
# $$\text{score} = -(\log_{10}\alpha - \log_{10}\alpha^*)^2 - 0.01\,(\log_{10}\varepsilon - \log_{10}\varepsilon^*)^2,$$
#
# with a new best point $(\alpha^*, \varepsilon^*)$, drawn on the log scale, for each contest. The
# regret is how far the best trial is from the optimum 0. For the grid it has a closed form: its 5
# values are one decade apart, so the best $\alpha^*$ is at a distance $d$ uniform on
# $[0, 0.5]$ decades from the nearest one, $E[d^2] = 1/12$, and
# $E[\text{regret}] = (1 + 0.01)/12 = 0.084$; since $\text{Var}(d^2) = 1/180$, the mean over 100
# contests is that within a standard error of about 0.0075. Random search has no such floor: with
# 25 values of $\alpha$ the nearest one is usually much closer.

# %%
win = random_vs_grid_win_rate(seeds=BENCHMARK_SEEDS, budget=25)
grid_regret_formula = grid_vs_random.grid_expected_regret(per_axis=5)
grid_regret_error = grid_vs_random.grid_regret_standard_error(contests=win["seeds"])
print(f"{win['seeds']} contests of 25 trials: random wins {win['random_wins']:.0%}, "
      f"grid wins {win['grid_wins']:.0%}, ties {win['ties']:.0%}")
print(f"mean regret: random {win['random_mean_regret']:.4f}, grid {win['grid_mean_regret']:.4f} "
      f"(closed form for the grid {grid_regret_formula:.4f} +- {grid_regret_error:.4f})")

# %% [markdown]
# ## 2. The right scale
#
# Uniform sampling is fine for the number of hidden units or layers, not for $\alpha$ on
# $[0.0001, 1]$: 90% of uniform draws land in $[0.1, 1]$. Sample the exponent instead,
# $r = -4 \cdot \text{rand}()$, $\alpha = 10^r$: each decade gets 25%.
#
# For momentum $\beta \in [0.9, 0.999]$, sample $1 - \beta = 10^r$ with $r \in [-3, -1]$. Near 1,
# $\beta$ is very sensitive: the averaging window $1/(1 - \beta)$ goes from 1000 to 2000 when
# $\beta$ goes from 0.999 to 0.9995, but only from 10 to 10.05 when it goes from 0.9 to 0.9005.

# %%
draws = log_scale.draw_both_ways(n=SAMPLES, seed=SEED)
shares = log_scale.scale_summary(draws)
for name, share in shares.items():
    print(f"share of {name:<30} {share:.3f}")
for beta in (0.9, 0.9005, 0.99, 0.999, 0.9995):
    print(f"beta = {beta:<7} averaging window 1/(1 - beta) = {log_scale.averaging_window(beta):7.1f}")
fig = log_scale.plot_histograms(draws)

# %% [markdown]
# On log axes the log-scale draws are flat: as many in each decade. The uniform draws of $\alpha$
# pile up in the last decade, and the uniform draws of $\beta$ put only 9% of the points in
# $[0.99, 0.999]$, where $1 - \beta$ spans a whole decade. KerasTuner does the same with
# `hp.Float(..., sampling="log")`, which is how `tfweek3.search.space` declares
# `learning_rate` and `one_minus_beta`.

# %% [markdown]
# ## 3. Coarse to fine
#
# A first random search over the whole box; then a smaller box around the best trials, sampled
# more densely; and again. Here 3 rounds of momentum SGD on digits, searching $\alpha$ and
# $1 - \beta$ only (the network is fixed at 2 hidden layers of 25 units, mini-batches of 32, no
# batch norm), each round's box spanning its 3 best trials plus a 10% margin. The rounds are one
# KerasTuner search (`tfweek3.CoarseToFine`): its oracle keeps each round's box and the round of
# every trial, and the result gives them back, the boxes as `coarse.boxes` (round 1 first) and
# each trial's round as `record["round"]`.

# %%
space = SearchSpace(units=(25, 25), layers=(2, 2), batch_size=(32,), batch_norm=(False,),
                    optimizer=("momentum",))
coarse_config = SearchConfig(
    strategy="coarse-to-fine", trials=ROUNDS * ROUND_TRIALS, rounds=ROUNDS, epochs=SEARCH_EPOCHS,
    space=space, directory=str(RUNS / "coarse_to_fine"), seed=SEED, tensorboard=False)
coarse = run_search(coarse_config, overwrite=True, log=lambda line: None)
rounds = search_rounds.round_summary(coarse.records, coarse.boxes)
print(search_rounds.format_rounds(rounds))
print(summary_line(coarse, describe=present.best_text))

# %%
# tfweek3.tuning saves its own figure with matplotlib's file backend (Agg); back to inline display.
# %matplotlib inline
fig = search_rounds.plot_rounds(coarse.records, coarse.boxes, objective="val_accuracy")

# %% [markdown]
# Each box is where the last round did best: the trials crowd where the validation accuracy is high
# instead of being spread over four decades of $\alpha$, most of which are useless, so the median
# trial gets better from round to round. The best trial need not: a few epochs on a small
# validation set are a noisy score, and a box chosen from a few trials can miss a better region.
# Every trial is in
# `runs/01_hyperparameter_search/coarse_to_fine/trials.csv`, with its round; the boxes are in
# `rounds.json` beside it.

# %% [markdown]
# ## 4. Caviar: many models at once
#
# With enough compute, train many models in parallel and keep the best. `SearchConfig(workers=2)`
# runs KerasTuner's distributed mode: a chief process holds the oracle and hands out trials, two
# worker processes train them, each with its share of the cores. Here the full search space
# (units, layers, mini-batch size, batch norm and optimizer vary too). The same search (same seed,
# so the same trials) runs first in this process, one model after the other, for comparison.

# %%
caviar_config = SearchConfig(
    strategy="random", trials=CAVIAR_TRIALS, epochs=CAVIAR_EPOCHS, workers=2,
    directory=str(RUNS / "caviar"), seed=SEED, tensorboard=False)
serial_config = dataclasses.replace(caviar_config, workers=1, directory=str(RUNS / "one_at_a_time"))
serial, serial_wall = search_rounds.timed_search(serial_config)
caviar, caviar_wall = search_rounds.timed_search(caviar_config)

# %%
print(present.format_table(rank(caviar.records, "max"), "val_accuracy"))
use = search_rounds.parallel_use(caviar.records, caviar_wall, workers=2)
serial_use = search_rounds.parallel_use(serial.records, serial_wall, workers=1)
same = search_rounds.same_trials(serial.records, caviar.records)
print(f"\nthe same {use['trials']} trials both ways: {same}")
print(f"one model at a time: {serial_use['training_seconds']:.0f} s of training, "
      f"{serial_wall:.0f} s in all")
print(f"2 workers:           {use['training_seconds']:.0f} s of training, {caviar_wall:.0f} s in all, "
      f"{use['speedup']:.2f} models at a time on average; about "
      f"{use['overhead_seconds']:.0f} s went to starting the processes and waiting")

# %% [markdown]
# Read the numbers before believing the slogan. Each worker is a new process that imports
# TensorFlow (several seconds) before it trains anything, and here the two workers share 2 cores
# (with the chief, and with whatever else runs on the machine), so each trial also trains slower
# than alone. With models this small, that start-up cost and the shared cores eat the gain: caviar
# pays when each trial is long compared with a process start and there is a core (or a GPU, or a
# machine) per worker. The models differ in hyperparameters and in architecture (layers, units),
# as the lecture allows.

# %% [markdown]
# ### Caviar in one graph
#
# Another way to train many models at once, in one process: stack them. With
# `SearchConfig(together=K)` (`tfweek3 tune --together K`) K trials become one network whose every
# variable has a leading member axis: member k's `W[l]` is `W[l][k]`, its `gamma` and `beta` are
# `gamma[k]` and `beta[k]`, with its own `alpha`, `beta` and optimizer. A narrower member's
# missing units are padded and masked, so they get zero gradients. Each member steps on its own
# mini-batches. Its cost is the mean over its own mini-batch, and its `mu` and `sigma2` come from
# it alone, so each member trains as it would alone. Below, the default search of `tfweek3 tune`
# (30 trials of 10 epochs over the whole space), one at a time and then all together. It has
# the same seed, so the same trials.

# %%
alone_config = SearchConfig(strategy="random", trials=TOGETHER_TRIALS, epochs=TOGETHER_EPOCHS,
                            directory=str(RUNS / "alone"), seed=SEED, tensorboard=False)
together_config = dataclasses.replace(alone_config, together=TOGETHER_TRIALS,
                                      directory=str(RUNS / "together"))
alone, alone_wall = search_rounds.timed_search(alone_config)
together, together_wall = search_rounds.timed_search(together_config)

# %%
pairs = search_rounds.side_by_side(alone.records, together.records)
alone_use = search_rounds.parallel_use(alone.records, alone_wall)
together_use = search_rounds.parallel_use(together.records, together_wall)
identical = sum(a == b for _, a, b in pairs)
print(f"the same {len(pairs)} trials both ways: "
      f"{search_rounds.same_trials(alone.records, together.records)}; "
      f"{identical} of {len(pairs)} with the very same score")
for name, result, way, wall in (("one at a time", alone, alone_use, alone_wall),
                                ("together", together, together_use, together_wall)):
    print(f"{name:>13}: {way['training_seconds']:5.1f} s of training, {wall:5.1f} s in all, "
          f"best val accuracy {result.best['score']:.4f}")
print(f"together is {alone_wall / together_wall:.2f}x as fast in all, "
      f"{alone_use['training_seconds'] / together_use['training_seconds']:.2f}x on the trials")
search_rounds.plot_side_by_side(pairs, "one at a time", "together", "val_accuracy");

# %% [markdown]
# Why it is faster, and why not 30 times. One model of the course network is a few small matrix
# products per step. That is too little work to keep two cores busy, and each step also pays
# a fixed cost: Python, and starting each operation. Stacked, a layer of all members is one batched
# product (`einsum`), and a whole epoch of all members is one compiled XLA program. So the fixed
# costs are paid once for the group and the cores get work worth sharing. The price:
# - compiling that program takes a few seconds, once per search (later groups reuse the stack);
# - the members step in lockstep, so an epoch lasts as many steps as the member with the most
#   mini-batches (the one with mini-batches of 16);
# - each of those steps computes every member, the others waiting.
#
# One at a time is already cheap here, because trials of one architecture reuse one compiled
# network. The same search, timed as commands in one run, is in the README's benchmarks
# (`benchmarks/bench_together.py`). Where it pays most: many trials of one architecture and
# one mini-batch size, each too small to fill the machine alone.

# %% [markdown]
# ## 5. Pandas: babysitting one model
#
# With little compute, train one model and watch it: every "day" (here, every epoch) look at the
# curves, nudge the learning rate up or down, and when a day goes badly, go back to yesterday's
# weights. `tfweek3.babysit` reads a control file before each epoch (`learning_rate 0.1`,
# `momentum 0.99`, `rollback 6`, `stop`); `tfweek3.course.nudges.ScriptedNudges` writes it on the days of
# a script, as a person would:
#
# - start with $\alpha = 0.003$: safe, but the curve climbs slowly;
# - nudge $\alpha$ up to 0.1;
# - get greedy: $\alpha = 2$ and momentum 0.99, and the next days go badly;
# - roll back to the last good day and go on with $\alpha = 0.03$, momentum 0.9.

# %%
if FAST:
    script = {2: "learning_rate 0.1", 3: "learning_rate 2\nmomentum 0.99",
              4: "rollback 2\nlearning_rate 0.03\nmomentum 0.9"}
else:
    script = {4: "learning_rate 0.1", 7: "learning_rate 2\nmomentum 0.99",
              9: "rollback 6\nlearning_rate 0.03\nmomentum 0.9"}
babysit_config = BabysitConfig(directory=str(RUNS / "pandas"), epochs=BABYSIT_EPOCHS,
                               learning_rate=0.003, beta=0.9, optimizer="momentum",
                               batch_norm="manual", seed=SEED)
watcher = nudges.ScriptedNudges(babysit_config.directory, script)
babysat = babysit(babysit_config, overwrite=True, before_epoch=watcher, log=lambda line: None)
days = watcher.finish(babysat)
print(nudges.format_days(days))

# %%
# tfweek3.babysit draws curves.png with matplotlib's file backend (Agg); back to inline display.
# %matplotlib inline
fig = nudges.plot_days(days)

# %% [markdown]
# The days thrown away by the rollback are grey; the run's own history (`history.csv`, the
# checkpoints) keeps only the path that survived. `runs/01_hyperparameter_search/pandas/actions.csv`
# logs each nudge with its day.

# %% [markdown]
# ## 6. Cut the losers early, and see what mattered
#
# A random search trains every trial to its last epoch, even one that after two epochs is worse
# than most trials ever were at that point. The median stopping rule (`--prune median`; Optuna's
# MedianPruner, Ray Tune's MedianStoppingRule) stops it: after epoch $e$, a trial whose best
# validation accuracy so far is below the median of the other trials' best so far at epoch $e$
# stops, once at least 5 other trials reached epoch $e$ (`--prune-min-trials`) and from epoch 2 on
# (`--prune-after`). KerasTuner's oracle makes the decision, in the answer it gives each epoch's
# report; the trial is recorded as `pruned`, with its epochs and the median it lost to.
#
# The same random search twice over the whole space (same seed, so the same trials in the same
# order), without and with pruning:

# %%
pruned_config = SearchConfig(
    strategy="random", trials=PRUNE_TRIALS, epochs=PRUNE_EPOCHS, prune="median",
    directory=str(RUNS / "pruned"), seed=SEED, tensorboard=False)
full_config = dataclasses.replace(pruned_config, prune="none", directory=str(RUNS / "not_pruned"))
full = run_search(full_config, overwrite=True, log=lambda line: None)
pruned = run_search(pruned_config, overwrite=True, log=lambda line: None)
gain = pruning_importance.pruning_gain(full, pruned, PRUNE_EPOCHS)
print(f"{gain['trials']} trials of {PRUNE_EPOCHS} epochs: {gain['pruned_trials']} pruned; "
      f"{gain['epochs_pruned']} epochs trained instead of {gain['epochs_full']} "
      f"({gain['saved_share']:.0%} fewer)")
print(f"best val accuracy: {gain['best_full']:.4f} without pruning, {gain['best_pruned']:.4f} with; "
      f"the same best trial: {gain['same_best_trial']}")
print(summary_line(pruned, pruned=True, describe=present.best_text))

# %%
plot_curves(pruned.records, "val_accuracy", epochs=PRUNE_EPOCHS)

# %% [markdown]
# Grey curves end with a cross where the rule stopped them: most after 2 or 3 epochs, far below the
# others. The first five trials ran to the end whatever they did (before them there is no median),
# which is why a few bad coloured curves remain. The few trials stopped late were close to the top:
# late in a search the trials that reach an epoch are the survivors, so the median there is a high
# bar. A pruned trial's score is the best it had when it was stopped, a lower bound of what it would
# have reached; the rule bets that a trial below the median now stays below the best later. The bet
# can lose (a slow starter cut before it catches up), which is why the first epochs are spared and
# why it is worth comparing the best with and without pruning, as above;
# `benchmarks/bench_pruning.py` does it over 5 seeds (docs/benchmarks.md).

# %% [markdown]
# ### Which hyperparameters mattered?
#
# The lecture says to tune $\alpha$ first; then momentum $\beta$, the mini-batch size and the hidden
# units; then the number of layers. Every search writes `importance.csv` and `importance.png`: a
# random forest (scikit-learn) learns the score from the hyperparameters, $\alpha$ and $1 - \beta$
# on their log scales, and its impurity importance splits the variance of the score it explains
# between them (the *share*). Two numbers say how far to trust that:
#
# - the forest's out-of-bag $R^2$ (each trial predicted by the trees that did not see it): how much
#   of the score it explains at all. Below 0.2 (`tfweek3.tuning.importance.MIN_R2`) the ranking is
#   not to be trusted, and the importance names no winner;
# - for each hyperparameter, how often it comes first when the trials are resampled (200 bootstrap
#   resamples, a small forest on each): a hyperparameter first in fewer than 80% of them is no
#   clear winner.
#
# The last line under each table is what the numbers allow one to say. Both searches:

# %%
print("without pruning (every trial to the end):")
print(pruning_importance.format_importance(full.importance))
print("\nwith pruning (the pruned trials with their score when stopped):")
print(pruning_importance.format_importance(pruned.importance))
display(plot_importance(full.importance), plot_importance(pruned.importance))

# %% [markdown]
# Read the shares with their $R^2$ and how often each came first. Thirty trials over seven
# hyperparameters are few for a forest: when its $R^2$ is near zero or below, it predicts a trial
# no better than the mean score does, its shares split noise, and which hyperparameter comes first
# says nothing. In the full run that is the search without pruning: $R^2$ below zero, and
# $\alpha$, although its share was the largest, first in fewer than half of the resamples. The
# search with pruning keeps the losers' early scores, and that is where $\alpha$ makes its
# difference (a bad $\alpha$ is bad from the first epochs), so its forest explains more ($R^2$
# about 0.4) and $\alpha$'s share is larger (about 70%). $\alpha$ came first in 82% of the
# resamples, just above the 80% asked for a clear winner (in an earlier run of the same searches,
# 75%, just below): on 30 trials of your own, the lecture's claim shows as a lead, barely a
# certainty. More trials make the answer firmer;
# `benchmarks/bench_pruning.py` prints what the importance of each of its 40-trial searches allows
# one to say.

# %%
plot_parallel(full.records, full.dims, full.objective, full.direction)

# %% [markdown]
# Each line is a trial of the search without pruning; the best five are coloured. Four of them
# sit within half a decade of $\alpha$ (0.009 to 0.02, of the four decades searched) while
# spreading over $1 - \beta$, the units, the layers and the mini-batch size: what "$\alpha$
# matters most" would look like, although the forest above could not tell it from noise on these
# 30 trials. Those four use Adam without batch norm; the fifth is momentum SGD with batch norm at
# $\alpha = 0.68$, a step that batch norm makes bearable. The shares hardly show such things: impurity importance leans towards hyperparameters with
# many distinct values ($\alpha$, $1 - \beta$, the units) over on/off ones (batch norm, the
# optimizer here), so read a small share of those with care; and five trials alike may be chance.

# %% [markdown]
# ## 7. Pandas + caviar = PBT
#
# Population-based training (Jaderberg et al., 2017) babysits inside caviar. A population of
# models trains side by side, as in caviar; every few epochs (here every 2, one *generation*) the
# members are ranked on the validation accuracy, and the worst quarter does what a babysitter
# does to a run that went badly, with a better run's weights at hand:
#
# - *exploit*: copy the weights and the optimizer's state (momentum's velocity) of a member of
#   the best quarter, with its hyperparameters;
# - *explore*: nudge what was copied: $\alpha$ and $1 - \beta$ times 1.25 or 0.8 (or, one time in
#   five, drawn afresh on their log scales).
#
# The others go on. No member trains longer than a random-search trial would; what changes is
# that the population's epochs are spent on the members that are doing well, and that each
# member's $\alpha$ and $\beta$ change over time: PBT finds a *schedule*, not one value.
# `tfweek3 tune --strategy pbt` runs `tfweek3.PopulationBasedTraining`, a KerasTuner tuner for
# any model: each trial is one member's generation, and it leaves the member's weights and
# optimizer state under `--dir` for the next. It runs in one process, with `--workers N`, or on
# several hosts, like the other searches.
#
# The same budget for three ways of spending it, on the network of section 3 (2 hidden layers of
# 25 units, momentum SGD, mini-batches of 32), over the whole $\alpha$ and $1 - \beta$ ranges,
# for several seeds:
#
# - caviar: a random search, 8 trials of 12 epochs;
# - pandas + caviar: PBT, 8 members of 12 epochs, a step every 2 epochs;
# - pandas: one model trained for 8 x 12 = 96 epochs, babysat by a rule
#   (`pbt_contest.AutoSitter`): start with $\alpha = 0.01$, the middle of its range on the log
#   scale, and the lecture's $\beta = 0.9$; when the validation accuracy has not improved for 3
#   epochs, halve $\alpha$ (not below $10^{-4}$, the bottom of the range); when an epoch ends 0.02
#   below the best one, roll back to the best one and halve $\alpha$.
#
# Each is judged after its last epoch on the validation set (which chose it) and on the test set
# (which nothing saw). "pbt replay" trains a fresh model on PBT's best schedule
# (`tfweek3 train --schedule best_schedule.json`).

# %%
pbt_space = SearchSpace(units=(25, 25), layers=(2, 2), batch_size=(32,), batch_norm=(False,),
                        optimizer=("momentum",))
contest_rows = pbt_contest.contest(PBT_SEEDS, PBT_POPULATION, PBT_EPOCHS, PBT_READY, pbt_space,
                                   str(RUNS / "pbt_contest"), log=lambda line: None)
pbt_config = pbt_contest.search_config("pbt", 0, PBT_POPULATION, PBT_EPOCHS, PBT_READY, pbt_space,
                                       str(RUNS / "pbt_contest"))
pbt_result = pbt_contest.population_result(pbt_config)  # seed 0's search, read back
pbt_records = pbt_result.records
pbt_winner = final_ranking(pbt_records, "max")[0]
pbt_lineage = lineage(pbt_records, pbt_winner)
print(format_population_table(final_ranking(pbt_records, "max"), pbt_records, "val_accuracy"))
print(f"\nseed 0: {all_copies(pbt_records)} copies in "
      f"{pbt_config.generations - 1} steps; the winner, member {pbt_winner['member']}, descends "
      f"from member {pbt_lineage[0]['member']} through {copies(pbt_lineage)} copies")
for record in pbt_lineage:
    print(f"  generation {record['generation']}: member {record['member']} (trial "
          f"{record['trial']}), alpha={record['learning_rate']:.4g} beta={record['beta']:.4f} "
          f"-> val_accuracy={record['score']:.4f}")

# %%
# %matplotlib inline
pbt_contest.plot_population(pbt_result, pbt_config)

# %% [markdown]
# Each line is one member's $\alpha$ (left) and $1 - \beta$ (right) over its epochs; a dashed
# jump is a copy: the member took another's weights and a nudged version of its hyperparameters.
# The bold line is the winner's lineage, the schedule PBT found (seed 0's search; the search's
# own figure is `runs/01_hyperparameter_search/pbt_contest/pbt_0/schedules.png`).

# %%
pbt_table = pbt_contest.summarize(contest_rows)
print(pbt_contest.format_summary(pbt_table))
pbt_contest.plot_contest(contest_rows)

# %% [markdown]
# What the full run behind this text says (3 seeds; a fresh run prints its own table):
#
# - **PBT against random search** (caviar): PBT's winner beat random search's on the test set by
#   about 4 points on average (0.958 against 0.917), and random search never had the best test
#   accuracy of the three.
#   Random search spends each trial's 12 epochs on one $\alpha$ and $\beta$, and with 8 draws
#   over four decades of $\alpha$ some land where momentum SGD crawls or blows up. PBT starts from
#   as many draws, but after 2 epochs the worst quarter takes over the best members' weights and
#   nearby $\alpha$: most of the population's 96 epochs go to members that are doing well.
# - **PBT against one babysat model** (pandas): PBT had the best test accuracy in 2 seeds of 3,
#   the babysat model in the third, and PBT's mean is 0.7 of a point higher (0.958 against 0.951,
#   with standard deviations of 1 to 1.5 points: a draw). In an earlier run of this notebook the
#   babysat model won every seed: on the digits, once $\alpha$ is in the right decade, one model
#   trained for 96 epochs with $\alpha$ halved on its plateaus is as good as the best of 8 models
#   trained for 12. PBT's case is a problem where a good $\alpha$ is hard to guess and a bad one
#   costs many epochs, which is where babysitting one model is a gamble.
# - The replay of PBT's schedule on a fresh model gives the winner's numbers exactly: the
#   schedule, with its network, is all the population found; the other members paid for finding
#   it. It also shows what PBT costs at this size: every 2 epochs each member builds and compiles
#   a new model, loads its parent's weights and optimizer state and writes its own, which takes
#   longer than the 2 epochs of digits, so the search took several times as long as random search
#   for the same epochs (the seconds column: 4 times in the run behind this text).
# - PBT's winner is the member that ranked best on the validation set after its last of many
#   rankings, so its validation accuracy may flatter it. Here its mean test accuracy came out
#   above it (0.958 against 0.951): with 288 validation images, that optimism is lost in the
#   noise.

# %% [markdown]
# ## What you should see
#
# The numbers of this run (a fresh run prints its own):

# %%
print("full run" if not FAST else "fast mode (TFWEEK3_FAST=1): small searches, rough numbers")
print(f"1. distinct values of alpha: grid {grid_vs_random.distinct_values(grid)[0]} of 25, "
      f"random {grid_vs_random.distinct_values(random_points)[0]} of 25; "
      f"5x5x5 grid: {len(cube)} models, {grid_vs_random.distinct_values(cube)[0]} values each")
print(f"   synthetic benchmark, {win['seeds']} contests: random wins {win['random_wins']:.0%}, "
      f"grid {win['grid_wins']:.0%}; mean regret random {win['random_mean_regret']:.4f}, "
      f"grid {win['grid_mean_regret']:.4f} (formula {grid_regret_formula:.4f} +- {grid_regret_error:.4f})")
print(f"2. alpha in [0.1, 1]: uniform {shares['alpha_uniform_in_[0.1,1]']:.3f}, "
      f"log {shares['alpha_log_in_[0.1,1]']:.3f}; beta in [0.99, 0.999]: "
      f"uniform {shares['beta_uniform_in_[0.99,0.999]']:.3f}, log {shares['beta_log_in_[0.99,0.999]']:.3f}")
for row in rounds:
    best = "-" if row["best"] is None else f"{row['best']:.3f}"
    median = "-" if row["median"] is None else f"{row['median']:.3f}"
    print(f"3. round {row['round']}: alpha box [{row['alpha'][0]:.2g}, {row['alpha'][1]:.2g}], "
          f"1-beta box [{row['one_minus_beta'][0]:.2g}, {row['one_minus_beta'][1]:.2g}], "
          f"{row['width_decades']:.2f} decades, best val accuracy {best}, median {median}")
print(f"4. caviar: {use['trials']} trials, one at a time {serial_wall:.0f} s, 2 workers "
      f"{caviar_wall:.0f} s ({use['speedup']:.2f} models at a time); best val accuracy "
      + ("-" if caviar.best is None else f"{caviar.best['score']:.3f}"))
print(f"   in one graph: {len(pairs)} trials, one at a time {alone_wall:.0f} s, together "
      f"{together_wall:.0f} s ({alone_wall / together_wall:.2f}x); {identical} of {len(pairs)} "
      f"scores identical, best val accuracy {alone.best['score']:.3f} and "
      f"{together.best['score']:.3f}")
kept = [d for d in days if d["kept"]]
print(f"5. pandas: {len(days)} days, {len(days) - len(kept)} thrown away by the rollback; "
      f"worst day val accuracy {min(d['val_accuracy'] for d in days):.3f}, "
      f"final val accuracy {kept[-1]['val_accuracy']:.3f} at alpha {kept[-1]['learning_rate']:g}")
print(f"6. pruning: {gain['pruned_trials']} of {gain['trials']} trials pruned, "
      f"{gain['saved_share']:.0%} fewer epochs; best val accuracy {gain['best_full']:.3f} without, "
      f"{gain['best_pruned']:.3f} with")
print(f"   importance without pruning: {pruning_importance.top_line(full.importance)}")
print(f"   importance with pruning: {pruning_importance.top_line(pruned.importance)}")
print(f"7. pbt, {PBT_POPULATION} x {PBT_EPOCHS} epochs each, {PBT_SEEDS} seeds (test accuracy "
      f"after the last epoch, mean over seeds):")
for row in pbt_table:
    print(f"   {row['method']:>10}: val {row['val']:.3f}, test {row['test']:.3f} "
          f"(sd {row['test_sd']:.3f}), {row['seconds']:.0f} s per run")

# %% [markdown]
# ## Try it yourself
#
# Write this section's samplers yourself; `tfweek3 exercise check` runs 20000 of your draws
# against the package's and names the classic mistakes (see docs/practice.md). In a
# terminal, in the folder where you want the files:
#
# ```
# tfweek3 exercise start sample_alpha    # writes sample_alpha.py: the signature, the formula, TODO
# tfweek3 exercise check sample_alpha
# tfweek3 exercise start sample_beta
# tfweek3 exercise check sample_beta
# ```
#
# - Exercise 1, `sample_alpha`: alpha on a log scale in [low, high]: r uniform between
#   $\log_{10}$ low and $\log_{10}$ high, $\alpha = 10^r$.
# - Exercise 2, `sample_beta`: momentum $\beta$ in [low, high] through $1 - \beta = 10^r$.
