"""`tfweek3 tune`: hyperparameter search with KerasTuner (course sections 1-3).

    tfweek3 tune                                   # random search on digits
    tfweek3 tune --strategy grid --grid-points 4 --trials 16
    tfweek3 tune --strategy coarse-to-fine --rounds 3 --trials 30
    tfweek3 tune --workers 2                       # caviar: 2 models at a time
    tfweek3 tune --together 30                     # caviar in one graph: 30 trials at once
    tfweek3 tune --prune median                    # stop trials below the median early
    tfweek3 tune --strategy pbt --population 8 --epochs 20 --ready-epochs 2
    tfweek3 tune --model my_model.py:build_model    # a model of your own, written for KerasTuner

Running the same command again on the same --dir continues the search;
--overwrite starts afresh. Bad flags or ranges: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from tfweek3.cli import checks, types
from tfweek3.search import caviar
from tfweek3.search.config import (
    BATCH_NORM_CHOICES,
    FLAGS,
    OBJECTIVES,
    PRUNERS,
    STRATEGIES,
    SearchConfig,
    SearchError,
    SearchInputError,
)
from tfweek3.search.space import SearchSpace, SearchSpaceError
from tfweek3.training.names import OPTIMIZERS
from tfweek3.tuning import storage
from tfweek3.tuning.roles import distributed_role, lost_chief

DEFAULTS = SearchSpace()
# The flags of the course network's search space, and their names in the parsed arguments.
SPACE_FLAGS = {"--alpha": "alpha", "--one-minus-beta": "one_minus_beta", "--units": "units",
               "--layers": "layers", "--batch-sizes": "batch_sizes", "--batch-norm": "batch_norm",
               "--optimizers": "optimizers"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "tune", help="hyperparameter search with KerasTuner (random, grid, coarse-to-fine, pbt)",
        description="Search the course network's learning rate alpha (log scale), momentum "
        "beta (1 - beta on a log scale), hidden units and layers, mini-batch size, batch norm "
        "and optimizer with KerasTuner; each trial trains with the week's GradientTape loop. "
        "Or, with --model FILE.py:build_model, the space a model of your own declares, each "
        "trial trained with its own fit. Results go to --dir: trials.csv/json, best_hyperparameters.json, scores.png, "
        "curves.png, parallel.png, importance.csv/png. "
        "The same command again continues the search; Ctrl-C stops it (exit status 130), "
        "keeping every finished trial.",
    )
    parser.add_argument("--strategy", choices=STRATEGIES, default="random",
                        help="random search, grid search, coarse-to-fine rounds or "
                        "population-based training (random)")
    parser.add_argument("--trials", type=types.positive_int, default=30,
                        help="number of trials, diverged ones included (30)")
    parser.add_argument("--epochs", type=types.positive_int, default=10,
                        help="epochs per trial; pbt: per member, in all (10)")
    parser.add_argument("--dataset", type=types.dataset_spec, default="digits",
                        help=types.DATASET_HELP)
    parser.add_argument("--workers", type=types.positive_int, default=1,
                        help="caviar: train N models at a time in N processes (1)")
    parser.add_argument("--together", type=types.positive_int, default=1,
                        help="caviar in one graph: train up to K trials at once as one stacked "
                        "network, in each process (pbt: a generation at a time; 1: one at a "
                        "time)")
    parser.add_argument("--dir", default="runs/tune", dest="directory",
                        help="search folder, local or gs://...; the same folder again resumes "
                        "(runs/tune)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete the folder's previous search and start afresh")
    parser.add_argument("--objective", default="val_accuracy",
                        help=f"what a trial is scored on: {', '.join(OBJECTIVES)}; with --model, "
                        "any metric the model reports, e.g. val_auc (minimized when its name "
                        "has loss or error in it, else maximized) (val_accuracy)")
    parser.add_argument("--model", default=None, metavar="FILE.py:NAME",
                        help="tune a model of your own instead of the course network: NAME is "
                        "a function build_model(hp) returning a compiled Keras model, or a "
                        "keras_tuner.HyperModel, in FILE.py; its space is what it declares (the "
                        "search space flags below are the course network's). Data reach its fit "
                        "as stored: images (height, width, channels), integer labels")
    space = parser.add_argument_group("search space")
    space.add_argument("--alpha", type=types.float_range, default=DEFAULTS.learning_rate,
                       metavar="MIN:MAX", help="learning rate, log scale (0.0001:1)")
    space.add_argument("--one-minus-beta", type=types.float_range,
                       default=DEFAULTS.one_minus_beta, metavar="MIN:MAX",
                       help="1 - beta (momentum, RMSprop rho, Adam beta1), log scale (0.001:0.1)")
    space.add_argument("--units", type=types.int_range, default=DEFAULTS.units, metavar="MIN:MAX",
                       help="hidden units per layer, uniform (8:64)")
    space.add_argument("--layers", type=types.int_range, default=DEFAULTS.layers,
                       metavar="MIN:MAX", help="hidden layers, uniform (1:3)")
    space.add_argument("--batch-sizes", type=types.powers_of_two, default=DEFAULTS.batch_size,
                       metavar="B,B,...", help="mini-batch sizes, powers of two (16,32,64,128)")
    space.add_argument("--batch-norm", choices=tuple(BATCH_NORM_CHOICES), default="both",
                       help="batch norm on, off or either (both)")
    space.add_argument("--optimizers", type=types.names_among(OPTIMIZERS),
                       default=DEFAULTS.optimizer, metavar="NAME,...",
                       help=f"among {','.join(OPTIMIZERS)} (momentum,adam)")
    strategy = parser.add_argument_group("grid and coarse-to-fine")
    strategy.add_argument("--grid-points", type=types.positive_int, default=3,
                          help="grid: points per numeric dimension (3)")
    strategy.add_argument("--rounds", type=types.positive_int, default=3,
                          help="coarse-to-fine: rounds of random search (3)")
    strategy.add_argument("--zoom-k", type=types.positive_int, default=3,
                          help="coarse-to-fine: the next box spans the best K trials (3)")
    strategy.add_argument("--margin", type=float, default=0.1,
                          help="coarse-to-fine: widen the box by this share of the old range (0.1)")
    prune = parser.add_argument_group("pruning: stop trials that are losing")
    prune.add_argument("--prune", choices=PRUNERS, default="none",
                       help="median: after an epoch, stop a trial whose best so far is worse "
                       "than the median of the other trials at that epoch (none)")
    prune.add_argument("--prune-min-trials", type=types.positive_int, default=5,
                       help="prune only once this many other trials reached the epoch (5)")
    prune.add_argument("--prune-after", type=types.positive_int, default=2,
                       help="every trial trains at least this many epochs (2)")
    pbt = parser.add_argument_group(
        "population-based training (pbt)",
        "--population members train side by side for --epochs epochs each; every --ready-epochs "
        "epochs the worst copy the weights of the best and perturb their alpha and 1 - beta "
        "(--trials is not used: each member's step is one trial)")
    pbt.add_argument("--population", type=types.positive_int, default=8,
                     help="members of the population (8)")
    pbt.add_argument("--ready-epochs", type=types.positive_int, default=2,
                     help="epochs between two exploit/explore steps (2)")
    pbt.add_argument("--exploit-quantile", type=types.number, default=0.25,
                     help="the bottom share of the members copies the top share (0.25)")
    pbt.add_argument("--perturb-factor", type=types.number, default=1.25,
                     help="a copy's alpha and 1 - beta are multiplied or divided by it (1.25)")
    pbt.add_argument("--resample-probability", type=types.number, default=0.2,
                     help="...or drawn afresh from the search space, with this probability (0.2)")
    other = parser.add_argument_group("other")
    other.add_argument("--top-k", type=types.positive_int, default=5,
                       help="rows of the table printed at the end (5)")
    other.add_argument("--threads", type=types.positive_int, default=None,
                       help="TensorFlow threads for this process (default: all)")
    other.add_argument("--no-tensorboard", action="store_true",
                       help="do not write TensorBoard logs per trial")
    # Used by the processes that --workers starts; not for people.
    parser.add_argument("--project", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-results", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run, on_stop=stopped)
    return parser


def _defaults() -> argparse.Namespace:
    """The flags' defaults, parsed from no flags (to tell which space flags were given)."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["tune"])


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    """The SearchConfig the parsed flags describe (SearchConfig.to_argv goes back)."""
    space = SearchSpace(
        learning_rate=args.alpha, one_minus_beta=args.one_minus_beta, units=args.units,
        layers=args.layers, batch_size=args.batch_sizes,
        batch_norm=BATCH_NORM_CHOICES[args.batch_norm], optimizer=args.optimizers,
    )
    return SearchConfig(
        strategy=args.strategy, trials=args.trials, epochs=args.epochs, dataset=args.dataset,
        directory=args.directory, seed=args.seed, objective=args.objective, space=space,
        grid_points=args.grid_points, rounds=args.rounds, zoom_k=args.zoom_k,
        margin=args.margin, workers=args.workers, together=args.together, threads=args.threads,
        top_k=args.top_k,
        population=args.population, ready_epochs=args.ready_epochs,
        exploit_quantile=args.exploit_quantile, perturb_factor=args.perturb_factor,
        resample_probability=args.resample_probability,
        project=args.project, write_results=not args.no_results,
        tensorboard=not args.no_tensorboard, prune=args.prune,
        prune_min_trials=args.prune_min_trials, prune_after=args.prune_after, model=args.model,
    )


