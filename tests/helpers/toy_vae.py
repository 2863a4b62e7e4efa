"""A tiny two-modality `MultimodalVAE` (a: 5 Gaussian, b: 2 Bernoulli)."""

import numpy as np

import keras_mmvae as mm


def toy_vae(fusion="mwb"):
    return mm.MultimodalVAE(
        encoders={"a": mm.layers.MLPEncoder(3, hidden_dims=(8,)),
                  "b": mm.layers.MLPEncoder(3, hidden_dims=(8,))},
        decoders={"a": mm.layers.MLPDecoder((5,), hidden_dims=(8,)),
                  "b": mm.layers.MLPDecoder((2,), hidden_dims=(8,))},
        likelihoods={"a": "gaussian", "b": "bernoulli"},
        fusion=fusion, seed=0)


def toy_data(n=16):
    rng = np.random.default_rng(0)
    return {"a": rng.normal(size=(n, 5)).astype("float32"),
            "b": rng.integers(0, 2, size=(n, 2)).astype("float32")}
