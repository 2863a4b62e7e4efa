"""Mixed precision: float32 variables and fusion math, bf16 networks."""

import keras
import numpy as np
import pytest
from mlp_vae import make_data
from mlp_vae import make_vae

import keras_mmvae as mm
from keras_mmvae.src.testing.test_case import to_numpy


@pytest.fixture
def mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_fusion_math_runs_in_float32_on_half_inputs():
    fusion = mm.BarycenterFusion(mode="poe", subsets="all")
    mean = np.random.default_rng(0).normal(size=(4, 3, 2))
    log_var = np.full((4, 3, 2), -9.0)
    out = fusion(keras.ops.cast(mean, "bfloat16"),
                 keras.ops.cast(log_var, "bfloat16"))
    assert keras.backend.standardize_dtype(out["mean"].dtype) == "float32"
    spec = fusion(keras.KerasTensor((None, 3, 2), dtype="bfloat16"),
                  keras.KerasTensor((None, 3, 2), dtype="bfloat16"))
    assert spec["mean"].dtype == "float32"
    lik = mm.likelihoods.get("gaussian")
    params = keras.ops.cast(np.full((2, 300), 0.5), "bfloat16")
    log_prob = lik.log_prob(params, np.zeros((2, 300), "float32"))
    assert keras.backend.standardize_dtype(log_prob.dtype) == "float32"
    # 300 · (0.125 + 0.919): a bf16 sum would be off by more than 1.
    np.testing.assert_allclose(to_numpy(log_prob),
                               -300 * (0.125 + 0.5 * np.log(2 * np.pi)),
                               rtol=1e-5)


def train(steps=50):
    keras.utils.set_random_seed(0)
    data = make_data(64)
    vae = make_vae(fusion="mwb")
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(data, batch_size=64, epochs=steps, verbose=0).history
    return vae, np.asarray(history["loss"])


def test_bf16_training_matches_float32(mixed_bfloat16):
    vae, bf16 = train()
    assert all(v.dtype == "float32" for v in vae.weights)
    out = vae(make_data(8), training=True)
    for key in ("mean", "log_var", "weight", "z", "kl"):
        assert keras.backend.standardize_dtype(out[key].dtype) == "float32"
    keras.mixed_precision.set_global_policy("float32")
    _, float32 = train()
    assert np.all(np.isfinite(bf16))
    # Same initial weights and draws; bf16 networks (8-bit mantissa) shift
    # the per-step loss by a few percent at most.
    np.testing.assert_allclose(bf16[-10:].mean(), float32[-10:].mean(),
                               rtol=0.05)
    assert bf16[-1] < 0.8 * bf16[0]


def test_model_dtype_policy_survives_a_config_round_trip():
    vae = make_vae(dtype="mixed_bfloat16")
    vae(make_data(4))
    config = vae.get_config()
    restored = mm.MultimodalVAE.from_config(config)
    assert restored.dtype_policy.name == "mixed_bfloat16"
    assert restored.compute_dtype == "bfloat16"
