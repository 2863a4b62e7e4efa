"""`ops.distributions`: the latent families against SciPy.

`latent_scale` and `latent_log_prob` are compared with `scipy.stats.norm`
and `scipy.stats.laplace` on random inputs (float64 on every backend: JAX
inside `jax.enable_x64`), with broadcasting as the objectives use it;
`standard_noise` draws are checked for their moments (Laplace: mean 0,
variance 2) and with a Kolmogorov-Smirnov test against SciPy's CDF, from
a fixed seed.
"""

import contextlib

import keras
import numpy as np
import pytest
from scipy import special
from scipy import stats

from keras_mmvae.src.ops import distributions
from keras_mmvae.src.testing.test_case import to_numpy

DISTRIBUTIONS = {"normal": stats.norm, "laplace": stats.laplace}


def float64_scope():
    """JAX computes in float64 only with x64 enabled (here only)."""
    if keras.config.backend() == "jax":
        import jax
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def reference_scale(distribution, log_var):
    if distribution == "normal":
        return np.exp(0.5 * log_var)
    size = log_var.shape[-1]
    return special.softmax(log_var, axis=-1) * size + 1e-6


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scale_and_log_prob_match_scipy(distribution, dtype):
    rng = np.random.default_rng(0)
    log_var = rng.normal(scale=1.5, size=(5, 7))
    mean = rng.normal(size=(5, 7))
    # (K, B, 1, D) samples against (B, S, D) components: the broadcast of
    # the importance-weighted objectives' `log q_s(z)` (here S = 5, B = 1).
    z = rng.normal(scale=2.0, size=(3, 4, 1, 7))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else \
        dict(rtol=2e-6, atol=2e-5)
    with float64_scope():
        scale = distributions.latent_scale(
            distribution, keras.ops.convert_to_tensor(log_var, dtype))
        assert keras.backend.standardize_dtype(scale.dtype) == dtype
        scale = to_numpy(scale)
        expected_scale = reference_scale(distribution, log_var)
        np.testing.assert_allclose(scale, expected_scale, **tol)
        log_prob = to_numpy(distributions.latent_log_prob(
            distribution, keras.ops.convert_to_tensor(z, dtype),
            keras.ops.convert_to_tensor(mean, dtype),
            keras.ops.convert_to_tensor(scale, dtype)))
    expected = DISTRIBUTIONS[distribution].logpdf(
        z, loc=mean, scale=scale.astype("float64")).sum(-1)
    assert log_prob.shape == (3, 4, 5)
    np.testing.assert_allclose(log_prob, expected, **tol)


def test_laplace_scale_is_a_softmax_times_the_size():
    # MMVAE's laplace_with_softmax: the scales average to 1 (+ the floor)
    # whatever the logits, and a constant shift of the logits is ignored.
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=3.0, size=(4, 6)).astype("float32")
    scale = to_numpy(distributions.latent_scale("laplace", logits))
    np.testing.assert_allclose(scale.mean(-1), 1.0 + 1e-6, rtol=1e-6)
    shifted = to_numpy(distributions.latent_scale("laplace", logits + 5.0))
    np.testing.assert_allclose(shifted, scale, rtol=1e-5)
    # Very negative logits keep a positive scale: the 1e-6 floor.
    floor = to_numpy(distributions.latent_scale(
        "laplace", np.array([[-200.0, 0.0]], "float32")))
    assert floor[0, 0] == pytest.approx(1e-6, rel=1e-3)


def test_log_prob_with_a_scalar_prior():
    # The objectives score the prior as `latent_log_prob(d, z, 0.0, scale)`.
    rng = np.random.default_rng(2)
    z = rng.normal(size=(2, 3, 4)).astype("float32")
    scale = np.array([0.5, 1.0, 2.0, 3.0], "float32")
    for name, family in DISTRIBUTIONS.items():
        got = to_numpy(distributions.latent_log_prob(name, z, 0.0, scale))
        np.testing.assert_allclose(
            got, family.logpdf(z, scale=scale).sum(-1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standard_noise_moments_and_ks(distribution, dtype):
    n = 200_000
    with float64_scope():
        draws = distributions.standard_noise(
            distribution, (n // 100, 100), dtype,
            seed=keras.random.SeedGenerator(1234))
        assert keras.backend.standardize_dtype(draws.dtype) == dtype
        draws = to_numpy(draws).astype("float64").ravel()
    assert np.isfinite(draws).all()
    family = DISTRIBUTIONS[distribution]
    variance = family.var()  # 1 (normal), 2 (Laplace(0, 1))
    # Standard errors of the mean and of the sample variance (Laplace:
    # fourth moment 24, so Var(s²) = (24 − 4) / n).
    kurtosis = 3.0 if distribution == "normal" else 6.0
    se_mean = np.sqrt(variance / n)
    se_var = np.sqrt((kurtosis - 1.0) * variance ** 2 / n)
    assert abs(draws.mean()) < 5 * se_mean
    assert abs(draws.var() - variance) < 5 * se_var
    result = stats.kstest(draws, family.cdf)
    assert result.pvalue > 1e-3, result
    # Reparameterised, loc + scale · eps is the family at (loc, scale).
    shifted = 1.5 + 0.25 * draws[:20_000]
    assert stats.kstest(shifted, family(loc=1.5, scale=0.25).cdf
                        ).pvalue > 1e-3


def test_standard_noise_is_seeded():
    first = to_numpy(distributions.standard_noise(
        "laplace", (64,), seed=keras.random.SeedGenerator(7)))
    again = to_numpy(distributions.standard_noise(
        "laplace", (64,), seed=keras.random.SeedGenerator(7)))
    other = to_numpy(distributions.standard_noise(
        "laplace", (64,), seed=keras.random.SeedGenerator(8)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_unknown_distribution_is_rejected():
    for call in (lambda: distributions.latent_scale("cauchy", [0.0]),
                 lambda: distributions.latent_log_prob("cauchy", 0.0, 0.0,
                                                       1.0),
                 lambda: distributions.standard_noise("cauchy", (2,))):
        with pytest.raises(ValueError, match="normal.*laplace"):
            call()
