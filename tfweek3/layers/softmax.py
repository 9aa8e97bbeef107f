"""Softmax regression: softmax, hardmax, the cross-entropy loss and a softmax layer.

The note generalizes logistic regression to C classes. For the last layer's
pre-activations z (one row per example, C columns):

    t     = exp(z)
    y_hat = t / sum_j t_j                      (softmax: probabilities that sum to 1)
    L(y_hat, y) = -sum_j y_j * log(y_hat_j)    (loss of one example, y one-hot)
    J     = (1/m) * sum_i L(y_hat(i), y(i))    (cost over m examples)
    dJ/dz = (y_hat - y) / m                    (the gradient at the output layer)

"Hardmax" puts a 1 at the largest z and 0 elsewhere; softmax is its soft version:
softmax([5, 2, -1, 3]) = [0.842, 0.042, 0.002, 0.114].

Numerical stability: exp(1000) overflows float32, so softmax subtracts max(z)
first (t = exp(z - max z) gives the same y_hat, since the factor exp(-max z)
cancels), and the loss from logits uses log y_hat = (z - max z) - log sum exp(z - max z),
which stays finite for logits of any size.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def softmax(z: tf.Tensor, axis: int = -1) -> tf.Tensor:
    """y_hat = exp(z) / sum(exp(z)) along `axis`, computed as exp(z - max z) / sum(...)."""
    z = tf.convert_to_tensor(z)
    _check_float(z, "z")
    t = tf.exp(z - tf.stop_gradient(tf.reduce_max(z, axis=axis, keepdims=True)))
    return t / tf.reduce_sum(t, axis=axis, keepdims=True)


def log_softmax(z: tf.Tensor, axis: int = -1) -> tf.Tensor:
    """log y_hat = (z - max z) - log sum exp(z - max z): finite even for huge logits."""
    z = tf.convert_to_tensor(z)
    _check_float(z, "z")
    shifted = z - tf.stop_gradient(tf.reduce_max(z, axis=axis, keepdims=True))
    return shifted - tf.math.log(tf.reduce_sum(tf.exp(shifted), axis=axis, keepdims=True))


def hardmax(z: tf.Tensor, axis: int = -1) -> tf.Tensor:
    """1 at the largest entry of z along `axis`, 0 elsewhere (the first one on a tie)."""
    z = tf.convert_to_tensor(z)
    _check_float(z, "z")
    depth = z.shape[axis]
    if depth is None:
        depth = tf.shape(z)[axis]
    return tf.one_hot(tf.argmax(z, axis=axis), depth, axis=axis, dtype=z.dtype)


def categorical_cross_entropy(
    y: tf.Tensor, y_hat: tf.Tensor, from_logits: bool = False, axis: int = -1
) -> tf.Tensor:
    """The loss of each example, L = -sum_j y_j log y_hat_j (one value per example).

    y: one-hot (or soft) labels, y_hat: probabilities, or logits z when
    `from_logits=True` (the numerically stable form: use it for training).
    With probabilities, 0 * log 0 counts as 0, as in the formula's limit.
    """
    y_hat = tf.convert_to_tensor(y_hat)
    _check_float(y_hat, "y_hat")
    y = tf.cast(y, y_hat.dtype)
    known = y.shape.rank is not None and y_hat.shape.rank is not None
    if known and (y.shape.rank != y_hat.shape.rank or not y.shape.is_compatible_with(y_hat.shape)):
        raise ValueError(
            f"y and y_hat must have the same shape; got y.shape={y.shape}, "
            f"y_hat.shape={y_hat.shape}"
        )
    if from_logits:
        return -tf.reduce_sum(y * log_softmax(y_hat, axis=axis), axis=axis)
    return -tf.reduce_sum(tf.math.xlogy(y, y_hat), axis=axis)


def cost(y: tf.Tensor, y_hat: tf.Tensor, from_logits: bool = False) -> tf.Tensor:
    """The cost J = (1/m) sum_i L(y_hat(i), y(i)): the mean loss over the m examples."""
    return tf.reduce_mean(categorical_cross_entropy(y, y_hat, from_logits=from_logits))


@keras.saving.register_keras_serializable(package="tfweek3")
class SoftmaxClassifier(keras.layers.Layer):
    """The output layer of softmax regression: z = W a + b, then y_hat = softmax(z).

    The note writes z = W a + b with one example per column; Keras keeps one
    example per row, so here z = a @ W + b with W of shape (n_in, num_classes).

    Call it to get probabilities; call it with `return_logits=True` to get z, for
    a from-logits loss (`cost(y, z, from_logits=True)`), which is the stable way
    to train. Probabilities are always float32, also under mixed precision.
    """

    def __init__(
        self,
        num_classes: int,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_classes) != num_classes or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2; got num_classes={num_classes}")
        self.num_classes = int(num_classes)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, input_shape):
        n_in = input_shape[-1]
        if n_in is None:
            raise ValueError(
                f"SoftmaxClassifier needs a known last dimension; got input_shape={input_shape}"
            )
        self.kernel = self.add_weight(
            shape=(n_in, self.num_classes),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(
            shape=(self.num_classes,),
            name="bias",
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
        )

    def call(self, inputs, return_logits: bool = False):
        z = tf.matmul(inputs, self.kernel) + self.bias
        if return_logits:
            return z
        return softmax(tf.cast(z, "float32"))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            }
        )
        return config


def _check_float(x: tf.Tensor, name: str) -> None:
    if not x.dtype.is_floating:
        raise TypeError(f"{name} must be a float tensor; got dtype={x.dtype.name}")
