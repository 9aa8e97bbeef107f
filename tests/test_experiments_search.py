"""Notebook 1's helpers: grid against random, the log scale, coarse-to-fine rounds, scripted nudges,
and the importance beside the lecture's order."""

import matplotlib
import numpy as np
import pytest

from tfweek3.course import (
    grid_vs_random,
    log_scale,
    nudges,
    pruning_importance,
    search_rounds,
)
from tfweek3.course.grid_vs_random import synthetic_score
from tfweek3.search import present
from tfweek3.search.babysit import BabysitResult
from tfweek3.search.config import SearchConfig
from tfweek3.search.space import SearchSpace
from tfweek3.tuning.dimensions import with_derived
from tfweek3.tuning.importance import MIN_R2, importance_phrase

matplotlib.use("Agg")


def test_a_5x5_grid_tries_5_values_of_alpha_and_25_random_points_try_25():
    grid = grid_vs_random.grid_points(per_axis=5)
    assert grid.shape == (25, 2)
    assert grid_vs_random.distinct_values(grid) == [5, 5]
    alphas = np.unique(grid[:, 0])
    np.testing.assert_allclose(alphas, [1e-4, 1e-3, 1e-2, 1e-1, 1.0])  # one per decade
    points = grid_vs_random.random_points(25, seed=3)
    assert grid_vs_random.distinct_values(points) == [25, 25]
    assert points[:, 0].min() >= 1e-4 and points[:, 0].max() <= 1.0
    assert points[:, 1].min() >= 1e-10 and points[:, 1].max() <= 1e-6
    cube = grid_vs_random.grid_points(5, ((1e-4, 1.0), (1e-10, 1e-6), (0.9, 0.999)))
    assert len(cube) == 125 and grid_vs_random.distinct_values(cube) == [5, 5, 5]


def test_best_regret_is_minus_the_best_synthetic_score():
    points = grid_vs_random.random_points(25, seed=1)
    best_alpha, best_epsilon = 3e-3, 2e-8
    expected = -max(synthetic_score(a, e, best_alpha, best_epsilon) for a, e in points)
    assert grid_vs_random.best_regret(points, best_alpha, best_epsilon) == pytest.approx(expected)
    grid = grid_vs_random.grid_points(5)
    assert grid_vs_random.best_regret(grid, 1e-2, 1e-8) == pytest.approx(0.0, abs=1e-12)


def test_grid_regret_formula_matches_monte_carlo():
    rng = np.random.default_rng(0)
    grid = grid_vs_random.grid_points(per_axis=5)
    regrets = [grid_vs_random.best_regret(grid, 10 ** rng.uniform(-4, 0), 10 ** rng.uniform(-10, -6))
               for _ in range(4000)]
    formula = grid_vs_random.grid_expected_regret(per_axis=5)
    assert formula == pytest.approx(1.01 / 12)
    assert np.mean(regrets) == pytest.approx(formula, rel=0.05)
    error = grid_vs_random.grid_regret_standard_error(contests=len(regrets))
    assert np.std(regrets) / np.sqrt(len(regrets)) == pytest.approx(error, rel=0.1)
    assert grid_vs_random.grid_regret_standard_error(contests=100) == pytest.approx(0.00745,
                                                                                     abs=1e-4)
    # A finer grid: 9 points on 4 decades, half a decade apart, a quarter of the regret.
    assert grid_vs_random.grid_expected_regret(per_axis=9) == pytest.approx(formula / 4)


def test_shares_of_uniform_and_log_draws_match_the_note():
    draws = log_scale.draw_both_ways(n=200_000, seed=0)
    shares = log_scale.scale_summary(draws)
    assert shares["alpha_uniform_in_[0.1,1]"] == pytest.approx(0.9 / 0.9999, abs=0.005)
    assert shares["alpha_log_in_[0.1,1]"] == pytest.approx(0.25, abs=0.005)
    assert shares["beta_uniform_in_[0.99,0.999]"] == pytest.approx(0.009 / 0.099, abs=0.005)
    assert shares["beta_log_in_[0.99,0.999]"] == pytest.approx(0.5, abs=0.005)
    assert log_scale.averaging_window(0.999) == pytest.approx(1000)
    assert log_scale.averaging_window(0.9995) == pytest.approx(2000)
    fig = log_scale.plot_histograms(log_scale.draw_both_ways(n=1000))
    assert len(fig.axes) == 4


def _record(round_number, score, lr, omb, status="completed", duration=2.0, flat=True):
    """A trial's record as the tuning floor writes it (its values under "hyperparameters", beta
    beside one_minus_beta); `flat`: as run_search gives a course search's, values beside too."""
    values = with_derived({"learning_rate": lr, "one_minus_beta": omb, "units": 25, "layers": 2,
                           "batch_size": 32, "batch_norm": False, "optimizer": "momentum"})
    record = {"round": round_number, "trial": 1, "trial_id": "00", "status": status,
              "score": score, "reason": "", "duration_seconds": duration, "epochs": 2,
              "hyperparameters": values}
    return present.flatten(record) if flat else record


