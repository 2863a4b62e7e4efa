"""`product_of_experts`, `w2_barycenter` and `moment_match` against NumPy
closed forms (docs/concepts/barycenters.md), with masks, weights and the
prior expert."""

import numpy as np
import pytest
from keras import ops

import keras_mmvae as mm
from keras_mmvae.src.testing.gradients import gradients
from keras_mmvae.src.testing.test_case import assert_all_close

B, S, M, D = 4, 3, 3, 5
RNG = np.random.default_rng(7)
# Row 3 has no modality: only valid with a prior expert.
MASK = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [0, 0, 0]], "float32")


def experts(mask):
    """Random experts; the unavailable ones get extreme values."""
    shape = (len(mask), M, D)
    mean = RNG.normal(size=shape)
    log_var = RNG.uniform(-2.0, 2.0, size=shape)
    absent = mask[:, :, None] == 0
    mean = np.where(absent, 1e30, mean)
    log_var = np.where(absent, np.where(RNG.random(shape) < 0.5, -80.0,
                                        80.0), log_var)
    return mean.astype("float32"), log_var.astype("float32")


def expert_weights(mask):
    """`(B, S, M)` positive weights on available experts, 0 elsewhere."""
    shape = (len(mask), S, M)
    return (RNG.uniform(0.2, 2.0, size=shape) * mask[:, None, :]).astype(
        "float32")


def cases(with_prior):
    mask = MASK if with_prior else MASK[:3]
    mean, log_var = experts(mask)
    prior = (RNG.uniform(0.2, 2.0, size=(len(mask), S)).astype("float32")
             if with_prior else None)
    return mean, log_var, expert_weights(mask), prior, mask


def numpy_poe(mean, log_var, weights, prior, mask, normalize):
    """Precision `Σ_m w_m Λ_m (+ p)`, mean `Λ̃⁻¹ Σ_m w_m Λ_m μ_m`, one row
    and component at a time over the available experts only."""
    out_mean = np.zeros(weights.shape[:2] + (D,))
    out_log_var = np.zeros_like(out_mean)
    for b in range(len(mask)):
        present = mask[b] > 0
        mu = mean[b, present].astype("float64")
        precision_m = np.exp(-log_var[b, present].astype("float64"))
        for s in range(weights.shape[1]):
            w = weights[b, s, present].astype("float64")
            p = 0.0 if prior is None else float(prior[b, s])
            if normalize:
                total = w.sum() + p
                w, p = w / total, p / total
            precision = w @ precision_m + p
            out_mean[b, s] = (w @ (precision_m * mu)) / precision
            out_log_var[b, s] = -np.log(precision)
    return out_mean, out_log_var


def numpy_w2(mean, log_var, weights, prior, mask):
    """`μ̃ = Σ λ̄_m μ_m`, `σ̃ = Σ λ̄_m σ_m` with the prior `N(0, 1)` as one
    more expert of weight `p`; `λ̄` normalised over available experts."""
    out_mean = np.zeros(weights.shape[:2] + (D,))
    out_log_var = np.zeros_like(out_mean)
    for b in range(len(mask)):
        present = mask[b] > 0
        mu = mean[b, present].astype("float64")
        std = np.exp(0.5 * log_var[b, present].astype("float64"))
        for s in range(weights.shape[1]):
            w = weights[b, s, present].astype("float64")
            p = 0.0 if prior is None else float(prior[b, s])
            total = w.sum() + p
            out_mean[b, s] = (w @ mu) / total
            out_log_var[b, s] = 2.0 * np.log((w @ std + p) / total)
    return out_mean, out_log_var


@pytest.mark.parametrize("with_prior", [False, True])
@pytest.mark.parametrize("normalize", [False, True])
def test_product_of_experts_matches_precision_weighted_closed_form(
        with_prior, normalize):
    mean, log_var, weights, prior, mask = cases(with_prior)
    got = mm.ops.product_of_experts(mean, log_var, weights,
                                    prior_weight=prior, normalize=normalize,
                                    mask=mask)
    want = numpy_poe(mean, log_var, weights, prior, mask, normalize)
    assert_all_close(got[0], want[0], atol=1e-5, rtol=1e-4)
    assert_all_close(got[1], want[1], atol=1e-5, rtol=1e-4)


def test_product_of_experts_unit_weights_is_the_mvae_product():
    mean = np.array([[[0.0], [2.0]]], "float32")
    log_var = np.log(np.array([[[1.0], [9.0]]], "float32"))
    ones = np.ones((1, 1, 2), "float32")
    fused_mean, fused_log_var = mm.ops.product_of_experts(
        mean, log_var, ones, prior_weight=np.ones((1, 1), "float32"))
    # docs/concepts/barycenters.md, "Two operators with the same name":
    # MVAE product with prior expert.
    assert_all_close(fused_mean, [[[0.105263]]], atol=1e-6)
    assert_all_close(np.exp(fused_log_var), [[[0.473684]]], atol=1e-6)


