"""`swap_batch_norm(model)`: try ManualBatchNorm in a network you already have.

    from tfweek3 import swap_batch_norm
    manual = swap_batch_norm(keras.applications.ResNet50(weights=None))

returns a copy of the model in which every keras.layers.BatchNormalization has
become a ManualBatchNorm with the same configuration (momentum, epsilon, axis,
renorm, ...) and the same weights (gamma, beta and the moving statistics), so
that the copy computes what the original does, within float32 rounding. Every
other layer is copied with its weights; the original model is left as it was.
"""

from __future__ import annotations

import keras

from tfweek3.layers.batch_norm import ManualBatchNorm


def swap_batch_norm(model: keras.Model) -> keras.Model:
    """A copy of `model` with every BatchNormalization replaced by ManualBatchNorm.

    Works on Functional and Sequential models, including models nested inside
    them (keras.models.clone_model rebuilds the graph of layers). A subclassed
    model has no graph of layers to rebuild: swap the layers in its code instead.
    The copy is not compiled: call `compile` on it as on the original.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"swap_batch_norm expects a keras.Model; got {type(model).__name__}")
    pairs: list[tuple[keras.layers.Layer, keras.layers.Layer]] = []

    def clone_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        # Exactly Keras's BatchNormalization: a subclass may compute something else.
        if type(layer) is keras.layers.BatchNormalization:
            copy = ManualBatchNorm.from_config(layer.get_config())
        else:
            copy = layer.__class__.from_config(layer.get_config())
        pairs.append((layer, copy))
        return copy

    try:
        copy = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
    except ValueError as error:
        raise ValueError(
            f"swap_batch_norm works on Functional and Sequential models; {model.name!r} "
            f"({type(model).__name__}) could not be cloned: {error}"
        ) from None
    # Both layers keep their weights in the same order: gamma, beta, moving_mean,
    # moving_variance (and with renorm moving_stddev, renorm_mean, renorm_stddev).
    for original, layer in pairs:
        layer.set_weights(original.get_weights())
    return copy
