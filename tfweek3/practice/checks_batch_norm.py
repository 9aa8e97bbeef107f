"""Checks of exercises 3 and 4: batch norm forward and backward in NumPy.

The references are tfweek3.layers.reference (batch_norm_forward,
batch_norm_backward: float64) and central finite differences of the forward
pass (reference.numerical_gradient). The wrong variants below are the classic
slips of a learner writing the note's four lines and their derivatives.
"""

from __future__ import annotations

import numpy as np

from tfweek3.layers import reference
from tfweek3.practice.grader import CheckFailed, Checks, Mistake, as_array, expect_close

# Batches of several shapes, each with its own epsilon; spreads near 0.3 make epsilon matter.
SHAPES = ((4, 3, 1e-3), (32, 5, 1e-2), (7, 1, 0.1))
SHAPES_TEXT = "(4, 3), (32, 5) and (7, 1)"

UNBIASED = Mistake("unbiased_variance",
                   "sigma2 divides by m - 1; the note's variance divides by m")
EPSILON_OUTSIDE = Mistake("epsilon_outside_sqrt",
                          "epsilon added outside the square root: z_norm = (z - mu) / "
                          "sqrt(sigma2 + epsilon)")
NO_SQRT = Mistake("no_square_root",
                  "z_norm divides by sigma2 + epsilon, not by its square root (the standard "
                  "deviation)")
WRONG_AXIS = Mistake("statistics_over_units",
                     "mu and sigma2 are taken over the units of each example (axis 1): each unit "
                     "is averaged over the m examples of the mini-batch (axis 0)")
GAMMA_BETA_SWAPPED = Mistake("gamma_beta_swapped",
                             "gamma and beta are swapped: z_tilde = gamma * z_norm + beta")
EPSILON_IGNORED = Mistake("epsilon_ignored",
                          "epsilon is not the one passed in: use the argument epsilon, not a "
                          "constant")
ONE_PASS_VARIANCE = Mistake("one_pass_variance",
                            "right in float64 but not in float32 with mu around 1000: sigma2 = "
                            "mean(z**2) - mu**2 cancels catastrophically; compute "
                            "mean((z - mu)**2)")

NAIVE_DZ = Mistake("dz_holds_statistics_fixed",
                   "dz treats mu and sigma2 as constants (dz = gamma * dz_tilde / sqrt(sigma2 + "
                   "epsilon)): each z(i) also moves mu and sigma2, hence the - dbeta and "
                   "- z_norm * dgamma terms")
NO_MU_PATH = Mistake("dz_without_mu_path",
                     "dz leaves out the path through mu: the bracket needs - dbeta")
NO_SIGMA2_PATH = Mistake("dz_without_sigma2_path",
                         "dz leaves out the path through sigma2: the bracket needs "
                         "- z_norm(i) * dgamma")
MISSING_M = Mistake("dz_missing_1_over_m",
                    "the 1/m of mu and sigma2 is missing from dz: dz(i) = gamma / (m * "
                    "sqrt(sigma2 + epsilon)) * (m * dz_tilde(i) - dbeta - z_norm(i) * dgamma)")
MISSING_GAMMA = Mistake("dz_missing_gamma",
                        "dz lacks the factor gamma: z_tilde = gamma * z_norm + beta, so "
                        "dJ/dz_norm = gamma * dz_tilde")
DGAMMA_DBETA_SWAPPED = Mistake("dgamma_dbeta_swapped",
                               "dgamma and dbeta are swapped: dbeta = sum_i dz_tilde(i), "
                               "dgamma = sum_i dz_tilde(i) * z_norm(i)")
MEAN_NOT_SUM = Mistake("dgamma_dbeta_mean",
                       "dgamma and dbeta average over the mini-batch: they are sums over the m "
                       "examples (dz_tilde already carries the cost's 1/m)")


def batch(m: int, units: int, seed: int, offset: float = 3.0, spread: float = 0.3,
          dtype=np.float64):
    """A mini-batch z (each unit with its own mean and spread), gamma and beta."""
    rng = np.random.default_rng(seed)
    z = offset + rng.normal(0, 1, units) + spread * rng.uniform(0.5, 2, units) * rng.normal(
        0, 1, (m, units))
    gamma = rng.uniform(0.5, 2.0, units)
    beta = rng.normal(0, 1, units)
    return z.astype(dtype), gamma.astype(dtype), beta.astype(dtype)


