"""The package's own answers to the exercises, one file per exercise, graded by the tests.

Try the exercise before reading them: `tfweek3 exercise start NAME`.
"""
