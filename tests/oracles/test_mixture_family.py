"""Our MMVAE and MMVAE+ (objectives "iwae" / "dreg", the stratified "looser"
bounds) against MultiVae 1.0.3 on the same weights and the same noise:
per-batch loss to 1e-5 relative, every parameter's gradient (encoders,
decoders, learned prior scales) to 1e-4, in float32 on both sides, with
and without missing modalities.

The noise goes in through the objective's one source of randomness,
`ImportanceWeighted.noise(model, kind, shape, dtype)`, overridden here to
return MultiVae's draws: `"shared"` stacks `eps/shared/<c>` over the
modalities, `"private"` stacks `eps/private/<c>`, `"auxiliary"` puts
`eps/auxiliary/<s>/<m>` at `[s, m]` (zeros on the unused diagonal).

DReG: MultiVae's gradient is its hooks' surrogate (each sample's gradient
scaled by its normalised weight), not the gradient of its loss value; ours
emulates the hooks, so the gradients are compared, not only the losses.
"""

import keras
import numpy as np
import pytest

import harness
import keras_mmvae as mm
from keras_mmvae.src import objectives
from keras_mmvae.src.testing.gradients import loss_and_gradients
from keras_mmvae.src.testing.test_case import to_numpy

pytestmark = pytest.mark.one_backend("jax")

B, D, DW, HIDDEN, K = 6, 3, 2, (8,), 4
DIMS = {"a": 5, "b": 7, "c": 6}
LIKELIHOODS = {"a": {"dist": "normal", "scale": 0.7},
               "b": {"dist": "laplace", "scale": 0.5},
               "c": {"dist": "bernoulli"}}
# Every modality is present in some example (MultiVae drops one that is
# missing from the whole batch) and every example keeps one.
MASKS = {"a": [1, 1, 0, 1, 0, 1], "b": [1, 0, 1, 1, 1, 1],
         "c": [0, 1, 1, 0, 1, 1]}
DTYPE = "float32"
STYLE_HEADS = ("mean", "log_var", "style_mean", "style_log_var")
MULTIVAE_DIST = {"laplace": "laplace_with_softmax", "normal": "normal"}


class StyleMLPEncoder(keras.layers.Layer):
    """Hidden ReLU Dense layers (`dense_<i>`) and four linear heads:
    `(mean, log_var)` of the shared latent (D) and `(style_mean,
    style_log_var)` of the private one (Dw), as MultiVae's multi-latent
    encoders (and multivae_side.py's `StyleEncoder`)."""

    def __init__(self, latent_dim, style_dim, hidden_dims, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(units, activation="relu",
                                          dtype=self.dtype_policy,
                                          name=f"dense_{i}")
                       for i, units in enumerate(hidden_dims)]
        self.heads = [keras.layers.Dense(units, dtype=self.dtype_policy,
                                         name=name)
                      for name, units in zip(STYLE_HEADS, (
                          latent_dim, latent_dim, style_dim, style_dim))]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        for head in self.heads:
            head.build(shape)
        self.built = True

    def call(self, x, training=False):
        for layer in self.hidden:
            x = layer(x)
        return tuple(head(x) for head in self.heads)

    def weights_and_variables(self, prefix):
        """Contract key -> array and contract key -> variable."""
        arrays, variables = {}, {}
        named = [(str(i), d) for i, d in enumerate(self.hidden)] + \
            list(zip(STYLE_HEADS, self.heads))
        for name, dense in named:
            for part in ("kernel", "bias"):
                var = getattr(dense, part)
                variables[f"{prefix}/{name}/{part}"] = var
                arrays[f"{prefix}/{name}/{part}"] = np.asarray(var.numpy())
        return arrays, variables


