"""`BarycenterFusion` against closed forms, identities and properties."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_mmvae as mm
from keras_mmvae import ops as mm_ops
from keras_mmvae.src.testing.gradients import gradients
from keras_mmvae.src.testing.test_case import run_serialization_test
from keras_mmvae.src.testing.test_case import to_numpy

RNG = np.random.default_rng(0)


def experts(batch=3, num=3, dim=4, scale=1.0):
    mean = RNG.normal(size=(batch, num, dim)).astype("float32")
    log_var = (scale * RNG.normal(size=(batch, num, dim))).astype("float32")
    return mean, log_var


def fuse(mean, log_var, mask=None, **kwargs):
    out = mm.BarycenterFusion(**kwargs)(mean, log_var, mask=mask)
    return to_numpy(out)


def one_d(*pairs):
    """Experts `(1, M, 1)` from (mean, variance) pairs."""
    mean = np.array([[[m] for m, _ in pairs]], "float32")
    log_var = np.log(np.array([[[v] for _, v in pairs]], "float32"))
    return mean, log_var


# ---------------------------------------------------------------- closed forms
def test_poe_two_unit_experts_with_prior_has_variance_one_third():
    mean, log_var = one_d((1.0, 1.0), (1.0, 1.0))
    out = fuse(mean, log_var, mode="poe", prior_expert=True)
    np.testing.assert_allclose(np.exp(out["log_var"]), [[[1 / 3]]], rtol=1e-6)
    np.testing.assert_allclose(out["mean"], [[[2 / 3]]], rtol=1e-6)


def test_poe_is_precision_sum_without_prior():
    mean, log_var = experts()
    out = fuse(mean, log_var, mode="poe")
    precision = np.exp(-log_var)
    expected_var = 1 / precision.sum(1)
    expected_mean = expected_var * (precision * mean).sum(1)
    np.testing.assert_allclose(np.exp(out["log_var"][:, 0]), expected_var,
                               rtol=1e-5)
    np.testing.assert_allclose(out["mean"][:, 0], expected_mean, rtol=1e-4,
                               atol=1e-5)


def test_reverse_kl_barycenter_is_precision_average():
    mean, log_var = experts()
    product = fuse(mean, log_var, mode="poe", prior_expert=True)
    barycenter = fuse(mean, log_var, mode="poe", prior_expert=True,
                      normalize=True)
    precision = np.exp(-log_var)
    # K = 3 experts + prior; uniform weights -> precision average.
    expected = (precision.sum(1) + 1.0) / 4
    np.testing.assert_allclose(np.exp(-barycenter["log_var"][:, 0]), expected,
                               rtol=1e-5)
    # Same mean as the MVAE product; precisions differ by the factor K.
    np.testing.assert_allclose(barycenter["mean"], product["mean"], rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(
        np.exp(barycenter["log_var"] - product["log_var"]), 4.0, rtol=1e-5)


def test_worked_example_of_method_section_6():
    mean, log_var = one_d((0.0, 1.0), (2.0, 9.0))

    def mean_var(out):
        return out["mean"].item(), np.exp(out["log_var"]).item()

    cases = {
        "mvae_prior": (dict(mode="poe", prior_expert=True),
                       (0.105263, 0.473684)),
        "mvae": (dict(mode="poe"), (0.2, 0.9)),
        "reverse_kl": (dict(mode="poe", normalize=True), (0.2, 1.8)),
        "w2": (dict(mode="w2"), (1.0, 4.0)),
    }
    for name, (kwargs, expected) in cases.items():
        np.testing.assert_allclose(mean_var(fuse(mean, log_var, **kwargs)),
                                   expected, rtol=1e-5, err_msg=name)
    moe = mm.BarycenterFusion(mode="moe")
    moe.build(mean.shape)
    matched = to_numpy(moe.posterior(mean, log_var,
                                      moe_posterior="moment_matched"))
    np.testing.assert_allclose([matched[0].item(), np.exp(matched[1]).item()],
                               [1.0, 6.0], rtol=1e-5)
    # W2^2 from the W2 barycenter to each expert is 2.
    bary = fuse(mean, log_var, mode="w2")
    for m in range(2):
        w2 = mm_ops.wasserstein2(bary["mean"][0, 0], bary["log_var"][0, 0],
                                 mean[0, m], log_var[0, m])
        np.testing.assert_allclose(to_numpy(w2), 2.0, rtol=1e-5)


def test_w2_one_dimensional_oracle():
    mean, log_var = one_d((-4.0, 0.25), (4.0, 0.25))
    out = fuse(mean, log_var, mode="w2")
    np.testing.assert_allclose(out["mean"], [[[0.0]]], atol=1e-6)
    np.testing.assert_allclose(np.exp(out["log_var"]), [[[0.25]]], rtol=1e-6)


def test_variance_ordering():
    mean, log_var = experts(batch=16, num=4, dim=8, scale=1.5)
    var = {}
    for mode in ("poe", "w2"):
        out = fuse(mean, log_var, mode=mode, normalize=True)
        var[mode] = np.exp(out["log_var"][:, 0])
    fusion = mm.BarycenterFusion(mode="moe")
    fusion.build(mean.shape)
    var["moe"] = np.exp(to_numpy(fusion.posterior(
        mean, log_var, moe_posterior="moment_matched"))[1])
    mean_var = np.exp(log_var).mean(1)
    mvae = np.exp(fuse(mean, log_var, mode="poe")["log_var"][:, 0])
    eps = 1e-5
    assert np.all(mvae <= var["poe"] * (1 + eps))
    assert np.all(var["poe"] <= var["w2"] * (1 + eps))
    assert np.all(var["w2"] <= mean_var * (1 + eps))
    assert np.all(mean_var <= var["moe"] * (1 + eps))


def test_w2_barycenter_minimises_weighted_w2():
    mean, log_var = experts(batch=1, num=4, dim=3)
    weights = [0.1, 0.4, 0.2, 0.3]
    out = fuse(mean, log_var, mode="w2", weights=weights)
    lam = np.array(weights) / np.sum(weights)

    def objective(m, lv):
        values = [to_numpy(mm_ops.wasserstein2(m, lv, mean[0, k],
                                               log_var[0, k]))
                  for k in range(4)]
        return float(np.dot(lam, values))

    best = objective(out["mean"][0, 0], out["log_var"][0, 0])
    rng = np.random.default_rng(1)
    for _ in range(50):
        m = out["mean"][0, 0] + rng.normal(scale=0.1, size=3)
        lv = out["log_var"][0, 0] + rng.normal(scale=0.1, size=3)
        assert objective(m.astype("float32"), lv.astype("float32")) > best


def test_barycenter_of_subset_barycenters_collapses_to_wb():
    mean, log_var = experts(batch=2, num=5, dim=3)
    subsets = fuse(mean, log_var, mode="w2", subsets="all")
    assert subsets["mean"].shape == (2, 31, 3)
    # Uniform W2 barycenter of the 31 subset barycenters.
    again = fuse(subsets["mean"], subsets["log_var"], mode="w2")
    wb = fuse(mean, log_var, mode="w2")
    np.testing.assert_allclose(again["mean"], wb["mean"], atol=1e-5)
    np.testing.assert_allclose(again["log_var"], wb["log_var"], atol=1e-5)
    # ... so MWB must be a mixture; its full-set component is WB itself.
    np.testing.assert_allclose(subsets["mean"][:, -1], wb["mean"][:, 0],
                               atol=1e-6)
    np.testing.assert_allclose(subsets["log_var"][:, -1], wb["log_var"][:, 0],
                               atol=1e-5)


def test_subset_components_fuse_their_members():
    mean, log_var = experts(batch=2, num=3, dim=2)
    out = fuse(mean, log_var, mode="w2", subsets="all")
    for s, subset in enumerate(mm_ops.modality_subsets(3)):
        idx = list(subset)
        std = np.exp(0.5 * log_var[:, idx]).mean(1)
        np.testing.assert_allclose(out["mean"][:, s], mean[:, idx].mean(1),
                                   atol=1e-6)
        np.testing.assert_allclose(np.exp(0.5 * out["log_var"][:, s]), std,
                                   rtol=1e-5)
    np.testing.assert_allclose(out["weight"], np.full((2, 7), 1 / 7),
                               rtol=1e-6)


def test_mixture_of_one_modality_is_the_expert():
    mean, log_var = experts(batch=2, num=1, dim=3)
    for preset in ("mwb", "w2", "moe"):
        fusion = mm.BarycenterFusion.from_preset(preset)
        out = to_numpy(fusion(mean, log_var))
        np.testing.assert_allclose(out["mean"][:, 0], mean[:, 0], atol=1e-6)
        np.testing.assert_allclose(out["log_var"][:, 0], log_var[:, 0],
                                   atol=1e-5)


def test_identical_experts_and_one_hot_weights():
    mean, log_var = experts(batch=2, num=1, dim=3)
    same_mean = np.repeat(mean, 3, axis=1)
    same_log_var = np.repeat(log_var, 3, axis=1)
    for kwargs in (dict(mode="w2"), dict(mode="poe", normalize=True)):
        out = fuse(same_mean, same_log_var, **kwargs)
        np.testing.assert_allclose(out["mean"][:, 0], mean[:, 0], atol=1e-5)
        np.testing.assert_allclose(out["log_var"][:, 0], log_var[:, 0],
                                   atol=1e-5)
    mean3, log_var3 = experts(batch=2, num=3, dim=3)
    for mode in ("w2", "poe"):
        out = fuse(mean3, log_var3, mode=mode, weights=[0.0, 1.0, 0.0])
        np.testing.assert_allclose(out["mean"][:, 0], mean3[:, 1], atol=1e-5)
        np.testing.assert_allclose(out["log_var"][:, 0], log_var3[:, 1],
                                   atol=1e-5)


def test_moe_components_are_the_experts_weighted():
    mean, log_var = experts(batch=2, num=3, dim=2)
    mask = np.array([[1, 1, 1], [1, 0, 1]], "float32")
    out = fuse(mean, log_var, mask, mode="moe", weights=[1.0, 2.0, 1.0])
    np.testing.assert_allclose(out["mean"][0], mean[0], atol=1e-6)
    np.testing.assert_allclose(out["weight"], [[0.25, 0.5, 0.25],
                                               [0.5, 0.0, 0.5]], rtol=1e-6)


def test_prior_expert_full_only_in_full_set():
    mean, log_var = experts(batch=1, num=2, dim=2)
    out = fuse(mean, log_var, mode="poe", subsets="all", prior_expert="full")
    plain = fuse(mean, log_var, mode="poe", subsets="all")
    np.testing.assert_allclose(out["log_var"][:, :2], plain["log_var"][:, :2],
                               atol=1e-6)
    expected = -np.log(np.exp(-log_var).sum(1) + 1.0)
    np.testing.assert_allclose(out["log_var"][:, 2], expected, atol=1e-5)


# ---------------------------------------------------------------- masks
@pytest.mark.parametrize("mode", ["w2", "poe"])
def test_mask_equals_dropping_the_expert(mode):
    mean, log_var = experts(batch=4, num=3, dim=5)
    mask = np.tile([1.0, 0.0, 1.0], (4, 1)).astype("float32")
    masked = fuse(mean, log_var, mask, mode=mode, prior_expert=True)
    dropped = fuse(mean[:, [0, 2]], log_var[:, [0, 2]], mode=mode,
                   prior_expert=True)
    np.testing.assert_allclose(masked["mean"], dropped["mean"], atol=1e-5)
    np.testing.assert_allclose(masked["log_var"], dropped["log_var"],
                               atol=1e-5)
    ones = fuse(mean, log_var, np.ones((4, 3), "float32"), mode=mode)
    unmasked = fuse(mean, log_var, mode=mode)
    np.testing.assert_allclose(ones["mean"], unmasked["mean"], atol=1e-6)


def test_masked_subset_mixture_weights_and_values():
    mean, log_var = experts(batch=2, num=3, dim=2)
    mask = np.array([[1, 0, 1], [1, 1, 1]], "float32")
    out = fuse(mean, log_var, mask, mode="w2", subsets="all")
    valid = np.array([[1, 0, 1, 0, 1, 0, 0], [1] * 7], "float32")
    np.testing.assert_allclose(out["weight"],
                               valid / valid.sum(1, keepdims=True), rtol=1e-6)
    # The component {0, 2} of row 0 equals the joint fusion of {0, 2}.
    joint = fuse(mean[:1, [0, 2]], log_var[:1, [0, 2]], mode="w2")
    np.testing.assert_allclose(out["mean"][0, 4], joint["mean"][0, 0],
                               atol=1e-6)


@pytest.mark.parametrize("preset", ["poe", "w2", "mopoe", "mwb", "moe"])
def test_masked_values_change_nothing(preset):
    mean, log_var = experts(batch=3, num=3, dim=4)
    mask = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]], "float32")
    fusion = mm.BarycenterFusion.from_preset(preset)
    out = to_numpy(fusion(mean, log_var, mask=mask))
    noisy_mean, noisy_log_var = mean.copy(), log_var.copy()
    noisy_mean[mask == 0] = 1e3
    noisy_log_var[mask == 0] = -30.0
    noisy = to_numpy(fusion(noisy_mean, noisy_log_var, mask=mask))
    valid = out["weight"] > 0
    np.testing.assert_array_equal(out["weight"], noisy["weight"])
    np.testing.assert_array_equal(out["mean"][valid], noisy["mean"][valid])
    np.testing.assert_array_equal(out["log_var"][valid],
                                  noisy["log_var"][valid])


@pytest.mark.parametrize("preset", ["poe", "w2", "mopoe", "mwb", "moe"])
def test_masked_experts_get_exactly_zero_gradient(preset):
    mean, log_var = experts(batch=3, num=3, dim=4)
    mask = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]], "float32")
    fusion = mm.BarycenterFusion.from_preset(preset)
    fusion.build(mean.shape)
    target = ops.convert_to_tensor(
        RNG.normal(size=(3, fusion.num_components, 4)).astype("float32"))

    def loss(m, lv):
        out = fusion(m, lv, mask=mask)
        w = out["weight"][..., None]
        return ops.sum(w * (out["mean"] * target + ops.exp(out["log_var"])))

    grad_mean, grad_log_var = gradients(loss, mean, log_var)
    assert np.all(grad_mean[mask == 0] == 0.0)
    assert np.all(grad_log_var[mask == 0] == 0.0)
    assert np.any(grad_mean[mask == 1] != 0.0)


def test_all_missing_row_gets_the_prior():
    mean, log_var = experts(batch=2, num=3, dim=4)
    mask = np.array([[0, 0, 0], [1, 0, 0]], "float32")
    for preset in ("poe", "w2", "mopoe", "mwb", "moe"):
        out = to_numpy(mm.BarycenterFusion.from_preset(preset)(
            mean, log_var, mask=mask))
        assert all(np.all(np.isfinite(v)) for v in out.values()), preset
        first = int(np.argmax(out["weight"][0]))
        assert out["weight"][0, first] == 1.0, preset
        np.testing.assert_allclose(out["mean"][0, first], 0.0, atol=1e-6)
        np.testing.assert_allclose(out["log_var"][0, first], 0.0, atol=1e-5)


def test_extreme_log_variances_stay_finite():
    mean, _ = experts(batch=2, num=3, dim=4)
    log_var = np.where(RNG.random((2, 3, 4)) > 0.5, 40.0, -40.0).astype(
        "float32")
    for preset in ("poe", "w2", "mopoe", "mwb", "moe"):
        fusion = mm.BarycenterFusion.from_preset(preset)
        out = to_numpy(fusion(mean, log_var))
        assert all(np.all(np.isfinite(v)) for v in out.values()), preset
        # Clipped experts; a product of 3 experts + prior can be 4x sharper.
        low, high = fusion.log_var_clip
        sharper = np.log(4.0) if preset in ("poe", "mopoe") else 0.0
        assert np.all(out["log_var"] >= low - sharper - 1e-4), preset
        assert np.all(out["log_var"] <= high + 1e-4), preset

        def loss(m, lv, fusion=fusion):
            out = fusion(m, lv)
            return ops.sum(out["mean"]) + ops.sum(ops.exp(out["log_var"]))

        for grad in gradients(loss, mean, log_var):
            assert np.all(np.isfinite(grad)), preset


def test_permutation_invariance():
    mean, log_var = experts(batch=3, num=4, dim=3)
    mask = np.array([[1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1]], "float32")
    weights = [0.1, 0.2, 0.3, 0.4]
    perm = [2, 0, 3, 1]
    for mode in ("w2", "poe"):
        out = fuse(mean, log_var, mask, mode=mode, weights=weights,
                   prior_expert=True)
        permuted = fuse(mean[:, perm], log_var[:, perm], mask[:, perm],
                        mode=mode, weights=[weights[p] for p in perm],
                        prior_expert=True)
        np.testing.assert_allclose(out["mean"], permuted["mean"], atol=1e-5)
        np.testing.assert_allclose(out["log_var"], permuted["log_var"],
                                   atol=1e-5)


def test_learned_weights_are_trainable_softmax():
    mean, log_var = experts(batch=2, num=3, dim=2)
    fusion = mm.BarycenterFusion(mode="w2", weights="learned")
    out = to_numpy(fusion(mean, log_var))
    assert len(fusion.trainable_weights) == 1
    uniform = fuse(mean, log_var, mode="w2")
    np.testing.assert_allclose(out["mean"], uniform["mean"], atol=1e-6)
    fusion.weight_logits.assign(np.log([1.0, 2.0, 1.0]).astype("float32"))
    weighted = fuse(mean, log_var, mode="w2", weights=[1.0, 2.0, 1.0])
    np.testing.assert_allclose(to_numpy(fusion(mean, log_var))["mean"],
                               weighted["mean"], atol=1e-6)


def test_named_subsets_and_output_spec():
    fusion = mm.BarycenterFusion(mode="poe", subsets=[("a",), ("a", "b")],
                                 modality_names=["a", "b"])
    mean, log_var = experts(batch=2, num=2, dim=3)
    out = to_numpy(fusion(mean, log_var))
    assert out["mean"].shape == (2, 2, 3)
    np.testing.assert_allclose(out["mean"][:, 0], mean[:, 0], atol=1e-5)
    import keras

    spec = mm.BarycenterFusion(mode="w2", subsets="all").compute_output_spec(
        keras.KerasTensor((None, 3, 5)), keras.KerasTensor((None, 3, 5)))
    assert spec["mean"].shape == (None, 7, 5)


# ---------------------------------------------------------------- config
@pytest.mark.parametrize("preset", ["poe", "moe", "w2", "mopoe", "mwb"])
def test_presets_serialize(preset):
    fusion = mm.BarycenterFusion.from_preset(preset, seed=3)
    revived = run_serialization_test(fusion)
    assert revived.mode == fusion.mode
    assert revived.subsets == fusion.subsets


def test_explicit_subsets_serialize():
    fusion = mm.BarycenterFusion(mode="w2", subsets=[(0,), (0, 1)],
                                 weights=[1.0, 2.0])
    revived = run_serialization_test(fusion)
    assert revived.subsets == [(0,), (0, 1)]


@pytest.mark.parametrize("kwargs, message", [
    (dict(mode="barycenter"), "`mode` must be one of"),
    (dict(mode="moe", subsets="all"), "already a mixture"),
    (dict(subsets="some"), "`subsets` must be"),
    (dict(weights=[1.0, -1.0]), "non-negative"),
    (dict(weights="uniform"), "`weights` must be"),
    (dict(prior_expert="yes"), "`prior_expert` must be"),
    (dict(log_var_clip=(5, -5)), "`log_var_clip`"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mm.BarycenterFusion(**kwargs)


def test_bad_shapes_and_weight_count():
    mean, log_var = experts(batch=2, num=3, dim=2)
    with pytest.raises(ValueError, match="one weight per modality"):
        mm.BarycenterFusion(weights=[1.0, 1.0])(mean, log_var)
    with pytest.raises(ValueError, match="shape"):
        mm.BarycenterFusion()(mean[:, 0], log_var[:, 0])
    with pytest.raises(ValueError, match="Unknown fusion preset"):
        mm.BarycenterFusion.from_preset("mixture")


def test_config_with_seed_still_deserialises():
    """`seed` stays a constructor argument (old configs carry it), but the
    layer owns no generator: draws use the one passed to `sample`."""
    config = mm.BarycenterFusion(mode="w2", subsets="all").get_config()
    config["seed"] = 7
    revived = mm.BarycenterFusion.from_config(config)
    assert revived.get_config()["seed"] == 7
    assert not hasattr(revived, "seed_generator")


# ---------------------------------------------------------------- sampling
def _gaussian_log_prob_np(z, mean, var):
    return -0.5 * np.sum(np.log(2 * np.pi * var) + (z - mean) ** 2 / var,
                         axis=-1)


@pytest.mark.parametrize("mode", ["w2", "moe"])
def test_posterior_sample_against_numpy(mode):
    """`posterior_sample`: W2 reparameterises the barycenter of the
    available experts; MoE draws one available expert and scores `z` with
    the mixture density. Same seed → same draws as the documented steps."""
    mean, log_var = experts(batch=4, num=3, dim=2)
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 1, 1]], "float32")
    k = 3
    fusion = mm.BarycenterFusion(mode=mode)
    z, log_q = to_numpy(fusion.posterior_sample(
        mean, log_var, mask=mask, seed=keras.random.SeedGenerator(5),
        num_samples=k))
    assert z.shape == (k * 4, 2) and log_q.shape == (k * 4,)
    means, variances = np.tile(mean, (k, 1, 1)), np.exp(np.tile(log_var,
                                                                (k, 1, 1)))
    avail = np.tile(mask, (k, 1))
    weight = avail / avail.sum(-1, keepdims=True)
    replay = keras.random.SeedGenerator(5)
    if mode == "w2":
        q_mean = np.einsum("bm,bmd->bd", weight, means)
        q_var = np.einsum("bm,bmd->bd", weight, np.sqrt(variances)) ** 2
        eps = to_numpy(keras.random.normal((k * 4, 2), seed=replay))
        np.testing.assert_allclose(z, q_mean + np.sqrt(q_var) * eps,
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            log_q, _gaussian_log_prob_np(z, q_mean, q_var), rtol=1e-4)
        return
    component = to_numpy(mm_ops.sample_components(weight, seed=replay))
    assert np.all(avail[np.arange(k * 4), component] > 0)
    rows = np.arange(k * 4)
    eps = to_numpy(keras.random.normal((k * 4, 2), seed=replay))
    expected = (means[rows, component]
                + np.sqrt(variances[rows, component]) * eps)
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)
    comps = _gaussian_log_prob_np(z[:, None], means, variances)
    with np.errstate(divide="ignore"):
        mixture = np.log(weight) + comps
    top = mixture.max(-1, keepdims=True)
    np.testing.assert_allclose(
        log_q, top[:, 0] + np.log(np.exp(mixture - top).sum(-1)), rtol=1e-4)


def test_training_sample_kl_and_members_against_numpy():
    """Mixture `sample`: `z` comes from the chosen component, the KL is the
    weight-averaged component KL, `members` the chosen subset; a joint
    fusion with a random subset draw fuses a non-empty available subset."""
    mean, log_var = experts(batch=6, num=3, dim=2)
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1]] * 2, "float32")
    mix = mm.BarycenterFusion(mode="poe", subsets="all")
    out = to_numpy(mix.sample(mean, log_var, mask=mask,
                              subset_sampling="auto",
                              seed=keras.random.SeedGenerator(1)))
    kl = 0.5 * np.sum(np.exp(out["log_var"]) + out["mean"] ** 2 - 1
                      - out["log_var"], axis=-1)
    np.testing.assert_allclose(out["kl"], np.sum(out["weight"] * kl, -1),
                               rtol=1e-5, atol=1e-6)
    rows = np.arange(6)
    assert np.all(out["weight"][rows, out["component"]] > 0)
    membership = mm_ops.subset_matrix(mm_ops.modality_subsets(3), 3)
    np.testing.assert_array_equal(out["members"],
                                  membership[out["component"]])
    joint = mm.BarycenterFusion(mode="w2")
    out = to_numpy(joint.sample(mean, log_var, mask=mask,
                                subset_sampling="random",
                                seed=keras.random.SeedGenerator(1)))
    assert np.all(out["subset"] <= mask) and np.all(out["subset"].sum(-1) > 0)
    np.testing.assert_array_equal(out["members"], out["subset"])
    assert "component" not in out
    np.testing.assert_allclose(
        out["mean"][:, 0],
        fuse(mean, log_var, mask=out["subset"], mode="w2")["mean"][:, 0],
        rtol=1e-6)
