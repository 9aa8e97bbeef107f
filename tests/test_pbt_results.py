"""What a pbt search leaves, from its records: the winner judged on the last generation, its
lineage through the copies, the course's best_schedule.json and schedules.png, written without
TensorFlow."""

import json
import subprocess
import sys

import keras_tuner as kt

from tfweek3.search.config import SearchConfig
from tfweek3.search.present import flatten
from tfweek3.search.schedule import best_schedule, winner_checkpoint
from tfweek3.search.space import LABELS, SearchSpace, define_hyperparameters
from tfweek3.training.schedule import Schedule, Segment
from tfweek3.tuning.dimensions import dimensions
from tfweek3.tuning.pbt_results import (
    all_copies,
    copies,
    final_ranking,
    format_population_table,
    generation_line,
    lineage,
    plot_schedules,
)
from tfweek3.tuning.results import SearchResult

CONFIG = SearchConfig(strategy="pbt", population=2, epochs=5, ready_epochs=2, seed=4,
                      directory="runs/p")
PERTURB = ["learning_rate", "one_minus_beta"]


def record(trial, member, generation, parent, score, alpha, units=16, status="completed"):
    """A course record as run.collect reads it: hyperparameters under their declared names (beta
    derived), and beside the other fields too (present.flatten)."""
    return flatten({
        "round": None, "trial": trial, "trial_id": f"{trial - 1:02d}", "status": status,
        "score": score, "reason": "", "duration_seconds": 1.5, "epochs": 2,
        "pruned_median": None, "curve": [score / 2, score], "member": member,
        "generation": generation, "parent": parent,
        "hyperparameters": {"learning_rate": alpha, "beta": 0.9, "one_minus_beta": 0.1,
                            "units": units, "layers": 1, "batch_size": 32, "batch_norm": True,
                            "optimizer": "adam"}})


# Two members, three generations (epochs 1-2, 3-4, 5): member 1 copies member 2 in generation 2,
# then member 2 diverges in generation 3. The best score of all is member 2's in generation 2.
RECORDS = [
    record(1, 1, 1, None, 0.50, 0.01, units=8),
    record(2, 2, 1, None, 0.80, 0.02),
    record(3, 1, 2, 2, 0.85, 0.025),
    record(4, 2, 2, 2, 0.99, 0.02),
    record(5, 1, 3, 3, 0.90, 0.025),
    record(6, 2, 3, 4, 0.0, 0.02, status="diverged"),
]


def space_config():
    """The course space's KerasTuner config, as oracle.json saves it."""
    hp = kt.HyperParameters()
    define_hyperparameters(hp, SearchSpace())
    return hp.get_config()


def test_the_winner_is_the_best_member_after_its_last_epoch():
    ranked = final_ranking(RECORDS, "max")
    assert [r["trial"] for r in ranked] == [5, 6]  # not trial 4, a generation-2 score
    assert final_ranking(RECORDS[:4], "max")[0]["trial"] == 4
    # A minimized objective: the lowest last-generation score wins; a diverged one still last.
    assert [r["trial"] for r in final_ranking(RECORDS, "min")] == [5, 6]
    assert [r["trial"] for r in final_ranking(RECORDS[:4], "min")] == [3, 4]


def test_the_lineage_follows_the_copies_back_to_generation_one():
    chain = lineage(RECORDS, RECORDS[4])
    assert [r["trial"] for r in chain] == [2, 3, 5]
    assert copies(chain) == 1 and all_copies(RECORDS) == 1
    assert [r["trial"] for r in lineage(RECORDS, RECORDS[5])] == [2, 4, 6]
    assert copies(lineage(RECORDS, RECORDS[5])) == 0
    assert winner_checkpoint(CONFIG, RECORDS[4]) == "runs/p/pbt/trial_04/checkpoint.weights.h5"


