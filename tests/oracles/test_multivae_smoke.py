"""The oracle plumbing itself: MultiVae's MMVAE / MMVAE+ losses against a
float64 NumPy re-computation written from their formulas, on the same
weights and noise.

Checks the noise injection (every eps key drawn once, in MultiVae's order,
as ``loc + scale * eps``), the weight porting (Keras kernel -> torch weight,
the [w, u] -> [u, w] permutation of MMVAE+ decoder inputs and of its shared
prior), the returned reductions, and MultiVae's gradients against central
finite differences of the NumPy loss. No Keras model is involved
(`one_backend`); the Keras-vs-MultiVae comparisons use harness.py too.
"""

import numpy as np
import pytest

import harness

pytestmark = pytest.mark.one_backend("jax")

B, D, DW, HIDDEN = 6, 3, 2, (8,)
DIMS = {"a": 5, "b": 7, "c": 6}
LIKELIHOODS = {"a": {"dist": "normal", "scale": 0.7},
               "b": {"dist": "laplace", "scale": 0.5},
               "c": {"dist": "bernoulli"}}
MASKS = {"a": [1, 1, 0, 1, 0, 1], "b": [1, 0, 1, 1, 1, 1],
         "c": [0, 1, 1, 0, 1, 1]}


# --- NumPy reference ---------------------------------------------------------

def mlp(arrays, prefix, x, heads):
    i = 0
    while f"{prefix}/{i}/kernel" in arrays:
        x = np.maximum(x @ arrays[f"{prefix}/{i}/kernel"]
                       + arrays[f"{prefix}/{i}/bias"], 0.0)
        i += 1
    return [x @ arrays[f"{prefix}/{h}/kernel"] + arrays[f"{prefix}/{h}/bias"]
            for h in heads]


def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def std_of(log_var, dist):
    if dist == "laplace_with_softmax":
        e = np.exp(log_var - log_var.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True) * log_var.shape[-1] + 1e-6
    return np.exp(0.5 * log_var)


def log_density(x, loc, scale, dist):
    """Elementwise log-density of the latent distributions."""
    if dist == "laplace_with_softmax":
        return -np.abs(x - loc) / scale - np.log(2 * scale)
    return -0.5 * ((x - loc) / scale) ** 2 - np.log(scale) \
        - 0.5 * np.log(2 * np.pi)


def log_likelihood(x, param, lik):
    if lik["dist"] == "normal":
        s = lik["scale"]
        return -0.5 * ((x - param) / s) ** 2 - np.log(s) \
            - 0.5 * np.log(2 * np.pi)
    if lik["dist"] == "laplace":
        s = lik["scale"]
        return -np.abs(x - param) / s - np.log(2 * s)
    return x * param - np.logaddexp(0.0, param)  # Bernoulli logits


