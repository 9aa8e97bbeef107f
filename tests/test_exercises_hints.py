"""Every hint of `tfweek3 exercise check`, earned by a deliberately wrong solution.

Each wrong solution is the package's own solution with one classic slip edited
in; the grader must fail it and name exactly that slip, and nothing else.
"""

import pytest

from tfweek3.practice import grader, registry

# (exercise, the mistake's key, edits of the solution's text: (old, new[, count]))
MUTATIONS = [
    ("sample_alpha", "alpha_uniform",
     [("r = rng.uniform(np.log10(low), np.log10(high), size)\n    return 10.0 ** r",
       "return rng.uniform(low, high, size)")]),
    ("sample_alpha", "alpha_ends_not_logged",
     [("rng.uniform(np.log10(low), np.log10(high), size)", "rng.uniform(low, high, size)")]),
    ("sample_alpha", "alpha_mixed_bases", [("return 10.0 ** r", "return np.exp(r)")]),
    ("sample_alpha", "alpha_fixed_range",
     [("r = rng.uniform(np.log10(low), np.log10(high), size)", "r = -4 * rng.random(size)")]),
    ("sample_alpha", "rng_ignored", [("rng.uniform(", "np.random.uniform(")]),
    ("sample_beta", "beta_uniform",
     [("r = rng.uniform(np.log10(1 - high), np.log10(1 - low), size)\n    return 1 - 10.0 ** r",
       "return rng.uniform(low, high, size)")]),
    ("sample_beta", "beta_is_one_minus", [("return 1 - 10.0 ** r", "return 10.0 ** r")]),
    ("sample_beta", "beta_ends_of_beta",
     [("np.log10(1 - high), np.log10(1 - low)", "np.log10(low), np.log10(high)")]),
    ("sample_beta", "beta_fixed_range",
     [("rng.uniform(np.log10(1 - high), np.log10(1 - low), size)", "rng.uniform(-3, -1, size)")]),
    ("sample_beta", "rng_ignored", [("rng.uniform(", "np.random.default_rng().uniform(")]),
    ("batch_norm_forward", "unbiased_variance", [("axis=0) / m\n    z_norm", "axis=0) / (m - 1)\n    z_norm")]),
    ("batch_norm_forward", "epsilon_outside_sqrt",
     [("np.sqrt(sigma2 + epsilon)", "(np.sqrt(sigma2) + epsilon)")]),
    ("batch_norm_forward", "no_square_root", [("np.sqrt(sigma2 + epsilon)", "(sigma2 + epsilon)")]),
    ("batch_norm_forward", "statistics_over_units",
     [("m = z.shape[0]", "m = z.shape[1]"), ("axis=0)", "axis=1, keepdims=True)")]),
    ("batch_norm_forward", "gamma_beta_swapped",
     [("z_tilde = gamma * z_norm + beta", "z_tilde = beta * z_norm + gamma")]),
    ("batch_norm_forward", "epsilon_ignored", [("np.sqrt(sigma2 + epsilon)", "np.sqrt(sigma2 + 1e-8)")]),
    ("batch_norm_forward", "one_pass_variance",
     [("np.sum((z - mu) ** 2, axis=0) / m", "np.sum(z ** 2, axis=0) / m - mu ** 2")]),
    ("batch_norm_backward", "dz_holds_statistics_fixed",
     [("m * dz_tilde - dbeta - z_norm * dgamma", "m * dz_tilde")]),
    ("batch_norm_backward", "dz_without_mu_path",
     [("m * dz_tilde - dbeta - z_norm * dgamma", "m * dz_tilde - z_norm * dgamma")]),
    ("batch_norm_backward", "dz_without_sigma2_path",
     [("m * dz_tilde - dbeta - z_norm * dgamma", "m * dz_tilde - dbeta")]),
    ("batch_norm_backward", "dz_missing_1_over_m", [("(m * np.sqrt(", "(np.sqrt(")]),
    ("batch_norm_backward", "dz_missing_gamma", [("dz = gamma / (m", "dz = 1 / (m")]),
    ("batch_norm_backward", "dgamma_dbeta_swapped",
     [("return dz, dgamma, dbeta", "return dz, dbeta, dgamma")]),
    ("batch_norm_backward", "dgamma_dbeta_mean", [("np.sum(dz_tilde", "np.mean(dz_tilde")]),
    ("softmax_cost", "softmax_overflow",
     [("t = np.exp(z - np.max(z, axis=1, keepdims=True))", "t = np.exp(z)")]),
    ("softmax_cost", "softmax_global_max", [("np.max(z, axis=1, keepdims=True)", "np.max(z)", 1)]),
    ("softmax_cost", "softmax_columns",
     [("np.max(z, axis=1, keepdims=True)", "np.max(z, axis=0, keepdims=True)", 1),
      ("np.sum(t, axis=1, keepdims=True)", "np.sum(t, axis=0, keepdims=True)")]),
    ("softmax_cost", "cost_sum_not_mean", [("-np.sum(y * log_y_hat) / m", "-np.sum(y * log_y_hat)")]),
    ("softmax_cost", "cost_mean_over_classes",
     [("-np.sum(y * log_y_hat) / m", "-np.mean(y * log_y_hat)")]),
    ("softmax_cost", "cost_sign", [("float(-np.sum(", "float(np.sum(")]),
    ("softmax_cost", "cost_log_of_softmax",
     [("-np.sum(y * log_y_hat) / m", "-np.sum(y * np.log(softmax(z))) / m")]),
    ("batch_norm_layer", "unbiased_variance",
     [("sigma2 = tf.reduce_mean(tf.square(inputs - mu), axis=0)",
       ("sigma2 = tf.reduce_sum(tf.square(inputs - mu), axis=0) / (tf.cast(tf.shape(inputs)[0], "
        "inputs.dtype) - 1)"))]),
    ("batch_norm_layer", "epsilon_outside_sqrt",
     [("tf.sqrt(sigma2 + self.epsilon)", "(tf.sqrt(sigma2) + self.epsilon)")]),
    ("batch_norm_layer", "switch_inverted", [("if training:", "if not training:")]),
    ("batch_norm_layer", "moving_average_swapped",
     [("momentum * self.moving_mean + (1 - momentum) * mu",
       "(1 - momentum) * self.moving_mean + momentum * mu"),
      ("momentum * self.moving_variance + (1 - momentum) * sigma2",
       "(1 - momentum) * self.moving_variance + momentum * sigma2")]),
    ("batch_norm_layer", "moving_average_not_updated",
     [("self.moving_mean.assign(", "("), ("self.moving_variance.assign(", "(")]),
    ("batch_norm_layer", "inference_uses_batch",
     [("            mu, sigma2 = self.moving_mean, self.moving_variance",
       ("            mu = tf.reduce_mean(inputs, axis=0)\n"
        "            sigma2 = tf.reduce_mean(tf.square(inputs - mu), axis=0)"))]),
    ("batch_norm_layer", "training_none_is_training",
     [("def call(self, inputs, training=None):", "def call(self, inputs, training=True):")]),
    ("batch_norm_layer", "moving_average_updated_in_inference",
     [("""        if training:
            mu = tf.reduce_mean(inputs, axis=0)
            sigma2 = tf.reduce_mean(tf.square(inputs - mu), axis=0)
            momentum = self.momentum
            self.moving_mean.assign(momentum * self.moving_mean + (1 - momentum) * mu)
            self.moving_variance.assign(momentum * self.moving_variance + (1 - momentum) * sigma2)
        else:
            mu, sigma2""", """        mu = tf.reduce_mean(inputs, axis=0)
        sigma2 = tf.reduce_mean(tf.square(inputs - mu), axis=0)
        momentum = self.momentum
        self.moving_mean.assign(momentum * self.moving_mean + (1 - momentum) * mu)
        self.moving_variance.assign(momentum * self.moving_variance + (1 - momentum) * sigma2)
        if not training:
            mu, sigma2""")]),
    ("batch_norm_layer", "statistics_outside_tape",
     [("import keras\n", "import keras\nimport numpy as np\n"),
      ("mu = tf.reduce_mean(inputs, axis=0)", "mu = np.mean(inputs, axis=0)"),
      ("sigma2 = tf.reduce_mean(tf.square(inputs - mu), axis=0)",
       "sigma2 = np.mean(np.square(inputs - mu), axis=0)")]),
    ("train_step", "called_without_training", [("model(x, training=True)", "model(x)")]),
    ("train_step", "optimizer_not_applied",
     [("    optimizer.apply_gradients(zip(grads, model.trainable_variables))\n", "")]),
    ("train_step", "cost_sum_not_mean", [("tf.reduce_mean(", "tf.reduce_sum(")]),
    ("train_step", "probabilities_as_logits",
     [("categorical_crossentropy(y, y_hat)", "categorical_crossentropy(y, y_hat, from_logits=True)")]),
    ("train_step", "forward_outside_tape",
     [("    with tf.GradientTape() as tape:\n        y_hat = model(x, training=True)\n",
       "    y_hat = model(x, training=True)\n    with tf.GradientTape() as tape:\n")]),
    ("median_prune", "own_last_value",
     [("mine, median = best(curve)", "mine, median = curve[epoch]")]),
    ("median_prune", "others_value_not_best",
     [("theirs = [best(other) for", "theirs = [other[epoch] for")]),
    ("median_prune", "others_later_epochs",
     [("theirs = [best(other) for",
       "theirs = [(max if direction == 'max' else min)(other.values()) for")]),
    ("median_prune", "mean_not_median", [("statistics.median(theirs)", "statistics.mean(theirs)")]),
    ("median_prune", "min_trials_ignored", [("if len(theirs) < min_trials:", "if not theirs:")]),
    ("median_prune", "warmup_ignored",
     [("if epoch < after or epoch >= epochs:", "if epoch >= epochs:")]),
    ("median_prune", "last_epoch_pruned",
     [("if epoch < after or epoch >= epochs:", "if epoch < after:")]),
    ("median_prune", "direction_ignored",
     [("return mine < median if direction == \"max\" else mine > median", "return mine < median")]),
    ("median_prune", "direction_ignored",  # losses taken as accuracies throughout
     [("return mine < median if direction == \"max\" else mine > median", "return mine < median"),
      ("return max(values) if direction == \"max\" else min(values)", "return max(values)")]),
    ("median_prune", "others_not_reached_counted",
     [("for other in others if epoch in other]", "for other in others]")]),
    ("median_prune", "tie_pruned",
     [("    if math.isclose(mine, median, rel_tol=1e-6):\n        return False\n", "")]),
]


