"""The JMVAE objective: its loss against a float64 NumPy re-computation,
warm-up, incomplete batches (complete examples only), sample weights,
save/reload, the missing joint encoder, a short fit; and
`mm.layers.JointMLPEncoder`. (Against MultiVae itself:
tests/oracles/test_joint_family.py.)"""

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
from joint_family_reference import weighted_mean

import keras_mmvae as mm
from keras_mmvae.src.testing.test_case import to_numpy


def reference(vae, data, noise, alpha, beta, anneal=1.0, sample_weight=None):
    mods = vae.modality_names
    mask = mask_of(data, mods)
    complete = mask.min(-1)
    q = experts(vae, data)
    mean, log_var = vae.joint_encoder({m: data[m] for m in mods})
    mean = to_numpy(mean).astype(np.float64)
    log_var = np.clip(to_numpy(log_var).astype(np.float64), -10, 10)
    z = mean + np.exp(0.5 * log_var) * noise["joint"]
    rec = sum(nll(m, data[m], decode(vae, m, z)) for m in mods)
    kls = sum(kl(mean, log_var, *q[m]) for m in mods)
    per = rec + anneal * (beta * kl_std(mean, log_var) + alpha * kls)
    return weighted_mean(per * complete, sample_weight)


@pytest.mark.parametrize("masked", [False, True])
def test_loss_equals_numpy_formula(masked):
    noise = make_noise()
    vae = make_vae("jmvae", beta=1.2,
                   objective=injected("jmvae", noise, alpha=0.3))
    data = make_data()
    if masked:  # only the complete examples 0 and 5 count
        data["mask"] = MASK
    weight = np.linspace(0.0, 2.0, 8).astype("float32")
    for sw in (None, weight):
        np.testing.assert_allclose(
            our_loss(vae, data, sw),
            reference(vae, data, noise, 0.3, 1.2, sample_weight=sw),
            rtol=2e-5)


def test_warmup_anneals_the_whole_regulariser():
    # MultiVae: a = epoch / warmup; ours: a = (step - 1) / kl_warmup_steps.
    noise = make_noise()
    vae = make_vae("jmvae", kl_warmup_steps=10,
                   objective=injected("jmvae", noise, alpha=0.1))
    data = make_data()
    vae.kl_warmup_step.assign(4.0)  # step 4 of `call(training=True)`
    out = vae(data, training=False)
    loss = float(to_numpy(vae.compute_loss(data, None, out)))
    np.testing.assert_allclose(
        loss, reference(vae, data, noise, 0.1, 1.0, anneal=0.3), rtol=2e-5)


def test_preset_defaults():
    vae = make_vae("jmvae")
    assert vae.objective.get_config() == {"name": "jmvae", "alpha": 0.1}
    assert vae.beta == 1.0
    # Subsets: the PoE of the unimodal experts (no prior expert).
    assert vae.fusion.mode == "poe" and vae.fusion.prior_expert is False
    mean, _ = vae.encode({"a": make_data()["a"]})
    assert mean.shape == (8, 3)


def test_save_and_reload(tmp_path):
    loaded = check_reload("jmvae", tmp_path)
    assert isinstance(loaded.joint_encoder, mm.layers.JointMLPEncoder)


def test_missing_joint_encoder_names_the_fix():
    check_raises("joint_encoder=mm.layers.JointMLPEncoder", preset="jmvae",
                 joint_encoder=None)


def test_joint_mlp_encoder():
    encoder = mm.layers.JointMLPEncoder(4, hidden_dims=(6,),
                                        modality_names=["b", "a"])
    x = {"a": np.ones((2, 3), "float32"), "b": np.zeros((2, 2, 2), "float32")}
    mean, log_var = encoder(x)
    assert mean.shape == (2, 4) and log_var.shape == (2, 4)
    assert encoder.hidden[0].kernel.shape == (7, 6)  # b (4) then a (3)
    clone = mm.layers.JointMLPEncoder.from_config(encoder.get_config())
    assert clone.modality_names == ["b", "a"]
    with pytest.raises(ValueError, match="missing"):
        encoder({"a": x["a"]})


def test_short_fit_is_finite():
    check_short_fit("jmvae")
