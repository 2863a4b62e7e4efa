"""Our MVTCAE, CRMVAE and JMVAE objectives against MultiVae 1.0.3 on the
same weights and the same noise: per-batch loss to 1e-5 relative, every
parameter's gradient to 1e-4 (float64 on both sides), with and without
missing modalities.

The noise goes in through the objective's one source of randomness,
`noise(model, kind, shape, dtype)`, overridden here to return MultiVae's
`eps/<kind>` draws.
"""

import contextlib

import keras
import numpy as np
import pytest

import harness
import keras_mmvae as mm
from keras_mmvae.src import objectives
from keras_mmvae.src.testing.gradients import loss_and_gradients

pytestmark = pytest.mark.one_backend("jax")

B, D, HIDDEN = 6, 3, (8,)
DIMS = {"a": 5, "b": 7, "c": 4}
LIKELIHOODS = {"a": {"dist": "normal", "scale": 0.7},
               "b": {"dist": "laplace", "scale": 0.5},
               "c": {"dist": "bernoulli"}}
# Every example keeps at least one modality (MultiVae's PoE needs one).
MASKS = {"a": [1, 1, 0, 1, 0, 1], "b": [1, 0, 1, 1, 1, 0],
         "c": [0, 1, 1, 0, 1, 1]}
DTYPE = "float64"


def injected(name, arrays, **options):
    """The objective `name` drawing its noise from `arrays["eps/<kind>"]`."""
    cls = objectives.OBJECTIVES[name]

    class Injected(cls):
        def noise(self, model, kind, shape, dtype):
            eps = arrays[f"eps/{kind}"]
            assert tuple(eps.shape) == tuple(shape), (kind, eps.shape, shape)
            return keras.ops.convert_to_tensor(eps, dtype=dtype)

    return Injected(**options)


def likelihood(spec):
    if spec["dist"] == "normal":
        return mm.likelihoods.Gaussian(spec["scale"])
    if spec["dist"] == "laplace":
        return mm.likelihoods.Laplace(spec["scale"])
    return "bernoulli"


def make_model(mods, objective, fusion, joint=False, **kwargs):
    keras.utils.set_random_seed(7)
    vae = mm.MultimodalVAE(
        encoders={m: mm.layers.MLPEncoder(D, hidden_dims=HIDDEN, dtype=DTYPE)
                  for m in mods},
        decoders={m: mm.layers.MLPDecoder((DIMS[m],), hidden_dims=HIDDEN,
                                          dtype=DTYPE) for m in mods},
        likelihoods={m: likelihood(LIKELIHOODS[m]) for m in mods},
        fusion=fusion, objective=objective, dtype=DTYPE, seed=0,
        joint_encoder=mm.layers.JointMLPEncoder(D, hidden_dims=HIDDEN,
                                                dtype=DTYPE)
        if joint else None, **kwargs)
    vae.build({m: (None, DIMS[m]) for m in mods})
    vae.compile(optimizer="sgd")
    vae.optimizer.build(vae.trainable_variables)
    return vae


def weights_and_variables(vae):
    arrays, variables = {}, {}
    for m in vae.modality_names:
        arrays.update(harness.encoder_weights(vae.encoders[m], f"enc/{m}"))
        arrays.update(harness.decoder_weights(vae.decoders[m], f"dec/{m}"))
        variables.update(harness.encoder_variables(vae.encoders[m],
                                                   f"enc/{m}"))
        variables.update(harness.decoder_variables(vae.decoders[m],
                                                   f"dec/{m}"))
    if vae.joint_encoder is not None:
        arrays.update(harness.encoder_weights(vae.joint_encoder, "joint"))
        variables.update(harness.encoder_variables(vae.joint_encoder,
                                                   "joint"))
    return arrays, variables


def make_case(model, mods, rng, masks, objective, fusion, config_extra,
              beta, options=None, warmup_step=None):
    """Our model and MultiVae's (config, arrays) for one comparison, and
    the factor from MultiVae's batch-mean loss to ours. `beta` is our
    model's β (MultiVae's is in `config_extra`); `options` the objective's.

    JMVAE with `masks`: MultiVae refuses incomplete data, so it gets the
    complete examples only; ours trains on those alone and divides by the
    whole batch, i.e. ours = theirs * (complete / B).
    `warmup_step`: JMVAE's annealing epoch e (MultiVae's `a = e / warmup`)
    as our warm-up counter (`kl_warmup_steps=warmup`, step e + 1).
    """
    config = dict(model=model, modalities=list(mods), latent_dim=D,
                  hidden_dims=list(HIDDEN), dtype=DTYPE,
                  input_dims={m: DIMS[m] for m in mods},
                  likelihoods={m: LIKELIHOODS[m] for m in mods},
                  **config_extra)
    arrays, data = {}, {}
    for m in mods:
        x = rng.normal(size=(B, DIMS[m]))
        if LIKELIHOODS[m]["dist"] == "bernoulli":
            x = (x > 0).astype(float)
        arrays[f"x/{m}"] = data[m] = x
        if masks:
            arrays[f"mask/{m}"] = np.asarray(MASKS[m], float)
    if masks:
        data["mask"] = np.stack([MASKS[m] for m in mods], 1).astype(DTYPE)
    arrays["eps/joint"] = rng.normal(size=(B, D))
    if model == "CRMVAE":
        for m in mods:
            arrays[f"eps/unimodal/{m}"] = rng.normal(size=(B, D))
    joint = model == "JMVAE"
    kwargs = {"beta": beta}
    if warmup_step is not None:
        kwargs["kl_warmup_steps"] = config["warmup"]
        config["epoch"] = warmup_step
    vae = make_model(mods, injected(objective, dict(arrays),
                                    **(options or {})),
                     fusion, joint=joint, **kwargs)
    if warmup_step is not None:
        vae.kl_warmup_step.assign(float(warmup_step))
    weights, variables = weights_and_variables(vae)
    arrays.update(weights)
    scale = 1.0
    if joint and masks:
        complete = data["mask"].min(-1) > 0
        assert complete.any()
        scale = complete.sum() / B
        for key in list(arrays):
            if key.startswith(("x/", "eps/")):
                arrays[key] = arrays[key][complete]
            elif key.startswith("mask/"):
                del arrays[key]
    return vae, data, variables, config, arrays, scale


