"""Modality-specific (style) latents of `MultimodalVAE` (docs/concepts/
training.md, "Modality-specific latents")."""

import keras
import numpy as np
from keras import ops

import keras_mmvae as mm
from keras_mmvae.src.ops.gaussian import kl_to_standard_normal
from keras_mmvae.src.testing.test_case import to_numpy


class StyleEncoder(keras.layers.Layer):
    """Dense heads: shared `(mean, log_var)` and style `(mean, log_var)`."""

    def __init__(self, latent_dim, style_dim, **kwargs):
        super().__init__(**kwargs)
        self.heads = [keras.layers.Dense(d) for d in
                      (latent_dim, latent_dim, style_dim, style_dim)]

    def build(self, input_shape):
        for head in self.heads:
            head.build(input_shape)

    def call(self, x, training=False):
        return tuple(head(x) for head in self.heads)


def _model(style_betas=None):
    names = ["a", "b"]
    model = mm.MultimodalVAE(
        encoders={n: StyleEncoder(3, 2) for n in names},
        decoders={n: mm.layers.MLPDecoder((4,), hidden_dims=(8,))
                  for n in names},
        likelihoods={n: "gaussian" for n in names},
        fusion="mwb", beta=2.5, beta_content=1.0, beta_style=2.0,
        style_betas=style_betas or {"a": 1.0, "b": 5.0}, seed=0,
    )
    model.build({n: (None, 4) for n in names})
    return model


def _data(n=64):
    rng = np.random.default_rng(0)
    return {k: rng.normal(size=(n, 4)).astype("float32") for k in "ab"}


def test_style_latents_weights_training_and_generation():
    model = _model()
    assert model.style_dims == {"a": 2, "b": 2}
    # Decoders take concat[z_style, z].
    assert model.decoders["a"].hidden[0].kernel.shape == (5, 8)
    x = _data()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, batch_size=32, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    # The loss: β_content KL_shared + β_style Σ_m β_m KL_style_m.
    out = model(x, training=True)
    model.kl_tracker.reset_state()
    model.compute_loss(x=x, y_pred=out)
    _, _, styles = model.encode_experts(x)
    style_kl = np.stack([to_numpy(kl_to_standard_normal(*styles[n]))
                         for n in "ab"], axis=1)
    np.testing.assert_allclose(to_numpy(out["style_kl"]), style_kl,
                               rtol=1e-5, atol=1e-6)
    expected = (1.0 * np.mean(to_numpy(out["kl"]))
                + 2.0 * np.mean(style_kl @ np.array([1.0, 5.0])))
    np.testing.assert_allclose(to_numpy(model.kl_tracker.result()),
                               expected, rtol=1e-5)
    generated = model.conditional_generate({"a": x["a"][:5]})
    assert generated["b"].shape == (5, 4)
    # Generation draws styles from the prior: decoding the same z twice
    # differs only through the styles.
    z = ops.zeros((5, 3))
    first = to_numpy(model.decode(z)["a"])
    second = to_numpy(model.decode(z)["a"])
    assert not np.allclose(first, second)
    fixed = {n: ops.zeros((5, 2)) for n in "ab"}
    np.testing.assert_allclose(to_numpy(model.decode(z, fixed)["a"]),
                               to_numpy(model.decode(z, fixed)["a"]))


class StyleProbeEncoder(keras.layers.Layer):
    """Shared `(0, 0)`; style posterior ≈ `N(100, e^-10)`, far from N(0, 1)."""

    def call(self, x, training=False):
        zeros = ops.zeros_like(x[:, :2])
        return zeros, zeros, zeros + 100.0, zeros - 20.0


class StyleOut(keras.layers.Layer):
    """Outputs the style part of `concat[z_style, z]`, twice (data width)."""

    def call(self, z, training=False):
        return ops.concatenate([z[:, :2], z[:, :2]], axis=-1)


def test_cross_modal_style_prior_uses_own_style_only_inside_the_subset():
    names = ["a", "b"]
    x = _data(30)
    decoded = {}
    for style in ("posterior", "prior"):
        model = mm.MultimodalVAE(
            encoders={n: StyleProbeEncoder() for n in names},
            decoders={n: StyleOut() for n in names},
            likelihoods={n: "gaussian" for n in names},
            fusion="mwb", cross_modal_style=style, seed=0)
        model.build({n: (None, 4) for n in names})
        out = model(x, training=True)
        # Stratified components on complete data: {a}, {b}, {a, b}.
        np.testing.assert_array_equal(to_numpy(out["component"]),
                                      np.repeat([0, 1, 2], 10))
        decoded[style] = {n: to_numpy(out["outputs"][n]) for n in names}
        assert model.get_config()["cross_modal_style"] == style
    own = lambda v: np.all(np.abs(v - 100.0) < 0.1)
    prior = lambda v: np.all(np.abs(v) < 6.0)
    assert own(decoded["posterior"]["a"]) and own(decoded["posterior"]["b"])
    a, b = decoded["prior"]["a"], decoded["prior"]["b"]
    assert own(a[:10]) and prior(a[10:20]) and own(a[20:])
    assert prior(b[:10]) and own(b[10:20]) and own(b[20:])


def test_style_latents_on_some_modalities_only():
    """Images with private latents beside a text without (MMVAE+ on
    MNIST-SVHN-Text): style KL 0 for the modality without one."""
    model = mm.MultimodalVAE(
        encoders={"a": StyleEncoder(3, 2),
                  "b": mm.layers.MLPEncoder(3, hidden_dims=(8,))},
        decoders={n: mm.layers.MLPDecoder((4,), hidden_dims=(8,))
                  for n in "ab"},
        likelihoods={n: "gaussian" for n in "ab"},
        fusion="mwb", beta_style=2.0, seed=0)
    model.build({n: (None, 4) for n in "ab"})
    assert model.style_dims == {"a": 2, "b": 0}
    assert model.decoders["b"].hidden[0].kernel.shape == (3, 8)
    x = _data()
    out = model(x, training=True)
    _, _, styles = model.encode_experts(x)
    np.testing.assert_allclose(to_numpy(out["style_kl"])[:, 0],
                               to_numpy(kl_to_standard_normal(*styles["a"])),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(to_numpy(out["style_kl"])[:, 1], 0.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    losses = model.fit(x, batch_size=32, epochs=3, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert model.conditional_generate({"b": x["b"][:5]})["a"].shape == (5, 4)