def mutated(exercise: registry.Exercise, edits) -> str:
    with open(exercise.solution_path()) as f:
        text = f.read()
    for old, new, *count in edits:  # count: replace only the first `count` occurrences
        assert old in text, f"{exercise.name}: the solution has no {old!r} to edit"
        text = text.replace(old, new, *count)
    return text


@pytest.mark.parametrize("name, key, edits", MUTATIONS, ids=[f"{n}-{k}" for n, k, _ in MUTATIONS])
def test_a_wrong_solution_fails_with_exactly_its_hint(name, key, edits, tmp_path):
    exercise = registry.find(name)
    path = tmp_path / exercise.file_name
    path.write_text(mutated(exercise, edits))
    report = grader.grade(exercise, str(path))
    assert report.load_error is None
    assert not report.passed
    assert report.mistakes == [key], "\n".join(o.line() for o in report.outcomes)
    hint = next(m.hint for m in grader.checks_for(exercise).mistakes if m.key == key)
    assert any(o.why == f"hint: {hint}" for o in report.outcomes)


def test_every_hint_has_a_wrong_solution_and_every_exercise_at_least_two():
    declared = {(e.name, m.key) for e in registry.EXERCISES
                for m in grader.checks_for(e).mistakes}
    assert {(name, key) for name, key, _ in MUTATIONS} == declared
    for exercise in registry.EXERCISES:
        assert len(grader.checks_for(exercise).mistakes) >= 2, exercise.name
