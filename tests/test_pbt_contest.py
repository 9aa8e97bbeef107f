"""Notebook 1's PBT contest helpers: the rule-based babysitter and the summary of the seeds."""

import math

import pytest

from tfweek3.course.pbt_contest import AutoSitter, middle, search_config, summarize
from tfweek3.search.babysit import CONTROL_FILE
from tfweek3.search.space import SearchSpace


def write_history(folder, val_accuracies):
    rows = ["epoch,val_accuracy"] + [f"{e},{v}" for e, v in enumerate(val_accuracies, start=1)]
    (folder / "history.csv").write_text("\n".join(rows) + "\n")


def control(folder):
    path = folder / CONTROL_FILE
    text = path.read_text() if path.exists() else ""
    path.unlink(missing_ok=True)  # babysit consumes it
    return text.splitlines()


def test_the_sitter_halves_alpha_on_a_plateau_rolls_back_a_bad_day_and_stops_on_budget(tmp_path):
    sitter = AutoSitter(tmp_path, budget=8, learning_rate=0.1, patience=3, drop=0.02)
    history = []
    # day: yesterday's val accuracy -> what the sitter writes before the day
    script = [(None, []), (0.80, []), (0.85, []), (0.85, []), (0.84, []),
              (0.845, ["learning_rate 0.05"]),  # three days without a new best
              (0.80, ["rollback 2", "learning_rate 0.025"])]  # 0.05 below the best day (2)
    for day, (val, expected) in enumerate(script, start=1):
        if val is not None:
            history.append(val)
            write_history(tmp_path, history)
        sitter(len(history) + 1)
        assert control(tmp_path) == expected, f"day {day}"
        if expected[:1] == ["rollback 2"]:
            history = history[:2]
    history.append(0.9)
    write_history(tmp_path, history)
    sitter(len(history) + 1)  # day 8: a new best, nothing to say
    assert control(tmp_path) == []
    history.append(0.91)
    write_history(tmp_path, history)
    sitter(len(history) + 1)  # 8 days trained: the budget is spent
    assert control(tmp_path) == ["stop"]
    assert (sitter.days, sitter.rollbacks) == (8, 1)


def test_after_a_divergence_the_sitter_goes_back_to_the_best_day_once(tmp_path):
    sitter = AutoSitter(tmp_path, budget=10, learning_rate=0.4)
    write_history(tmp_path, [0.5, 0.7])
    sitter(3)  # day 3 trains... and diverges
    assert control(tmp_path) == []
    sitter.diverged()
    sitter(3)  # babysit starts again at epoch 3: the row of epoch 2 is not judged twice
    assert control(tmp_path) == ["rollback 2", "learning_rate 0.2"]
    assert sitter.days == 2 and sitter.rollbacks == 1  # the diverged day counts: it was trained


def test_the_middle_of_a_log_range_is_its_geometric_mean():
    assert middle(1e-4, 1.0) == pytest.approx(1e-2)
    assert math.log10(middle(1e-3, 1e-1)) == pytest.approx(-2)


def test_the_summary_counts_the_seeds_each_search_won():
    rows = [{"seed": s, "method": m, "val": v, "test": t, "seconds": 1.0,
             **({"selected_score": v} if m != "pbt replay" else {})}
            for s, m, v, t in [(0, "random", 0.9, 0.90), (0, "pbt", 0.95, 0.93),
                               (0, "pbt replay", 0.95, 0.99), (1, "random", 0.9, 0.95),
                               (1, "pbt", 0.95, 0.92), (1, "pbt replay", 0.9, 0.90)]]
    table = {t["method"]: t for t in summarize(rows)}
    assert table["random"]["wins"] == 1 and table["pbt"]["wins"] == 1  # a replay is no contestant
    assert table["pbt replay"]["wins"] is None
    assert table["pbt"]["test"] == pytest.approx(0.925)
    assert table["random"]["test_sd"] == pytest.approx(math.sqrt(2) * 0.025)


def test_the_sitter_does_not_halve_alpha_below_its_floor(tmp_path):
    sitter = AutoSitter(tmp_path, budget=20, learning_rate=0.3, patience=1, floor=0.1)
    history = [0.5]
    written = []
    for _ in range(5):
        history.append(0.5)  # the first day judged is the best; then a plateau every day
        write_history(tmp_path, history)
        sitter(len(history) + 1)
        written.append(control(tmp_path))
    assert written == [[], ["learning_rate 0.15"], ["learning_rate 0.1"], [], []]


def test_random_search_and_pbt_get_the_same_budget_each_in_a_folder_of_its_own(tmp_path):
    space = SearchSpace(units=(25, 25), layers=(2, 2))
    configs = {strategy: search_config(strategy, 2, 8, 12, 2, space, str(tmp_path)).validate()
               for strategy in ("random", "pbt")}
    assert configs["random"].trials * configs["random"].epochs == 8 * 12
    assert configs["pbt"].population * configs["pbt"].epochs == 8 * 12
    assert configs["pbt"].population_settings().ready_epochs == 2
    assert configs["pbt"].directory == str(tmp_path / "pbt_2")
    assert configs["random"].directory == str(tmp_path / "random_2")
    assert all(c.seed == 2 and c.space == space and not c.tensorboard for c in configs.values())
