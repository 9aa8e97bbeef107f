"""Exercise 8 of tfweek3: the median stopping rule, which stops a losing trial early (notebook 5).

Check it with:  tfweek3 exercise check median_prune
"""


def median_prune(curve: dict[int, float], others: list[dict[int, float]], epoch: int,
                 direction: str, epochs: int, min_trials: int, after: int) -> bool:
    """Return True to stop the trial after `epoch`, False to let it train on.

    Caviar (the note, section 3) trains many models and keeps the best. The
    median stopping rule, what tfweek3's tuners do with prune="median", gives
    fewer epochs to the losers:

        best   = the trial's best value so far, over epochs 1 to `epoch`
        theirs = for each other trial that reported `epoch`: its best value over epochs 1 to `epoch`
        stop when best is worse than statistics.median(theirs)

    "Best so far" on both sides: the search scores a trial by its best epoch,
    so like is compared with like, at the same epoch. But go on (return False):

      - before epoch `after` (epoch < after): the first epochs of a good trial can look bad;
      - at the trial's last planned epoch (epoch >= epochs): stopping there saves nothing;
      - while fewer than `min_trials` others reported `epoch`: their median says little yet;
      - on a tie, math.isclose(best, median, rel_tol=1e-6): equal accuracies can differ
        by float rounding (the median of 0.2 and 0.4 is 0.30000000000000004).

    curve: the trial's reports so far, epoch -> value, epochs from 1: {1: 0.52, 2: 0.61, 3: 0.58}.
        A dict, as tfweek3 keeps them, rather than a list: a trial that was stopped or is still
        running has a short curve, "it reached epoch e" is just `e in other`, and no index is
        off by one.
    others: the other trials' curves (running, finished or stopped), dicts like `curve`. A
        finished one goes past `epoch`: its later epochs do not count.
    direction: "max" for accuracies (the best is the largest, worse is below the median),
               "min" for losses (the best is the smallest, worse is above the median).
    """
    # TODO: the four cases that go on, then best, theirs and the comparison
    #       (statistics.median and math.isclose: import statistics and math at the top)
    raise NotImplementedError
