"""The importance-weighted objectives (`objectives/importance.py`).

* The IWAE and DReG losses per example equal a float64 NumPy
  re-computation of MMVAE's stratified bound written from the module's
  formula, `L = Σ_s π_s log (1/K) Σ_k w_sk` with
  `log w = Σ_m λ_m log p(x_m|z) + β (log p(z) − log q_mix(z|X))` (plus the
  own private latents' `β (log p(w_m) − log q(w_m|x_m))`), with the noise
  injected through `ImportanceWeighted.noise`: MoE with 2-3 modalities,
  masks, Laplace latents, learned priors, private latents with learned
  auxiliary priors, and MoPoE with `components="all"` and `"sampled"`.
* `K = 1` is the ELBO: exactly `log p(x|z) + log p(z) − log q(z)` per
  draw, whose latent part averages to −KL(q‖p) (the ELBO objective's
  analytic KL); for a mixture, `IWAE_1 = E log p(X|z) − Σ π_s KL(q_s‖p)
  + Σ π_s KL(q_s‖q_mix)` (the ELBO objective's bound is looser by the last
  term).
* A linear-Gaussian model with a closed-form `log p(x)`: the bound equals
  it for the exact posterior, is below it and increases in K otherwise.
* DReG: its encoder gradient has IWAE's expectation and a lower variance
  (it is exactly zero at the exact posterior), its decoder gradient is
  IWAE's, sample for sample.
* Learned prior scales train; the new presets save and reload.
* Every bad combination raises a `ValueError` naming the fix.
"""

import contextlib

import keras
import numpy as np
import pytest
from keras import ops
from scipy import special
from scipy import stats

import keras_mmvae as mm
from keras_mmvae.src import objectives
from keras_mmvae.src.ops.subsets import modality_subsets
from keras_mmvae.src.ops.subsets import stratified_components
from keras_mmvae.src.testing.gradients import loss_and_gradients
from keras_mmvae.src.testing.test_case import to_numpy

D, DW = 2, 2  # shared and private latent sizes
SHAPES = {"a": (4,), "b": (3,), "c": (2,)}
LIKELIHOODS = {"a": "gaussian", "b": "bernoulli", "c": "laplace"}
FAMILIES = {"normal": stats.norm, "laplace": stats.laplace}
DT = "float64"


def float64_scope():
    """JAX computes in float64 only with x64 enabled (here only)."""
    if keras.config.backend() == "jax":
        import jax
        return jax.enable_x64(True)
    return contextlib.nullcontext()


@keras.saving.register_keras_serializable(package="keras_mmvae_tests_iw")
class Encoder(keras.layers.Layer):
    """One hidden layer, then `(mean, log_var)` and, with `style_dim`, the
    private `(style_mean, style_log_var)`. Zero-initialised (no JAX random
    kernels to compile): `make_vae` sets NumPy values."""

    def __init__(self, latent_dim=D, style_dim=0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.style_dim = latent_dim, style_dim
        self.hidden = keras.layers.Dense(8, activation="tanh",
                                         kernel_initializer="zeros",
                                         dtype=self.dtype_policy)
        dims = (latent_dim,) * 2 + ((style_dim,) * 2 if style_dim else ())
        self.heads = [keras.layers.Dense(d, kernel_initializer="zeros",
                                         dtype=self.dtype_policy)
                      for d in dims]

    def build(self, input_shape):
        self.hidden.build(input_shape)
        for head in self.heads:
            head.build((None, 8))

    def call(self, x):
        h = self.hidden(x)
        return tuple(head(h) for head in self.heads)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "style_dim": self.style_dim}


