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
"""

from __future__ import annotations

import keras
import keras_tuner as kt

from tfweek3.search.space import BATCH_NORM_LAYER, SearchSpace, define_hyperparameters
from tfweek3.training.data import Dataset
from tfweek3.training.loop import train
from tfweek3.training.network import build_network
from tfweek3.training.optimizers import make_optimizer


class CourseHyperModel(kt.HyperModel):
    """Declares the course's search space and builds and trains the week's network."""

    def __init__(self, data: Dataset, space: SearchSpace, grid_points: int | None = None,
                 seed: int = 0):
        super().__init__()
        self.data = data
        self.space = space
        self.grid_points = grid_points
        self.seed = seed

    def build(self, hp):
        settings = define_hyperparameters(hp, self.space, self.grid_points)
        keras.utils.set_random_seed(self.seed)  # the same initial draw in every trial
        model = build_network(self.data.input_dim, self.data.num_classes,
                              hidden_units=settings.hidden_units,
                              batch_norm=BATCH_NORM_LAYER if settings.batch_norm else None)
        # Compiled for its optimizer only (PBT copies the optimizer's state); `fit` trains it.
        model.compile(optimizer=make_optimizer(settings.optimizer, settings.learning_rate,
                                               settings.beta))
        return model

    def fit(self, hp, model, data: Dataset | None = None, *, epochs: int = 10,
            initial_epoch: int = 0, callbacks=None, **kwargs):
        """Train with tfweek3.train, calling `callbacks` after every epoch as Model.fit does;
        returns a Keras History of the epochs trained."""
        settings = define_hyperparameters(hp, self.space, self.grid_points)
        data = data or self.data
        history = keras.callbacks.History()
        callback_list = keras.callbacks.CallbackList(
            list(callbacks or []) + [history], model=model, epochs=epochs, verbose=0,
            steps=-(-len(data.x_train) // settings.batch_size))
        model.stop_training = False
        callback_list.on_train_begin()

        def report(epoch: int, logs: dict[str, float]) -> bool:
            callback_list.on_epoch_end(epoch - 1, logs)
            return model.stop_training

        train(model, data, epochs=epochs, initial_epoch=initial_epoch,
              batch_size=settings.batch_size, optimizer=model.optimizer, seed=self.seed,
              verbose=0, on_epoch_end=report)
        callback_list.on_train_end()
        return history