# ---------------------------------------------------------------------------
# Forward
# ---------------------------------------------------------------------------

def forward(z, gamma, beta, epsilon, divisor=None, scale=None, axis=0):
    """The four lines with one knob per classic slip: returns z_tilde, mu, sigma2, z_norm."""
    m = z.shape[axis]
    mu = np.sum(z, axis=axis, keepdims=axis != 0) / m
    sigma2 = np.sum((z - mu) ** 2, axis=axis, keepdims=axis != 0) / (m if divisor is None else divisor)
    z_norm = (z - mu) / (scale(sigma2, epsilon) if scale else np.sqrt(sigma2 + epsilon))
    return {"z_tilde": gamma * z_norm + beta, "mu": mu, "sigma2": sigma2, "z_norm": z_norm}


def forward_variants(z, gamma, beta, epsilon):
    m = z.shape[0]
    yield UNBIASED, lambda: forward(z, gamma, beta, epsilon, divisor=m - 1)
    yield EPSILON_OUTSIDE, lambda: forward(z, gamma, beta, epsilon,
                                           scale=lambda s2, e: np.sqrt(s2) + e)
    yield NO_SQRT, lambda: forward(z, gamma, beta, epsilon, scale=lambda s2, e: s2 + e)
    yield WRONG_AXIS, lambda: forward(z, gamma, beta, epsilon, axis=1)
    yield GAMMA_BETA_SWAPPED, lambda: {**forward(z, gamma, beta, epsilon),
                                       "z_tilde": forward(z, beta, gamma, epsilon)["z_tilde"]}
    for constant in (1e-3, 1e-5, 1e-8, 0.0):
        if constant != epsilon:
            yield EPSILON_IGNORED, lambda c=constant: forward(z, gamma, beta, c)


def learner_forward(learner, z, gamma, beta, epsilon):
    """The learner's (z_tilde, cache), checked for its form."""
    result = learner.call("batch_norm_forward", z, gamma, beta, epsilon)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"batch_norm_forward returned a {type(result).__name__}; return "
                          f"(z_tilde, cache)")
    z_tilde, cache = result
    if not isinstance(cache, dict):
        raise CheckFailed(f"the cache is a {type(cache).__name__}; return a dict")
    missing = [key for key in ("mu", "sigma2", "z_norm", "gamma", "epsilon") if key not in cache]
    if missing:
        raise CheckFailed(f"the cache has no {', '.join(missing)} (it has {', '.join(map(str, cache))})")
    return z_tilde, cache


def expect_forward(learner, z, gamma, beta, epsilon, names, label):
    z_tilde, cache = learner_forward(learner, z, gamma, beta, epsilon)
    got = {"z_tilde": z_tilde, **cache}
    right = forward(z, gamma, beta, epsilon)
    for name in names:
        variants = [(mistake, lambda v=variant, n=name: v()[n])
                    for mistake, variant in forward_variants(z, gamma, beta, epsilon)]
        expect_close(got[name], right[name], f"{name} of {label}", variants,
                     reshape=name != "z_tilde")


bn_forward = Checks(mistakes=(UNBIASED, EPSILON_OUTSIDE, NO_SQRT, WRONG_AXIS, GAMMA_BETA_SWAPPED,
                              EPSILON_IGNORED, ONE_PASS_VARIANCE))


@bn_forward.add("returns (z_tilde, cache); the cache holds mu, sigma2, z_norm, gamma, epsilon")
def forward_form(learner):
    z, gamma, beta = batch(4, 3, seed=0)
    z_tilde, _ = learner_forward(learner, z, gamma, beta, 1e-3)
    if as_array(z_tilde, "z_tilde").shape != z.shape:
        raise CheckFailed(f"z_tilde has shape {np.shape(z_tilde)}; expected {z.shape}, that of z")


@bn_forward.add(f"z_tilde on batches of shape {SHAPES_TEXT}")
def forward_values(learner):
    for seed, (m, units, epsilon) in enumerate(SHAPES):
        z, gamma, beta = batch(m, units, seed)
        expect_forward(learner, z, gamma, beta, epsilon, ["z_tilde"], f"a {(m, units)} batch")


