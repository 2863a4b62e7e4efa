"""Shared by tests/objectives/test_{mvtcae,crmvae,jmvae,mmjsd}.py: tiny
models of the joint-family presets, injected noise, and float64 NumPy
re-computations of each objective written from its formula (the networks
are black boxes: their outputs are read back, the objective's maths is
redone here)."""

import os

import keras
import numpy as np
import pytest

import keras_mmvae as mm
from keras_mmvae.src import objectives
from keras_mmvae.src.testing.test_case import to_numpy

B, D = 8, 3
SHAPES = {"a": (5,), "b": (4,), "c": (6,)}
LIKELIHOODS = {"a": "gaussian", "b": "bernoulli", "c": "gaussian"}
# Every example keeps at least one modality; rows 0 and 5 are complete.
MASK = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1],
                 [1, 1, 1], [0, 1, 1], [1, 0, 0]], "float32")
CLIP = (-10.0, 10.0)


def make_data(seed=0, mods="abc"):
    rng = np.random.default_rng(seed)
    data = {}
    for m in mods:
        x = rng.normal(size=(B,) + SHAPES[m]).astype("float32")
        data[m] = (x > 0).astype("float32") if LIKELIHOODS[m] == "bernoulli" \
            else x
    return data


def make_noise(seed=1, mods="abc"):
    rng = np.random.default_rng(seed)
    noise = {"joint": rng.normal(size=(B, D)).astype("float32")}
    for m in mods:
        noise[f"unimodal/{m}"] = rng.normal(size=(B, D)).astype("float32")
    return noise


def injected(name, noise, **options):
    """Objective `name` whose draws are `noise[kind]` (β is the model's:
    pass `beta` to `make_vae`, not here)."""
    cls = objectives.OBJECTIVES[name]

    class Injected(cls):
        def noise(self, model, kind, shape, dtype):
            return keras.ops.convert_to_tensor(noise[kind], dtype=dtype)

    return Injected(**options)


def make_vae(preset, mods="abc", **kwargs):
    keras.utils.set_random_seed(3)
    if preset == "jmvae" and "joint_encoder" not in kwargs:
        kwargs["joint_encoder"] = mm.layers.JointMLPEncoder(
            D, hidden_dims=(8,))
    vae = mm.MultimodalVAE(
        encoders={m: mm.layers.MLPEncoder(D, hidden_dims=(8,)) for m in mods},
        decoders={m: mm.layers.MLPDecoder(SHAPES[m], hidden_dims=(8,))
                  for m in mods},
        likelihoods={m: LIKELIHOODS[m] for m in mods},
        fusion=preset, seed=0, **kwargs)
    vae.build({m: (None,) + SHAPES[m] for m in mods})
    return vae


def our_loss(vae, data, sample_weight=None):
    out = vae(data, training=False)
    return float(to_numpy(vae.compute_loss(data, None, out,
                                           sample_weight=sample_weight)))


# --- NumPy pieces ---------------------------------------------------------

def experts(vae, data):
    """`{m: (mean, log_var)}` in float64, log-variances clipped."""
    out = {}
    for m in vae.modality_names:
        mean, log_var = vae.encoders[m](data[m])
        out[m] = (to_numpy(mean).astype(np.float64),
                  np.clip(to_numpy(log_var).astype(np.float64), *CLIP))
    return out


def decode(vae, m, z):
    return to_numpy(vae.decoders[m](z.astype("float32"))).astype(np.float64)


def nll(m, x, params):
    x = x.astype(np.float64)
    if LIKELIHOODS[m] == "bernoulli":
        return -(x * params - np.logaddexp(0.0, params)).sum(-1)
    return (0.5 * (x - params) ** 2 + 0.5 * np.log(2 * np.pi)).sum(-1)


def kl(m1, lv1, m2, lv2):
    return 0.5 * (lv2 - lv1 + (np.exp(lv1) + (m1 - m2) ** 2) / np.exp(lv2)
                  - 1.0).sum(-1)


def kl_std(m, lv):
    return kl(m, lv, np.zeros_like(m), np.zeros_like(lv))


def poe(params, mask, prior_weight=0.0, normalize=False):
    """Weighted PoE of the available experts (and the prior)."""
    names = list(params)
    w = np.stack([mask[:, i] for i in range(len(names))], 1)  # (B, M)
    total = w.sum(1) + prior_weight
    if normalize:
        w, prior_weight = w / total[:, None], prior_weight / total
    prec = sum(w[:, i:i + 1] * np.exp(-params[n][1])
               for i, n in enumerate(names)) + np.reshape(
                   prior_weight, (-1, 1)) * np.ones((1, D))
    mean = sum(w[:, i:i + 1] * np.exp(-params[n][1]) * params[n][0]
               for i, n in enumerate(names)) / prec
    return mean, -np.log(prec)


def mask_of(data, mods):
    if "mask" in data:
        return np.asarray(data["mask"], np.float64)
    return np.ones((B, len(mods)))


def weighted_mean(values, sample_weight):
    if sample_weight is None:
        return values.mean()
    return (values * sample_weight).mean()


# --- shared checks ----------------------------------------------------------

def check_reload(preset, tmp_path, **kwargs):
    """A saved and reloaded model gives the same (seeded) loss."""
    vae = make_vae(preset, **kwargs)
    data = make_data()
    path = os.path.join(tmp_path, f"{preset}.keras")
    vae.save(path)
    before = our_loss(vae, data)
    loaded = keras.saving.load_model(path)
    assert loaded.objective.get_config() == vae.objective.get_config()
    assert loaded.beta == vae.beta
    assert type(loaded.objective) is type(vae.objective)
    np.testing.assert_allclose(our_loss(loaded, data), before, rtol=1e-6)
    return loaded


def check_short_fit(preset, **kwargs):
    vae = make_vae(preset, **kwargs)
    data = make_data()
    data["mask"] = MASK if preset != "jmvae" else np.ones_like(MASK)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(data, batch_size=4, epochs=2, verbose=0).history
    assert len(history["loss"]) == 2
    assert np.all(np.isfinite(history["loss"])), history


def check_raises(match, **kwargs):
    with pytest.raises(ValueError, match=match):
        make_vae(**kwargs)