def injected(name, arrays, mods, **options):
    """The objective `name` drawing its noise from MultiVae's eps arrays."""
    cls = objectives.OBJECTIVES[name]

    def stacked(kind):
        if kind == "shared":
            return np.stack([arrays[f"eps/shared/{c}"] for c in mods])
        if kind == "private":
            return np.stack([arrays[f"eps/private/{c}"] for c in mods])
        rows = []
        for s in mods:
            ref = arrays[f"eps/private/{s}"]
            rows.append(np.stack([
                np.zeros_like(ref) if r == s else
                arrays[f"eps/auxiliary/{s}/{r}"] for r in mods]))
        return np.stack(rows)

    class Injected(cls):
        calls = []

        def noise(self, model, kind, shape, dtype):
            eps = stacked(kind)
            assert tuple(eps.shape) == tuple(shape), (kind, eps.shape, shape)
            self.calls.append(kind)
            return keras.ops.convert_to_tensor(eps, dtype=dtype)

    return Injected(**options)


def likelihood(spec):
    if spec["dist"] == "normal":
        return mm.likelihoods.Gaussian(spec["scale"])
    if spec["dist"] == "laplace":
        return mm.likelihoods.Laplace(spec["scale"])
    return "bernoulli"


def make_model(mods, objective, plus, **kwargs):
    keras.utils.set_random_seed(7)
    if plus:
        encoders = {m: StyleMLPEncoder(D, DW, HIDDEN, dtype=DTYPE)
                    for m in mods}
    else:
        encoders = {m: mm.layers.MLPEncoder(D, hidden_dims=HIDDEN,
                                            dtype=DTYPE) for m in mods}
    vae = mm.MultimodalVAE(
        encoders=encoders,
        decoders={m: mm.layers.MLPDecoder((DIMS[m],), hidden_dims=HIDDEN,
                                          dtype=DTYPE) for m in mods},
        likelihoods={m: likelihood(LIKELIHOODS[m]) for m in mods},
        fusion="mmvae+" if plus else "mmvae", objective=objective,
        dtype=DTYPE, seed=0, **kwargs)
    vae.build({m: (None, DIMS[m]) for m in mods})
    vae.compile(optimizer="sgd")
    vae.optimizer.build(vae.trainable_variables)
    return vae


def weights_and_variables(vae, plus):
    arrays, variables = {}, {}
    for m in vae.modality_names:
        if plus:
            a, v = vae.encoders[m].weights_and_variables(f"enc/{m}")
            arrays.update(a)
            variables.update(v)
        else:
            arrays.update(harness.encoder_weights(vae.encoders[m],
                                                  f"enc/{m}"))
            variables.update(harness.encoder_variables(vae.encoders[m],
                                                       f"enc/{m}"))
        arrays.update(harness.decoder_weights(vae.decoders[m], f"dec/{m}"))
        variables.update(harness.decoder_variables(vae.decoders[m],
                                                   f"dec/{m}"))
    return arrays, variables


