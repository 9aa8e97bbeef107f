"""Floor 2, training: the data, the course network and the GradientTape loop (section 6).

    data.py          the data sets (digits, SIGNS, .npz) and their mini-batches
    network.py       LINEAR -> BN -> RELU per hidden layer, then softmax
    optimizers.py    the note's four optimizers by name, with alpha and beta
    loop.py          `train`: the lecture's tf.GradientTape step, a whole epoch in one tf.function
    divergence.py    DivergedError: the loss became NaN or infinite
    checkpoints.py   a checkpoint per epoch: resume, roll back
    schedule.py      alpha and beta changing at given epochs (a pbt schedule), and its replay
    evaluation.py    cost and accuracy with training=False (the moving statistics)

Imports from tfweek3.layers only.
"""
