"""Floor 3, tuning: the week's search methods as KerasTuner tuners for any `build(hp)` (sections 1-3).

    scales.py                  alpha and 1 - beta on log scales: NumPy samplers, hp_alpha, hp_beta
    tuners.py                  EpochTuner: a KerasTuner Tuner whose trials report every epoch
    random_search.py           RandomSearch and GridSearch, with median pruning
    coarse_to_fine.py          CoarseToFine: rounds of random search, each box narrowed
    pbt.py, pbt_tuner.py       PopulationBasedTraining: its oracle, and its trials
    population.py              a PBT population's settings and ranking (no TensorFlow)
    oracles.py                 KerasTuner's random and grid oracles, plus epoch reports, pruning,
                               resuming and failures in a row
    pruning.py                 the median stopping rule, a pure function of the reports
    outcomes.py                a trial's result, as the oracle scores it
    reports.py                 a trial's epoch reports, best weights and TensorBoard logs
    results.py                 trials.csv / trials.json, the table and the summary line
    dimensions.py              the declared hyperparameters and the scales they are drawn on
    importance.py              each hyperparameter's share of the explained variance (a forest)
    figures.py                 scores.png, parallel.png, curves.png, importance.png (drawn from
                               the results; results.py never draws)
    pbt_results.py             a PBT search's winner, lineages and schedules.png
    roles.py                   KerasTuner's distributed mode: chief, worker or single
    storage.py                 local or gs:// files, written atomically
    keras_tuner_internals.py   the few private KerasTuner names we depend on, each with its reason

Imports from tfweek3.layers and tfweek3.training only; nothing here knows the course network.
"""