def test_round_summary_widths_best_and_median():
    boxes = [SearchSpace(), SearchSpace(learning_rate=(1e-2, 1e-1), one_minus_beta=(1e-3, 1e-2))]
    records = [_record(1, 0.5, 1e-3, 1e-2), _record(1, 0.7, 1e-2, 1e-2),
               _record(1, 0.0, 0.9, 1e-2, status="diverged"), _record(2, 0.9, 3e-2, 5e-3)]
    rows = search_rounds.round_summary(records, boxes)
    assert rows[0]["width_decades"] == pytest.approx(4 + 2)
    assert rows[1]["width_decades"] == pytest.approx(1 + 1)
    assert rows[0]["trials"] == 3 and rows[0]["best"] == 0.7 and rows[0]["median"] == 0.6
    assert rows[1]["best"] == 0.9
    assert "round" in search_rounds.format_rounds(rows)
    fig = search_rounds.plot_rounds(records, boxes, "val_accuracy")
    assert len(fig.axes[0].patches) == 2  # one rectangle per round
    # Left: every trial of each round in the (alpha, 1 - beta) plane, and the best as a star.
    points = np.concatenate([c.get_offsets() for c in fig.axes[0].collections])
    assert len(points) == 4 + 1
    np.testing.assert_allclose(points[-1], [3e-2, 5e-3])


def test_rounds_read_the_hyperparameters_of_generic_records_too():
    boxes = [SearchSpace()]
    records = [_record(1, 0.5, 1e-3, 1e-2, flat=False), _record(1, 0.7, 1e-2, 1e-2, flat=False)]
    assert search_rounds.round_summary(records, boxes)[0]["best"] == 0.7
    fig = search_rounds.plot_rounds(records, boxes, "val_accuracy")
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), [[1e-3, 1e-2],
                                                                          [1e-2, 1e-2]])


def test_parallel_use_and_same_trials():
    records = [_record(None, 0.5, 1e-3, 1e-2, duration=3.0), _record(None, 0.6, 1e-2, 1e-2,
                                                                     duration=5.0)]
    use = search_rounds.parallel_use(records, wall_seconds=5.0, workers=2)
    assert use["training_seconds"] == pytest.approx(8.0) and use["speedup"] == pytest.approx(1.6)
    assert use["overhead_seconds"] == pytest.approx(1.0)
    assert search_rounds.same_trials(records, list(reversed(records)))
    assert not search_rounds.same_trials(records, records[:1] + [_record(None, 0.6, 2e-2, 1e-2)])
    generic = [_record(None, 0.1, 1e-3, 1e-2, flat=False), _record(None, 0.2, 1e-2, 1e-2, flat=False)]
    assert search_rounds.same_trials(records, generic)  # the values count, not the scores


def test_side_by_side_pairs_each_trials_scores_and_plots_the_completed_ones():
    def search(*scores):
        records = []
        for trial, score in enumerate(scores, start=1):
            record = _record(None, score or 0.0, 1e-3, 1e-2,
                             status="completed" if score is not None else "diverged")
            records.append({**record, "trial": trial})
        return records

    alone, together = search(0.5, None, 0.7), search(0.52, None, 0.7)
    pairs = search_rounds.side_by_side(alone, list(reversed(together)))
    assert pairs == [(1, 0.5, 0.52), (2, None, None), (3, 0.7, 0.7)]
    fig = search_rounds.plot_side_by_side(pairs, "alone", "together", "val_accuracy")
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), [[0.5, 0.52], [0.7, 0.7]])
    with pytest.raises(ValueError, match=r"different trials: \[1, 2, 3\] and \[1, 2\]"):
        search_rounds.side_by_side(alone, together[:2])


def test_a_timed_search_starts_afresh_and_its_seconds_hold_its_trials(tmp_path):
    space = SearchSpace(units=(8, 8), layers=(1, 1), batch_size=(128,), batch_norm=(False,))
    first, _ = search_rounds.timed_search(SearchConfig(
        trials=2, epochs=1, space=space, directory=str(tmp_path), tensorboard=False, seed=1))
    again, seconds = search_rounds.timed_search(SearchConfig(
        trials=1, epochs=1, space=space, directory=str(tmp_path), tensorboard=False, seed=1))
    assert [r["trial"] for r in first.records] == [1, 2]
    assert [r["trial"] for r in again.records] == [1]  # overwritten, not continued
    assert again.records[0]["hyperparameters"] == first.records[0]["hyperparameters"]
    assert seconds >= again.records[0]["duration_seconds"] > 0


