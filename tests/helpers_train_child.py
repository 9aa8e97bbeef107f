"""A training run in its own process, for the kill-and-resume test of test_training.py.

    python helpers_train_child.py CHECKPOINT_DIR EPOCHS OUT.npz [--pause-after K]

Trains the course network on a slice of digits with checkpoints in
CHECKPOINT_DIR, resuming from the last one. After each epoch it prints
"saved epoch E" (the checkpoint is written before). With --pause-after K it
prints "paused" after epoch K and waits to be killed. At the end it saves the
weights to OUT.npz.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from tfweek3.training.data import Dataset, load_dataset
from tfweek3.training.loop import train
from tfweek3.training.network import build_network


def small_digits() -> Dataset:
    data = load_dataset("digits")
    data.x_train, data.y_train = data.x_train[:300], data.y_train[:300]
    data.x_val, data.y_val = data.x_val[:100], data.y_val[:100]
    return data


def run(checkpoint_dir: str, epochs: int, pause_after: int | None = None) -> keras.Model:
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)
    data = small_digits()
    model = build_network(data.input_dim, data.num_classes)

    def report(epoch, logs):
        print(f"saved epoch {epoch}", flush=True)
        if epoch == pause_after:
            print("paused", flush=True)
            time.sleep(600)

    train(model, data, epochs=epochs, batch_size=32, seed=0, checkpoint_dir=checkpoint_dir,
          resume=True, verbose=0, on_epoch_end=report)
    return model


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint_dir")
    parser.add_argument("epochs", type=int)
    parser.add_argument("out")
    parser.add_argument("--pause-after", type=int, default=None)
    args = parser.parse_args()
    model = run(args.checkpoint_dir, args.epochs, args.pause_after)
    np.savez(args.out, *model.get_weights())
    return 0


if __name__ == "__main__":
    sys.exit(main())
