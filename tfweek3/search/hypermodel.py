"""The course network and its search space as one KerasTuner hypermodel, trained by the week's loop.

`tfweek3 tune` searches the course network (LINEAR -> BN -> RELU per hidden
layer, then softmax) over seven hyperparameters (space.py) with the tuning
floor's tuners, exactly as they search a model of your own: this hypermodel is
one user of them. Its `build(hp)` declares the space and returns the network,
compiled with the trial's optimizer (alpha, beta); its `fit` trains with the
week's compiled GradientTape loop (tfweek3.train: one tf.function call per
epoch) instead of Model.fit, and hands every epoch to the tuner's callbacks as
Model.fit would, so that pruning, epoch reports, TensorBoard and
population-based training work the same. Every trial's initial weights come
from the same seed: trials differ by their hyperparameters only.

A trial costs its epochs, not its set-up: building a Keras model and tracing
and first running its epoch and evaluation (training/steps.py) cost more than
ten epochs on digits. So a search's trials of one architecture
(hidden layers, batch norm, optimizer, mini-batch size) share one network:
`build_for_trial` gives it back with its initial weights (the seed's draw, as
a new build would make), a reset optimizer, and the trial's alpha and beta
assigned to variables, and `fit` reuses its compiled steps (and runs them
without TensorFlow's graph optimizer, steps.py). Only SGD's
momentum is a number the step is traced with: a momentum trial with a new
beta traces its steps again. `build` makes a new network, as KerasTuner's
get_best_models needs (a model the search will not reset).

Caviar in one graph: `fit_together` trains several trials at once as one
stacked network (training/stacked.py), each member with its own architecture,
alpha, beta, optimizer and mini-batch size, and hands each member's epochs to
that trial's callbacks as `fit` does (a search with `together`, tuning/groups.py).
`trains_together(hp)` says which trials it can stack: Adam, SGD and SGD with
momentum (RMSprop trains alone).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from tfweek3.search.space import (
    BATCH_NORM_LAYER,
    SearchSpace,
    TrialSettings,
    define_hyperparameters,
)
from tfweek3.training.batches import epoch_steps
from tfweek3.training.data import Dataset
from tfweek3.training.loop import train
from tfweek3.training.member import STACKED_OPTIMIZERS, Member
from tfweek3.training.network import build_network
from tfweek3.training.optimizers import (
    hold_beta_in_variable,
    make_optimizer,
    reset_optimizer,
)
from tfweek3.training.stacked import StackedNetwork
from tfweek3.training.steps import (
    TrainSteps,
    compile_steps,
    without_graph_optimizer,
)
from tfweek3.training.together import MemberView, train_together

KEPT_NETWORKS = 32  # architectures kept at once; the least recently used one goes first
KEPT_STACKS = 4     # stacks (of so many members) kept at once, likewise


@dataclass
class Network:
    """One architecture's network, shared by the trials that draw it."""

    model: keras.Model
    initial_weights: list[np.ndarray]
    beta: tf.Variable | None  # the optimizer's beta as a variable (None: SGD's float)
    steps: TrainSteps | None = None
    traced_momentum: float | None = None  # SGD's momentum when steps were traced


