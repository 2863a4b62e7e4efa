"""A small `MultimodalVAE` on MLPs over three toy modalities (a: 6
Gaussian, b: 3 Bernoulli, c: 2x2 Laplace) that share a 2-D latent, and a
style encoder: the model most tests of tests/models and tests/objectives
train."""

import keras
import numpy as np

import keras_mmvae as mm

SHAPES = {"a": (6,), "b": (3,), "c": (2, 2)}
LIKELIHOODS = {"a": "gaussian", "b": "bernoulli", "c": "laplace"}


def make_data(n=64, names=("a", "b"), seed=0):
    """Modalities that share a 2-D latent, so fusion has something to do."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    data = {}
    for name in names:
        size = int(np.prod(SHAPES[name]))
        proj = rng.normal(size=(2, size))
        x = latent @ proj + 0.1 * rng.normal(size=(n, size))
        if LIKELIHOODS[name] == "bernoulli":
            x = (x > 0).astype("float32")
        data[name] = x.reshape((n,) + SHAPES[name]).astype("float32")
    return data


def make_vae(names=("a", "b"), fusion="mwb", latent_dim=3, seed=0, **kwargs):
    return mm.MultimodalVAE(
        encoders={n: mm.layers.MLPEncoder(latent_dim, hidden_dims=(16,))
                  for n in names},
        decoders={n: mm.layers.MLPDecoder(SHAPES[n], hidden_dims=(16,))
                  for n in names},
        likelihoods={n: LIKELIHOODS[n] for n in names},
        fusion=fusion,
        seed=seed,
        **kwargs,
    )


class StyleEncoder(keras.layers.Layer):
    """Dense heads for shared (2) and style (3) Gaussians."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.heads = [keras.layers.Dense(d) for d in (2, 2, 3, 3)]

    def call(self, x):
        x = self.flatten(x)
        return tuple(head(x) for head in self.heads)
