"""`tfweek3 train`: train the course network and write its curves, metrics and checkpoints.

    tfweek3 train                                   # digits, 25-12 hidden units, ManualBatchNorm, Adam
    tfweek3 train --dataset signs:~/course/datasets --epochs 100 --learning-rate 0.0001
    tfweek3 train --out runs/a --resume             # go on from the last checkpoint in runs/a
    tfweek3 train --schedule runs/tune/best_schedule.json   # replay a schedule found by pbt

The output folder gets history.json (one list per metric, one entry per epoch),
metrics.json (final loss and accuracy on train, validation and test, measured
with training=False), learning_curves.png, TensorBoard logs in logs/ and one
checkpoint per epoch in checkpoints/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tfweek3.cli import checks
from tfweek3.cli import types as cli_types
from tfweek3.training.names import BATCH_NORMS, OPTIMIZERS

# The flags a schedule file replaces (their destinations): given with --schedule, they are an error.
SCHEDULE_SETS = ("hidden", "batch_norm", "optimizer", "learning_rate", "beta", "batch_size",
                 "epochs")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the course network (LINEAR -> BN -> RELU ..., softmax) with the GradientTape loop",
        description="Trains LINEAR -> BN -> RELU for each hidden layer, then softmax, with "
        "tfweek3.train (a tf.GradientTape loop compiled with tf.function), and writes "
        "history.json, metrics.json, learning_curves.png, TensorBoard logs (logs/) and one "
        "checkpoint per epoch (checkpoints/) into --out. Ctrl-C stops it (exit status 130) "
        "keeping the last epoch's checkpoint; --resume goes on from there.",
    )
    parser.add_argument("--dataset", type=cli_types.dataset_spec, default="digits",
                        help=cli_types.DATASET_HELP)
    parser.add_argument("--hidden", type=cli_types.hidden_units, default=(25, 12),
                        help="hidden units per layer, comma-separated; 'none' for softmax "
                        "regression (default: 25,12)")
    parser.add_argument("--batch-norm", choices=BATCH_NORMS, default="manual",
                        help="batch norm of the hidden layers: manual (ManualBatchNorm), keras "
                        "(keras.layers.BatchNormalization) or none (default: manual)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                        help="sgd, momentum (beta), rmsprop (rho = beta) or adam (beta_1 = beta) "
                        "(default: adam)")
    parser.add_argument("--learning-rate", type=cli_types.positive_float, default=1e-3,
                        help="the learning rate alpha (default: 0.001); with --resume it replaces "
                        "the checkpointed one")
    parser.add_argument("--beta", type=cli_types.beta, default=0.9,
                        help="momentum / RMSprop / Adam averaging weight beta in [0, 1) "
                        "(default: 0.9)")
    parser.add_argument("--batch-size", type=cli_types.positive_int, default=32,
                        help="mini-batch size (default: 32)")
    parser.add_argument("--epochs", type=cli_types.positive_int, default=50,
                        help="total number of epochs, resumed ones included (default: 50)")
    parser.add_argument("--patience", type=cli_types.non_negative_int, default=None,
                        help="stop when validation accuracy has not improved for this many "
                        "epochs (default: no early stopping)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights, the validation split and the "
                        "mini-batch order (default: 0)")
    parser.add_argument("--validation-fraction", type=cli_types.fraction, default=0.2,
                        help="share of the training examples held out for validation, "
                        "stratified (default: 0.2)")
    parser.add_argument("--out", default=os.path.join("runs", "train"), metavar="FOLDER",
                        help="output folder (default: runs/train)")
    parser.add_argument("--resume", action="store_true",
                        help="go on from the last checkpoint in FOLDER/checkpoints (the same "
                        "data order; a fresh start if there is none)")
    parser.add_argument("--jit-compile", action="store_true",
                        help="compile the training step with XLA")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--schedule", metavar="FILE", default=None,
                        help="replay a schedule (best_schedule.json of `tfweek3 tune --strategy "
                        "pbt`) from scratch: it sets the network, the optimizer, the mini-batch "
                        "size, the epochs, and alpha and beta epoch by epoch")
    parser.set_defaults(func=run, on_stop=stopped, schedule_sets={
        dest: parser.get_default(dest) for dest in SCHEDULE_SETS})


def run(args: argparse.Namespace) -> int:
    from tfweek3.training.data import DataError, load_dataset
    from tfweek3.training.schedule import ScheduleError, load_schedule

    schedule = None
    if args.schedule is not None:
        try:
            schedule = load_schedule(args.schedule)
        except ScheduleError as error:
            return _error(f"argument --schedule: {error}")
        for dest, default in args.schedule_sets.items():
            if getattr(args, dest) != default:
                flag = "--" + dest.replace("_", "-")
                return _error(f"argument {flag}: not allowed with --schedule, which sets it")
        args.hidden, args.batch_norm = schedule.hidden_units, schedule.batch_norm
        args.optimizer, args.batch_size = schedule.optimizer, schedule.batch_size
        args.epochs = schedule.epochs
    try:
        data = load_dataset(args.dataset, validation_fraction=args.validation_fraction,
                            seed=args.seed)
    except (DataError, ValueError, OSError) as error:
        return _error(f"argument --dataset: {error}")
    problem = checks.folder_error(args.out)
    if problem is not None:
        return _error(f"argument --out: {problem}")

    from tfweek3.cli.quiet import import_tensorflow

    import_tensorflow()
    import keras

    from tfweek3.training.checkpoints import CheckpointError
    from tfweek3.training.evaluation import evaluate
    from tfweek3.training.loop import DivergedError, train
    from tfweek3.training.network import build_network
    from tfweek3.training.schedule import train_on_schedule

    keras.utils.set_random_seed(args.seed)
    model = build_network(data.input_dim, data.num_classes, hidden_units=args.hidden,
                          batch_norm=args.batch_norm, seed=args.seed)
    start = time.perf_counter()
    common = {"seed": args.seed, "patience": args.patience,
              "checkpoint_dir": os.path.join(args.out, "checkpoints"), "resume": args.resume,
              "log_dir": os.path.join(args.out, "logs"), "jit_compile": args.jit_compile,
              "verbose": 0 if args.quiet else 1}
    try:
        if schedule is None:
            result = train(model, data, epochs=args.epochs, batch_size=args.batch_size,
                           optimizer=args.optimizer, learning_rate=args.learning_rate,
                           beta=args.beta, **common)
        else:
            print(_schedule_line(schedule, args.schedule), flush=True)
            result = train_on_schedule(
                model, data, schedule, on_segment=lambda s: print(
                    f"epochs {s.first_epoch}-{s.last_epoch}: alpha={s.learning_rate:.4g} "
                    f"beta={s.beta:.4g}", flush=True), **common)
    except DivergedError as error:
        _write_history(args.out, error.history)
        kept = len(error.history["loss"])
        if not kept:
            return _error(f"{error}; no epoch ended well. Lower --learning-rate", status=1)
        return _error(f"{error}; the checkpoint after epoch {kept} is kept in {args.out}/checkpoints. "
                      f"Lower --learning-rate and add --resume to go on from it", status=1)
    except CheckpointError as error:
        return _error(f"{error}; start afresh without --resume, or with another --out", status=1)
    seconds = time.perf_counter() - start

    metrics = {"dataset": data.name, "epochs_run": result.epochs_run,
               "best_epoch": result.best_epoch, "stopped_early": result.stopped_early}
    for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val),
                        ("test", data.x_test, data.y_test)):
        scores = evaluate(model, x, y)
        metrics[f"{split}_loss"] = scores["loss"]
        metrics[f"{split}_accuracy"] = scores["accuracy"]
    metrics["seconds"] = seconds
    _write_history(args.out, result.history)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    print(f"{result.epochs_run} epochs on {data.name} in {seconds:.1f} s: test accuracy "
          f"{metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f}; "
          f"outputs in {args.out}")
    return 0


def _schedule_line(schedule, path: str) -> str:
    """What is replayed: the network and where the schedule comes from."""
    found = schedule.found_by
    where = ""
    if "score" in found:
        where = (f", found by {found.get('search', 'a search')} (member {found.get('member')}, "
                 f"{found.get('objective')}={found['score']:.4f} on {found.get('dataset')})")
    return (f"replaying {path}{where}: {len(schedule.segments)} segments, {schedule.epochs} "
            f"epochs, hidden {','.join(map(str, schedule.hidden_units)) or 'none'}, batch norm "
            f"{schedule.batch_norm}, {schedule.optimizer}, mini-batches of {schedule.batch_size}")


def plot_learning_curves(history: dict[str, list[float]], path: str) -> None:
    """Cost and accuracy per epoch, train beside validation, saved as a PNG."""
    # A Figure of its own, not pyplot's: no backend is switched and nothing is shown.
    from matplotlib.figure import Figure

    epochs = range(1, len(history["loss"]) + 1)
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, key, title in ((ax_loss, "loss", "cost J"), (ax_acc, "accuracy", "accuracy")):
        ax.plot(epochs, history[key], label="train")
        ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _write_history(out: str, history: dict[str, list[float]]) -> None:
    with open(os.path.join(out, "history.json"), "w") as f:
        json.dump(history, f, indent=2)
    if history.get("loss"):
        plot_learning_curves(history, os.path.join(out, "learning_curves.png"))


def stopped(args: argparse.Namespace) -> str:
    """The line printed when Ctrl-C or SIGTERM stops training."""
    from tfweek3.training.checkpoints import epochs_done

    done = epochs_done(os.path.join(args.out, "checkpoints"))
    if not done:
        return f"stopped before the first epoch ended; nothing kept. To start again: {checks.same_command()}"
    return (f"stopped; the checkpoint after epoch {done} is kept in {args.out}/checkpoints. "
            f"To continue: {checks.same_command(add=('--resume',))}")


def _error(message: str, status: int = 2) -> int:
    print(f"tfweek3 train: error: {message}", file=sys.stderr)
    return status
