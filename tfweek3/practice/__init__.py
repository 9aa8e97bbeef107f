"""Practice: the week's functions written by the learner and checked by the package.

    tfweek3 exercise list                      the exercises, in the course's order
    tfweek3 exercise start batch_norm_forward  writes batch_norm_forward.py, with TODOs
    tfweek3 exercise check batch_norm_forward  one line per check, then a verdict

    registry.py          the exercises: name, section of the note, what the learner writes
    starters/            the files `start` writes: signature, the formula, TODO
    solutions/           the package's own answers (the tests grade them: they pass every check)
    learner.py           imports the learner's file and calls it: errors and hangs become one line
    grader.py            runs an exercise's checks and names recognized mistakes
    checks_*.py          each exercise's checks against tfweek3's references (NumPy, Keras,
                         finite differences) and the classic wrong answers they recognize

The grader compares the learner's output with the reference first; when it
differs, with known wrong variants (sigma2 divided by m - 1, epsilon outside
the square root, ...), and when one matches it says which mistake it is.

Sits beside tfweek3.course: it imports tfweek3.layers, .training and .tuning
(the references); nothing there imports it. `registry` imports neither NumPy
nor TensorFlow, so that `tfweek3 exercise list` and `start` answer at once.
"""
