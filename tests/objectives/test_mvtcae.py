"""The MVTCAE objective: its loss against a float64 NumPy re-computation,
masks, sample weights, save/reload, bad combinations, a short fit. (Against
MultiVae itself: tests/oracles/test_joint_family.py.)"""

import numpy as np
import pytest
from joint_family_reference import MASK
from joint_family_reference import check_raises
from joint_family_reference import check_reload
from joint_family_reference import check_short_fit
from joint_family_reference import decode
from joint_family_reference import experts
from joint_family_reference import injected
from joint_family_reference import kl
from joint_family_reference import kl_std
from joint_family_reference import make_data
from joint_family_reference import make_noise
from joint_family_reference import make_vae
from joint_family_reference import mask_of
from joint_family_reference import nll
from joint_family_reference import our_loss
from joint_family_reference import poe
from joint_family_reference import weighted_mean

import keras_mmvae as mm


def reference(vae, data, noise, alpha, beta, sample_weight=None):
    mods = vae.modality_names
    num = len(mods)
    mask = mask_of(data, mods)
    q = experts(vae, data)
    mean, log_var = poe(q, mask)
    z = mean + np.exp(0.5 * log_var) * noise["joint"]
    rec = sum(mask[:, i] * nll(m, data[m], decode(vae, m, z))
              for i, m in enumerate(mods))
    kls = sum(mask[:, i] * kl(mean, log_var, *q[m])
              for i, m in enumerate(mods))
    per = (num - alpha) / num * rec + beta * (
        alpha / num * kls + (1 - alpha) * kl_std(mean, log_var))
    return weighted_mean(per, sample_weight)


@pytest.mark.parametrize("masked", [False, True])
def test_loss_equals_numpy_formula(masked):
    noise = make_noise()
    vae = make_vae("mvtcae", beta=2.5,
                   objective=injected("mvtcae", noise, alpha=0.2))
    data = make_data()
    if masked:
        data["mask"] = MASK
    weight = np.linspace(0.0, 2.0, 8).astype("float32")
    for sw in (None, weight):
        np.testing.assert_allclose(
            our_loss(vae, data, sw),
            reference(vae, data, noise, 0.2, 2.5, sw), rtol=2e-5)


def test_preset_defaults_and_model_beta():
    vae = make_vae("mvtcae")
    assert vae.objective.get_config() == {"name": "mvtcae", "alpha": 0.1}
    assert vae.beta == 2.5
    assert vae.fusion.mode == "poe" and vae.fusion.prior_expert is False
    # An explicit model β replaces the preset's.
    noise = make_noise()
    vae = make_vae("mvtcae", beta=0.7,
                   objective=injected("mvtcae", noise, alpha=0.1))
    data = make_data()
    np.testing.assert_allclose(our_loss(vae, data),
                               reference(vae, data, noise, 0.1, 0.7),
                               rtol=2e-5)


@pytest.mark.parametrize("preset", ["mvtcae", "crmvae"])
def test_beta_lives_on_the_model(preset):
    # The preset's β (MultiVae's 2.5) is the model's default; an explicit
    # `beta` wins; the objective has no β of its own.
    def build(**kwargs):
        return mm.MultimodalVAE(
            encoders={"a": mm.layers.MLPEncoder(2)},
            decoders={"a": mm.layers.MLPDecoder((3,))},
            likelihoods={"a": "gaussian"}, fusion=preset, **kwargs)

    vae = build()
    assert vae.beta == 2.5 and vae.get_config()["beta"] == 2.5
    assert "beta" not in vae.objective.get_config()
    assert build(beta=0.7).beta == 0.7
    with pytest.raises(ValueError, match="Bad options"):
        mm.objectives.get({"name": preset, "beta": 2.5})


def test_absent_modality_has_no_gradient_path_to_the_loss():
    # Changing an absent modality's data leaves the loss unchanged.
    noise = make_noise()
    vae = make_vae("mvtcae", objective=injected("mvtcae", noise))
    data = make_data()
    data["mask"] = MASK
    before = our_loss(vae, data)
    data["a"] = np.where(MASK[:, :1] > 0, data["a"], 1e3).astype("float32")
    np.testing.assert_allclose(our_loss(vae, data), before, rtol=1e-6)


def test_save_and_reload(tmp_path):
    check_reload("mvtcae", tmp_path)


def test_bad_combinations_name_the_fix():
    check_raises("mixture", preset="mopoe", objective="mvtcae")
    check_raises("unimodal_elbos=False", preset="mvtcae",
                 unimodal_elbos=True)
    check_raises("subset_sampling='auto'", preset="mvtcae",
                 subset_sampling="random")
    with pytest.raises(ValueError, match="alpha"):
        mm.MultimodalVAE(
            encoders={"a": mm.layers.MLPEncoder(2)},
            decoders={"a": mm.layers.MLPDecoder((3,))},
            likelihoods={"a": "gaussian"}, fusion="mvtcae",
            objective={"name": "mvtcae", "alpha": 2.0})


def test_short_fit_is_finite():
    check_short_fit("mvtcae")
