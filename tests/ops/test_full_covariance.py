"""Full-covariance W2 barycenter vs the diagonal closed form and SciPy."""

import keras
import numpy as np
from scipy import linalg

import keras_mmvae as mm
from keras_mmvae import ops as mm_ops
from keras_mmvae.src.testing.test_case import to_numpy

FLOAT64 = keras.config.backend() != "jax"  # JAX runs float32 by default
DTYPE = "float64" if FLOAT64 else "float32"
TIGHT = 1e-12 if FLOAT64 else 1e-5


def scipy_fixed_point(means, covs, weights, iters=200):
    """Reference fixed point (Álvarez-Esteban et al.) with scipy sqrtm."""
    weights = np.asarray(weights) / np.sum(weights)
    estimate = np.einsum("m,mij->ij", weights, covs)
    for _ in range(iters):
        root = linalg.sqrtm(estimate).real
        inv_root = np.linalg.inv(root)
        middle = sum(w * linalg.sqrtm(root @ c @ root).real
                     for w, c in zip(weights, covs))
        estimate = inv_root @ middle @ middle @ inv_root
    return weights @ means, estimate


def random_spd(rng, dim):
    a = rng.normal(size=(dim, dim))
    return a @ a.T + 0.5 * np.eye(dim)


def test_diagonal_inputs_reproduce_closed_form():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(3, 4))
    variances = np.exp(rng.normal(size=(3, 4)))
    covs = np.stack([np.diag(v) for v in variances])
    weights = np.array([0.2, 0.5, 0.3])
    mean, cov = mm_ops.w2_barycenter_full(means.astype(DTYPE),
                                          covs.astype(DTYPE),
                                          weights.astype(DTYPE))
    fusion = mm.BarycenterFusion(mode="w2", weights=weights.tolist())
    closed = to_numpy(fusion(means[None].astype("float32"),
                             np.log(variances)[None].astype("float32")))
    np.testing.assert_allclose(to_numpy(mean), weights @ means, atol=TIGHT)
    expected_cov = np.diag((weights @ np.sqrt(variances)) ** 2)
    np.testing.assert_allclose(to_numpy(cov), expected_cov, atol=TIGHT * 10)
    np.testing.assert_allclose(np.diag(to_numpy(cov)),
                               np.exp(closed["log_var"][0, 0]), rtol=1e-5)


def test_full_covariance_matches_scipy_reference():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(3, 3))
    covs = np.stack([random_spd(rng, 3) for _ in range(3)])
    weights = np.array([0.5, 0.3, 0.2])
    ref_mean, ref_cov = scipy_fixed_point(means, covs, weights)
    mean, cov = mm_ops.w2_barycenter_full(means.astype(DTYPE),
                                          covs.astype(DTYPE),
                                          weights.astype(DTYPE))
    cov = to_numpy(cov)
    np.testing.assert_allclose(to_numpy(mean), ref_mean, atol=1e-5)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-4, atol=1e-4)
    # It solves the barycenter equation  S = Σ λ (S^½ Σ_m S^½)^½.
    root = linalg.sqrtm(cov).real
    rhs = sum(w * linalg.sqrtm(root @ c @ root).real
              for w, c in zip(weights, covs))
    np.testing.assert_allclose(cov, rhs, rtol=1e-4, atol=1e-4)