def test_scripted_nudges_write_the_control_file_and_keep_every_day(tmp_path):
    watcher = nudges.ScriptedNudges(tmp_path, {2: "learning_rate 0.1", 3: "rollback 1"})
    header = "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate\n"

    def after_epoch(rows):
        (tmp_path / "history.csv").write_text(header + "".join(rows))
        control = tmp_path / "control.txt"
        if control.exists():  # babysit consumes it
            control.unlink()

    watcher(1)
    assert not (tmp_path / "control.txt").exists()
    after_epoch(["1,2.0,0.2,2.1,0.25,0.003\n"])
    watcher(2)
    assert (tmp_path / "control.txt").read_text() == "learning_rate 0.1\n"
    after_epoch(["1,2.0,0.2,2.1,0.25,0.003\n", "2,1.0,0.6,1.2,0.55,0.1\n"])
    watcher(3)
    assert (tmp_path / "control.txt").read_text() == "rollback 1\n"
    after_epoch(["1,2.0,0.2,2.1,0.25,0.003\n", "2,0.9,0.7,1.0,0.65,0.1\n"])  # epoch 2 again

    result = BabysitResult(history={"loss": [2.0, 0.9], "accuracy": [0.2, 0.7],
                                    "val_loss": [2.1, 1.0], "val_accuracy": [0.25, 0.65],
                                    "learning_rate": [0.003, 0.1]})
    days = watcher.finish(result)
    assert [d["epoch"] for d in days] == [1, 2, 2]
    assert [d["kept"] for d in days] == [True, False, True]
    assert [d["val_accuracy"] for d in days] == [0.25, 0.55, 0.65]
    assert [d["control"] for d in days] == ["", "learning_rate 0.1", "rollback 1"]
    assert "rollback 1" in nudges.format_days(days)
    fig = nudges.plot_days(days)
    assert len(fig.axes) == 2


def test_grid_picture_titles_count_the_values_of_alpha():
    fig = grid_vs_random.plot_grid_vs_random(grid_vs_random.grid_points(5),
                                             grid_vs_random.random_points(25))
    titles = [ax.get_title() for ax in fig.axes]
    assert "5 values of alpha" in titles[0] and "25 values of alpha" in titles[1]


def _importance_rows(r2, top_shares):
    """importance.py's rows for alpha, 1 - beta and batch norm, shares 61%, 30%, 9%."""
    names = [("learning_rate", "alpha", "log10"), ("one_minus_beta", "1 - beta", "log10"),
             ("batch_norm", "batch norm", "0/1")]
    return [{"rank": rank, "hyperparameter": name, "label": label, "scale": scale,
             "share": share, "top_share": top, "resamples": 200, "forest_r2": r2, "trials": 30}
            for rank, ((name, label, scale), share, top)
            in enumerate(zip(names, (0.61, 0.30, 0.09), top_shares), start=1)]


def test_importance_beside_the_lecture_says_how_often_each_came_first():
    rows = _importance_rows(0.37, (0.93, 0.07, 0.0))
    text = pruning_importance.format_importance(rows)
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["1", "alpha", "61.0%"]
    assert "first in 93% of 200 resamples" in lines[1] and lines[1].endswith("1")
    assert "first in 7% of 200 resamples" in lines[2] and lines[2].endswith("2")
    assert lines[3].endswith("- (not in its list)")
    assert lines[4] == "(random forest on 30 trials, out-of-bag R^2 0.37)"
    assert lines[5] == importance_phrase(rows)
    assert "do not trust" not in text
    line = pruning_importance.top_line(rows)
    assert line == ("alpha matters most (61% of the explained variance; on top in 93% of 200 "
                    "resamples), R^2 0.37")


def test_importance_below_min_r2_is_not_to_be_trusted_and_names_no_winner():
    rows = _importance_rows(MIN_R2 - 0.32, (0.95, 0.05, 0.0))  # a steady top, in noise
    text = pruning_importance.format_importance(rows)
    assert f"out-of-bag R^2 {MIN_R2 - 0.32:.2f}, below {MIN_R2}: " in text
    assert "do not trust this ranking" in text
    assert text.splitlines()[-1] == importance_phrase(rows)
    line = pruning_importance.top_line(rows)
    assert "matters most" not in line and "too little" in line
    assert line.count("R^2") == 1 and not line.startswith("importance:")
    assert not pruning_importance.trusted(rows)
    assert pruning_importance.trusted(_importance_rows(MIN_R2, (0.95, 0.05, 0.0)))


def test_importance_without_a_clear_winner_gives_its_r2_once():
    rows = _importance_rows(0.31, (0.55, 0.40, 0.05))
    line = pruning_importance.top_line(rows)
    assert line.startswith("alpha leads, not clearly (on top in 55% of 200 resamples, 1 - beta in "
                           "40%")
    assert line.count("R^2") == 1 and "R^2 0.31" in line
    assert "do not trust" not in pruning_importance.format_importance(rows)


def test_no_importance_says_why():
    assert pruning_importance.format_importance([]) == pruning_importance.top_line([])
    assert "too few" in pruning_importance.top_line([])
