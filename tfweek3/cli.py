"""The `tfweek3` command line: one subcommand per job of the week.

Each subcommand lives in its own module, which provides `add_parser(subparsers)`;
the parser it adds sets `func`, which takes the parsed arguments and returns the
exit status (0 done, 1 failed, 2 bad input, as argparse uses for bad flags).
"""

from __future__ import annotations

import argparse
import sys

from tfweek3 import cli_demo, cli_train

COMMAND_MODULES = [cli_demo, cli_train]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfweek3",
        description="Companion to week 3 of the deep-learning course: batch norm, "
        "softmax, a GradientTape training loop and hyperparameter search.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
