"""`tfweek3 tune`: hyperparameter search with KerasTuner (course sections 1-3).

    tfweek3 tune                                   # random search on digits
    tfweek3 tune --strategy grid --grid-points 4 --trials 16
    tfweek3 tune --strategy coarse-to-fine --rounds 3 --trials 30
    tfweek3 tune --workers 2                       # caviar: 2 models at a time

Running the same command again on the same --dir continues the search;
--overwrite starts afresh. Bad flags or ranges: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tfweek3 import cli_types
from tfweek3.search_space import OPTIMIZERS, SearchSpace, SearchSpaceError

if TYPE_CHECKING:
    from tfweek3.search import SearchConfig

DEFAULTS = SearchSpace()


def _float_range(text: str) -> tuple[float, float]:
    """MIN:MAX (or one value, fixed) for a log-scale range: 0 < MIN <= MAX."""
    low, high = _split_range(text, float)
    if low > high:
        raise argparse.ArgumentTypeError(f"minimum {low:g} is above maximum {high:g}")
    if low <= 0:
        raise argparse.ArgumentTypeError(
            f"a log-scale range must stay above 0, got {low:g}:{high:g}")
    return low, high


def _int_range(text: str) -> tuple[int, int]:
    """MIN:MAX (or one value, fixed) of whole numbers >= 1."""
    low, high = _split_range(text, int)
    if low > high:
        raise argparse.ArgumentTypeError(f"minimum {low} is above maximum {high}")
    if low < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {low}:{high}")
    return low, high


def _split_range(text: str, kind):
    parts = text.split(":")
    try:
        values = [kind(part) for part in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX, got {text!r}") from None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX, got {text!r}")
    return tuple(values)


def _powers_of_two(text: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 16,32,64, got {text!r}") from None
    if any(v < 1 or v & (v - 1) for v in values):
        raise argparse.ArgumentTypeError(f"mini-batch sizes must be powers of two, got {text!r}")
    return values


def _optimizers(text: str) -> tuple[str, ...]:
    values = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [v for v in values if v not in OPTIMIZERS]
    if bad or not values:
        raise argparse.ArgumentTypeError(
            f"choose among {','.join(OPTIMIZERS)}, got {text!r}")
    return values


# The flag behind each name that SearchConfig.validate() may complain about.
FLAGS = {"learning_rate": "--alpha", "one_minus_beta": "--one-minus-beta", "units": "--units",
         "layers": "--layers", "batch_size": "--batch-sizes", "batch_norm": "--batch-norm",
         "optimizer": "--optimizers", "grid_points": "--grid-points", "zoom_k": "--zoom-k",
         "top_k": "--top-k", "trials": "--trials", "epochs": "--epochs", "rounds": "--rounds",
         "workers": "--workers", "margin": "--margin", "strategy": "--strategy",
         "objective": "--objective"}

BATCH_NORM = {"both": (False, True), "on": (True,), "off": (False,)}


def add_parser(subparsers) -> argparse.ArgumentParser:
    from tfweek3.search import OBJECTIVES, STRATEGIES

    parser = subparsers.add_parser(
        "tune", help="hyperparameter search with KerasTuner (random, grid, coarse-to-fine)",
        description="Search the learning rate alpha (log scale), momentum beta (1 - beta "
        "on a log scale), hidden units and layers, mini-batch size, batch norm and the "
        "optimizer with KerasTuner. Each trial trains with the week's GradientTape loop. "
        "Results go to --dir: trials.csv/json, best_hyperparameters.json, scores.png.",
    )
    parser.add_argument("--strategy", choices=STRATEGIES, default="random",
                        help="random search, grid search or coarse-to-fine rounds (random)")
    parser.add_argument("--trials", type=cli_types.positive_int, default=30,
                        help="number of trials, diverged ones included (30)")
    parser.add_argument("--epochs", type=cli_types.positive_int, default=10,
                        help="epochs per trial (10)")
    parser.add_argument("--dataset", default="digits",
                        help="digits, signs:FOLDER or npz:FILE (digits)")
    parser.add_argument("--workers", type=cli_types.positive_int, default=1,
                        help="caviar: train N models at a time in N processes (1)")
    parser.add_argument("--dir", default="runs/tune", dest="directory",
                        help="search folder; the same folder again resumes (runs/tune)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete the folder's previous search and start afresh")
    parser.add_argument("--objective", choices=tuple(OBJECTIVES), default="val_accuracy",
                        help="what a trial is scored on (val_accuracy)")
    space = parser.add_argument_group("search space")
    space.add_argument("--alpha", type=_float_range, default=DEFAULTS.learning_rate,
                       metavar="MIN:MAX", help="learning rate, log scale (0.0001:1)")
    space.add_argument("--one-minus-beta", type=_float_range,
                       default=DEFAULTS.one_minus_beta, metavar="MIN:MAX",
                       help="1 - beta (momentum, RMSprop rho, Adam beta1), log scale (0.001:0.1)")
    space.add_argument("--units", type=_int_range, default=DEFAULTS.units, metavar="MIN:MAX",
                       help="hidden units per layer, uniform (8:64)")
    space.add_argument("--layers", type=_int_range, default=DEFAULTS.layers,
                       metavar="MIN:MAX", help="hidden layers, uniform (1:3)")
    space.add_argument("--batch-sizes", type=_powers_of_two, default=DEFAULTS.batch_size,
                       metavar="B,B,...", help="mini-batch sizes, powers of two (16,32,64,128)")
    space.add_argument("--batch-norm", choices=tuple(BATCH_NORM), default="both",
                       help="batch norm on, off or either (both)")
    space.add_argument("--optimizers", type=_optimizers, default=DEFAULTS.optimizer,
                       metavar="NAME,...", help=f"among {','.join(OPTIMIZERS)} (momentum,adam)")
    strategy = parser.add_argument_group("grid and coarse-to-fine")
    strategy.add_argument("--grid-points", type=cli_types.positive_int, default=3,
                          help="grid: points per numeric dimension (3)")
    strategy.add_argument("--rounds", type=cli_types.positive_int, default=3,
                          help="coarse-to-fine: rounds of random search (3)")
    strategy.add_argument("--zoom-k", type=cli_types.positive_int, default=3,
                          help="coarse-to-fine: the next box spans the best K trials (3)")
    strategy.add_argument("--margin", type=float, default=0.1,
                          help="coarse-to-fine: widen the box by this share of the old range (0.1)")
    other = parser.add_argument_group("other")
    other.add_argument("--top-k", type=cli_types.positive_int, default=5,
                       help="rows of the table printed at the end (5)")
    other.add_argument("--threads", type=cli_types.positive_int, default=None,
                       help="TensorFlow threads for this process (default: all)")
    other.add_argument("--no-tensorboard", action="store_true",
                       help="do not write TensorBoard logs per trial")
    # Used by the processes that --workers starts; not for people.
    parser.add_argument("--project", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-results", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
    return parser


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    """The SearchConfig the parsed flags describe."""
    from tfweek3.search import SearchConfig

    space = SearchSpace(
        learning_rate=args.alpha, one_minus_beta=args.one_minus_beta, units=args.units,
        layers=args.layers, batch_size=args.batch_sizes,
        batch_norm=BATCH_NORM[args.batch_norm], optimizer=args.optimizers,
    )
    return SearchConfig(
        strategy=args.strategy, trials=args.trials, epochs=args.epochs, dataset=args.dataset,
        directory=args.directory, seed=args.seed, objective=args.objective, space=space,
        grid_points=args.grid_points, rounds=args.rounds, zoom_k=args.zoom_k,
        margin=args.margin, workers=args.workers, threads=args.threads, top_k=args.top_k,
        project=args.project, write_results=not args.no_results,
        tensorboard=not args.no_tensorboard,
    )


def config_to_argv(config: SearchConfig) -> list[str]:
    """Flags that make `tfweek3 tune` rebuild `config` (for worker processes)."""
    space = config.space
    batch_norm = {v: k for k, v in BATCH_NORM.items()}[tuple(sorted(space.batch_norm))]
    argv = [
        "--strategy", config.strategy, "--trials", str(config.trials),
        "--epochs", str(config.epochs), "--dataset", config.dataset,
        "--workers", str(config.workers), "--dir", config.directory,
        "--seed", str(config.seed), "--objective", config.objective,
        "--alpha", f"{space.learning_rate[0]!r}:{space.learning_rate[1]!r}",
        "--one-minus-beta", f"{space.one_minus_beta[0]!r}:{space.one_minus_beta[1]!r}",
        "--units", f"{space.units[0]}:{space.units[1]}",
        "--layers", f"{space.layers[0]}:{space.layers[1]}",
        "--batch-sizes", ",".join(str(b) for b in space.batch_size),
        "--batch-norm", batch_norm, "--optimizers", ",".join(space.optimizer),
        "--grid-points", str(config.grid_points), "--rounds", str(config.rounds),
        "--zoom-k", str(config.zoom_k), "--margin", repr(config.margin),
        "--top-k", str(config.top_k),
    ]
    if config.threads:
        argv += ["--threads", str(config.threads)]
    if config.project:
        argv += ["--project", config.project]
    if not config.write_results:
        argv.append("--no-results")
    if not config.tensorboard:
        argv.append("--no-tensorboard")
    return argv


def run(args: argparse.Namespace) -> int:
    """Run the search; 0 when done, 2 for bad input, 1 when it could not finish."""
    config = config_from_args(args)
    try:
        config.validate()
    except SearchSpaceError as error:
        name, _, message = str(error).partition(": ")
        print(f"tfweek3 tune: error: argument {FLAGS.get(name, name)}: {message}",
              file=sys.stderr)
        return 2
    from tfweek3 import distributed
    from tfweek3.data import DataError, load_dataset
    from tfweek3.search import run_search

    by_hand = distributed.role() != "single"  # KERASTUNER_* variables set by a person
    if config.strategy == "coarse-to-fine" and config.project is None and by_hand:
        print("tfweek3 tune: error: argument --strategy: coarse-to-fine runs its rounds with "
              "--workers on one host, not with KERASTUNER_* variables", file=sys.stderr)
        return 2

    try:
        load_dataset(config.dataset)
    except (DataError, ValueError) as error:
        print(f"tfweek3 tune: error: argument --dataset: {error}", file=sys.stderr)
        return 2
    try:
        run_search(config, overwrite=args.overwrite, log=lambda line: print(line, flush=True))
    except RuntimeError as error:
        print(f"tfweek3 tune: error: {error}", file=sys.stderr)
        return 1
    return 0
