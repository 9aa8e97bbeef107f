"""Floor 1, the layers: the note's formulas as Keras layers, and the same formulas in NumPy.

    batch_norm.py          ManualBatchNorm (section 4: mu, sigma2, z_norm, z_tilde, moving averages)
    batch_norm_passes.py   its forward and closed-form backward passes over a mini-batch
    batch_norm_renorm.py   batch renormalization's r and d, and its moving statistics
    swap.py                swap_batch_norm: a copy of a Keras model with ManualBatchNorm in place
    softmax.py             softmax, hardmax, the cross-entropy loss and cost, SoftmaxClassifier (section 5)
    reference.py           the same formulas in plain NumPy, the reference the tests compare against

Imports nothing else from tfweek3. Import a module to register its layers with Keras
(e.g. before `keras.saving.load_model`): `from tfweek3 import ManualBatchNorm` does it.
"""
