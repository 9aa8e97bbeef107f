"""The NumPy reference against finite differences and closed forms."""

import numpy as np

from tfweek3.layers import reference


def test_batch_norm_forward_gives_mean_beta_and_spread_gamma():
    rng = np.random.default_rng(0)
    z = rng.normal(4, 3, size=(50, 3))
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
    z_tilde, cache = reference.batch_norm_forward(z, gamma, beta, epsilon=1e-8)
    np.testing.assert_allclose(cache["mu"], z.mean(axis=0))
    np.testing.assert_allclose(cache["sigma2"], z.var(axis=0))  # biased, as np.var
    np.testing.assert_allclose(z_tilde.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(z_tilde.std(axis=0), gamma, rtol=1e-6)


def test_batch_norm_backward_equals_finite_differences():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(6, 4))
    gamma, beta = rng.uniform(0.5, 2, 4), rng.normal(size=4)
    dz_tilde = rng.normal(size=(6, 4))

    def J(z_, gamma_=gamma, beta_=beta):
        return float(np.sum(reference.batch_norm_forward(z_, gamma_, beta_)[0] * dz_tilde))

    _, cache = reference.batch_norm_forward(z, gamma, beta)
    dz, dgamma, dbeta = reference.batch_norm_backward(dz_tilde, cache)
    np.testing.assert_allclose(dz, reference.numerical_gradient(J, z), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, reference.numerical_gradient(lambda g: J(z, g), gamma),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, reference.numerical_gradient(lambda b: J(z, gamma, b), beta),
                               rtol=1e-6, atol=1e-8)


def test_moving_average_converges_to_the_true_mean():
    rng = np.random.default_rng(2)
    moving = np.zeros(2)
    for _ in range(2000):
        moving = reference.update_moving(moving, rng.normal([1.0, -3.0], 1.0, size=(64, 2)).mean(0), 0.99)
    np.testing.assert_allclose(moving, [1.0, -3.0], atol=0.05)


def test_softmax_cost_gradient_equals_finite_differences():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(5, 4))
    y = np.eye(4)[[0, 3, 1, 1, 2]]
    J, dz = reference.softmax_cost_and_grad(z, y)
    np.testing.assert_allclose(J, np.mean(-np.log(reference.softmax(z)[np.arange(5), [0, 3, 1, 1, 2]])))
    np.testing.assert_allclose(dz, reference.numerical_gradient(
        lambda z_: reference.softmax_cost_and_grad(z_, y)[0], z), atol=1e-8)
