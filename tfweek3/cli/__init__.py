"""Floor 4, the `tfweek3` command line: one module per subcommand.

    main.py      `tfweek3 COMMAND`: the parser, Ctrl-C and SIGTERM, exit statuses
    types.py     argparse types: a bad value is an error naming its flag
    train.py, tune.py, babysit.py, demo.py, exercise.py (and exercise_child.py, the process
    `tfweek3 exercise check` runs the learner's code in)

Parsing and --help import no TensorFlow; a command imports what it needs when it runs.
"""