def reference_loss(config, arrays):
    """MultiVae's MMVAE / MMVAEPlus training loss, from the formulas:
    per conditioning modality c and sample k,
        lw = Σ_r log p(x_r | z) + β (log p(z) - log q_mix(u|X) [- log q(w|x_c)])
    then iwae_looser: -Σ_b Σ_c (logmeanexp_k lw) / M_b
          dreg_looser (value): -Σ_b Σ_c Σ_k softmax_k(lw) lw / M_b
    with M_b the number of available modalities of example b."""
    mods, dist = config["modalities"], config["prior_and_posterior_dist"]
    plus = config["model"] == "MMVAEPlus"
    beta = config.get("beta", 1.0)
    masks = {m: arrays[f"mask/{m}"].astype(bool) if f"mask/{m}" in arrays
             else np.ones(B, bool) for m in mods}
    present = [m for m in mods if masks[m].any()]
    n_mods = sum(masks[m].astype(float) for m in present)
    heads = ["mean", "log_var"] + (["style_mean", "style_log_var"]
                                   if plus else [])
    post = {}
    for m in present:
        out = mlp(arrays, f"enc/{m}", arrays[f"x/{m}"], heads)
        post[m] = [(out[0], std_of(out[1], dist))]
        if plus:
            post[m].append((out[2], std_of(out[3], dist)))
    if plus:
        prior_lv = arrays.get("prior/shared_log_var", np.zeros(DW + D))
    else:
        prior_lv = arrays.get("prior/log_var", np.zeros(D))
    prior_std = std_of(prior_lv, dist)
    lws = []
    for c in present:
        (mu, std) = post[c][0]
        u = mu + std * arrays[f"eps/shared/{c}"]                # (K, B, D)
        if plus:
            smu, sstd = post[c][1]
            w = smu + sstd * arrays[f"eps/private/{c}"]       # (K, B, Dw)
            z_prior = np.concatenate([w, u], -1)                # OUR order
        else:
            z_prior = u
        lpz = log_density(z_prior, 0.0, prior_std, dist).sum(-1)
        lq = np.stack([log_density(u, post[m][0][0], post[m][0][1],
                                   dist).sum(-1) for m in present])
        lq = np.where(np.stack([masks[m] for m in present])[:, None, :], lq,
                      -np.inf)
        lqu = logsumexp(lq, 0) - np.log(n_mods)
        lpx = 0.0
        for r in present:
            if plus:
                if r == c:
                    w_r = w
                else:
                    r_std = std_of(arrays.get(f"prior/private_log_var/{r}",
                                              np.zeros(DW)), dist)
                    w_r = r_std * arrays[f"eps/auxiliary/{c}/{r}"]
                z = np.concatenate([w_r, u], -1)  # OUR decoders: [w, u]
            else:
                z = u
            (param,) = mlp(arrays, f"dec/{r}", z, ["out"])
            lpx = lpx + log_likelihood(arrays[f"x/{r}"], param,
                                       LIKELIHOODS[r]).sum(-1) * masks[r]
        reg = lpz - lqu
        if plus:
            reg = reg - log_density(w, smu, sstd, dist).sum(-1)
        lws.append((lpx + beta * reg) * masks[c])              # (K, B)
    lws = np.stack(lws)                                         # (M, K, B)
    K = lws.shape[1]
    if config["loss"] == "iwae_looser":
        per = logsumexp(lws, 1) - np.log(K)
    else:
        wk = np.exp(lws - logsumexp(lws, 1)[:, None])
        per = (wk * lws).sum(1)
    return -np.sum(per.sum(0) / n_mods)


# --- cases ---------------------------------------------------------------------

def make_case(model, mods, loss, dist, rng, masks=False, priors=False,
              K=3, beta=1.0):
    config = dict(model=model, modalities=list(mods), latent_dim=D,
                  hidden_dims=list(HIDDEN), dtype="float64",
                  input_dims={m: DIMS[m] for m in mods},
                  likelihoods={m: LIKELIHOODS[m] for m in mods},
                  K=K, loss=loss, prior_and_posterior_dist=dist, beta=beta)
    plus = model == "MMVAEPlus"
    if plus:
        config.update(style_dim=DW, learn_shared_prior=priors,
                      learn_modality_prior=priors)
    else:
        config["learn_prior"] = priors
    heads = {"mean": D, "log_var": D}
    if plus:
        heads.update(style_mean=DW, style_log_var=DW)
    arrays = {}
    for m in mods:
        arrays.update(harness.random_mlp_weights(
            rng, f"enc/{m}", DIMS[m], HIDDEN, heads, dtype=np.float64))
        arrays.update(harness.random_mlp_weights(
            rng, f"dec/{m}", D + (DW if plus else 0), HIDDEN,
            {"out": DIMS[m]}, dtype=np.float64))
        x = rng.normal(size=(B, DIMS[m]))
        arrays[f"x/{m}"] = (x > 0).astype(float) \
            if LIKELIHOODS[m]["dist"] == "bernoulli" else x
        if masks:
            arrays[f"mask/{m}"] = np.asarray(MASKS[m], float)
    draw = rng.laplace if dist == "laplace_with_softmax" else rng.normal
    for c in mods:
        arrays[f"eps/shared/{c}"] = draw(size=(K, B, D))
        if plus:
            arrays[f"eps/private/{c}"] = draw(size=(K, B, DW))
            for r in mods:
                if r != c:
                    arrays[f"eps/auxiliary/{c}/{r}"] = draw(size=(K, B, DW))
    if priors and plus:
        arrays["prior/shared_log_var"] = rng.normal(size=DW + D) * 0.5
        for m in mods:
            arrays[f"prior/private_log_var/{m}"] = rng.normal(size=DW) * 0.5
    elif priors:
        arrays["prior/log_var"] = rng.normal(size=D) * 0.5
    return config, arrays


