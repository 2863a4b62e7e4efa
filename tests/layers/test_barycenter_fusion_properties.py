"""Property tests of `BarycenterFusion` (hypothesis, bounded examples)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

import keras_mmvae as mm
from keras_mmvae.src.layers.barycenter_fusion import PRESETS
from keras_mmvae.src.testing.test_case import to_numpy

FUSIONS = {f"preset-{name}": dict(PRESETS[name][0]) for name in PRESETS}
FUSIONS.update({
    "poe-all-normalized": {"mode": "poe", "subsets": "all",
                           "weights": [1, 2, 3]},
    "w2-joint-prior": {"mode": "w2", "subsets": "joint",
                       "prior_expert": True},
})
PROPERTY = settings(max_examples=10, deadline=None, derandomize=True)


@st.composite
def experts(draw):
    batch = draw(st.integers(1, 3))
    dim = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    mean = rng.normal(scale=5.0, size=(batch, 3, dim)).astype("float32")
    log_var = rng.uniform(-60, 60, size=(batch, 3, dim)).astype("float32")
    mask = rng.integers(0, 2, size=(batch, 3)).astype("float32")
    mask[0] = 0.0  # always one all-missing row
    return mean, log_var, mask


def fused(config, mean, log_var, mask):
    return to_numpy(mm.BarycenterFusion(**config)(mean, log_var, mask=mask))


@pytest.mark.parametrize("name", sorted(FUSIONS))
@PROPERTY
@given(case=experts(), data=st.data())
def test_outputs_are_finite_and_ignore_masked_experts(name, case, data):
    mean, log_var, mask = case
    out = fused(FUSIONS[name], mean, log_var, mask)
    assert all(np.isfinite(v).all() for v in out.values())
    np.testing.assert_allclose(out["weight"].sum(-1), 1.0, rtol=1e-5)
    assert (out["weight"] >= 0).all()
    # Masking an expert is dropping it: its values never reach the output.
    noise = np.random.default_rng(data.draw(st.integers(0, 99))).uniform(
        -60, 60, size=mean.shape).astype("float32")
    absent = (mask == 0)[..., None]
    other = fused(FUSIONS[name], np.where(absent, noise, mean),
                  np.where(absent, noise, log_var), mask)
    for key in out:
        np.testing.assert_array_equal(other[key], out[key])


SYMMETRIC = [n for n in sorted(FUSIONS) if "weights" not in FUSIONS[n]]


@pytest.mark.parametrize("name", SYMMETRIC)
@PROPERTY
@given(case=experts(), order=st.permutations(range(3)))
def test_joint_posterior_is_permutation_invariant(name, case, order):
    mean, log_var, mask = case
    fusion = mm.BarycenterFusion(**FUSIONS[name])
    reference = to_numpy(fusion.posterior(mean, log_var, mask=mask,
                                          moe_posterior="moment_matched"))
    order = list(order)
    permuted = to_numpy(fusion.posterior(
        mean[:, order], log_var[:, order], mask=mask[:, order],
        moe_posterior="moment_matched"))
    for got, want in zip(permuted, reference):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", sorted(PRESETS))
@PROPERTY
@given(case=experts())
def test_masked_experts_get_zero_gradient(name, case):
    import keras

    mean, log_var, mask = case
    fusion = mm.BarycenterFusion(**FUSIONS[f"preset-{name}"])
    grads = gradients(fusion, mean, log_var, mask, keras.backend.backend())
    for grad in grads:
        np.testing.assert_array_equal(grad[mask == 0], 0.0)
        assert np.isfinite(grad).all()


def gradients(fusion, mean, log_var, mask, backend):
    """d(sum of every output) / d(mean, log_var) on each backend."""
    def total(m, v):
        out = fusion(m, v, mask=mask)
        return sum(ops.sum(out[k] * (i + 1.0)) for i, k in
                   enumerate(("mean", "log_var", "weight")))

    if backend == "jax":
        import jax
        return [np.asarray(g) for g in jax.grad(total, argnums=(0, 1))(
            mean, log_var)]
    if backend == "tensorflow":
        import tensorflow as tf
        m, v = tf.Variable(mean), tf.Variable(log_var)
        with tf.GradientTape() as tape:
            value = total(m, v)
        return [g.numpy() for g in tape.gradient(value, [m, v])]
    import torch
    m = torch.tensor(mean, requires_grad=True)
    v = torch.tensor(log_var, requires_grad=True)
    total(m, v).backward()
    return [m.grad.numpy(), v.grad.numpy()]
