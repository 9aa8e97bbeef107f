"""Floor 4, search: the course's own search, `tfweek3 tune`, on the tuning floor's tuners.

    space.py        the course network's seven hyperparameters (SearchSpace)
    hypermodel.py   the course network and its space as one KerasTuner hypermodel, trained
                    with the week's GradientTape loop
    user_model.py   `--model FILE.py:NAME`: a hypermodel of your own instead
    config.py       SearchConfig: one search's settings, to command-line flags and back
    tuner.py        the tuning floor's tuner for each strategy, in the process that trains
    run.py          run_search: the search, its results files, its report
    present.py      the course's names in the progress lines and tables (alpha, beta, ...)
    schedule.py     pbt: best_schedule.json, the schedule `tfweek3 train --schedule` replays
    caviar.py       --workers N: a chief and worker processes (no TensorFlow)
    babysit.py      pandas: one model nudged through a control file

Imports from tfweek3.layers, tfweek3.training and tfweek3.tuning only.
"""
