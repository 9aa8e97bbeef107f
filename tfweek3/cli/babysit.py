"""`tfweek3 babysit`: pandas, one model trained epoch by epoch under watch (course section 3).

    tfweek3 babysit --dir runs/babysit --epochs 30 --learning-rate 0.01
    echo "learning_rate 0.003" > runs/babysit/control.txt    # from another terminal
    echo "rollback 12" > runs/babysit/control.txt
    echo "stop" > runs/babysit/control.txt

Curves: runs/babysit/curves.png, redrawn after every epoch; actions: actions.csv.
"""

from __future__ import annotations

import argparse
import os
import sys

from tfweek3.cli import checks
from tfweek3.cli import types as cli_types
from tfweek3.training.names import BATCH_NORMS, OPTIMIZERS


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "babysit", help="train one model epoch by epoch, steered by a control file (pandas)",
        description="Train one model with the week's GradientTape loop, a checkpoint per epoch. "
        "Before each epoch, FOLDER/control.txt is read and consumed: lines 'learning_rate X', "
        "'momentum X', 'rollback K' (back to the weights after epoch K) or 'stop'. "
        "Run the same command again to continue; Ctrl-C stops it (exit status 130) keeping "
        "the last epoch's checkpoint.",
    )
    parser.add_argument("--dir", default="runs/babysit", dest="directory",
                        help="run folder: checkpoints, control.txt, curves.png (runs/babysit)")
    parser.add_argument("--dataset", type=cli_types.dataset_spec, default="digits",
                        help=cli_types.DATASET_HELP)
    parser.add_argument("--epochs", type=cli_types.positive_int, default=30, help="epochs in all (30)")
    parser.add_argument("--learning-rate", type=cli_types.positive_float, default=0.01,
                        help="starting learning rate alpha (0.01)")
    parser.add_argument("--beta", type=cli_types.beta, default=0.9,
                        help="starting momentum / RMSprop rho / Adam beta1 (0.9)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS,
                        default="momentum", help="(momentum)")
    parser.add_argument("--hidden-units", type=cli_types.hidden_units, default=(25, 12),
                        help="hidden layer sizes (25,12)")
    parser.add_argument("--batch-norm", choices=BATCH_NORMS, default="manual",
                        help="batch norm layer (manual: the course's formulas)")
    parser.add_argument("--batch-size", type=cli_types.positive_int, default=32, help="(32)")
    parser.add_argument("--seed", type=int, default=0, help="(0)")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete the folder's previous run and start afresh")
    parser.set_defaults(func=run, on_stop=stopped)
    return parser


def run(args: argparse.Namespace) -> int:
    for flag, problem in (("--dataset", checks.dataset_error(args.dataset)),
                          ("--dir", checks.folder_error(args.directory))):
        if problem is not None:
            return _error(f"argument {flag}: {problem}", 2)
    from tfweek3.cli.quiet import import_tensorflow

    import_tensorflow()
    from tfweek3.search.babysit import CONTROL_FILE, BabysitConfig, babysit
    from tfweek3.training.checkpoints import CheckpointError
    from tfweek3.training.loop import DivergedError
    from tfweek3.tuning.storage import StateFileError

    config = BabysitConfig(
        directory=args.directory, dataset=args.dataset, epochs=args.epochs,
        learning_rate=args.learning_rate, beta=args.beta, optimizer=args.optimizer,
        hidden_units=args.hidden_units,
        batch_norm=None if args.batch_norm == "none" else args.batch_norm,
        batch_size=args.batch_size, seed=args.seed,
    )
    try:
        result = babysit(config, overwrite=args.overwrite, log=lambda line: print(line, flush=True))
    except DivergedError as error:
        control = os.path.join(args.directory, CONTROL_FILE)
        kept = error.epoch - 1
        if not kept:
            return _error(f"{error}; no epoch ended well. Lower --learning-rate and run again "
                          f"with --overwrite", 1)
        return _error(f"{error}; the checkpoint after epoch {kept} is kept. Write a lower "
                      f"'learning_rate X' (or 'rollback K') into {control} and run the same "
                      f"command again", 1)
    except (CheckpointError, StateFileError) as error:
        return _error(f"{error}; run with --overwrite to start afresh", 1)
    where = "stopped" if result.stopped else "done"
    print(f"{where}: {result.epochs_done} epochs; curves in "
          f"{args.directory}/curves.png, actions in {args.directory}/actions.csv")
    return 0


def stopped(args: argparse.Namespace) -> str:
    """The line printed when Ctrl-C or SIGTERM stops babysitting."""
    from tfweek3.training.checkpoints import epochs_done

    done = epochs_done(os.path.join(args.directory, "checkpoints"))
    return (f"stopped; the checkpoint after epoch {done} is kept in {args.directory}. "
            f"To continue: {checks.same_command()}")


def _error(message: str, status: int) -> int:
    print(f"tfweek3 babysit: error: {message}", file=sys.stderr)
    return status
