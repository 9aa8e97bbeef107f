"""Exercise 5: a small batch-norm Keras layer with the training switch and moving averages."""

import keras
import tensorflow as tf


class SimpleBatchNorm(keras.layers.Layer):
    """Batch norm of Dense outputs (m, units): the batch's statistics in training, the moving
    averages at inference."""

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, input_shape):
        units = input_shape[-1]
        self.gamma = self.add_weight(shape=(units,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(units,), initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=(units,), initializer="zeros",
                                           name="moving_mean", trainable=False)
        self.moving_variance = self.add_weight(shape=(units,), initializer="ones",
                                               name="moving_variance", trainable=False)

    def call(self, inputs, training=None):
        if training:
            mu = tf.reduce_mean(inputs, axis=0)
            sigma2 = tf.reduce_mean(tf.square(inputs - mu), axis=0)
            momentum = self.momentum
            self.moving_mean.assign(momentum * self.moving_mean + (1 - momentum) * mu)
            self.moving_variance.assign(momentum * self.moving_variance + (1 - momentum) * sigma2)
        else:
            mu, sigma2 = self.moving_mean, self.moving_variance
        z_norm = (inputs - mu) / tf.sqrt(sigma2 + self.epsilon)
        return self.gamma * z_norm + self.beta

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "epsilon": self.epsilon})
        return config
