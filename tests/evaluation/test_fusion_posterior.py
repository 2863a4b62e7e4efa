"""The posterior draw at inference has one home: `fusion.posterior_sample`.

`conditional_generate`, conditional coherence and the IWAE proposal must
give exactly the draws `model.fusion.posterior_sample` gives for the same
seed, for the MoE mixture as for the joint (W2/PoE) posteriors.
"""

import keras
import numpy as np
import pytest
from evaluation_toys import identity_model

import keras_mmvae.evaluation as ev
from keras_mmvae.src.evaluation import common
from keras_mmvae.src.evaluation.log_likelihood import importance_log_weights
from keras_mmvae.src.ops.gaussian import gaussian_log_prob
from keras_mmvae.src.testing.test_case import to_numpy

NAMES = ["a", "b", "c"]
DIM = 2


def _data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=(n, DIM)).astype("float32")
            for name in NAMES}


def _replayed_z(model, data, masks, seed, num_samples=1):
    """`fusion.posterior_sample` draws, one per mask, from one generator."""
    generator = keras.random.SeedGenerator(seed)
    mean, log_var, _ = model.encode_experts(
        {n: keras.ops.convert_to_tensor(data[n]) for n in NAMES})
    draws = []
    for mask in masks:
        draws.append(to_numpy(model.fusion.posterior_sample(
            mean, log_var, mask=mask, seed=generator,
            num_samples=num_samples)))
    return draws


@pytest.mark.parametrize("fusion", ["moe", "mwb", "poe"])
def test_conditional_generate_is_the_fusion_posterior_sample(fusion):
    model = identity_model(NAMES, DIM, fusion=fusion, log_var=0.0, seed=3)
    data = _data()
    query = {"a": data["a"], "c": data["c"]}
    state = to_numpy(model.seed_generator.state)
    generated = model.conditional_generate(query)
    mask = np.tile([[1.0, 0.0, 1.0]], (8, 1)).astype("float32")
    model.seed_generator.state.assign(state)
    full = dict(query, b=np.zeros_like(data["b"]))
    mean, log_var, _ = model.encode_experts(full)
    z, _ = model.fusion.posterior_sample(mean, log_var, mask=mask,
                                         seed=model.seed_generator)
    # Identity decoders: every generated modality is `z` itself.
    for name in NAMES:
        np.testing.assert_array_equal(to_numpy(generated[name]),
                                      to_numpy(z))


@pytest.mark.parametrize("fusion", ["moe", "mwb"])
def test_coherence_decodes_the_fusion_posterior_sample(fusion):
    model = identity_model(NAMES, DIM, fusion=fusion, log_var=0.0)
    data = _data()
    seen = []

    def recorder(x):
        seen.append(np.asarray(x))
        return np.asarray(x)

    subsets = [("a",), ("b", "c"), ("a", "c")]
    ev.coherence(model, (data, np.zeros(8, "int64")), {"a": recorder},
                 subsets=subsets, seed=11)
    available = np.ones((8, 3), "float32")
    masks = [common.subset_mask(NAMES, s, available) for s in subsets]
    for got, (z, _) in zip(seen, _replayed_z(model, data, masks, seed=11),
                           strict=True):
        np.testing.assert_allclose(got, z, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fusion", ["moe", "w2"])
def test_iwae_proposal_is_the_fusion_posterior_sample(fusion):
    model = identity_model(NAMES, DIM, fusion=fusion, log_var=0.0)
    data = _data()
    mask = np.tile([[1.0, 1.0, 0.0]], (8, 1)).astype("float32")
    k = 4
    weights = importance_log_weights(model, data, mask, k, seed=2)
    [(z, log_q)] = _replayed_z(model, data, [mask], seed=2, num_samples=k)
    # Identity decoders with unit-variance Gaussian likelihoods.
    zeros = np.zeros_like(z)
    joint = to_numpy(gaussian_log_prob(z, zeros, zeros)) - log_q
    for name in NAMES:
        x = np.tile(data[name], (k, 1))
        joint = joint + to_numpy(gaussian_log_prob(x, z, zeros))
    np.testing.assert_allclose(weights["joint"], joint.reshape(k, 8),
                               rtol=1e-5, atol=1e-4)
