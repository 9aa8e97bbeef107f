"""A checkpoint per epoch: what makes a killed run resume, and babysitting roll back.

`train(checkpoint_dir=...)` writes `ckpt-N` after epoch N (N from 1: the
checkpoint holds N epochs). `checkpoint_for_epoch(d, k)` names the one to go
back to; a run that starts again from it deletes the later ones, which belong
to the abandoned run. Paths go through tf.io.gfile, so any TensorFlow
filesystem works (a local folder, gs://...).
"""

from __future__ import annotations

import os

import tensorflow as tf

CHECKPOINT_NAME = "ckpt"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be restored (a damaged file, or another network's)."""

    def __init__(self, path: str, cause: Exception):
        self.path = path
        message = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        super().__init__(f"cannot restore the checkpoint {path} ({message})")


def checkpoint_for_epoch(checkpoint_dir: str, epoch: int) -> str:
    """The checkpoint written after epoch `epoch` (from 1), to pass as `train(resume=...)`.

    This is how to roll back: `train(model, data, checkpoint_dir=d, epochs=n,
    resume=checkpoint_for_epoch(d, k))` goes on from the state after epoch k
    (the checkpoints after epoch k in d are deleted: they belong to the abandoned
    run). It needs max_to_keep=None (keep all) or a recent enough k.
    """
    path = os.path.join(checkpoint_dir, f"{CHECKPOINT_NAME}-{epoch}")
    if not tf.io.gfile.exists(path + ".index"):
        raise FileNotFoundError(f"{checkpoint_dir}: no checkpoint after epoch {epoch} ({path}.index)")
    return path


def epochs_done(checkpoint_dir: str) -> int:
    """Epochs held by the last checkpoint of `checkpoint_dir` (ckpt-N holds N), 0 if none."""
    latest = tf.train.latest_checkpoint(checkpoint_dir) if tf.io.gfile.exists(checkpoint_dir) else None
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def restore(checkpoint: tf.train.Checkpoint, path: str) -> None:
    """Restore `checkpoint` from `path`; CheckpointError names the path if it cannot be read."""
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except (tf.errors.OpError, ValueError, AssertionError) as error:
        raise CheckpointError(path, error) from error


def checkpoint_to_resume(checkpoint_dir: str, resume: bool | str) -> str | None:
    """The checkpoint `train(resume=...)` starts from: the latest, a given one, or None."""
    if resume is True:
        return tf.train.latest_checkpoint(checkpoint_dir)
    if isinstance(resume, str):
        if not tf.io.gfile.exists(resume + ".index"):
            raise FileNotFoundError(f"resume: no checkpoint at {resume} ({resume}.index not found)")
        return resume
    return None


def forget_checkpoints_after(checkpoint_dir: str, epochs: int) -> None:
    """Delete the checkpoints of checkpoint_dir numbered above `epochs`: a run starting
    there replaces them, and they must not be mistaken for its own."""
    state = tf.train.get_checkpoint_state(checkpoint_dir)
    if state is None:
        return
    paths = list(state.all_model_checkpoint_paths)
    timestamps = list(state.all_model_checkpoint_timestamps) or [0.0] * len(paths)
    kept = [(path, stamp) for path, stamp in zip(paths, timestamps)
            if int(path.rsplit("-", 1)[1]) <= epochs]
    if len(kept) == len(paths):
        return
    for path in paths:
        if int(path.rsplit("-", 1)[1]) > epochs:
            for filename in tf.io.gfile.glob(path + ".*"):
                tf.io.gfile.remove(filename)
    if not kept:
        tf.io.gfile.remove(os.path.join(checkpoint_dir, "checkpoint"))
        return
    # Rewrite the list CheckpointManager reads (the v1 function is the public way to write it).
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # it warns that it is deprecated
    try:
        tf.compat.v1.train.update_checkpoint_state(
            checkpoint_dir, kept[-1][0],
            all_model_checkpoint_paths=[path for path, _ in kept],
            all_model_checkpoint_timestamps=[stamp for _, stamp in kept],
        )
    finally:
        logger.setLevel(level)
