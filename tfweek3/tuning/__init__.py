"""Floor 3, tuning: hyperparameter search with KerasTuner (sections 1-3).

    search_space.py            alpha and 1 - beta on log scales; the KerasTuner space
    config.py                  SearchConfig: one search's settings, to command-line flags and back
    keras_tuner_internals.py   the few private KerasTuner names we depend on, each with its reason
    oracles.py                 KerasTuner's random and grid oracles, plus divergence and resuming
    tuner.py                   the KerasTuner tuner whose trials train with tfweek3's loop
    results.py                 trials.csv / trials.json, the table and the summary line
    figures.py                 scores.png
    pruning.py                 the median stopping rule (--prune median), a pure function of the reports
    importance.py              each hyperparameter's share of the explained variance (a random forest)
    trial_figures.py           curves.png, importance.png, parallel.png
    search.py                  run_search: random, grid, coarse to fine
    caviar.py                  many models at once: a chief and worker processes (no TensorFlow)
    pbt.py                     population-based training: its KerasTuner oracle, exploit and explore
    pbt_tuner.py               a pbt trial: one member's generation, from its parent's checkpoint
    pbt_results.py             a pbt search's winner, lineage, best_schedule.json, schedules.png
    babysit.py                 pandas: one model nudged through a control file

Imports from tfweek3.layers and tfweek3.training only.
"""