class CourseHyperModel(kt.HyperModel):
    """Declares the course's search space and builds and trains the week's network."""

    def __init__(self, data: Dataset, space: SearchSpace, grid_points: int | None = None,
                 seed: int = 0):
        super().__init__()
        self.data = data
        self.space = space
        self.grid_points = grid_points
        self.seed = seed
        self.networks: OrderedDict[tuple, Network] = OrderedDict()
        self.stacks: OrderedDict[tuple, StackedNetwork] = OrderedDict()

    def build(self, hp):
        """A new network for the hyperparameters `hp`, compiled with their optimizer."""
        settings = define_hyperparameters(hp, self.space, self.grid_points)
        model = build_network(self.data.input_dim, self.data.num_classes,
                              hidden_units=settings.hidden_units,
                              batch_norm=BATCH_NORM_LAYER if settings.batch_norm else None,
                              seed=self.seed)  # the same initial draw in every trial
        # Compiled for its optimizer only (PBT copies the optimizer's state); `fit` trains it.
        model.compile(optimizer=make_optimizer(settings.optimizer, settings.learning_rate,
                                               settings.beta))
        return model

    def build_for_trial(self, hp):
        """The network of the trial's architecture as a new build would give it: its initial
        weights, a fresh optimizer state, the trial's alpha and beta (see the module's
        docstring). Called by the tuner for each trial, in place of `build`."""
        settings = define_hyperparameters(hp, self.space, self.grid_points)
        key = architecture(settings)
        network = self.networks.get(key)
        if network is None:
            model = self.build(hp)
            model.optimizer.build(model.trainable_variables)
            network = Network(model, model.get_weights(),
                              hold_beta_in_variable(model.optimizer, settings.optimizer))
            self.networks[key] = network
            if len(self.networks) > KEPT_NETWORKS:
                self.networks.popitem(last=False)
        else:
            self.networks.move_to_end(key)
            network.model.set_weights(network.initial_weights)
            reset_optimizer(network.model.optimizer)
        optimizer = network.model.optimizer
        optimizer.learning_rate = settings.learning_rate
        if network.beta is not None:
            network.beta.assign(settings.beta)
        elif settings.optimizer == "momentum":
            optimizer.momentum = settings.beta
        return network.model

    def compiled_steps(self, settings: TrialSettings, model: keras.Model,
                       data: Dataset) -> TrainSteps | None:
        """The compiled steps of `model` when it is a kept network (compiled the first time)."""
        network = self.networks.get(architecture(settings))
        if network is None or network.model is not model:
            return None  # a network of `build`: train compiles its own
        optimizer = model.optimizer
        momentum = getattr(optimizer, "momentum", None)
        if (network.steps is None or network.traced_momentum != momentum
                or not network.steps.serve(model, optimizer, settings.batch_size,
                                           epoch_steps(len(data.x_train), settings.batch_size))):
            network.steps = compile_steps(model, optimizer, data, settings.batch_size)
            network.traced_momentum = momentum
        return network.steps

    def fit(self, hp, model, data: Dataset | None = None, *, epochs: int = 10,
            initial_epoch: int = 0, callbacks=None, **kwargs):
        """Train with tfweek3.train, calling `callbacks` after every epoch as Model.fit does;
        returns a Keras History of the epochs trained."""
        settings = define_hyperparameters(hp, self.space, self.grid_points)
        data = data or self.data
        history = keras.callbacks.History()
        callback_list = keras.callbacks.CallbackList(
            list(callbacks or []) + [history], model=model, epochs=epochs, verbose=0,
            steps=epoch_steps(len(data.x_train), settings.batch_size))
        model.stop_training = False
        callback_list.on_train_begin()

        def report(epoch: int, logs: dict[str, float]) -> bool:
            callback_list.on_epoch_end(epoch - 1, logs)
            return model.stop_training

        with without_graph_optimizer():
            train(model, data, epochs=epochs, initial_epoch=initial_epoch,
                  batch_size=settings.batch_size, optimizer=model.optimizer, seed=self.seed,
                  verbose=0, on_epoch_end=report,
                  steps=self.compiled_steps(settings, model, data))
        callback_list.on_train_end()
        return history

    def trains_together(self, hp) -> bool:
        """Whether the trial of `hp` can train in a stack (its optimizer is one it has)."""
        optimizer = define_hyperparameters(hp, self.space, self.grid_points).optimizer
        return optimizer in STACKED_OPTIMIZERS or optimizer == "sgd"

    def fit_together(self, hps: list, data: Dataset | None = None, *, epochs: int = 10,
                     initial_epoch: int = 0, callbacks: list[list] | None = None,
                     starts: list[Callable[[], keras.Model | None]] | None = None,
                     **kwargs) -> list:
        """Train the trials of `hps` together (one stacked network), calling each trial's
        `callbacks` after its epochs as `fit` does; returns, per trial, its Keras History
        or the error its callbacks raised (that trial stopped there, the others went on).
        starts: per trial, a function giving the network it continues from, with its
        optimizer's state (a PBT member after its parent's generation), or None (it starts
        from its initial weights); called in turn, each network copied before the next."""
        data = data or self.data
        stack = self.stack_for([self.member(hp) for hp in hps], data)
        members = stack.members
        for k, start in enumerate(starts or []):
            model = start() if start is not None else None
            if model is not None:
                stack.load_member(k, model)
        views = [MemberView(stack, k, functools.partial(self.build_for_trial, hp))
                 for k, hp in enumerate(hps)]
        histories = [keras.callbacks.History() for _ in members]
        lists = [keras.callbacks.CallbackList(
            list(own) + [history], model=view, epochs=epochs, verbose=0,
            steps=epoch_steps(len(data.x_train), member.batch_size))
            for own, history, view, member in zip(callbacks or [[]] * len(members), histories,
                                                  views, members)]
        results: list = list(histories)
        for callback_list in lists:
            callback_list.on_train_begin()

        def report(k: int, epoch: int, logs: dict[str, float]) -> bool:
            try:
                lists[k].on_epoch_end(epoch - 1, logs)
            except Exception as error:  # noqa: BLE001 -- this trial's end; the others go on
                results[k] = error
                return True
            return views[k].stop_training

        train_together(stack, data, epochs, initial_epoch=initial_epoch,
                       on_epoch_end=report)
        for k, callback_list in enumerate(lists):
            if not isinstance(results[k], Exception):
                callback_list.on_train_end()
        return results

    def stack_for(self, members: list[Member], data: Dataset) -> StackedNetwork:
        """A stack of `members`: the kept stack of as many members, reset (its epoch compiled
        once), or a new one as deep and wide as the search space's largest network."""
        key = (len(members), data.input_dim, data.num_classes)
        stack = self.stacks.get(key)
        if stack is not None and stack.fits(members):
            self.stacks.move_to_end(key)
            stack.reset(members)
            return stack
        stack = StackedNetwork(members, data.input_dim, data.num_classes,
                               depth=self.space.layers[1], width=self.space.units[1])
        self.stacks[key] = stack
        if len(self.stacks) > KEPT_STACKS:
            self.stacks.popitem(last=False)
        return stack

    def member(self, hp) -> Member:
        """The trial of `hp` as a member of a stack (SGD: momentum 0)."""
        settings = define_hyperparameters(hp, self.space, self.grid_points)
        sgd = settings.optimizer == "sgd"
        return Member(settings.hidden_units, settings.learning_rate,
                      beta=0.0 if sgd else settings.beta,
                      optimizer="momentum" if sgd else settings.optimizer,
                      batch_norm=settings.batch_norm, batch_size=settings.batch_size,
                      seed=self.seed)


def architecture(settings: TrialSettings) -> tuple:
    """What a network's compiled steps depend on, besides alpha and beta."""
    return settings.hidden_units, settings.batch_norm, settings.optimizer, settings.batch_size
