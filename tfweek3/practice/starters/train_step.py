"""Exercise 7 of tfweek3: one tf.GradientTape training step (the note, section 6).

Check it with:  tfweek3 exercise check train_step
"""

import keras
import tensorflow as tf


def train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer,
               x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """One step of mini-batch gradient descent on (x, y); return the cost J before the update.

    model: the course network (LINEAR -> BATCH NORM -> RELU, twice, then LINEAR ->
    SOFTMAX), whose output y_hat = model(x) holds probabilities, one row per example.
    y: one-hot labels, shape (m, C). optimizer: a Keras optimizer (SGD, Adam, ...).

    As in the lecture, write only the forward pass and let TensorFlow do the backward pass:

        under a tf.GradientTape:
            y_hat = the model's output, called with training=True, so that batch
                    norm uses the batch's mu and sigma2 and updates its moving averages
            J     = (1/m) sum_i L(y_hat(i), y(i)),  L = -sum_j y_j log y_hat_j
                    (keras.losses.categorical_crossentropy(y, y_hat) gives each L)
        the gradients dJ/dW of model.trainable_variables, from the tape
        the optimizer's update: optimizer.apply_gradients(zip(gradients, variables))
    """
    # TODO
    raise NotImplementedError
