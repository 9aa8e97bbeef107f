"""Exercise 5 of tfweek3: a small batch-norm Keras layer (the note, section 4, "at test time").

Check it with:  tfweek3 exercise check batch_norm_layer
"""

import keras
import tensorflow as tf


class SimpleBatchNorm(keras.layers.Layer):
    """Batch norm of a Dense layer's outputs z, shape (m, units), as keras.layers.BatchNormalization.

    In training (training=True), the mini-batch's own statistics, per unit:

        mu      = (1/m) sum_i z(i)
        sigma2  = (1/m) sum_i (z(i) - mu)^2
        z_norm  = (z(i) - mu) / sqrt(sigma2 + epsilon)
        z_tilde = gamma * z_norm + beta

    and the moving averages follow them (the note's v = beta * v + (1 - beta) * theta,
    with Keras's name momentum for that beta):

        moving_mean     = momentum * moving_mean     + (1 - momentum) * mu
        moving_variance = momentum * moving_variance + (1 - momentum) * sigma2

    At test time (training=False, or no training argument at all, as in Keras)
    there may be a single example: use moving_mean and moving_variance for mu
    and sigma2, and leave them as they are.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, input_shape):
        units = input_shape[-1]
        self.gamma = self.add_weight(shape=(units,), initializer="ones", name="gamma")
        # TODO: three more weights of shape (units,), kept as attributes of these names:
        #   self.beta (initializer "zeros"), learned like gamma;
        #   self.moving_mean ("zeros") and self.moving_variance ("ones"), with trainable=False.
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None

    def call(self, inputs: tf.Tensor, training=None) -> tf.Tensor:
        # TODO: the formulas with TensorFlow ops (tf.reduce_mean, tf.sqrt, ...), so that
        # GradientTape sees them; update the moving averages with .assign(...).
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "epsilon": self.epsilon})
        return config
