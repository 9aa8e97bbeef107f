"""Population-based training's oracle, driven directly (no training): exploit and explore against
their definitions, one trial per member and generation, the generation barrier, the same search
whatever the order trials end in, resuming, and a population that cannot go on.

The oracle is generic (any declared KerasTuner space); these tests give it the course network's
space, as `tfweek3 tune --strategy pbt` does, and perturb what the course perturbs."""

import json
import math
import random
import statistics

import keras_tuner as kt
import pytest

from tfweek3.search.space import HP_NAMES, SearchSpace, define_hyperparameters
from tfweek3.search.tuner import COURSE_PERTURB
from tfweek3.tuning.pbt import (
    GENERATION,
    MEMBER,
    PARENT,
    NoSurvivorError,
    PBTOracle,
    explore,
    next_generation_values,
    sample_member,
)
from tfweek3.tuning.population import Ended, Population
from tfweek3.tuning.storage import SearchMismatch

SEARCH_SPACE = SearchSpace(learning_rate=(1e-4, 1.0), one_minus_beta=(1e-3, 1e-1))
SETTINGS = Population(population=4, epochs=6, ready_epochs=2, seed=3, resample_probability=0.0)
OBJECTIVE = kt.Objective("val_accuracy", "max")
PERTURB = list(COURSE_PERTURB)


def declared(space=SEARCH_SPACE) -> kt.HyperParameters:
    """The course network's space as its hypermodel declares it to KerasTuner."""
    hp = kt.HyperParameters()
    define_hyperparameters(hp, space)
    return hp


SPACE = declared()


class ScriptedTuner(kt.Tuner):
    """A tuner that only gives an oracle its project folder; the tests drive the oracle."""

    def run_trial(self, trial, *args, **kwargs):
        raise NotImplementedError


def oracle_in(folder, settings=SETTINGS, space=SPACE):
    oracle = PBTOracle(settings, objective=OBJECTIVE, perturb=PERTURB,
                       hyperparameters=space.copy())
    ScriptedTuner(oracle=oracle, directory=str(folder), project_name="pbt")
    if (folder / "pbt" / "oracle.json").exists():
        oracle.reload()
    return oracle


def finish(oracle, trial, score, diverged=False):
    metrics = {"val_accuracy": score, **({"diverged": 1.0} if diverged else {})}
    oracle.update_trial(trial.trial_id, metrics)
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def by_member_score(trial):
    """Member m scores m / 10 + 0.01 * generation: member 1 is always the worst and member 4
    the best, a ranking the tests can work out by hand."""
    values = trial.hyperparameters.values
    return values[MEMBER] / 10 + 0.01 * values[GENERATION]


def run_population(oracle, score=by_member_score, tuners=("tuner0",), order=None):
    """Hand out trials to `tuners` in turn and end them (in `order`, a shuffle seed, if given)
    until the oracle stops; returns the values of each (member, generation)."""
    running = []
    rng = random.Random(order)
    while True:
        answers = [(tuner, oracle.create_trial(tuner)) for tuner in tuners]
        started = [t for _, t in answers if t.status == "RUNNING" and t not in running]
        running += started
        if not running:
            assert all(t.status == "STOPPED" for _, t in answers)
            break
        trial = running.pop(rng.randrange(len(running)) if order is not None else 0)
        finish(oracle, trial, score(trial))
    return {(t.hyperparameters.values[MEMBER], t.hyperparameters.values[GENERATION]):
            t.hyperparameters.values for t in oracle.trials.values()}


def test_a_new_member_is_drawn_on_the_course_scales():
    rng = random.Random(0)
    members = [sample_member(SPACE, rng) for _ in range(4000)]
    for name, (low, high) in (("learning_rate", SEARCH_SPACE.learning_rate),
                              ("one_minus_beta", SEARCH_SPACE.one_minus_beta)):
        logs = [math.log10(m[name]) for m in members]
        assert min(logs) >= math.log10(low) and max(logs) <= math.log10(high)
        # log10 uniform on [a, b]: mean (a + b) / 2, standard deviation (b - a) / sqrt(12).
        a, b = math.log10(low), math.log10(high)
        assert statistics.mean(logs) == pytest.approx((a + b) / 2, abs=0.05 * (b - a))
        assert statistics.stdev(logs) == pytest.approx((b - a) / math.sqrt(12), rel=0.05)
    assert {m["units"] for m in members} == set(range(SEARCH_SPACE.units[0],
                                                      SEARCH_SPACE.units[1] + 1))
    assert {m["batch_size"] for m in members} == set(SEARCH_SPACE.batch_size)
    assert {m["optimizer"] for m in members} == set(SEARCH_SPACE.optimizer)
    assert {m["batch_norm"] for m in members} == {False, True}
    assert all(set(m) == set(HP_NAMES) for m in members)


