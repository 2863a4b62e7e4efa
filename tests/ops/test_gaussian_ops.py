"""Gaussian ops against closed forms, SciPy and Monte Carlo."""

import keras
import numpy as np
import pytest
from scipy import linalg
from scipy import stats

from keras_mmvae import ops as mm_ops
from keras_mmvae.src.testing.test_case import to_numpy

RNG = np.random.default_rng(0)


def _params(shape, scale=1.0):
    mean = RNG.normal(size=shape).astype("float32")
    log_var = (scale * RNG.normal(size=shape)).astype("float32")
    return mean, log_var


def test_log_prob_matches_scipy():
    mean, log_var = _params((4, 3))
    x = RNG.normal(size=(4, 3)).astype("float32")
    expected = stats.norm(mean, np.exp(0.5 * log_var)).logpdf(x).sum(-1)
    np.testing.assert_allclose(
        to_numpy(mm_ops.gaussian_log_prob(x, mean, log_var)), expected,
        rtol=1e-5, atol=1e-5)


def test_kl_closed_forms_match_numpy():
    m1, v1 = _params((5, 4))
    m2, v2 = _params((5, 4))
    s1, s2 = np.exp(v1), np.exp(v2)
    expected = 0.5 * np.sum(np.log(s2 / s1) + (s1 + (m1 - m2) ** 2) / s2 - 1,
                            axis=-1)
    np.testing.assert_allclose(to_numpy(mm_ops.kl_divergence(m1, v1, m2, v2)),
                               expected, rtol=1e-5, atol=1e-5)
    zeros = np.zeros_like(m1)
    np.testing.assert_allclose(
        to_numpy(mm_ops.kl_to_standard_normal(m1, v1)),
        to_numpy(mm_ops.kl_divergence(m1, v1, zeros, zeros)),
        rtol=1e-5, atol=1e-5)


def test_worked_example_kl():
    # KL(N(1, 4) || N(0, 1)) = 1.306853 (the closed form of
    # `kl_to_standard_normal`, docs/api/ops.md)
    kl = mm_ops.kl_to_standard_normal(np.array([[1.0]], "float32"),
                                      np.log(np.array([[4.0]], "float32")))
    np.testing.assert_allclose(to_numpy(kl), [1.306853], atol=1e-6)


@pytest.mark.parametrize("to_prior", [True, False])
def test_kl_matches_monte_carlo_within_one_percent(to_prior):
    n = 100_000
    mean = np.array([0.7, -1.2, 0.3], "float32")
    log_var = np.array([0.4, -0.6, 1.1], "float32")
    mean2 = np.zeros(3, "float32") if to_prior else np.array(
        [0.2, 0.1, -0.4], "float32")
    log_var2 = np.zeros(3, "float32") if to_prior else np.array(
        [0.3, 0.2, 0.5], "float32")
    tiled = np.tile(mean, (n, 1)), np.tile(log_var, (n, 1))
    z = mm_ops.reparameterize(*tiled, seed=keras.random.SeedGenerator(3))
    z = to_numpy(z).astype("float64")
    log_q = stats.norm(mean, np.exp(0.5 * log_var)).logpdf(z).sum(-1)
    log_p = stats.norm(mean2, np.exp(0.5 * log_var2)).logpdf(z).sum(-1)
    monte_carlo = np.mean(log_q - log_p)
    if to_prior:
        analytic = to_numpy(mm_ops.kl_to_standard_normal(mean, log_var))
    else:
        analytic = to_numpy(mm_ops.kl_divergence(mean, log_var, mean2,
                                                 log_var2))
    assert abs(monte_carlo - analytic) / analytic < 0.01


def test_reparameterize_moments_and_seeding():
    mean = np.full((50_000, 2), [1.0, -2.0], "float32")
    log_var = np.log(np.full((50_000, 2), [0.25, 4.0], "float32"))
    generator = keras.random.SeedGenerator(7)
    z1 = to_numpy(mm_ops.reparameterize(mean, log_var, seed=generator))
    z2 = to_numpy(mm_ops.reparameterize(mean, log_var, seed=generator))
    np.testing.assert_allclose(z1.mean(0), [1.0, -2.0], atol=0.03)
    np.testing.assert_allclose(z1.var(0), [0.25, 4.0], rtol=0.03)
    assert not np.allclose(z1, z2)  # the generator advances
    again = to_numpy(mm_ops.reparameterize(
        mean, log_var, seed=keras.random.SeedGenerator(7)))
    np.testing.assert_array_equal(z1, again)  # a fixed seed reproduces


def test_w2_distance_matches_general_formula():
    m1, v1 = _params((3,))
    m2, v2 = _params((3,))
    c1, c2 = np.diag(np.exp(v1)), np.diag(np.exp(v2))
    root2 = linalg.sqrtm(c2)
    cross = linalg.sqrtm(root2 @ c1 @ root2).real
    expected = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * cross)
    got = to_numpy(mm_ops.wasserstein2(m1, v1, m2, v2))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(
        to_numpy(mm_ops.wasserstein2(m1, v1, m2, v2, squared=False)),
        np.sqrt(expected), rtol=1e-5)


def test_log_mean_exp():
    x = RNG.normal(size=(6, 3)).astype("float32") * 30
    expected = np.log(np.mean(np.exp(x.astype("float64") - 100), 0)) + 100
    np.testing.assert_allclose(to_numpy(mm_ops.log_mean_exp(x, axis=0)),
                               expected, rtol=1e-5)