CASES = {
    "mvtcae": dict(model="MVTCAE", mods="abc", masks=False,
                   objective="mvtcae", fusion="mvtcae",
                   config_extra=dict(alpha=0.1, beta=2.5), beta=2.5,
                   options=dict(alpha=0.1)),
    "mvtcae_masks": dict(model="MVTCAE", mods="abc", masks=True,
                         objective="mvtcae", fusion="mvtcae",
                         config_extra=dict(alpha=0.3, beta=1.7), beta=1.7,
                         options=dict(alpha=0.3)),
    "crmvae": dict(model="CRMVAE", mods="abc", masks=False,
                   objective="crmvae", fusion="crmvae",
                   config_extra=dict(beta=2.5), beta=2.5),
    "crmvae_masks": dict(model="CRMVAE", mods="abc", masks=True,
                         objective="crmvae", fusion="crmvae",
                         config_extra=dict(beta=0.8), beta=0.8),
    "jmvae": dict(model="JMVAE", mods="abc", masks=False, objective="jmvae",
                  fusion="jmvae",
                  config_extra=dict(alpha=0.1, beta=1.0, warmup=10),
                  beta=1.0, options=dict(alpha=0.1)),
    "jmvae_warmup": dict(model="JMVAE", mods="ab", masks=False,
                         objective="jmvae", fusion="jmvae",
                         config_extra=dict(alpha=0.4, beta=1.3, warmup=10),
                         beta=1.3, options=dict(alpha=0.4), warmup_step=3),
    # With "ab", examples 0 and 3 are complete.
    "jmvae_masks": dict(model="JMVAE", mods="ab", masks=True,
                        objective="jmvae", fusion="jmvae",
                        config_extra=dict(alpha=0.1, beta=1.0, warmup=10),
                        beta=1.0, options=dict(alpha=0.1)),
}


def float64_scope():
    """JAX computes in float64 only with x64 enabled (here only)."""
    if keras.config.backend() == "jax":
        import jax
        return jax.enable_x64(True)
    return contextlib.nullcontext()


@pytest.fixture(scope="module")
def results():
    harness.require_multivae()
    rng = np.random.default_rng(2024)
    ours = {}
    with float64_scope():
        cases = {name: make_case(rng=rng, **spec)
                 for name, spec in CASES.items()}
        for name, (vae, data, variables, _, _, _) in cases.items():
            loss, grads = loss_and_gradients(vae, data)
            ours[name] = (loss, {key: grads[v.path]
                                 for key, v in variables.items()},
                          len(vae.trainable_variables))
    outs = harness.run_multivae_many([c[3:5] for c in cases.values()])
    return {name: (cases[name][4], cases[name][5], ours[name], out)
            for name, out in zip(cases, outs)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_and_gradients_match_multivae(results, name):
    arrays, scale, (ours, our_grads, num_variables), out = results[name]
    expected_order = [k[len("eps/"):] for k in arrays if k.startswith("eps/")]
    assert out["draw_order"] == expected_order
    theirs, their_grads = harness.loss_as_batch_mean(out)
    theirs *= scale
    their_grads = {k: g * scale for k, g in their_grads.items()}
    rel = abs(ours - theirs) / abs(theirs)
    worst = 0.0
    for key, grad in our_grads.items():
        assert grad.dtype == np.float64, key
        worst = max(worst, float(np.max(np.abs(grad - their_grads[key]))))
        np.testing.assert_allclose(grad, their_grads[key], rtol=1e-4,
                                   atol=1e-4, err_msg=key)
    assert len(our_grads) == num_variables  # every parameter compared
    print(f"{name}: loss {ours:.10g} vs {theirs:.10g} (rel {rel:.2e}), "
          f"max |grad diff| {worst:.2e}")
    assert rel < 1e-5
