"""Small 2-D data sets made on the spot, for pictures a learner can look at.

Two inputs x = (x1, x2) are enough to draw what a classifier does:

* `blobs`: C clusters of points, one per class, around C centres on a circle.
  Softmax regression (no hidden layer) separates them with straight lines: its
  decision regions are where one z_j = w_j . x + b_j is the largest.

* `cats`: the black-cats / coloured-cats story of the batch-norm lecture. The
  rule that labels the points never changes,

      y = 1  ("cat")  when  x2 > |x1| - 1,

  but where the points come from does: "black cats" have x1 in [-3, 0],
  "coloured cats" have x1 in [0, 3]. A model trained on black cats only sees
  the left arm of the V and extends it the wrong way on the right: the input
  distribution shifted (covariate shift) although the mapping x -> y did not.

Every function returns a `tfweek3.data.Dataset`, the form `tfweek3.training.train`
takes: x as float32 rows, y one-hot.
"""

from __future__ import annotations

import numpy as np

from tfweek3.training.data import Dataset, one_hot

# Where the two kinds of cats live along x1; x2 is always in [-3, 3].
CAT_REGIONS = {"black": (-3.0, 0.0), "coloured": (0.0, 3.0), "all": (-3.0, 3.0)}


def blob_centres(num_classes: int, radius: float = 2.0) -> np.ndarray:
    """C centres evenly spaced on a circle of `radius`, shape (C, 2)."""
    angles = 2 * np.pi * np.arange(num_classes) / num_classes + np.pi / 2
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def blobs(num_classes: int = 3, per_class: int = 150, spread: float = 0.7,
          seed: int = 0) -> Dataset:
    """Gaussian clusters, one per class, around `blob_centres(num_classes)`.

    Each class gets `per_class` training points and a third as many validation
    and test points; `spread` is the standard deviation of each cluster.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2; got {num_classes}")
    rng = np.random.default_rng(seed)
    centres = blob_centres(num_classes)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(num_classes), n)
        x = centres[labels] + spread * rng.standard_normal((len(labels), 2))
        return x.astype(np.float32), labels

    small = max(per_class // 3, 1)
    return _dataset(draw(per_class), draw(small), draw(small),
                    [f"class {j}" for j in range(num_classes)], f"blobs-{num_classes}")


def cat_label(x: np.ndarray) -> np.ndarray:
    """The one rule of every cat: 1 when x2 > |x1| - 1, else 0."""
    x = np.asarray(x)
    return (x[:, 1] > np.abs(x[:, 0]) - 1.0).astype(np.int64)


def sample_cats(region: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points with x1 uniform in the region's range and x2 uniform in [-3, 3], and labels."""
    low, high = CAT_REGIONS[region]
    x = np.stack([rng.uniform(low, high, n), rng.uniform(-3.0, 3.0, n)], axis=1)
    return x.astype(np.float32), cat_label(x)


def cats(train_on: str = "black", test_on: str = "coloured", n_train: int = 1000,
         n_test: int = 500, seed: int = 0) -> Dataset:
    """Train and validate on one kind of cats, test on another ("black", "coloured" or "all").

    The validation set comes from the training region (what the learner can
    measure); the test set from `test_on` (where the model is used).
    """
    for region in (train_on, test_on):
        if region not in CAT_REGIONS:
            raise ValueError(f"region must be one of {sorted(CAT_REGIONS)}; got {region!r}")
    rng = np.random.default_rng(seed)
    train = sample_cats(train_on, n_train, rng)
    val = sample_cats(train_on, n_test, rng)
    test = sample_cats(test_on, n_test, rng)
    return _dataset(train, val, test, ["not cat", "cat"], f"cats:{train_on}->{test_on}")


def _dataset(train, val, test, class_names: list[str], name: str) -> Dataset:
    c = len(class_names)
    return Dataset(
        x_train=train[0], y_train=one_hot(train[1], c),
        x_val=val[0], y_val=one_hot(val[1], c),
        x_test=test[0], y_test=one_hot(test[1], c),
        num_classes=c, class_names=class_names, name=name,
    )