def make_case(plus, loss, seed, masks=False, dist="laplace", beta=1.0,
              reconstruction_option="joint_prior"):
    """Our model, its batch, the contract key -> variable map, and
    MultiVae's (config, arrays) for one comparison. Cases with the same
    `seed` (and shapes) get identical weights, data and noise."""
    rng = np.random.default_rng(seed)
    mods = list(DIMS)
    config = dict(model="MMVAEPlus" if plus else "MMVAE", modalities=mods,
                  latent_dim=D, hidden_dims=list(HIDDEN), dtype=DTYPE,
                  input_dims={m: DIMS[m] for m in mods},
                  likelihoods={m: LIKELIHOODS[m] for m in mods},
                  K=K, loss=loss, prior_and_posterior_dist=MULTIVAE_DIST[dist],
                  beta=beta)
    if plus:
        config.update(style_dim=DW, learn_shared_prior=False,
                      learn_modality_prior=True,
                      reconstruction_option=reconstruction_option)
    else:
        config["learn_prior"] = True
    arrays, data = {}, {}
    for m in mods:
        x = rng.normal(size=(B, DIMS[m]))
        if LIKELIHOODS[m]["dist"] == "bernoulli":
            x = (x > 0).astype(float)
        arrays[f"x/{m}"] = data[m] = x.astype(DTYPE)
        if masks:
            arrays[f"mask/{m}"] = np.asarray(MASKS[m], DTYPE)
    if masks:
        data["mask"] = np.stack([MASKS[m] for m in mods], 1).astype(DTYPE)
    draw = rng.laplace if dist == "laplace" else rng.normal
    for c in mods:  # MultiVae's draw order
        arrays[f"eps/shared/{c}"] = draw(size=(K, B, D)).astype(DTYPE)
        if plus:
            arrays[f"eps/private/{c}"] = draw(size=(K, B, DW)).astype(DTYPE)
            for r in mods:
                if r != c:
                    arrays[f"eps/auxiliary/{c}/{r}"] = draw(
                        size=(K, B, DW)).astype(DTYPE)
    name = {"iwae_looser": "iwae", "dreg_looser": "dreg"}[loss]
    objective = injected(name, dict(arrays), mods, num_samples=K,
                         components="all")
    if plus:
        vae = make_model(mods, objective, plus, distribution=dist,
                         learn_private_prior=True, cross_modal_style="prior",
                         beta=beta,
                         reconstruction_option=reconstruction_option)
    else:
        vae = make_model(mods, objective, plus, distribution=dist,
                         learn_prior=True, beta=beta)
    weights, variables = weights_and_variables(vae, plus)
    arrays.update(weights)
    # Non-zero learned prior scales (MultiVae's and ours start at zero).
    if plus:
        for m in mods:
            value = (rng.normal(size=DW) * 0.6).astype(DTYPE)
            vae.private_prior_log_vars[m].assign(value)
            arrays[f"prior/private_log_var/{m}"] = value
            variables[f"prior/private_log_var/{m}"] = \
                vae.private_prior_log_vars[m]
    else:
        value = (rng.normal(size=D) * 0.6).astype(DTYPE)
        vae.prior_log_var.assign(value)
        arrays["prior/log_var"] = value
        variables["prior/log_var"] = vae.prior_log_var
    return vae, data, variables, config, arrays


def spec(plus, loss, seed, **kw):
    return dict(plus=plus, loss=loss, seed=seed, **kw)


CASES = {
    # MMVAE: laplace_with_softmax, learned prior scale (non-zero).
    "mmvae_iwae": spec(False, "iwae_looser", 1),
    "mmvae_iwae_masks": spec(False, "iwae_looser", 2, masks=True),
    "mmvae_dreg": spec(False, "dreg_looser", 3),
    "mmvae_dreg_masks": spec(False, "dreg_looser", 4, masks=True),
    # ... and a normal posterior / prior.
    "mmvae_iwae_normal_masks": spec(False, "iwae_looser", 5, masks=True,
                                    dist="normal"),
    "mmvae_dreg_normal": spec(False, "dreg_looser", 6, dist="normal"),
    # MMVAE+: private latents with learned auxiliary priors r_m (non-zero).
    "mmvaeplus_iwae": spec(True, "iwae_looser", 11),
    "mmvaeplus_iwae_masks": spec(True, "iwae_looser", 12, masks=True),
    "mmvaeplus_dreg": spec(True, "dreg_looser", 13),
    "mmvaeplus_dreg_masks": spec(True, "dreg_looser", 14, masks=True),
    "mmvaeplus_dreg_normal_beta": spec(True, "dreg_looser", 15, masks=True,
                                       dist="normal", beta=0.6),
    # reconstruction_option="single_prior": the same arrays as the
    # "joint_prior" case of the same seed (no effect on training).
    "mmvaeplus_iwae_masks_single": spec(
        True, "iwae_looser", 12, masks=True,
        reconstruction_option="single_prior"),
    "mmvaeplus_dreg_single": spec(True, "dreg_looser", 13,
                                  reconstruction_option="single_prior"),
}
SAME_AS = {"mmvaeplus_iwae_masks_single": "mmvaeplus_iwae_masks",
           "mmvaeplus_dreg_single": "mmvaeplus_dreg"}


