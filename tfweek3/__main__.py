"""`python -m tfweek3` runs the same command line as the `tfweek3` script."""

from tfweek3.cli.main import run

run()
