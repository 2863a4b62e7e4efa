"""The CRMVAE objective: its loss against a float64 NumPy re-computation,
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


def reference(vae, data, noise, beta, sample_weight=None):
    """MultiVae's weighting: reconstructions / 2(M+1), KLs / (M+1)."""
    mods = vae.modality_names
    num = len(mods)
    mask = mask_of(data, mods)
    q = experts(vae, data)
    mean, log_var = poe(q, mask)
    z = mean + np.exp(0.5 * log_var) * noise["joint"]
    rec = 0.0
    for i, m in enumerate(mods):
        z_m = q[m][0] + np.exp(0.5 * q[m][1]) * noise[f"unimodal/{m}"]
        rec = rec + mask[:, i] * (nll(m, data[m], decode(vae, m, z))
                                  + nll(m, data[m], decode(vae, m, z_m)))
    kls = kl_std(mean, log_var) + sum(
        mask[:, i] * kl(mean, log_var, *q[m]) for i, m in enumerate(mods))
    per = rec / (2 * (num + 1)) + beta * kls / (num + 1)
    return weighted_mean(per, sample_weight)


@pytest.mark.parametrize("masked", [False, True])
def test_loss_equals_numpy_formula(masked):
    noise = make_noise()
    vae = make_vae("crmvae", beta=2.5, objective=injected("crmvae", noise))
    data = make_data()
    if masked:
        data["mask"] = MASK
    weight = np.linspace(0.0, 2.0, 8).astype("float32")
    for sw in (None, weight):
        np.testing.assert_allclose(our_loss(vae, data, sw),
                                   reference(vae, data, noise, 2.5, sw),
                                   rtol=2e-5)


def test_preset_defaults():
    vae = make_vae("crmvae")
    assert vae.objective.get_config() == {"name": "crmvae"}
    assert vae.beta == 2.5
    assert vae.fusion.mode == "poe" and vae.fusion.prior_expert is False


def test_save_and_reload(tmp_path):
    check_reload("crmvae", tmp_path)


def test_bad_combinations_name_the_fix():
    check_raises("mixture", preset="moe", objective="crmvae")
    check_raises("unimodal_elbos=False", preset="crmvae",
                 unimodal_elbos=True)


def test_short_fit_is_finite():
    check_short_fit("crmvae")
