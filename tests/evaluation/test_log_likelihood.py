"""IWAE log-likelihoods against closed forms of a linear-Gaussian model.

Model: `z ~ N(0, I)`, `x_m = W_m z + b_m + s ε` (optionally `+ V_m u_m` with
a per-modality style latent `u_m`), so `p(X) = N(b, W Wᵀ + s² I)` exactly.
"""

import numpy as np
import pytest
from evaluation_toys import LinearGaussian
from keras import ops

import keras_mmvae.evaluation as ev
from keras_mmvae.src.evaluation.log_likelihood import importance_log_weights

DIMS = {"a": 3, "b": 2}


def _full_mask(n, names, subset):
    return np.tile([[float(m in subset) for m in names]], (n, 1))


def test_exact_posterior_proposal_is_exact():
    """PoE of exact experts = the exact posterior: every weight equals
    `log p(X_A)`, so the estimate matches the closed form for any K."""
    lg = LinearGaussian(DIMS, latent_dim=2, scale=0.7)
    data = lg.sample(40)
    model = lg.model("poe")
    result = ev.log_likelihood(model, data, num_samples=3, marginals=True,
                               seed=0)
    assert set(result) == {(s, t) for s in [("a",), ("b",), ("a", "b")]
                           for t in ("joint", "a", "b")}
    exact_joint = lg.log_marginal(data, ["a", "b"]).mean()
    np.testing.assert_allclose(result[(("a", "b"), "joint")], exact_joint,
                               atol=2e-3)
    for name in DIMS:
        exact = lg.log_marginal(data, [name]).mean()
        np.testing.assert_allclose(result[((name,), name)], exact,
                                   atol=2e-3)
    # The default output: one joint estimate per subset.
    joint = ev.log_likelihood(model, (data, np.zeros(40)), num_samples=3,
                              seed=0)
    assert set(joint) == {("a",), ("b",), ("a", "b")}
    np.testing.assert_allclose(joint[("a", "b")], exact_joint, atol=2e-3)


@pytest.mark.parametrize("fusion", ["poe", "moe", "mwb"])
def test_inexact_proposals_converge_to_closed_form(fusion):
    """With many samples every proposal recovers `log p(X)`: within 0.06
    nats for the joint and for `log p(x_m)` with proposal `q_{m}`, within
    0.2 for the slowly converging marginals whose proposal conditions on
    another modality (too narrow or off-centre for `x_m` alone). For `moe`
    the experts are the exact single-modality posteriors, so a singleton
    proposal (the mixture density with the masked expert at weight 0) is
    exact for its own marginal."""
    lg = LinearGaussian(DIMS, latent_dim=2, scale=0.7, seed=3)
    data = lg.sample(20, seed=4)
    model = lg.model(fusion, posterior_experts=fusion == "moe")
    result = ev.log_likelihood(model, data, num_samples=2000,
                               marginals=True, seed=1, batch_size=20)
    exact = {"joint": lg.log_marginal(data, ["a", "b"]).mean(),
             **{n: lg.log_marginal(data, [n]).mean() for n in DIMS}}
    for (subset, target), value in result.items():
        easy = target == "joint" or subset == (target,)
        np.testing.assert_allclose(value, exact[target],
                                   atol=0.06 if easy else 0.2,
                                   err_msg=f"{subset} -> {target}")
    if fusion == "moe":
        for name in DIMS:
            np.testing.assert_allclose(result[((name,), name)], exact[name],
                                       atol=2e-3)


def test_style_latents_converge_to_closed_form():
    """Style proposals: encoder posterior for m ∈ A, prior otherwise; the
    model adds `V_m u_m` to `x_m`, so `p(X)` gains `V_m V_mᵀ` blocks.
    Tolerances as in the test above."""
    lg = LinearGaussian({"a": 2, "b": 2}, latent_dim=1, scale=1.0,
                        style_dim=1, seed=5)
    data = lg.sample(20, seed=6)
    model = lg.model("mwb")
    assert model.style_dims == {"a": 1, "b": 1}
    result = ev.log_likelihood(model, data, num_samples=2000,
                               marginals=True, seed=2, batch_size=20)
    exact = {"joint": lg.log_marginal(data, ["a", "b"]).mean(),
             **{n: lg.log_marginal(data, [n]).mean() for n in ("a", "b")}}
    for (subset, target), value in result.items():
        easy = target == "joint" or subset == (target,)
        np.testing.assert_allclose(value, exact[target],
                                   atol=0.06 if easy else 0.2,
                                   err_msg=f"{subset} -> {target}")
    # A much wider style posterior changes the proposal, not the target:
    # only right with the `log p(u) − log q(u)` terms in the weights.
    no_style = lg.model("mwb", style_log_var=2.0)
    wide = ev.log_likelihood(no_style, data, num_samples=2000,
                             subsets=[("a", "b")], seed=2, batch_size=20)
    np.testing.assert_allclose(wide[("a", "b")], exact["joint"], atol=0.06)


