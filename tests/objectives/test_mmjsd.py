"""The mmJSD objective (Sutter et al., NeurIPS 2020; MultiVae has none):
its loss against a float64 NumPy implementation written from the paper's
formula, masks, sample weights, save/reload, bad combinations, a short
fit."""

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
from joint_family_reference import make_data
from joint_family_reference import make_noise
from joint_family_reference import make_vae
from joint_family_reference import mask_of
from joint_family_reference import nll
from joint_family_reference import our_loss
from joint_family_reference import weighted_mean


def reference(vae, data, noise, beta, sample_weight=None):
    """Per example, A the available modalities, π_j = 1/(|A|+1):
    1/|A| Σ_{c∈A} Σ_{r∈A} rec_r(z_c), z_c ~ q_c
    + β Σ_{j ∈ A ∪ {prior}} π_j KL(q_j ‖ f),
    f the π-weighted geometric mean of {q_c}_{c∈A} and N(0, I)."""
    mods = vae.modality_names
    mask = mask_of(data, mods)
    q = experts(vae, data)
    per = np.zeros(len(mask))
    for b in range(len(mask)):
        avail = [m for i, m in enumerate(mods) if mask[b, i] > 0]
        pi = 1.0 / (len(avail) + 1)
        members = [(q[m][0][b], q[m][1][b]) for m in avail] + [
            (np.zeros(3), np.zeros(3))]
        prec = sum(pi * np.exp(-lv) for _, lv in members)
        f_mean = sum(pi * np.exp(-lv) * mu for mu, lv in members) / prec
        f_lv = -np.log(prec)
        js = sum(pi * kl(mu, lv, f_mean, f_lv) for mu, lv in members)
        rec = 0.0
        for c in avail:
            z_c = q[c][0][b] + np.exp(0.5 * q[c][1][b]) * \
                noise[f"unimodal/{c}"][b]
            for r in avail:
                rec += nll(r, data[r][b:b + 1],
                           decode(vae, r, z_c[None]))[0]
        per[b] = rec / len(avail) + beta * js
    return weighted_mean(per, sample_weight)


@pytest.mark.parametrize("masked", [False, True])
def test_loss_equals_numpy_formula(masked):
    noise = make_noise()
    vae = make_vae("mmjsd", beta=1.5, objective=injected("mmjsd", noise))
    data = make_data()
    if masked:
        data["mask"] = MASK
    weight = np.linspace(0.0, 2.0, 8).astype("float32")
    for sw in (None, weight):
        np.testing.assert_allclose(our_loss(vae, data, sw),
                                   reference(vae, data, noise, 1.5, sw),
                                   rtol=2e-5)


def test_preset_defaults():
    vae = make_vae("mmjsd")
    assert vae.objective.get_config() == {"name": "mmjsd"}
    assert vae.beta == 1.0
    assert vae.fusion.mode == "moe"


def test_save_and_reload(tmp_path):
    check_reload("mmjsd", tmp_path)


def test_bad_combinations_name_the_fix():
    check_raises('fusion="moe"', preset="mvtcae", objective="mmjsd")
    check_raises("unimodal_elbos=False", preset="mmjsd", unimodal_elbos=True)


def test_short_fit_is_finite():
    check_short_fit("mmjsd")
