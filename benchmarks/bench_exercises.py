"""How long `tfweek3 exercise check` takes on a right answer, for each exercise.

Runs `python -m tfweek3 exercise check NAME --file <the package's solution>`
--runs times per exercise (the exercises taking turns, so that all see the
same load) and prints, per exercise, the median wall time of the command
(Python, NumPy and, for exercises 5 and 7, TensorFlow start-up included) and
the median time of the checks themselves, as the verdict line reports it
(the learner's file imported and every check run).

    python benchmarks/bench_exercises.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

from tfweek3.practice import registry
from tfweek3.practice.grader import checks_for


def run_once(exercise: registry.Exercise) -> tuple[float, float]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tfweek3", "exercise", "check", exercise.name,
                           "--file", exercise.solution_path()], capture_output=True, text=True,
                          env=env, check=False)
    wall = time.perf_counter() - start
    verdict = proc.stdout.strip().splitlines()[-1]
    if proc.returncode != 0:
        raise SystemExit(f"{exercise.name}: the solution did not pass: {verdict}")
    return wall, float(re.search(r"\(([\d.]+) s\)", verdict).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = {exercise.name: [] for exercise in registry.EXERCISES}
    for _ in range(args.runs):
        for exercise in registry.EXERCISES:
            times[exercise.name].append(run_once(exercise))
    print(f"| exercise | checks | command, wall s (median of {args.runs}) | the checks, s |")
    print("|---|---:|---:|---:|")
    for exercise in registry.EXERCISES:
        walls, checks = zip(*times[exercise.name])
        count = len(checks_for(exercise).items)
        print(f"| {exercise.number} `{exercise.name}` | {count} | {statistics.median(walls):.1f} "
              f"| {statistics.median(checks):.2f} |")


if __name__ == "__main__":
    main()
