"""`MultimodalVAE.compute_loss`: sample weights and the KL weights."""

import keras
import numpy as np
from keras import ops
from mlp_vae import SHAPES
from mlp_vae import StyleEncoder
from mlp_vae import make_data
from mlp_vae import make_vae

import keras_mmvae as mm
from keras_mmvae.src.testing.test_case import to_numpy


def gaussian_nll(x, mean):
    return (0.5 * (x - mean) ** 2 + 0.5 * np.log(2 * np.pi)).sum(-1)


def bernoulli_nll(x, logits):
    return -(x * logits - np.logaddexp(0, logits)).sum(-1)


def kl_normal(mean, log_var):
    return 0.5 * (np.exp(log_var) + mean ** 2 - 1 - log_var).sum(-1)


def test_sample_weight_weights_every_term_as_keras_reduces_losses():
    data = make_data(16)
    vae = make_vae(fusion="mwb", beta=1.5)
    weight = np.linspace(0.0, 2.0, 16).astype("float32")
    out = vae(data, training=True)
    loss = to_numpy(vae.compute_loss(data, None, out, sample_weight=weight))
    o = to_numpy(out)
    per_example = (gaussian_nll(data["a"], o["outputs"]["a"])
                   + bernoulli_nll(data["b"], o["outputs"]["b"])
                   + 1.5 * (o["weight"] * kl_normal(o["mean"], o["log_var"])
                            ).sum(-1))
    # Keras's "sum_over_batch_size": Σ w l / B.
    np.testing.assert_allclose(loss, (weight * per_example).mean(),
                               rtol=1e-4)


def test_zero_sample_weights_give_zero_loss_and_gradient():
    data = make_data(16)
    vae = make_vae(fusion="poe")
    vae.compile(optimizer=keras.optimizers.SGD(1.0))
    vae(data)
    before = [to_numpy(w) for w in vae.trainable_weights]
    history = vae.fit(data, sample_weight=np.zeros(16, "float32"),
                      batch_size=16, epochs=1, verbose=0).history
    assert history["loss"] == [0.0]
    for old, new in zip(before, vae.trainable_weights):
        np.testing.assert_array_equal(old, to_numpy(new))


def test_bad_sample_weight_is_rejected():
    data = make_data(16)
    vae = make_vae()
    vae.compile(optimizer="adam")
    for weight, message in ((-np.ones(16), "non-negative"),
                            (np.ones((16, 2)), "one number per example")):
        try:
            vae.fit(data, sample_weight=weight, batch_size=16, verbose=0)
        except ValueError as error:
            assert message in str(error)
        else:
            raise AssertionError(f"{weight.shape} was accepted")


def style_poe_vae(**kwargs):
    return mm.MultimodalVAE(
        encoders={"a": StyleEncoder(), "b": StyleEncoder()},
        decoders={n: mm.layers.MLPDecoder(SHAPES[n], hidden_dims=(8,))
                  for n in ("a", "b")},
        likelihoods={"a": "gaussian", "b": "bernoulli"},
        fusion="poe", seed=0, **kwargs)


def test_mvae_unimodal_elbos_weight_their_kls_as_the_spec():
    # docs/concepts/training.md, "Modality-specific latents": β (β_content
    # KL + β_style β_m KL_style_m), also in
    # every unimodal ELBO of the MVAE baseline.
    data = make_data(8)
    vae = style_poe_vae(beta=2.5, beta_content=0.5, beta_style=2.0,
                        style_betas={"a": 1.0, "b": 5.0})
    out = vae(data, training=True)
    loss = to_numpy(vae.compute_loss(data, None, out))
    o = to_numpy(out)
    nll = {"a": gaussian_nll, "b": bernoulli_nll}
    style = o["style_kl"] * np.array([2.0 * 1.0, 2.0 * 5.0])
    joint = sum(nll[n](data[n], o["outputs"][n]) for n in "ab") + 2.5 * (
        0.5 * kl_normal(o["mean"][:, 0], o["log_var"][:, 0])
        + style.sum(-1))
    unimodal = sum(
        nll[n](data[n], o["unimodal_outputs"][n])
        + 2.5 * (0.5 * o["unimodal_kl"][:, i] + style[:, i])
        for i, n in enumerate("ab"))
    np.testing.assert_allclose(loss, (joint + unimodal).mean(), rtol=1e-4)


def test_beta_content_weights_the_kl_without_style_latents():
    data = make_data(8)
    vae = make_vae(fusion="w2", beta=2.0)
    out = vae(data, training=True)
    loss = to_numpy(vae.compute_loss(data, None, out))
    vae.beta_content = 3.0
    tripled = to_numpy(vae.compute_loss(data, None, out))
    kl = to_numpy(ops.mean(out["kl"]))
    np.testing.assert_allclose(tripled - loss, 2.0 * 2.0 * kl, rtol=1e-4)
