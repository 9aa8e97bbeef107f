"""Exercise 7: one tf.GradientTape training step of the course network (section 6)."""

import keras
import tensorflow as tf


def train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer,
               x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Forward in training mode under the tape, the cost J, its gradients, the update; returns J."""
    with tf.GradientTape() as tape:
        y_hat = model(x, training=True)
        J = tf.reduce_mean(keras.losses.categorical_crossentropy(y, y_hat))
    grads = tape.gradient(J, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return J
