"""What a pbt search leaves, from its records: the winner judged on the last generation, its
lineage through the copies, best_schedule.json and schedules.png, written without TensorFlow."""

import json
import subprocess
import sys

from tfweek3.search.config import SearchConfig
from tfweek3.training.schedule import Schedule, Segment
from tfweek3.tuning.pbt_results import (
    all_copies,
    best_schedule,
    copies,
    final_ranking,
    lineage,
    winner_checkpoint,
)

CONFIG = SearchConfig(strategy="pbt", population=2, epochs=5, ready_epochs=2, seed=4,
                      directory="runs/p")


def record(trial, member, generation, parent, score, alpha, units=16, status="completed"):
    return {"trial": trial, "trial_id": f"{trial - 1:02d}", "member": member,
            "generation": generation, "parent": parent, "score": score, "status": status,
            "learning_rate": alpha, "one_minus_beta": 0.1, "beta": 0.9, "units": units,
            "layers": 1, "batch_size": 32, "batch_norm": True, "optimizer": "adam"}


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


def test_the_winner_is_the_best_member_after_its_last_epoch():
    ranked = final_ranking(RECORDS, "max")
    assert [r["trial"] for r in ranked] == [5, 6]  # not trial 4, a generation-2 score
    assert final_ranking(RECORDS[:4], "max")[0]["trial"] == 4


def test_the_lineage_follows_the_copies_back_to_generation_one():
    chain = lineage(RECORDS, RECORDS[4])
    assert [r["trial"] for r in chain] == [2, 3, 5]
    assert copies(chain) == 1 and all_copies(RECORDS) == 1
    assert winner_checkpoint(CONFIG, RECORDS[4]) == "runs/p/pbt/trial_04/checkpoints/ckpt-5"


def test_the_best_schedule_is_the_lineages_alpha_and_beta_generation_by_generation():
    schedule = best_schedule(RECORDS, RECORDS[4], CONFIG)
    assert schedule.segments == (Segment(1, 2, 0.02, 0.9), Segment(3, 4, 0.025, 0.9),
                                 Segment(5, 5, 0.025, 0.9))
    assert (schedule.hidden_units, schedule.batch_norm, schedule.optimizer,
            schedule.batch_size) == ((16,), "manual", "adam", 32)
    assert [step["trial"] for step in schedule.found_by["lineage"]] == [2, 3, 5]
    assert Schedule.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule


def test_the_supervisor_writes_the_schedule_files_without_tensorflow(tmp_path):
    code = f"""
import json, sys
from tfweek3.search.config import SearchConfig
from tfweek3.tuning.results import SearchResult
from tfweek3.tuning.pbt_results import write_population_results
records = json.loads(sys.argv[1])
config = SearchConfig(strategy="pbt", population=2, epochs=5, ready_epochs=2,
                      directory={str(tmp_path)!r})
write_population_results(SearchResult(records, records[4], config.directory), config)
print(sorted(m for m in ("tensorflow", "keras", "keras_tuner") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code, json.dumps(RECORDS)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "schedules.png").read_bytes()[:4] == b"\x89PNG"
    written = json.loads((tmp_path / "best_schedule.json").read_text())
    assert [s["learning_rate"] for s in written["segments"]] == [0.02, 0.025, 0.025]
