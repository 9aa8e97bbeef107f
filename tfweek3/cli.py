"""The `tfweek3` command line: one subcommand per job of the week.

Each subcommand lives in its own module, which provides `add_parser(subparsers)`;
the parser it adds sets `func`, which takes the parsed arguments and returns the
exit status (0 done, 1 failed, 2 bad input, as argparse uses for bad flags).
"""

from __future__ import annotations

import argparse
import sys

from tfweek3 import cli_babysit, cli_demo, cli_train, cli_tune

COMMAND_MODULES = [cli_demo, cli_train, cli_tune, cli_babysit]


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad flags give one line, `tfweek3 CMD: error: ...`, and exit status 2 (not the usage)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # Subcommand parsers are made by add_parser with the class of this one.
    parser = OneLineErrorParser(
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