def run(args: argparse.Namespace) -> int:
    """Run the search; 0 when done, 1 when it failed or no trial completed, 2 for bad input."""
    config = config_from_args(args)
    try:
        config.validate()
    except SearchSpaceError as error:
        name, _, message = str(error).partition(": ")
        return _error(f"argument {FLAGS.get(name, name)}: {message}", 2)
    if config.model is not None:
        defaults = _defaults()
        changed = [flag for flag, name in SPACE_FLAGS.items()
                   if getattr(args, name) != getattr(defaults, name)]
        if changed:
            return _error(f"argument {changed[0]}: sets the course network's search space; with "
                          "--model the space is the one your build(hp) declares", 2)
    problem = checks.folder_error(config.directory)
    if problem is not None:
        return _error(f"argument --dir: {problem}", 2)
    problem = checks.dataset_error(config.dataset)
    if problem is not None:
        return _error(f"argument --dataset: {problem}", 2)
    problem = config.model and checks.model_file_error(config.model)
    if problem:
        return _error(f"argument --model: {problem}", 2)

    if distributed_role() != "single" or config.workers == 1 or config.model is not None:
        from tfweek3.cli.quiet import import_tensorflow

        # the processes that train or hold the oracle; not the supervisor
        import_tensorflow(also=("keras_tuner",))
    if config.model is not None:
        problem = checks.model_error(config.model)
        if problem is not None:
            return _error(f"argument --model: {problem}", 2)
    from tfweek3.search.run import run_search

    try:
        result = run_search(config, overwrite=args.overwrite,
                            log=lambda line: print(line, flush=True))
    except storage.StateFileError as error:
        return _error(f"{error}; run with --overwrite to start this search afresh", 1)
    except storage.SearchMismatch as error:
        return _error(str(error), 1)
    except SearchInputError as error:
        return _error(str(error), 2)
    except SearchError as error:
        return _error(str(error), 1)
    except Exception as error:
        status = lost_chief(error)
        if status is None:
            raise
        if caviar.supervised():
            return 1  # the supervisor sees the chief's end and says it
        address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
        return _error(f"the chief at {address} is gone (gRPC {status}); start the chief "
                      "again, then this worker", 1)
    if result is not None and result.best is None:
        return 1  # the summary line has said that no trial completed
    return 0


def stopped(args: argparse.Namespace) -> str | None:
    """The line printed when Ctrl-C or SIGTERM stops the search (None in its child processes)."""
    if caviar.supervised():
        return None  # the supervisor speaks for the search
    finished = 0
    for path in storage.glob(storage.join(args.directory, "*", "trial_*", "trial.json")):
        try:
            finished += storage.read_json(path)["status"] == "COMPLETED"
        except (storage.StateFileError, KeyError):
            pass
    return (f"stopped; {finished} finished trials kept in {args.directory}. "
            f"To continue: {checks.same_command()}")


def _error(message: str, status: int) -> int:
    print(f"tfweek3 tune: error: {message}", file=sys.stderr)
    return status
