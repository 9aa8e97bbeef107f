"""A NumPy forward pass of tfweek3's networks, layer by layer, from the note's formulas.

The tests compare the Keras models and the training loop against it.
"""

import keras
import numpy as np

from tfweek3 import ManualBatchNorm, SoftmaxClassifier


def numpy_forward(model: keras.Model, x: np.ndarray, training: bool, logits: bool = False):
    """y_hat (or z of the last layer) in float64; batch norm uses the batch's statistics when
    training, the moving averages otherwise."""
    a = np.asarray(x, dtype=np.float64)
    for layer in model.layers[1:]:
        if isinstance(layer, keras.layers.Dense):
            a = a @ layer.kernel.numpy()
            if layer.use_bias:
                a = a + layer.bias.numpy()
        elif isinstance(layer, (ManualBatchNorm, keras.layers.BatchNormalization)):
            if training:
                mu, sigma2 = a.mean(axis=0), a.var(axis=0)  # biased: divide by m
            else:
                mu, sigma2 = layer.moving_mean.numpy(), layer.moving_variance.numpy()
            z_norm = (a - mu) / np.sqrt(sigma2 + layer.epsilon)
            a = layer.gamma.numpy() * z_norm + layer.beta.numpy()
        elif isinstance(layer, keras.layers.ReLU):
            a = np.maximum(a, 0.0)
        elif isinstance(layer, SoftmaxClassifier):
            z = a @ layer.kernel.numpy() + layer.bias.numpy()
            if logits:
                return z
            t = np.exp(z - z.max(axis=1, keepdims=True))
            a = t / t.sum(axis=1, keepdims=True)
        else:
            raise TypeError(f"no NumPy version of {type(layer).__name__}")
    return a


def numpy_cost(y: np.ndarray, y_hat: np.ndarray) -> float:
    """J = (1/m) sum_i -sum_j y_j log y_hat_j."""
    return float(np.mean(-np.sum(y * np.log(y_hat), axis=1)))


def numpy_accuracy(y: np.ndarray, y_hat: np.ndarray) -> float:
    return float(np.mean(y_hat.argmax(axis=1) == y.argmax(axis=1)))
