"""The files `tfweek3 exercise start NAME` writes: the signature, the formula in the note's names,
and TODO where the learner writes. Each is valid Python that fails its checks until written."""