def _analytic_elbo(lg, data, mean, var):
    """`E_q[log p(X|z) + log p(z) − log q(z)]` for `q = N(mean, diag var)`."""
    elbo = np.zeros(len(mean))
    for name in lg.names:
        w, b, s2 = lg.w[name], lg.b[name], lg.scale ** 2
        resid = data[name] - mean @ w.T - b
        trace = np.sum((var[:, None, :] * w[None]) * w[None], axis=(1, 2))
        d = w.shape[0]
        elbo += (-0.5 * d * np.log(2 * np.pi * s2)
                 - (np.sum(resid ** 2, axis=1) + trace) / (2 * s2))
    elbo += -0.5 * np.sum(mean ** 2 + var, axis=1)  # + E log p(z) consts
    elbo += 0.5 * np.sum(np.log(var) + 1.0, axis=1)  # entropy consts
    return elbo


def test_iwae_bounds_elbo_and_grows_with_k():
    lg = LinearGaussian(DIMS, latent_dim=2, scale=0.7, seed=7)
    n = 100
    data = lg.sample(n, seed=8)
    # A deliberately poor proposal: shifted and too wide experts.
    model = lg.model("w2", shift=0.4, log_var_offset=1.0)
    mean, log_var = model.encode(data)
    mean = np.asarray(ops.convert_to_numpy(mean), "float64")
    var = np.exp(np.asarray(ops.convert_to_numpy(log_var), "float64"))
    elbo = _analytic_elbo(lg, data, mean, var)
    weights = importance_log_weights(
        model, data, _full_mask(n, lg.names, lg.names), 100, seed=3
    )["joint"]
    assert weights.shape == (100, n)
    # Every column is a one-sample (K = 1) estimate: its mean is the ELBO.
    one_sample = weights.mean(axis=0)
    spread = weights.std(axis=0).mean()
    assert abs(one_sample.mean() - elbo.mean()) < 4 * spread / np.sqrt(
        100 * n)

    def iwae(k):  # average of the IWAE_k estimates of disjoint blocks
        blocks = weights.reshape(100 // k, k, n)
        top = blocks.max(axis=1, keepdims=True)
        return np.mean(top[:, 0] + np.log(np.mean(np.exp(blocks - top),
                                                  axis=1)))

    estimates = [iwae(k) for k in (1, 10, 100)]
    exact = lg.log_marginal(data, lg.names).mean()
    gap = exact - elbo.mean()
    assert gap > 0.5  # the proposal is poor enough to see the K effect
    assert estimates[0] < estimates[1] < estimates[2] <= exact + 0.1
    assert estimates[1] - estimates[0] > 0.1 * gap
    # `log_likelihood` is the same estimator on the same draws.
    result = ev.log_likelihood(model, data, num_samples=100,
                               subsets=[("a", "b")], seed=3, batch_size=n)
    np.testing.assert_allclose(result[("a", "b")], estimates[2], rtol=1e-6)


def test_masked_rows_are_left_out():
    lg = LinearGaussian(DIMS, latent_dim=2, scale=0.7)
    data = lg.sample(10)
    model = lg.model("poe")
    mask = np.ones((10, 2), "float32")
    mask[5:, 1] = 0.0  # "b" absent in the second half
    masked = dict(data, mask=mask)
    result = ev.log_likelihood(model, masked, num_samples=2,
                               marginals=True, seed=0)
    first = {n: v[:5] for n, v in data.items()}
    np.testing.assert_allclose(result[(("a", "b"), "joint")],
                               lg.log_marginal(first, ["a", "b"]).mean(),
                               atol=2e-3)
    # The marginal of "a" given "a" uses every row.
    np.testing.assert_allclose(result[(("a",), "a")],
                               lg.log_marginal(data, ["a"]).mean(),
                               atol=2e-3)


def test_rejects_bad_arguments():
    lg = LinearGaussian(DIMS, latent_dim=2, scale=0.7)
    model = lg.model("poe")
    data = lg.sample(4)
    with pytest.raises(ValueError, match="num_samples"):
        ev.log_likelihood(model, data, num_samples=0)
    with pytest.raises(ValueError, match="Invalid subset"):
        ev.log_likelihood(model, data, subsets=[("c",)])
