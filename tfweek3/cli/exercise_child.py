"""The process `tfweek3 exercise check` starts to run the learner's code.

    python -m tfweek3.cli.exercise_child NAME /abs/path/NAME.py --time-limit 20

Prints one line per check as it finishes, then the verdict; exits 0 when every
check passes, 1 otherwise. Apart from the parent so that code which hangs
where no time limit reaches, or ends the process, cannot take the parent
with it: the parent stops this process when it goes silent.
"""

from __future__ import annotations

import argparse
import re


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tfweek3.cli.exercise_child")
    parser.add_argument("name")
    parser.add_argument("path")
    parser.add_argument("--time-limit", type=float, default=20.0)
    args = parser.parse_args(argv)

    from tfweek3.practice import registry

    exercise = registry.find(args.name)
    with open(args.path, errors="replace") as f:
        uses_tensorflow = re.search(r"\b(tensorflow|keras)\b", f.read()) is not None
    if exercise.needs_tensorflow or uses_tensorflow:  # imported here, its start-up lines hidden
        from tfweek3.cli.quiet import import_tensorflow

        import_tensorflow().get_logger().setLevel("ERROR")  # no retracing warnings
    from tfweek3.practice.grader import grade

    report = grade(exercise, args.path, args.time_limit, show=lambda line: print(line, flush=True))
    return 0 if report.passed else 1


if __name__ == "__main__":
    from tfweek3.cli.main import end_process

    end_process(main())
