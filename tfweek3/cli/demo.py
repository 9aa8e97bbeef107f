"""`tfweek3 demo`: the batch-norm formulas three ways, side by side, and softmax on [5, 2, -1, 3]."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="batch norm by NumPy, ManualBatchNorm and Keras side by side; softmax([5, 2, -1, 3])",
        description="Runs one training step of batch norm on a small batch (4 examples, 3 units) "
        "with the NumPy reference, tfweek3.ManualBatchNorm and keras.layers.BatchNormalization, "
        "and prints mu, sigma2, z_norm, z_tilde and the moving statistics of each; then softmax "
        "and hardmax of the lecture's z = [5, 2, -1, 3].",
    )
    parser.add_argument("--epsilon", type=float, default=1e-3, help="epsilon of batch norm (1e-3)")
    parser.add_argument("--momentum", type=float, default=0.99,
                        help="momentum of the moving statistics (0.99)")
    parser.set_defaults(func=run, on_stop=lambda args: "stopped")


def run(args: argparse.Namespace) -> int:
    if args.epsilon <= 0 or not 0 <= args.momentum <= 1:
        print(f"tfweek3 demo: error: need --epsilon > 0 and 0 <= --momentum <= 1; got "
              f"--epsilon {args.epsilon} --momentum {args.momentum}", file=sys.stderr)
        return 2
    from tfweek3.cli.quiet import import_tensorflow

    import_tensorflow()
    import numpy as np

    from tfweek3.course import demo

    print("Batch norm, one training step on the mini-batch z (4 examples x 3 units):")
    print(np.array2string(demo.Z, precision=1))
    print(f"gamma = {demo.GAMMA}, beta = {demo.BETA}, epsilon = {args.epsilon}, "
          f"momentum = {args.momentum}\n")
    results = demo.batch_norm_side_by_side(epsilon=args.epsilon, momentum=args.momentum)
    print(demo.format_side_by_side(results))
    gap = max(float(np.max(np.abs(np.asarray(results[name]["z_tilde"]) -
                                  results["numpy reference"]["z_tilde"])))
              for name in results)
    print(f"\nlargest difference of z_tilde from the NumPy reference: {gap:.2e}\n")
    example = demo.softmax_example()
    print(f"z       = {example['z']}")
    print(f"softmax = {np.array2string(example['softmax'], precision=3, floatmode='fixed')}")
    print(f"hardmax = {example['hardmax']}")
    return 0
