"""The notebooks' experiments, apart from the library: one module per claim of the note.

Each module measures something the course says (log scales, grid against random, the
noise of batch statistics, covariate shift, ...) with the library's floors; the
notebooks in notebooks/ call them. Nothing in tfweek3.layers, .training or .tuning
imports from here.
"""