def test_explore_multiplies_by_the_factor_or_resamples_and_stays_in_the_range():
    values = {**sample_member(SPACE, random.Random(1)), "learning_rate": 0.01,
              "one_minus_beta": 0.01}
    rng = random.Random(2)
    draws = [explore(values, SPACE, PERTURB, rng, factor=1.25, resample_probability=0.2)
             for _ in range(4000)]
    for name in PERTURB:
        ratios = [d[name] / values[name] for d in draws]
        perturbed = [r for r in ratios if r == pytest.approx(1.25) or r == pytest.approx(0.8)]
        # Resampled with probability 0.2 (a resample landing on x1.25 or x0.8 exactly: never).
        assert 1 - len(perturbed) / len(draws) == pytest.approx(0.2, abs=0.03)
        assert sum(r == pytest.approx(1.25) for r in perturbed) / len(perturbed) == \
            pytest.approx(0.5, abs=0.04)
    kept = ("units", "layers", "batch_size", "batch_norm", "optimizer")
    assert all({k: d[k] for k in kept} == {k: values[k] for k in kept} for d in draws)
    # At the top of the range, x1.25 is clipped to the range's end; a fixed range stays fixed.
    top = {**values, "learning_rate": 1.0}
    fixed = declared(SearchSpace(one_minus_beta=(0.01, 0.01)))
    for d in (explore(top, fixed, PERTURB, random.Random(s), 1.25, 0.0) for s in range(50)):
        assert d["learning_rate"] in (1.0, pytest.approx(0.8))
        assert d["one_minus_beta"] == 0.01


def test_explore_changes_only_the_hyperparameters_it_is_told_to():
    values = {**sample_member(SPACE, random.Random(1)), "learning_rate": 0.01,
              "one_minus_beta": 0.01}
    draws = [explore(values, SPACE, ["learning_rate"], random.Random(s), 1.25, 0.2)
             for s in range(200)]
    assert all(d["one_minus_beta"] == 0.01 for d in draws)
    assert sum(d["learning_rate"] != 0.01 for d in draws) == 200


def ended(scores):
    """Generation-1 members with the given scores (None: diverged or failed)."""
    rng = random.Random(5)
    return [Ended(m, f"0{m - 1}", {**sample_member(SPACE, rng), MEMBER: m, GENERATION: 1}, s)
            for m, s in enumerate(scores, start=1)]


def next_values(population, member, settings=SETTINGS):
    return next_generation_values(population, member, 2, settings, "max", SPACE, PERTURB)


def test_the_bottom_quantile_copies_the_top_and_the_others_go_on():
    population = ended([0.5, 0.9, 0.1, 0.7, 0.8, 0.3, 0.95, 0.6])  # 8 members: 2 at each end
    settings = Population(population=8, epochs=6, ready_epochs=2, seed=3,
                          resample_probability=0.0)
    steps = {m: next_values(population, m, settings) for m in range(1, 9)}
    top = {"01", "06"}  # members 2 (0.9) and 7 (0.95)
    for member, values in steps.items():
        own = population[member - 1]
        assert values[MEMBER] == member and values[GENERATION] == 2
        if member in (3, 6):  # 0.1 and 0.3: the bottom two
            assert values[PARENT] in top
            parent = population[int(values[PARENT])]
            kept = ("units", "layers", "batch_size", "batch_norm", "optimizer")
            assert {k: values[k] for k in kept} == {k: parent.values[k] for k in kept}
            for name, (low, high) in (("learning_rate", SEARCH_SPACE.learning_rate),
                                      ("one_minus_beta", SEARCH_SPACE.one_minus_beta)):
                value = parent.values[name]
                assert values[name] in (pytest.approx(min(high, value * 1.25)),
                                        pytest.approx(max(low, value * 0.8)))
        else:
            assert values[PARENT] == own.trial_id
            assert {k: values[k] for k in HP_NAMES} == {k: own.values[k] for k in HP_NAMES}


def test_a_minimized_objective_ranks_the_other_way():
    # The same scores as losses: member 3 (0.1) is now the best and member 2 (0.9) the worst,
    # which copies member 3.
    population = ended([0.5, 0.9, 0.1, 0.7])
    steps = {m: next_generation_values(population, m, 2, SETTINGS, "min", SPACE, PERTURB)
             for m in range(1, 5)}
    assert [steps[m][PARENT] for m in (1, 2, 3, 4)] == ["00", "02", "02", "03"]


def test_a_diverged_member_copies_a_good_one_and_a_dead_population_stops():
    # Member 2 diverged: ranked last, it fills the bottom quantile (1 of 4) and copies member 3,
    # the top one; member 1, the worst of those that completed, goes on.
    population = ended([0.5, None, 0.9, 0.7])
    steps = {m: next_values(population, m) for m in range(1, 5)}
    assert [steps[m][PARENT] for m in (1, 2, 3, 4)] == ["00", "02", "02", "03"]
    # Two diverged members both copy, beyond the quantile.
    population = ended([0.5, None, 0.9, None])
    steps = {m: next_values(population, m) for m in range(1, 5)}
    assert [steps[m][PARENT] for m in (1, 2, 3, 4)] == ["00", "02", "02", "02"]
    with pytest.raises(NoSurvivorError, match="every member of generation 1 diverged or failed"):
        next_values(ended([None, None, None, None]), 1)