@keras.saving.register_keras_serializable(package="keras_mmvae_tests_iw")
class Linear(keras.layers.Layer):
    """A linear decoder `z @ kernel + bias` (zero-initialised)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.out = keras.layers.Dense(units, kernel_initializer="zeros",
                                      dtype=self.dtype_policy)

    def build(self, input_shape):
        self.out.build(input_shape)

    def call(self, z):
        return self.out(z)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class RowEncoder(keras.layers.Layer):
    """`(mean, log_var)` of every row of a batch of fixed size: variables,
    so that their gradient is the per-example gradient."""

    def __init__(self, mean, log_var, **kwargs):
        super().__init__(**kwargs)
        self.init_mean, self.init_log_var = mean, log_var

    def build(self, input_shape):
        self.loc = self.add_weight(shape=self.init_mean.shape, name="loc",
                                   initializer="zeros")
        self.log_var = self.add_weight(shape=self.init_log_var.shape,
                                       name="log_var", initializer="zeros")
        # Assigned, not a Constant initializer (that rounds to float32).
        self.loc.assign(self.init_mean)
        self.log_var.assign(self.init_log_var)

    def call(self, x):
        return self.loc * 1.0, self.log_var * 1.0

    def compute_output_spec(self, x):
        spec = keras.KerasTensor(self.init_mean.shape, dtype=self.dtype)
        return spec, spec


def recording(name, seed=0, **options):
    """The objective `name` with its noise drawn by NumPy and recorded."""

    class Recording(objectives.OBJECTIVES[name]):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.reseed(seed)

        def reseed(self, value):
            self.rng, self.draws = np.random.default_rng(value), {}

        def noise(self, model, kind, shape, dtype):
            shape = tuple(int(s) for s in shape)
            draw = (self.rng.standard_normal(shape)
                    if model.distribution == "normal"
                    else self.rng.laplace(size=shape))
            self.draws[kind] = draw
            return ops.convert_to_tensor(draw, dtype)

    return Recording(**options)


def make_vae(names, fusion, objective=None, style=False, dtype=DT, seed=0,
             **kwargs):
    if dtype == DT:
        # The model does not pass its dtype on to a fusion it makes from a
        # preset name (float32 mixture weights and PoE components).
        fusion = mm.BarycenterFusion.from_preset(
            fusion, modality_names=list(names), dtype=dtype, name="fusion")
    vae = mm.MultimodalVAE(
        encoders={n: Encoder(style_dim=DW if style else 0, dtype=dtype)
                  for n in names},
        decoders={n: Linear(SHAPES[n][0], dtype=dtype) for n in names},
        likelihoods={n: LIKELIHOODS[n] for n in names},
        fusion=fusion, objective=objective, seed=0, dtype=dtype, **kwargs)
    vae.build({n: (None,) + SHAPES[n] for n in names})
    rng = np.random.default_rng(seed)
    for layer in list(vae.encoders.values()) + list(vae.decoders.values()):
        for variable in layer.weights:
            variable.assign(rng.normal(scale=0.7, size=variable.shape))
    return vae


def make_data(names, n, seed=0, dtype=DT):
    rng = np.random.default_rng(seed)
    data = {}
    for name in names:
        x = rng.normal(size=(n,) + SHAPES[name])
        if LIKELIHOODS[name] == "bernoulli":
            x = (x > 0).astype(float)
        data[name] = x.astype(dtype)
    return data


def run(vae, data, sample_weights=None):
    """One forward pass (the same draws for every weight): its outputs as
    NumPy, and the loss under each row of `sample_weights` (default: no
    weight). JAX runs it compiled (eager JAX compiles op by op)."""
    batch = len(next(v for k, v in data.items() if k != "mask"))
    weights = [np.ones(batch)] if sample_weights is None else \
        list(sample_weights)
    if keras.config.backend() == "jax":
        import jax

        state = [[v.value for v in variables] for variables in (
            vae.trainable_variables, vae.non_trainable_variables,
            vae.metrics_variables)]

        @jax.jit
        def loss_and_outputs(weight):
            _, (loss, outputs, _, _) = vae.compute_loss_and_updates(
                *state, data, None, weight, training=False)
            return loss, outputs

        results = [loss_and_outputs(w) for w in weights]
        outputs, losses = results[0][1], [r[0] for r in results]
    else:
        outputs = vae(data, training=False)
        losses = [vae.compute_loss(data, None, outputs, sample_weight=w)
                  for w in weights]
    return to_numpy(outputs), np.array([float(to_numpy(v)) for v in losses])


def per_example_losses(vae, data):
    """The outputs and the objective's loss of each example (one-hot
    sample weights: the loss is `Σ_b w_b l_b / B`)."""
    batch = len(next(v for k, v in data.items() if k != "mask"))
    return run(vae, data, batch * np.eye(batch))


# Losses: keras.ops.mean of float64 carries float32 rounding (~3e-8
# relative, every backend), so the batch-mean losses agree to 1e-6.
# Per-sample outputs agree to 1e-10 on TF and torch; JAX (float64 only
# inside jax.enable_x64) rounds some ops to float32 as well.
JAX = keras.config.backend() == "jax"
TOL = dict(rtol=1e-6, atol=1e-5 if JAX else 1e-6)
OUT_TOL = dict(rtol=1e-6, atol=1e-5) if JAX else dict(rtol=1e-10,
                                                      atol=1e-10)


# ---------------------------------------------------------------- oracle
def np_scale(distribution, log_var):
    if distribution == "normal":
        return np.exp(0.5 * log_var)
    return special.softmax(log_var, axis=-1) * log_var.shape[-1] + 1e-6


def np_log_prob(distribution, z, mean, scale):
    return FAMILIES[distribution].logpdf(z, loc=mean, scale=scale).sum(-1)


def np_log_likelihood(kind, x, params):
    if kind == "gaussian":
        return stats.norm.logpdf(x, params).sum(-1)
    if kind == "laplace":
        return stats.laplace.logpdf(x, params, 0.75).sum(-1)
    return (x * params - np.logaddexp(0.0, params)).sum(-1)


def np_components(vae, mean, log_var, mask):
    """`(B, S, D)` locations and scales, `(B, S)` weights, `(S, M)`
    membership: the experts (MoE) or the PoE of each subset with the prior
    expert in the full set (MoPoE)."""
    batch, num, _ = mean.shape
    low, high = vae.fusion.log_var_clip
    dist = vae.distribution
    if vae.fusion.mode == "moe":
        log_var = np.clip(log_var, low, high) if dist == "normal" \
            else log_var
        return mean, np_scale(dist, log_var), mask / np.maximum(mask.sum(
            -1, keepdims=True), 1.0), np.eye(num)
    assert vae.fusion.mode == "poe" and vae.fusion.subsets == "all"
    subsets = modality_subsets(num)
    membership = np.zeros((len(subsets), num))
    for s, subset in enumerate(subsets):
        membership[s, list(subset)] = 1.0
    precision_m = np.exp(-np.clip(log_var, low, high))  # (B, M, D)
    present = membership[None] * mask[:, None]  # (B, S, M)
    count = present.sum(-1)
    prior = (count == num) + (count == 0)  # prior expert; empty → prior
    precision = np.einsum("bsm,bmd->bsd", present, precision_m) \
        + prior[..., None]
    loc = np.einsum("bsm,bmd->bsd", present, precision_m * mean) / precision
    valid = (count == membership.sum(-1)[None]).astype(float)
    return loc, precision ** -0.5, valid / np.maximum(
        valid.sum(-1, keepdims=True), 1.0), membership


def np_loss(vae, data, mask, draws, estimator, chosen=None):
    """Per-example loss of the stratified bound, float64 NumPy.

    `chosen`: `(B,)` component of each example (`components="sampled"`),
    else every component (`"all"`).
    """
    names, dist = vae.modality_names, vae.distribution
    mean, log_var, styles = vae.encode_experts(data)
    mean, log_var = to_numpy(mean), to_numpy(log_var)
    batch, num = mean.shape[:2]
    mask = np.ones((batch, num)) if mask is None else mask
    loc, scale, pi, membership = np_components(vae, mean, log_var, mask)
    eps = draws["shared"]
    rows = np.arange(batch)
    if chosen is None:
        assert eps.shape[0] == loc.shape[1]
        z = np.transpose(loc, (1, 0, 2))[:, None] + \
            np.transpose(scale, (1, 0, 2))[:, None] * eps
        members = np.broadcast_to(membership[:, None], (len(membership),
                                                        batch, num))
    else:
        assert eps.shape[0] == 1
        z = loc[rows, chosen][None, None] + scale[rows, chosen][None, None] \
            * eps
        members = membership[chosen][None]
    k = eps.shape[1]
    log_q = np_log_prob(dist, z[..., None, :], loc[None, None],
                        scale[None, None])  # (S', K, B, S)
    # Rows without any modality: every log π = −inf (they score 0).
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pi = np.log(pi)
        log_mix = special.logsumexp(log_q + log_pi[None, None], axis=-1)
    prior_log_var = to_numpy(vae.prior_log_var) if vae.learn_prior else \
        np.zeros(D)
    latent = np_log_prob(dist, z, 0.0, np_scale(dist, prior_log_var)) \
        - log_mix
    own = np.ones_like(members) if vae.cross_modal_style == "posterior" \
        else members
    own = own * mask[None]
    decoder_input = {n: z for n in names}
    low, high = vae.fusion.log_var_clip
    for j, name in enumerate([n for n in names if n in styles]):
        i = names.index(name)
        s_mean = to_numpy(styles[name][0])
        s_scale = np_scale(dist, np.clip(to_numpy(styles[name][1]), low,
                                         high))
        w_own = s_mean + s_scale * draws["private"][j]  # (K, B, Dw)
        learned = vae.private_prior_log_vars.get(name)
        r_scale = np_scale(dist, np.zeros(DW) if learned is None
                           else to_numpy(learned))
        w_aux = draws["auxiliary"][:, j] * r_scale  # (S', K, B, Dw)
        term = np_log_prob(dist, w_own, 0.0, np_scale(dist, np.zeros(DW))) \
            - np_log_prob(dist, w_own, s_mean, s_scale)
        latent = latent + own[:, None, :, i] * term
        w = np.where(own[:, None, :, i, None] > 0, w_own[None], w_aux)
        decoder_input[name] = np.concatenate([w, z], axis=-1)
    log_w = vae.beta * latent
    for i, name in enumerate(names):
        kernel = to_numpy(vae.decoders[name].out.kernel)
        bias = to_numpy(vae.decoders[name].out.bias)
        params = decoder_input[name] @ kernel + bias
        log_p = np_log_likelihood(LIKELIHOODS[name], data[name], params)
        log_w = log_w + vae.reconstruction_weights[name] * log_p * \
            mask[None, None, :, i]
    if estimator == "iwae":
        bound = special.logsumexp(log_w, axis=1) - np.log(k)
    else:
        bound = (special.softmax(log_w, axis=1) * log_w).sum(1)
    if chosen is None:
        return -np.where(pi.T > 0, pi.T * bound, 0.0).sum(0)
    # An example without any modality contributes nothing.
    return np.where(mask.any(-1), -bound[0], 0.0)


def chosen_components(vae, data, mask, draws, outputs):
    """The component each example used, read off the sample `z[0, 0]`."""
    mean, log_var, _ = vae.encode_experts(data)
    mean, log_var = to_numpy(mean), to_numpy(log_var)
    mask = np.ones(mean.shape[:2]) if mask is None else mask
    loc, scale, pi, _ = np_components(vae, mean, log_var, mask)
    candidates = loc + scale * draws["shared"][0, 0][:, None]  # (B, S, D)
    distance = np.abs(candidates - to_numpy(outputs["z"])[:, None]).max(-1)
    chosen = distance.argmin(-1)
    rows = np.arange(len(chosen))
    np.testing.assert_allclose(distance[rows, chosen], 0.0,
                               atol=OUT_TOL["atol"])
    # Never an absent component (rows without data excepted).
    assert (pi[rows, chosen] > 0)[mask.any(-1)].all()
    return chosen


MASK3 = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1],
                  [1, 1, 1]], dtype=float)
CASES = {
    # MoE, 3 modalities, mask, β and λ: every component (|S| = M).
    "moe3_mask_iwae": dict(names="abc", fusion="moe", estimator="iwae",
                           mask=MASK3),
    "moe3_mask_dreg": dict(names="abc", fusion="moe", estimator="dreg",
                           mask=MASK3),
    # MMVAE: Laplace latents with a learned prior scale.
    "mmvae": dict(names="ab", fusion="moe", estimator="dreg",
                  mask=MASK3[:, :2], distribution="laplace",
                  learn_prior=True),
    "mmvae_iwae_sampled": dict(names="ab", fusion="moe", estimator="iwae",
                               mask=MASK3[:, :2], distribution="laplace",
                               learn_prior=True, components="sampled"),
    # MMVAE+: private latents, learned auxiliary priors.
    "mmvae+": dict(names="abc", fusion="moe", estimator="dreg", mask=MASK3,
                   distribution="laplace", style=True,
                   learn_private_prior=True, cross_modal_style="prior"),
    "moe_style_posterior": dict(names="ab", fusion="moe", estimator="iwae",
                                style=True, cross_modal_style="posterior"),
    # MoPoE: every subset, or one per example (blocks / a draw).
    "mopoe_all_mask": dict(names="abc", fusion="mopoe", estimator="iwae",
                           mask=MASK3, components="all"),
    "mopoe_sampled": dict(names="abc", fusion="mopoe", estimator="iwae",
                          components="sampled", batch=14),
    "mopoe_sampled_mask": dict(names="abc", fusion="mopoe",
                               estimator="dreg", mask=MASK3,
                               components="sampled"),
    "mopoe+_sampled": dict(names="ab", fusion="mopoe", estimator="dreg",
                           style=True, learn_private_prior=True,
                           cross_modal_style="prior", mask=MASK3[:, :2],
                           components="auto"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_matches_a_numpy_recomputation_of_the_bound(case):
    spec = dict(CASES[case])
    names, mask = list(spec.pop("names")), spec.pop("mask", None)
    estimator, batch = spec.pop("estimator"), spec.pop("batch", 6)
    components = spec.pop("components", "auto")
    style = spec.pop("style", False)
    rng = np.random.default_rng(1)
    with float64_scope():
        vae = make_vae(names, spec.pop("fusion"),
                       recording(estimator, num_samples=3,
                                 components=components),
                       style=style, beta=0.7,
                       reconstruction_weights={"a": 1.0, "b": 2.0,
                                               "c": 0.5}
                       if "c" in names else {"a": 1.0, "b": 2.0}, **spec)
        # Non-trivial learned scales (they start at zero).
        variables = ([vae.prior_log_var] if vae.learn_prior else []) + \
            list(vae.private_prior_log_vars.values())
        for variable in variables:
            variable.assign(rng.normal(scale=0.5, size=variable.shape))
        data = make_data(names, batch)
        if mask is not None:
            data["mask"] = mask
        outputs, got = per_example_losses(vae, data)
        draws = vae.objective.draws
        sampled = not vae.objective.uses_all_components(vae)
        chosen = None
        if sampled:
            chosen = chosen_components(vae, data, mask, draws, outputs)
            if mask is None:  # MoPoE's stratified blocks
                np.testing.assert_array_equal(chosen, to_numpy(
                    stratified_components(batch, len(vae.fusion.components))))
        expected = np_loss(vae, data, mask, draws, estimator, chosen)
    assert got.shape == expected.shape == (batch,)
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(got, expected, **TOL)


# ------------------------------------------------------------- K = 1
def test_one_sample_of_one_modality_is_the_elbo():
    n = 4000
    with float64_scope():
        vae = make_vae(["a"], "moe", recording("iwae", num_samples=1))
        data = {"a": np.repeat(make_data(["a"], 1)["a"], n, axis=0)}
        outputs, (loss,) = run(vae, data)
        eps = vae.objective.draws["shared"][0, 0]  # (B, D)
        mean, log_var, _ = vae.encode_experts(data)
        mean, log_var = to_numpy(mean)[:, 0], to_numpy(log_var)[:, 0]
        vae.objective = objectives.get("elbo")
        elbo_outputs, (elbo_loss,) = run(vae, data)
    log_px = outputs["log_px"][0, 0, :, 0]
    latent = outputs["log_prior_q"][0, 0]
    # K = 1: the loss is −log w = −(log p(x|z) + log p(z) − log q(z)).
    np.testing.assert_allclose(loss, -(log_px + latent).mean(), **TOL)
    # Per draw: log p(z) − log q(z) = −|z|²/2 + |eps|²/2 + Σ log σ.
    z = mean + np.exp(0.5 * log_var) * eps
    np.testing.assert_allclose(
        latent, 0.5 * ((eps ** 2).sum(-1) - (z ** 2).sum(-1) + log_var.sum(
            -1)), **OUT_TOL)
    # Its mean is −KL(q‖p): the ELBO objective's analytic KL.
    kl = 0.5 * (np.exp(log_var) + mean ** 2 - 1.0 - log_var).sum(-1)
    np.testing.assert_allclose(elbo_outputs["kl"], kl, **OUT_TOL)
    se = latent.std() / np.sqrt(n)
    assert abs(-latent.mean() - kl[0]) < 5 * se, (-latent.mean(), kl[0], se)
    # Whole losses (independent draws): IWAE_1 ≈ ELBO.
    nll = -stats.norm.logpdf(data["a"], elbo_outputs["outputs"]["a"]).sum(-1)
    se = np.sqrt(((log_px + latent).var() + nll.var()) / n)
    assert abs(loss - elbo_loss) < 5 * se, (loss, elbo_loss, se)


def test_one_sample_of_a_mixture_adds_the_kl_to_the_mixture():
    # IWAE_1 = E log p(X|z) − Σ π KL(q_s‖p) + Σ π KL(q_s‖q_mix) ≥ the
    # ELBO objective's bound (whose KL is the upper bound Σ π KL(q_s‖p)).
    n = 3000
    names = ["a", "b"]
    with float64_scope():
        vae = make_vae(names, "moe", recording("iwae", num_samples=1,
                                               components="all"))
        one = make_data(names, 1, seed=3)
        data = {k: np.repeat(v, n, axis=0) for k, v in one.items()}
        outputs, (loss,) = run(vae, data)
        mean, log_var, _ = vae.encode_experts(one)
        mean, log_var = to_numpy(mean)[0], to_numpy(log_var)[0]  # (M, D)
        vae.objective = objectives.get("elbo")
        elbo, (elbo_loss,) = run(vae, data)
    pi = np.full(2, 0.5)
    latent = outputs["log_prior_q"][:, 0]  # (S, B)
    rec = -outputs["log_px"][:, 0].sum(-1)  # (S, B)
    per_row = (pi[:, None] * (rec - latent)).sum(0)
    np.testing.assert_allclose(loss, per_row.mean(), **TOL)
    kl_p = 0.5 * (np.exp(log_var) + mean ** 2 - 1.0 - log_var).sum(-1)
    np.testing.assert_allclose(elbo["kl"], pi @ kl_p, **OUT_TOL)
    # Σ π KL(q_s‖q_mix) by NumPy Monte Carlo.
    rng = np.random.default_rng(4)
    std = np.exp(0.5 * log_var)
    kl_mix, se_mix = [], []
    for s in range(2):
        z = mean[s] + std[s] * rng.standard_normal((200_000, D))
        log_q = stats.norm.logpdf(z[:, None], mean, std).sum(-1)  # (N, S)
        diff = log_q[:, s] - special.logsumexp(log_q + np.log(pi), axis=-1)
        kl_mix.append(diff.mean())
        se_mix.append(diff.std() / np.sqrt(len(diff)))
    kl_mix = pi @ np.array(kl_mix)
    assert kl_mix > 0.05  # the experts differ: the identity has content
    # Latent part: E[log q_mix − log p] under the strata.
    value = -(pi[:, None] * latent).sum(0)
    se = np.hypot(value.std() / np.sqrt(n), np.hypot(*se_mix) / 2)
    assert abs(value.mean() - (pi @ kl_p - kl_mix)) < 5 * se, (
        value.mean(), pi @ kl_p - kl_mix, se)
    # Whole losses: ELBO objective − IWAE_1 ≈ Σ π KL(q_s‖q_mix).
    nll = -(stats.norm.logpdf(data["a"], elbo["outputs"]["a"]).sum(-1)
            + np_log_likelihood("bernoulli", data["b"], elbo["outputs"]["b"]))
    se = np.sqrt((per_row.var() + nll.var()) / n)
    assert abs(elbo_loss - loss - kl_mix) < 5 * se, (elbo_loss - loss,
                                                     kl_mix, se)


# ------------------------------------------------- linear-Gaussian model
LG_W = np.array([[1.2, 0.0], [0.0, 0.9], [0.5, 0.0]])  # orthogonal columns
LG_B = np.array([0.3, -0.2, 0.1])
LG_SIGMA = 0.8
LG_X = np.array([1.0, -0.5, 0.7])


def lg_posterior():
    """Exact posterior of p(z) = N(0, I), p(x|z) = N(Wz + b, σ² I): diagonal
    (W's columns are orthogonal)."""
    precision = 1.0 + (LG_W ** 2).sum(0) / LG_SIGMA ** 2
    mean = (LG_W.T @ (LG_X - LG_B)) / LG_SIGMA ** 2 / precision
    return mean, 1.0 / precision


def lg_log_marginal():
    cov = LG_W @ LG_W.T + LG_SIGMA ** 2 * np.eye(3)
    return stats.multivariate_normal.logpdf(LG_X, LG_B, cov)


def lg_vae(estimator, k, mean, var, rows, seed=0):
    """One modality, MoE, linear decoder with the model's weights, a
    per-row encoder at `(mean, var)`."""
    vae = mm.MultimodalVAE(
        encoders={"x": RowEncoder(np.tile(mean, (rows, 1)),
                                  np.tile(np.log(var), (rows, 1)),
                                  dtype=DT)},
        decoders={"x": Linear(3, dtype=DT)},
        likelihoods={"x": mm.likelihoods.Gaussian(scale=LG_SIGMA)},
        fusion=mm.BarycenterFusion.from_preset("moe", dtype=DT,
                                               name="fusion"),
        seed=0, dtype=DT, objective=recording(estimator, seed=seed, num_samples=k))
    vae.build({"x": (None, 3)})
    vae.decoders["x"].out.kernel.assign(LG_W.T)
    vae.decoders["x"].out.bias.assign(LG_B)
    return vae, {"x": np.tile(LG_X, (rows, 1))}


def bounds_per_row(vae, data):
    """Each row's bound from the outputs, checked against the loss."""
    outputs, (loss,) = run(vae, data)
    log_w = outputs["log_px"][0, ..., 0] + outputs["log_prior_q"][0]
    bound = special.logsumexp(log_w, axis=0) - np.log(log_w.shape[0])
    np.testing.assert_allclose(loss, -bound.mean(), **TOL)
    return bound


def test_bound_is_log_marginal_at_the_exact_posterior_and_below_it_else():
    log_px = lg_log_marginal()
    mean, var = lg_posterior()
    with float64_scope():
        for k in (1, 5):
            vae, data = lg_vae("iwae", k, mean, var, rows=8)
            # (Keras rounds some float64 ops through float32: ~1e-7.)
            np.testing.assert_allclose(bounds_per_row(vae, data), log_px,
                                       **TOL)
        # A mismatched q: shifted mean, inflated variance.
        q_mean, q_var = mean + np.array([0.6, -0.4]), 3.0 * var
        rows = 2000
        results = {}
        for k in (1, 5, 50):
            vae, data = lg_vae("iwae", k, q_mean, q_var, rows=rows, seed=k)
            bound = bounds_per_row(vae, data)
            results[k] = (bound.mean(), bound.std() / np.sqrt(rows))
    # K = 1: E log w = log p(x) − KL(q‖p(z|x)) (Gaussian KL).
    kl = 0.5 * (q_var / var + (q_mean - mean) ** 2 / var - 1.0
                + np.log(var / q_var)).sum()
    value, se = results[1]
    assert abs(value - (log_px - kl)) < 5 * se, (value, log_px - kl, se)
    # Increasing in K, below log p(x).
    for small, large in ((1, 5), (5, 50)):
        gap = results[large][0] - results[small][0]
        assert gap > 5 * np.hypot(results[large][1], results[small][1]), \
            (results, log_px)
    assert results[50][0] < log_px + 3 * results[50][1]
    print(f"log p(x) = {log_px:.4f}; bound - log p(x): "
          + ", ".join(f"K={k}: {v - log_px:.4f} ± {s:.4f}"
                      for k, (v, s) in results.items()))


def gradients_by_name(vae, data):
    """The batch-mean loss and its gradient per variable name."""
    loss, grads = loss_and_gradients(vae, data, training=False, jit=True)
    return loss, {path.split("/")[-1]: g for path, g in grads.items()}


def encoder_and_decoder_gradients(estimator, k, mean, var, rows, seed):
    vae, data = lg_vae(estimator, k, mean, var, rows=rows, seed=seed)
    loss, grads = gradients_by_name(vae, data)
    # Per-row gradient of the per-example loss (the loss is a batch mean).
    per_row = rows * np.concatenate([grads["loc"], grads["log_var"]], -1)
    return loss, per_row, (grads["kernel"], grads["bias"])


def test_dreg_gradient_is_unbiased_for_iwae_with_lower_variance():
    mean, var = lg_posterior()
    rows, k = 4000, 10
    with float64_scope():
        # Exact posterior: DReG's encoder gradient is zero per sample (the
        # path derivative of log p(z|x) − log q(z) vanishes); IWAE's is
        # the score term, zero only in expectation.
        _, exact_iwae, dec_iwae = encoder_and_decoder_gradients(
            "iwae", k, mean, var, rows=200, seed=0)
        _, exact_dreg, dec_dreg = encoder_and_decoder_gradients(
            "dreg", k, mean, var, rows=200, seed=0)
        # A mismatched q, the same draws for both estimators.
        q_mean, q_var = mean + np.array([0.6, -0.4]), 3.0 * var
        loss_iwae, g_iwae, dec_iwae_q = encoder_and_decoder_gradients(
            "iwae", k, q_mean, q_var, rows=rows, seed=1)
        loss_dreg, g_dreg, dec_dreg_q = encoder_and_decoder_gradients(
            "dreg", k, q_mean, q_var, rows=rows, seed=1)
    # Zero up to float32-level rounding; IWAE's per-row spread is > 0.05.
    np.testing.assert_allclose(exact_dreg, 0.0, atol=1e-6)
    assert exact_iwae.std(0).min() > 0.05
    assert (np.abs(exact_iwae.mean(0))
            < 5 * exact_iwae.std(0) / np.sqrt(200)).all()
    # The decoders get IWAE's gradient, draw for draw.
    for ours, theirs in zip(dec_dreg + dec_dreg_q, dec_iwae + dec_iwae_q):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    # Same expectation: the paired difference averages to zero.
    diff = g_dreg - g_iwae
    se = diff.std(0) / np.sqrt(rows)
    assert (np.abs(diff.mean(0)) < 5 * se).all(), (diff.mean(0), se)
    # ... and it is no trivial zero: the gradient is clearly non-zero.
    assert (np.abs(g_iwae.mean(0)) > 5 * g_iwae.std(0) / np.sqrt(rows)).any()
    ratio = g_dreg.var(0) / g_iwae.var(0)
    assert (ratio < 1.0).all(), ratio
    # DReG's value is −Σ w̃ log w ≤ IWAE's −log mean w (Jensen-like gap).
    assert loss_dreg <= loss_iwae
    print("mean grad IWAE", g_iwae.mean(0), "DReG", g_dreg.mean(0),
          "paired se", se, "variance ratio DReG/IWAE", ratio)


# ----------------------------------------------------- presets & priors
PRESET_CASES = {"mmvae": False, "mmvae+": True, "mopoe+": True,
                "mwb+": True}


@pytest.mark.parametrize("preset", sorted(PRESET_CASES))
def test_learned_priors_train_and_presets_round_trip(preset, tmp_path):
    names = ["a", "b"]
    vae = make_vae(names, preset, style=PRESET_CASES[preset],
                   dtype="float32")
    assert vae.objective.get_config() == {"name": "dreg", "num_samples": 10,
                                          "components": "auto"}
    learned = ([vae.prior_log_var] if vae.learn_prior else []) + \
        list(vae.private_prior_log_vars.values())
    expected = {"mmvae": ["prior_log_var"]}.get(
        preset, ["private_prior_log_var_a", "private_prior_log_var_b"])
    assert [v.path.split("/")[-1] for v in learned] == expected
    data = make_data(names, 16, dtype="float32")
    data["mask"] = np.ones((16, 2), "float32")
    data["mask"][::3, 1] = 0.0
    if preset in ("mopoe+", "mwb+"):  # their gradient (fit is slow)
        _, grads = gradients_by_name(vae, data)
        for name in expected:
            assert np.isfinite(grads[name]).all()
            assert np.abs(grads[name]).max() > 1e-6, name
    else:  # one fit step moves them
        vae.compile(optimizer=keras.optimizers.SGD(0.1))
        before = [to_numpy(v) for v in learned]
        vae.fit(data, batch_size=16, epochs=1, verbose=0)
        for old, variable in zip(before, learned):
            new = to_numpy(variable)
            assert np.isfinite(new).all()
            assert np.abs(new - old).max() > 1e-6, variable.path
    path = tmp_path / f"{preset}.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.objective.get_config() == vae.objective.get_config()
    assert (loaded.distribution, loaded.learn_prior,
            loaded.learn_private_prior, loaded.cross_modal_style) == (
        vae.distribution, vae.learn_prior, vae.learn_private_prior,
        vae.cross_modal_style)
    for ours, theirs in zip(vae.weights, loaded.weights):
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))
    # The same seed state on both sides (saved with the model): the same
    # draws, the same loss.
    _, first = run(vae, data)
    _, second = run(loaded, data)
    np.testing.assert_array_equal(first, second)