@bn_forward.add("mu, sigma2 and z_norm in the cache, same batches")
def forward_cache(learner):
    for seed, (m, units, epsilon) in enumerate(SHAPES):
        z, gamma, beta = batch(m, units, seed)
        expect_forward(learner, z, gamma, beta, epsilon, ["mu", "sigma2", "z_norm"],
                       f"a {(m, units)} batch")


@bn_forward.add("a batch of one example: sigma2 = 0, z_norm = 0, z_tilde = beta")
def forward_one_example(learner):
    z, gamma, beta = batch(1, 3, seed=4)
    expect_forward(learner, z, gamma, beta, 1e-3, ["z_tilde"], "a batch of one")


@bn_forward.add("float32, mu around 1000: z_tilde within 2e-3 of the float64 reference")
def forward_float32(learner):
    z, gamma, beta = batch(64, 4, seed=5, offset=1000.0, spread=1.0, dtype=np.float32)
    z_tilde, _ = learner_forward(learner, z, gamma, beta, np.float32(1e-3))
    wide = [value.astype(np.float64) for value in (z, gamma, beta)]
    expected, _ = reference.batch_norm_forward(*wide, epsilon=1e-3)
    got = as_array(z_tilde, "z_tilde")
    if got.shape == expected.shape and np.max(np.abs(got - expected)) <= 2e-3:
        return
    try:  # the same batch in float64: if that is right, float32 precision is what fails
        expect_forward(learner, *wide, 1e-3, ["z_tilde"], "the float64 batch")
    except CheckFailed as failure:
        raise CheckFailed(f"on the float64 copy of the batch: {failure.why}",
                          failure.mistakes) from None
    raise CheckFailed.because(ONE_PASS_VARIANCE)


# ---------------------------------------------------------------------------
# Backward
# ---------------------------------------------------------------------------

def backward(dz_tilde, cache, bracket=None, factor=None, gamma_in_dz=True, reduce=np.sum):
    """dz, dgamma, dbeta with one knob per classic slip (see the Mistakes above)."""
    m = dz_tilde.shape[0]
    z_norm, gamma = cache["z_norm"], cache["gamma"]
    dbeta = reduce(dz_tilde, axis=0)
    dgamma = reduce(dz_tilde * z_norm, axis=0)
    inv_std = 1.0 / np.sqrt(cache["sigma2"] + cache["epsilon"])
    scale = (gamma if gamma_in_dz else 1.0) * inv_std
    inside = (bracket or (lambda: m * dz_tilde - dbeta - z_norm * dgamma))()
    dz = scale * inside / (m if factor is None else factor)
    return {"dz": dz, "dgamma": dgamma, "dbeta": dbeta}


def backward_variants(dz_tilde, cache):
    m = dz_tilde.shape[0]
    z_norm = cache["z_norm"]
    right = backward(dz_tilde, cache)
    db, dg = right["dbeta"], right["dgamma"]
    yield NAIVE_DZ, lambda: backward(dz_tilde, cache, bracket=lambda: m * dz_tilde)
    yield NO_MU_PATH, lambda: backward(dz_tilde, cache, bracket=lambda: m * dz_tilde - z_norm * dg)
    yield NO_SIGMA2_PATH, lambda: backward(dz_tilde, cache, bracket=lambda: m * dz_tilde - db)
    yield MISSING_M, lambda: backward(dz_tilde, cache, factor=1.0)
    yield MISSING_M, lambda: backward(dz_tilde, cache, factor=1.0,
                                      bracket=lambda: dz_tilde - db - z_norm * dg)
    yield MISSING_GAMMA, lambda: backward(dz_tilde, cache, gamma_in_dz=False)
    yield DGAMMA_DBETA_SWAPPED, lambda: {**right, "dgamma": db, "dbeta": dg}
    yield MEAN_NOT_SUM, lambda: backward(dz_tilde, cache, reduce=np.mean)


def backward_case(m: int, units: int, epsilon: float, seed: int):
    z, gamma, beta = batch(m, units, seed)
    _, cache = reference.batch_norm_forward(z, gamma, beta, epsilon)
    dz_tilde = np.random.default_rng(seed + 100).normal(0, 1, (m, units)) / m
    return z, gamma, beta, dz_tilde, cache