def test_each_member_has_one_trial_per_generation_and_the_worst_copies_the_best(tmp_path):
    oracle = oracle_in(tmp_path)
    values = run_population(oracle)
    assert sorted(values) == [(m, g) for m in range(1, 5) for g in range(1, 4)]
    trial_of = {(v[MEMBER], v[GENERATION]): t.trial_id for t in oracle.trials.values()
                for v in [t.hyperparameters.values]}
    for (member, generation), v in values.items():
        if generation == 1:
            assert PARENT not in v
            continue
        # Scores rise with the member number: member 1 is the bottom quantile (n = 1 of 4) and
        # copies member 4, the top; everyone else goes on from its own previous generation.
        expected_parent = 4 if member == 1 else member
        assert v[PARENT] == trial_of[(expected_parent, generation - 1)]
    # Trials are numbered in the order they were handed out: generation by generation.
    assert [t.hyperparameters.values[GENERATION] for t in oracle.trials.values()] == \
        [1] * 4 + [2] * 4 + [3] * 4


def test_the_next_generation_waits_for_the_whole_population(tmp_path):
    settings = Population(population=2, epochs=6, ready_epochs=2, seed=3,
                          resample_probability=0.0)
    oracle = oracle_in(tmp_path, settings)
    first, second = oracle.create_trial("tuner0"), oracle.create_trial("tuner1")
    finish(oracle, first, 0.5)
    assert oracle.create_trial("tuner0").status == "IDLE"  # member 2's generation 1 still runs
    finish(oracle, second, 0.6)
    assert oracle.create_trial("tuner0").hyperparameters.values[GENERATION] == 2


def test_the_search_is_the_same_whatever_order_the_trials_end_in(tmp_path):
    alone = run_population(oracle_in(tmp_path / "one"))
    for order in (1, 2):
        assert run_population(oracle_in(tmp_path / f"three_{order}"),
                              tuners=("a", "b", "c"), order=order) == alone


def test_a_trial_cut_off_runs_again_with_its_values_and_no_generation_runs_twice(tmp_path):
    oracle = oracle_in(tmp_path)
    for _ in range(5):  # generation 1, then member 1's generation 2 (it copies member 4)
        trial = oracle.create_trial("tuner0")
        if trial.hyperparameters.values[GENERATION] == 1:
            finish(oracle, trial, by_member_score(trial))
    cut = trial.hyperparameters.values
    assert cut[GENERATION] == 2 and cut[MEMBER] == 1  # left RUNNING: the process was killed

    resumed = oracle_in(tmp_path)
    again = resumed.create_trial("tuner0")
    assert again.trial_id == trial.trial_id and again.hyperparameters.values == cut
    values = run_population(resumed)
    assert sorted(values) == [(m, g) for m in range(1, 5) for g in range(1, 4)]
    assert len(resumed.trials) == 12


def test_a_folder_of_another_population_is_refused(tmp_path):
    oracle = oracle_in(tmp_path)
    finish(oracle, oracle.create_trial("tuner0"), 0.5)
    other = Population(population=6, epochs=6, ready_epochs=2, seed=3, resample_probability=0.0)
    with pytest.raises(SearchMismatch, match="belongs to a pbt search with --population 4 "
                       "--epochs 6 --ready-epochs 2 .* run it with those settings"):
        oracle_in(tmp_path, other)
    # Every setting that shapes the population counts, the seed too; the same settings resume.
    with pytest.raises(SearchMismatch, match="--seed 3"):
        oracle_in(tmp_path, Population(population=4, epochs=6, ready_epochs=2, seed=4,
                                       resample_probability=0.0))
    assert len(oracle_in(tmp_path).trials) == 1


def test_a_population_that_all_diverged_stops_the_search_saying_why(tmp_path):
    settings = Population(population=2, epochs=6, ready_epochs=2, seed=3,
                          resample_probability=0.0)
    oracle = oracle_in(tmp_path, settings)
    for _ in range(2):
        trial = oracle.create_trial("tuner0")
        finish(oracle, trial, 0.0, diverged=True)
    assert oracle.create_trial("tuner0").status == "STOPPED"
    saved = json.loads((tmp_path / "pbt" / "oracle.json").read_text())
    assert saved["failure_stop"] == "every member of generation 1 diverged or failed"


def test_member_generation_and_parent_survive_the_trip_to_a_worker(tmp_path):
    """In a --workers search a trial goes to its worker as a protocol buffer: the values that
    are not in the search space (member, generation, parent) must arrive too."""
    oracle = oracle_in(tmp_path)
    run_population(oracle)
    trial = oracle.trials[max(oracle.trials)]
    arrived = kt.engine.trial.Trial.from_proto(trial.to_proto())
    assert arrived.hyperparameters.values == trial.hyperparameters.values
    assert {MEMBER, GENERATION, PARENT} <= set(arrived.hyperparameters.values)
    assert (type(arrived.hyperparameters.values[MEMBER]),
            type(arrived.hyperparameters.values[PARENT])) == (int, str)