# ------------------------------------------------------ bad combinations
def bad(names="ab", style=False, **kwargs):
    return lambda: make_vae(list(names), style=style, dtype="float32",
                            **kwargs)


BAD = {
    "iwae_poe": (bad(fusion="poe", objective="iwae", unimodal_elbos=False),
                 "mixture fusion"),
    "dreg_w2": (bad(fusion="w2", objective="dreg"), "mixture fusion"),
    "dreg_instance_poe": (bad(fusion="poe", objective=objectives.DReG(),
                              unimodal_elbos=False), "mixture fusion"),
    "laplace_mopoe": (bad(fusion="mopoe", objective="iwae",
                          distribution="laplace"), '"moe" fusion'),
    "laplace_mwb": (bad(fusion="mwb", objective="dreg",
                        distribution="laplace"), '"moe" fusion'),
    "laplace_w2": (bad(fusion="w2", distribution="laplace"),
                   '"moe" fusion'),
    "laplace_poe": (bad(fusion="poe", distribution="laplace"),
                    '"moe" fusion'),
    "laplace_mopoe+": (bad(fusion="mopoe+", style=True,
                           distribution="laplace"), '"moe" fusion'),
    "iwae_unimodal_elbos": (bad(fusion="moe", objective="iwae",
                                unimodal_elbos=True),
                            "unimodal_elbos=False"),
    "private_prior_without_style": (bad(fusion="moe", objective="dreg",
                                        learn_private_prior=True),
                                    "style"),
    "mmvae+_without_style": (bad(fusion="mmvae+"), "style"),
    "shared_prior_with_style": (bad(fusion="moe", objective="iwae",
                                    style=True, learn_prior=True),
                                "learn_private_prior"),
    "unknown_objective": (bad(fusion="moe", objective="iwea"),
                          "Unknown objective"),
    "bad_option": (bad(fusion="moe", objective={"name": "iwae", "k": 3}),
                   "Bad options"),
    "elbo_with_num_samples": (bad(fusion="moe", objective={
        "name": "elbo", "num_samples": 3}), "Bad options"),
    "unknown_components": (bad(fusion="mmvae", objective={
        "name": "dreg", "components": "every"}), "components"),
    "bad_cross_modal_style": (bad(fusion="mmvae", cross_modal_style="both"),
                              "cross_modal_style"),
    "bad_reconstruction_option": (bad(fusion="mmvae",
                                      reconstruction_option="prior"),
                                  "reconstruction_option"),
    "unknown_distribution": (bad(fusion="moe", objective="iwae",
                                 distribution="cauchy"), "distribution"),
    "laplace_with_elbo": (bad(fusion="moe", objective="elbo",
                              distribution="laplace"), "iwae"),
    "learned_prior_with_elbo": (bad(fusion="moe", objective="elbo",
                                    learn_prior=True), "iwae"),
    "learned_private_prior_with_elbo": (bad(
        fusion="moe", objective="elbo", style=True,
        learn_private_prior=True), "iwae"),
    "mmvae_with_elbo": (bad(fusion="mmvae", objective="elbo"), "iwae"),
}
for value in (0, -1, 2.5, True, "3", None, "ten", [10]):
    BAD[f"num_samples_{value!r}"] = (
        bad(fusion="moe", objective={"name": "iwae", "num_samples": value}),
        "num_samples")


def test_bad_combinations_raise_naming_the_fix():
    for case, (make, message) in sorted(BAD.items()):
        with pytest.raises(ValueError, match=message):
            make()
            raise AssertionError(f"{case} was accepted")


def test_direct_construction_checks_its_options():
    for value in (0, 2.5, None, "ten"):
        with pytest.raises(ValueError, match="num_samples"):
            objectives.IWAE(num_samples=value)
    with pytest.raises(ValueError, match="components"):
        objectives.DReG(components="some")
    assert objectives.IWAE(num_samples=np.int64(4)).num_samples == 4
