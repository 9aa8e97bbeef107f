"""Exercise 8: the median stopping rule, tfweek3's prune="median" (section 3, caviar)."""

import math
import statistics


def median_prune(curve: dict[int, float], others: list[dict[int, float]], epoch: int,
                 direction: str, epochs: int, min_trials: int, after: int) -> bool:
    """Stop when the trial's best so far is worse than the median of the others' best so far."""
    if epoch < after or epoch >= epochs:
        return False

    def best(reports):
        values = [value for e, value in reports.items() if e <= epoch]
        return max(values) if direction == "max" else min(values)

    theirs = [best(other) for other in others if epoch in other]
    if len(theirs) < min_trials:
        return False
    mine, median = best(curve), statistics.median(theirs)
    if math.isclose(mine, median, rel_tol=1e-6):
        return False
    return mine < median if direction == "max" else mine > median
