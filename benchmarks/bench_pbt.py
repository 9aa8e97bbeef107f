"""Random search against population-based training at the same number of training epochs.

Both on the digits with `tfweek3 tune`'s machinery, in this process (no
workers): P trials of E epochs against P members of E epochs each (a step
every K epochs), seed by seed. Each search's choice is scored after its last
epoch on the validation set (which chose it) and on the test set (which
nothing saw): the random search's best trial is trained again (the same seed
gives the same run), PBT's winner is restored from its last checkpoint, and
PBT's schedule is also replayed on a fresh model (`tfweek3 train --schedule`).
Wall time is each search's own, one after the other on the same machine.

    python benchmarks/bench_pbt.py                        # 16 x 20 epochs, K = 2, 5 seeds
    python benchmarks/bench_pbt.py --space fixed          # alpha and 1 - beta only
    python benchmarks/bench_pbt.py --seeds 1 --population 4 --epochs 4   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfweek3.course.pbt_contest import contest, format_summary, summarize
from tfweek3.search.space import SearchSpace

SPACES = {
    # The default space of `tfweek3 tune`: the architecture is drawn too.
    "default": SearchSpace(),
    # Only the optimization hyperparameters: 2 x 25 units, batch 32, no batch norm, momentum.
    "fixed": SearchSpace(units=(25, 25), layers=(2, 2), batch_size=(32,), batch_norm=(False,),
                         optimizer=("momentum",)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds (5)")
    parser.add_argument("--population", type=int, default=16,
                        help="random trials, and PBT members (16)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial / member (20)")
    parser.add_argument("--ready-epochs", type=int, default=2, help="PBT: epochs per step (2)")
    parser.add_argument("--space", choices=tuple(SPACES), default="default",
                        help="default: the whole space of tfweek3 tune; fixed: alpha and "
                        "1 - beta only (default)")
    args = parser.parse_args()

    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    print(f"{args.population} x {args.epochs} epochs each, PBT step every {args.ready_epochs} "
          f"epochs, {args.seeds} seeds, {args.space} space", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = contest(args.seeds, args.population, args.epochs, args.ready_epochs,
                       SPACES[args.space], tmp, with_babysitter=False,
                       log=lambda line: print(line, flush=True))
    table = summarize(rows)
    print(format_summary(table))
    copies = [r["copies"] for r in rows if r["method"] == "pbt"]
    print(f"PBT copies per search (exploit steps): {copies}; total "
          f"{time.perf_counter() - start:.0f} s")
    print(json.dumps({"args": vars(args), "rows": rows, "summary": table}))


if __name__ == "__main__":
    main()