def test_each_generation_has_a_line_saying_where_its_weights_came_from():
    settings = CONFIG.population_settings()
    by_trial = {r["trial"]: r for r in RECORDS}
    lines = [generation_line(r, by_trial.get(r["parent"]), settings, "val_accuracy")
             for r in RECORDS]
    assert lines[0].startswith("trial 1/6 generation 1/3 member 1 new: learning_rate=0.01 ")
    assert lines[2].startswith("trial 3/6 generation 2/3 member 1 copied member 2 (trial 2): "
                               "learning_rate=0.025 ")
    assert lines[3].startswith("trial 4/6 generation 2/3 member 2 went on: ")
    assert lines[2].endswith("-> val_accuracy=0.8500 (1.5s)")
    assert "-> diverged: " in lines[5]
    table = format_population_table(final_ranking(RECORDS, "max"), RECORDS, "val_accuracy")
    rows = table.splitlines()
    assert rows[0].split()[0] == "member" and rows[0].split()[-1] == "copies"
    assert [(row.split()[0], row.split()[-1]) for row in rows[1:]] == [("1", "1"), ("2", "0")]


def test_the_best_schedule_is_the_lineages_alpha_and_beta_generation_by_generation():
    schedule = best_schedule(RECORDS, RECORDS[4], CONFIG)
    assert schedule.segments == (Segment(1, 2, 0.02, 0.9), Segment(3, 4, 0.025, 0.9),
                                 Segment(5, 5, 0.025, 0.9))
    assert (schedule.hidden_units, schedule.batch_norm, schedule.optimizer,
            schedule.batch_size) == ((16,), "manual", "adam", 32)
    assert [step["trial"] for step in schedule.found_by["lineage"]] == [2, 3, 5]
    assert (schedule.found_by["score"], schedule.found_by["member"]) == (0.90, 1)
    assert Schedule.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule


def test_the_schedules_figure_draws_the_winners_lineage_in_bold():
    result = SearchResult(RECORDS, RECORDS[4], "runs/p", dims=dimensions(space_config(), LABELS),
                          strategy="pbt", epochs=5)
    chain = lineage(RECORDS, RECORDS[4])
    fig = plot_schedules(result, CONFIG.population_settings(), PERTURB, chain)
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_ylabel() for ax in axes] == ["alpha", "1 - beta"]
    for ax, name in zip(axes, PERTURB):
        (bold,) = [line for line in ax.get_lines() if line.get_linewidth() == 2.8]
        # Each generation of the lineage as a step over its epochs: 0-2, 2-4, 4-5.
        assert list(bold.get_xdata()) == [0, 2, 2, 4, 4, 5]
        assert list(bold.get_ydata()) == [r["hyperparameters"][name] for r in chain
                                          for _ in range(2)]
        assert ax.get_yscale() == "log"


def test_the_supervisor_writes_the_schedule_files_without_tensorflow(tmp_path):
    (tmp_path / "pbt").mkdir()
    (tmp_path / "pbt" / "oracle.json").write_text(json.dumps({"perturb": PERTURB}))
    code = f"""
import json, sys
from tfweek3.search.config import SearchConfig
from tfweek3.search.run import write_all
from tfweek3.search.space import LABELS
from tfweek3.tuning.dimensions import dimensions
from tfweek3.tuning.results import SearchResult
records, space = json.loads(sys.argv[1]), json.loads(sys.argv[2])
config = SearchConfig(strategy="pbt", population=2, epochs=5, ready_epochs=2,
                      directory={str(tmp_path)!r})
write_all(SearchResult(records, records[4], config.directory, dims=dimensions(space, LABELS),
                       strategy="pbt", epochs=5), config)
print(sorted(m for m in ("tensorflow", "keras", "keras_tuner") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code, json.dumps(RECORDS),
                           json.dumps(space_config())], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "schedules.png").read_bytes()[:4] == b"\x89PNG"
    written = json.loads((tmp_path / "best_schedule.json").read_text())
    assert [s["learning_rate"] for s in written["segments"]] == [0.02, 0.025, 0.025]
    assert written["found_by"]["trial"] == 5
    header = (tmp_path / "trials.csv").read_text().splitlines()[0].split(",")
    assert header[-3:] == ["member", "generation", "parent"]
