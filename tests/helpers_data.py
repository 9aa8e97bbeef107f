"""Small data files in the course's formats, written the way the course's files are."""

import os

import h5py
import numpy as np


def write_signs(folder, m_train=30, m_test=12, labels=None, **overrides):
    """The course's SIGNS files, small: 64x64x3 uint8 images, labels 0..5, list_classes."""
    rng = np.random.default_rng(0)
    train = {
        "train_set_x": rng.integers(0, 256, size=(m_train, 64, 64, 3), dtype=np.uint8),
        "train_set_y": np.arange(m_train) % 6 if labels is None else labels,
        "list_classes": np.arange(6),
    }
    test = {
        "test_set_x": rng.integers(0, 256, size=(m_test, 64, 64, 3), dtype=np.uint8),
        "test_set_y": np.arange(m_test) % 6,
        "list_classes": np.arange(6),
    }
    for contents, filename in ((train, "train_signs.h5"), (test, "test_signs.h5")):
        for key, value in overrides.items():
            if key in contents:
                contents[key] = value
        with h5py.File(os.path.join(folder, filename), "w") as f:
            for key, value in contents.items():
                if value is not None:
                    f[key] = value
    return train, test