def learner_backward(learner, dz_tilde, cache):
    result = learner.call("batch_norm_backward", dz_tilde, cache)
    if not isinstance(result, tuple) or len(result) != 3:
        raise CheckFailed(f"batch_norm_backward returned a {type(result).__name__}; return "
                          f"(dz, dgamma, dbeta)")
    return dict(zip(("dz", "dgamma", "dbeta"), result))


def expect_backward(learner, dz_tilde, cache, expected, names, label, rtol=1e-5, atol=1e-5):
    got = learner_backward(learner, dz_tilde, cache)
    for name in names:
        variants = [(mistake, lambda v=variant, n=name: v()[n])
                    for mistake, variant in backward_variants(dz_tilde, cache)]
        expect_close(got[name], expected[name], f"{name} of {label}", variants, rtol, atol)


bn_backward = Checks(mistakes=(NAIVE_DZ, NO_MU_PATH, NO_SIGMA2_PATH, MISSING_M, MISSING_GAMMA,
                               DGAMMA_DBETA_SWAPPED, MEAN_NOT_SUM))


@bn_backward.add("returns (dz, dgamma, dbeta) with the shapes of z, gamma and beta")
def backward_form(learner):
    z, gamma, beta, dz_tilde, cache = backward_case(4, 3, 1e-3, seed=0)
    got = learner_backward(learner, dz_tilde, cache)
    for name, like in (("dz", z), ("dgamma", gamma), ("dbeta", beta)):
        if as_array(got[name], name).shape != like.shape:
            raise CheckFailed(f"{name} has shape {np.shape(got[name])}; expected {like.shape}")


@bn_backward.add(f"dbeta and dgamma on batches of shape {SHAPES_TEXT}")
def backward_gamma_beta(learner):
    for seed, (m, units, epsilon) in enumerate(SHAPES):
        _, _, _, dz_tilde, cache = backward_case(m, units, epsilon, seed)
        expected = dict(zip(("dz", "dgamma", "dbeta"), reference.batch_norm_backward(dz_tilde, cache)))
        expect_backward(learner, dz_tilde, cache, expected, ["dbeta", "dgamma"],
                        f"a {(m, units)} batch")


@bn_backward.add("dz on the same batches, against the reference's closed form")
def backward_dz(learner):
    for seed, (m, units, epsilon) in enumerate(SHAPES):
        _, _, _, dz_tilde, cache = backward_case(m, units, epsilon, seed)
        expected = dict(zip(("dz", "dgamma", "dbeta"), reference.batch_norm_backward(dz_tilde, cache)))
        expect_backward(learner, dz_tilde, cache, expected, ["dz"], f"a {(m, units)} batch")


@bn_backward.add("dz, dgamma, dbeta against finite differences of J = sum(dz_tilde * z_tilde)")
def backward_finite_differences(learner):
    z, gamma, beta, dz_tilde, cache = backward_case(5, 2, 1e-3, seed=7)

    def cost(z_=z, gamma_=gamma, beta_=beta):
        return float(np.sum(dz_tilde * reference.batch_norm_forward(z_, gamma_, beta_, 1e-3)[0]))

    expected = {"dz": reference.numerical_gradient(lambda v: cost(z_=v), z),
                "dgamma": reference.numerical_gradient(lambda v: cost(gamma_=v), gamma),
                "dbeta": reference.numerical_gradient(lambda v: cost(beta_=v), beta)}
    expect_backward(learner, dz_tilde, cache, expected, ["dz", "dgamma", "dbeta"],
                    "a (5, 2) batch", rtol=1e-5, atol=1e-7)


@bn_backward.add("a batch of one example: dz = 0 (z_tilde = beta, whatever z is)")
def backward_one_example(learner):
    _, _, _, dz_tilde, cache = backward_case(1, 3, 1e-3, seed=8)
    expected = {"dz": np.zeros((1, 3))}
    expect_backward(learner, dz_tilde, cache, expected, ["dz"], "a batch of one")


CHECKS = {"batch_norm_forward": bn_forward, "batch_norm_backward": bn_backward}