@pytest.fixture(scope="module")
def results():
    harness.require_multivae()
    cases = {name: make_case(**s) for name, s in CASES.items()}
    ours = {}
    for name, (vae, data, variables, _, _) in cases.items():
        loss, grads = loss_and_gradients(vae, data)
        ours[name] = (loss, {key: grads[v.path]
                             for key, v in variables.items()},
                      len(vae.trainable_variables),
                      list(vae.objective.calls))
    outs = harness.run_multivae_many([c[3:5] for c in cases.values()])
    return {name: (cases[name][4], ours[name], out)
            for name, out in zip(cases, outs)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_and_gradients_match_multivae(results, name):
    arrays, (ours, our_grads, num_variables, calls), out = results[name]
    expected_order = [k[len("eps/"):] for k in arrays if k.startswith("eps/")]
    assert out["draw_order"] == expected_order
    plus = CASES[name]["plus"]
    # One draw per kind of noise (DReG's two passes share the samples).
    assert calls == (["shared", "private", "auxiliary"] if plus
                     else ["shared"])
    theirs, their_grads = harness.loss_as_batch_mean(out)
    rel = abs(ours - theirs) / abs(theirs)
    worst_abs = worst_rel = 0.0
    for key, grad in our_grads.items():
        assert grad.dtype == np.float32, key
        ref = their_grads[key]
        diff = np.abs(grad - ref)
        worst_abs = max(worst_abs, float(np.max(diff)))
        worst_rel = max(worst_rel, float(np.max(
            diff / np.maximum(np.abs(ref), 1e-3))))
        np.testing.assert_allclose(grad, ref, rtol=1e-4, atol=1e-4,
                                   err_msg=key)
    assert len(our_grads) == num_variables  # every parameter compared
    assert set(our_grads) == set(their_grads)
    print(f"{name}: loss {ours:.8g} vs {theirs:.8g} (rel {rel:.2e}), "
          f"max |grad diff| {worst_abs:.2e}, max rel (|ref| >= 1e-3) "
          f"{worst_rel:.2e}")
    assert rel < 1e-5


@pytest.mark.parametrize("name", sorted(SAME_AS))
def test_reconstruction_option_has_no_effect_in_training(results, name):
    """MultiVae's `reconstruction_option` only acts in `encode`: the
    training loss and gradients are identical for both options, ours too."""
    _, (ours, our_grads, _, _), out = results[name]
    _, (ours_joint, our_grads_joint, _, _), out_joint = \
        results[SAME_AS[name]]
    assert float(out["loss"]) == float(out_joint["loss"])
    for key in out:
        if key.startswith("grad/"):
            np.testing.assert_array_equal(out[key], out_joint[key],
                                          err_msg=key)
    assert ours == ours_joint
    for key, grad in our_grads.items():
        np.testing.assert_array_equal(grad, our_grads_joint[key],
                                      err_msg=key)


@pytest.mark.parametrize("option", ["joint_prior", "single_prior"])
def test_reconstruction_option_sets_conditional_generation_style_prior(
        option):
    """`conditional_generate` draws every private latent from a prior:
    `p` (unit scale) with "joint_prior", the learned `r_m` with
    "single_prior" (MultiVae's `encode` for unconditioned modalities)."""
    vae, data, _, _, arrays = make_case(True, "dreg_looser", 21,
                                        masks=True,
                                        reconstruction_option=option)
    recorded = []
    original = vae._prior_sample

    def recording(shape, scale, *args, **kwargs):
        recorded.append((tuple(shape), to_numpy(scale)))
        return original(shape, scale, *args, **kwargs)

    vae._prior_sample = recording
    try:
        out = vae.conditional_generate(
            {m: data[m] for m in DIMS}, mask=data["mask"])
    finally:
        del vae._prior_sample
    assert sorted(out) == sorted(DIMS)
    assert len(recorded) == len(DIMS)
    for m, (shape, scale) in zip(DIMS, recorded):
        assert shape == (B, DW)
        if option == "single_prior":
            logits = arrays[f"prior/private_log_var/{m}"].astype(np.float64)
            e = np.exp(logits - logits.max())
            expected = e / e.sum() * DW + 1e-6
        else:
            expected = np.full(DW, 1.0 + 1e-6)
        np.testing.assert_allclose(scale, expected, rtol=1e-6)
