"""How `tfweek3 tune` shows the course network's trials: in the course's names (alpha, beta, ...).

A search over a model of your own shows each hyperparameter under its own
name (tfweek3.tuning.results); the course search keeps the lines and the table
a learner of the week reads:

    trial 3/20 alpha=0.00316 beta=0.962 units=40 layers=2 batch=64 bn=on adam -> ...
"""

from __future__ import annotations

from typing import Any

from tfweek3.search.space import SearchSpace
from tfweek3.tuning.results import score_cell

SETTINGS_HEADER = (f"{'alpha':>9} {'beta':>7} {'units':>5} {'layers':>6} {'batch':>5} "
                   f"{'bn':>3} {'optimizer':>9}")


def describe(record: dict[str, Any]) -> str:
    """The hyperparameters of a course trial on one line."""
    v = record["hyperparameters"]
    return (f"alpha={v['learning_rate']:.3g} beta={v['beta']:.4g} "
            f"units={v['units']} layers={v['layers']} "
            f"batch={v['batch_size']} bn={'on' if v['batch_norm'] else 'off'} "
            f"{v['optimizer']}")


def best_text(record: dict[str, Any]) -> str:
    """What the summary line says of the best trial: alpha and beta."""
    v = record["hyperparameters"]
    return f"alpha={v['learning_rate']:.4g} beta={v['beta']:.4f}"


def settings_cells(record: dict[str, Any]) -> str:
    """A course trial's hyperparameters as the cells under SETTINGS_HEADER."""
    v = record["hyperparameters"]
    return (f"{v['learning_rate']:>9.3g} {v['beta']:>7.4f} {v['units']:>5} {v['layers']:>6} "
            f"{v['batch_size']:>5} {'on' if v['batch_norm'] else 'off':>3} {v['optimizer']:>9}")


def format_table(records: list[dict[str, Any]], objective: str) -> str:
    """The top-k table printed at the end of a course search."""
    lines = [f"{'rank':>4} {'round':>5} {'trial':>5} {objective:>12} {SETTINGS_HEADER} status"]
    for position, r in enumerate(records, start=1):
        lines.append(f"{position:>4} {r['round'] or '-':>5} {r['trial']:>5} {score_cell(r):>12} "
                     f"{settings_cells(r)} {r['status']}")
    return "\n".join(lines)


def format_box(box: SearchSpace) -> str:
    """A round's box on one line: alpha [lo, hi] 1-beta [lo, hi] units [..] layers [..] batch."""
    return (f"alpha [{box.learning_rate[0]:.3g}, {box.learning_rate[1]:.3g}] "
            f"1-beta [{box.one_minus_beta[0]:.3g}, {box.one_minus_beta[1]:.3g}] "
            f"units [{box.units[0]}, {box.units[1]}] layers [{box.layers[0]}, {box.layers[1]}] "
            f"batch {list(box.batch_size)}")


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """A course record with its hyperparameters beside its other fields too (record["units"]),
    as the notebooks and experiments of tfweek3.course read them."""
    return {**record["hyperparameters"], **record}