CASES = {
    "mmvae_normal_iwae_prior": dict(model="MMVAE", mods="abc",
                                    loss="iwae_looser", dist="normal",
                                    priors=True),
    "mmvae_laplace_iwae_masks": dict(model="MMVAE", mods="abc",
                                     loss="iwae_looser",
                                     dist="laplace_with_softmax",
                                     masks=True, priors=True),
    "mmvae_laplace_dreg": dict(model="MMVAE", mods="ab", loss="dreg_looser",
                               dist="laplace_with_softmax"),
    "mmvaeplus_laplace_iwae_priors": dict(model="MMVAEPlus", mods="abc",
                                          loss="iwae_looser",
                                          dist="laplace_with_softmax",
                                          priors=True, K=2, beta=0.7),
}
# Gradients checked by finite differences (iwae_looser only: the DReG
# "loss" is a surrogate whose gradient is not the gradient of its value).
FD_KEYS = ["enc/a/mean/kernel", "enc/c/log_var/bias", "dec/b/0/kernel",
           "dec/a/out/bias", "prior/log_var", "prior/shared_log_var",
           "prior/private_log_var/b", "enc/b/style_log_var/kernel"]


@pytest.fixture(scope="module")
def results():
    harness.require_multivae()
    rng = np.random.default_rng(1234)
    cases = {name: make_case(rng=rng, **spec) for name, spec in CASES.items()}
    outs = harness.run_multivae_many(list(cases.values()))
    return {name: (cases[name], out) for name, out in zip(cases, outs)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_numpy_formula(results, name):
    (config, arrays), out = results[name]
    assert out["reduction"] == "sum"
    assert int(out["batch_size"]) == B
    expected_order = [k[len("eps/"):] for k in arrays if k.startswith("eps/")]
    assert out["draw_order"] == expected_order  # make_case follows MultiVae
    np.testing.assert_allclose(float(out["loss"]),
                               reference_loss(config, arrays), rtol=1e-10)
    np.testing.assert_allclose(float(out["loss_mean"]),
                               float(out["loss"]) / B, rtol=1e-12)
    for key in arrays:
        if key.startswith(("enc/", "dec/", "prior/")):
            assert out[f"grad/{key}"].shape == arrays[key].shape, key
            assert np.all(np.isfinite(out[f"grad/{key}"])), key


@pytest.mark.parametrize("name", [n for n in sorted(CASES)
                                  if CASES[n]["loss"] == "iwae_looser"])
def test_gradients_match_finite_differences(results, name):
    (config, arrays), out = results[name]
    h = 1e-6
    checked = 0
    for key in FD_KEYS:
        if key not in arrays:
            continue
        fd = np.zeros_like(arrays[key])
        for idx in np.ndindex(arrays[key].shape):
            plus, minus = dict(arrays), dict(arrays)
            plus[key] = arrays[key].copy()
            minus[key] = arrays[key].copy()
            plus[key][idx] += h
            minus[key][idx] -= h
            fd[idx] = (reference_loss(config, plus)
                       - reference_loss(config, minus)) / (2 * h)
        np.testing.assert_allclose(out[f"grad/{key}"], fd, rtol=1e-5,
                                   atol=1e-6, err_msg=key)
        checked += 1
    assert checked >= 3


def test_wrong_noise_is_rejected():
    harness.require_multivae()
    config, arrays = make_case("MMVAE", "ab", "iwae_looser", "normal",
                               np.random.default_rng(0), K=2)
    arrays["eps/shared/zzz"] = np.zeros((2, B, D))
    with pytest.raises(RuntimeError, match="unexpected"):
        harness.run_multivae(config, arrays)