@pytest.mark.parametrize("with_prior", [False, True])
def test_w2_barycenter_averages_means_and_standard_deviations(with_prior):
    mean, log_var, weights, prior, mask = cases(with_prior)
    got = mm.ops.w2_barycenter(mean, log_var, weights, prior_weight=prior,
                               mask=mask)
    want = numpy_w2(mean, log_var, weights, prior, mask)
    assert_all_close(got[0], want[0], atol=1e-5, rtol=1e-4)
    assert_all_close(got[1], want[1], atol=1e-5, rtol=1e-4)


def test_w2_barycenter_worked_example():
    mean = np.array([[[0.0], [2.0]]], "float32")
    log_var = np.log(np.array([[[1.0], [9.0]]], "float32"))
    fused_mean, fused_log_var = mm.ops.w2_barycenter(
        mean, log_var, np.full((1, 1, 2), 0.5, "float32"))
    assert_all_close(fused_mean, [[[1.0]]])
    assert_all_close(np.exp(fused_log_var), [[[4.0]]], rtol=1e-5)


def test_moment_match_has_the_moments_of_the_mixture():
    mean = RNG.normal(size=(B, S, D)).astype("float32")
    log_var = RNG.uniform(-2.0, 2.0, size=(B, S, D)).astype("float32")
    weight = RNG.uniform(0.1, 1.0, size=(B, S))
    weight[1, 0] = 0.0  # a component without weight
    weight = (weight / weight.sum(-1, keepdims=True)).astype("float32")
    got_mean, got_log_var = mm.ops.moment_match(mean, log_var, weight)
    w = weight.astype("float64")[..., None]
    want_mean = (w * mean).sum(1)
    second_moment = (w * (np.exp(log_var) + mean.astype("float64") ** 2)).sum(1)
    want_var = second_moment - want_mean**2
    assert_all_close(got_mean, want_mean, atol=1e-5, rtol=1e-5)
    assert_all_close(np.exp(got_log_var), want_var, atol=1e-5, rtol=1e-4)
    # docs/concepts/barycenters.md, "MoE is the forward-KL barycenter":
    # moment-matched N(0, 1) & N(2, 9) → mean 1, var 6.
    m, lv = mm.ops.moment_match(
        np.array([[[0.0], [2.0]]], "float32"),
        np.log(np.array([[[1.0], [9.0]]], "float32")),
        np.array([[0.5, 0.5]], "float32"))
    assert_all_close(m, [[1.0]])
    assert_all_close(np.exp(lv), [[6.0]], rtol=1e-5)


@pytest.mark.parametrize("with_prior", [False, True])
def test_w2_barycenter_kl_is_the_kl_of_each_barycenter(with_prior):
    """Gram-matrix KL = NumPy KL of the closed-form barycenters, with
    absent experts holding extreme values."""
    mean, log_var, weights, prior, mask = cases(with_prior)
    got = mm.ops.w2_barycenter_kl(mean, log_var, weights,
                                  prior_weight=prior, mask=mask)
    fused_mean, fused_log_var = numpy_w2(mean, log_var, weights, prior, mask)
    want = 0.5 * np.sum(np.exp(fused_log_var) + fused_mean**2 - 1.0
                        - fused_log_var, axis=-1)
    assert got.shape == (len(mask), S)
    assert_all_close(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("with_prior", [False, True])
def test_w2_barycenter_kl_gradients_equal_the_direct_kl(with_prior):
    mean, log_var, weights, prior, mask = cases(with_prior)
    cotangent = RNG.normal(size=(len(mask), S)).astype("float32")
    direct = lambda m, v: mm.ops.kl_to_standard_normal(  # noqa: E731
        *mm.ops.w2_barycenter(m, v, weights, prior_weight=prior, mask=mask))
    gram = lambda m, v: mm.ops.w2_barycenter_kl(  # noqa: E731
        m, v, weights, prior_weight=prior, mask=mask)
    weigh = lambda kl: ops.sum(ops.multiply(kl, cotangent))  # noqa: E731
    want = gradients(lambda m, v: weigh(direct(m, v)), mean, log_var)
    got = gradients(lambda m, v: weigh(gram(m, v)), mean, log_var)
    for name, g, w in zip(("mean", "log_var"), got, want):
        assert np.all(np.isfinite(g)), name
        np.testing.assert_allclose(g, w, atol=1e-4, rtol=1e-4, err_msg=name)
        # Absent experts get exactly zero gradient.
        np.testing.assert_array_equal(g[mask == 0], 0.0, err_msg=name)
