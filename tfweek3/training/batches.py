"""Mini-batches: the order of the training examples in each epoch, cut into batches.

The order of epoch e is a permutation drawn from the pair (seed, e) alone
(`epoch_order`), so a run resumed at epoch e sees exactly the mini-batches an
uninterrupted run would have seen: a new order every epoch, the same orders for
the same seed. An epoch of m examples is ceil(m / batch_size) mini-batches of
consecutive examples in that order, the last one holding the rest (`epoch_steps`).

The training loop cuts the order into mini-batches inside its compiled epoch
(steps.py); `make_batches` gives the same mini-batches as a tf.data pipeline,
for a loop written by hand; `lockstep_batches` gives those of several networks
trained side by side (a stacked network, stacked.py), step by step.
"""

from __future__ import annotations

import numpy as np


def epoch_steps(examples: int, batch_size: int) -> int:
    """The mini-batches of an epoch: ceil(examples / batch_size), the last one holding the rest."""
    return -(-examples // batch_size)


def epoch_order(m, seed, epoch):
    """The order of the m training examples in epoch `epoch` (from 0): a permutation drawn
    from (seed, epoch) alone. m, seed and epoch are int64 scalars (tensors or numbers)."""
    import tensorflow as tf

    seed = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(tf.range(tf.cast(m, tf.int64)), seed=seed)


def make_batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, epochs: int = 1, first_epoch: int = 0
):
    """Mini-batches of (x, y) as a tf.data pipeline: shuffle each epoch, batch, prefetch.

    The pipeline runs through epochs first_epoch, first_epoch + 1, ... (`epochs`
    of them), back to back. Epoch e is the m examples in the order of the
    permutation drawn from (seed, e) alone, cut into ceil(m / batch_size)
    mini-batches (the last one has the leftover examples): a new order every
    epoch, the same orders for the same seed, and a run resumed at epoch e
    gets exactly the batches an uninterrupted run would have.
    """
    import tensorflow as tf

    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer; got {epochs!r}")
    x = tf.convert_to_tensor(x)
    y = tf.convert_to_tensor(y)
    m = tf.shape(x, out_type=tf.int64)[0]
    seed = tf.cast(seed, tf.int64)

    def one_epoch(epoch):
        return tf.data.Dataset.from_tensor_slices(epoch_order(m, seed, epoch)).batch(int(batch_size))

    return (
        tf.data.Dataset.range(first_epoch, first_epoch + epochs)
        .flat_map(one_epoch)
        .map(lambda idx: (tf.gather(x, idx), tf.gather(y, idx)))
        .prefetch(tf.data.AUTOTUNE)
    )


def lockstep_batches(m: int, members: list[tuple[int, int]], epoch: int,
                     at_least: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, np.ndarray, int]:
    """The mini-batches of epoch `epoch` of K networks stepping together, each with its own
    (batch_size, seed) in `members`: example indices and weights of shape (steps, K,
    largest batch size), and `steps`, the most mini-batches a member has. Member k's
    step t is its own t-th mini-batch (weights 1), padded with weights 0; after its last
    step its weights are 0. `at_least` pads the first and last axes further."""
    steps = max(epoch_steps(m, b) for b, _ in members)
    shape = (max(steps, at_least[0]), len(members), max(max(b for b, _ in members), at_least[1]))
    indices, weights = np.zeros(shape, np.int32), np.zeros(shape, np.float32)
    orders: dict[int, np.ndarray] = {}  # (members of one seed share their orders)
    for k, (b, seed) in enumerate(members):
        n = epoch_steps(m, b)
        if seed not in orders:
            orders[seed] = epoch_order(m, seed, epoch).numpy()
        order = np.zeros(n * b, np.int32)
        order[:m] = orders[seed]
        indices[:n, k, :b] = order.reshape(n, b)
        weights[:n, k, :b] = (np.arange(n * b) < m).reshape(n, b)
    return indices, weights, steps
