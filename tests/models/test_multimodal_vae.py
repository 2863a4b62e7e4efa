"""`MultimodalVAE`: training, masks, sampling, saving and bad input."""

import keras
import numpy as np
import pytest

import keras_mmvae as mm
from keras_mmvae.src.testing.test_case import run_serialization_test
from keras_mmvae.src.testing.test_case import to_numpy
from mlp_vae import SHAPES
from mlp_vae import StyleEncoder
from mlp_vae import make_data
from mlp_vae import make_vae

PRESETS = ["poe", "moe", "w2", "mopoe", "mwb"]


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("names", [("a", "b"), ("a", "b", "c")])
def test_fit_lowers_the_loss(preset, names):
    keras.utils.set_random_seed(0)
    data = make_data(128, names)
    vae = make_vae(names, fusion=preset)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(data, batch_size=32, epochs=10, verbose=0).history
    assert history["loss"][-1] < 0.9 * history["loss"][0]
    expected = {"loss", "reconstruction_loss", "kl_loss"} | {
        f"reconstruction_loss_{n}" for n in names}
    assert expected <= set(history)
    assert all(np.isfinite(v).all() for v in history.values())


def test_clipped_log_variances_are_counted():
    assert mm.BarycenterFusion(mode="poe").log_var_clip == (-10.0, 10.0)
    data = make_data(8)
    mask = np.ones((8, 2), "float32")
    mask[::2, 1] = 0.0  # b missing in half of the rows
    low, high = -0.05, 0.05  # a narrow clip: many entries fall outside
    vae = make_vae(fusion=mm.BarycenterFusion.from_preset(
        "mwb", log_var_clip=(low, high), modality_names=["a", "b"]))
    out = vae({**data, "mask": mask}, training=True)
    log_var = to_numpy(vae.encode_experts(data)[1])
    share = ((log_var < low) | (log_var > high)).mean(axis=-1)  # (B, M)
    expected = (share * mask).sum(-1) / mask.sum(-1)
    assert 0 < expected.mean() < 1
    np.testing.assert_allclose(to_numpy(out["log_var_clipped"]), expected,
                               atol=1e-6)
    vae.compile(optimizer="adam")
    history = vae.fit({**data, "mask": mask}, batch_size=8, epochs=1,
                      verbose=0).history
    assert 0 < history["log_var_clipped"][0] < 1


def test_evaluate_and_predict():
    data = make_data(64)
    vae = make_vae(fusion="mopoe")
    vae.compile(optimizer="adam")
    logs = vae.evaluate(data, batch_size=32, verbose=0, return_dict=True)
    assert {"loss", "kl_loss", "reconstruction_loss_a"} <= set(logs)
    out = vae.predict(data, batch_size=32, verbose=0)
    assert out["z"].shape == (64, 3)
    assert out["mean"].shape == (64, 3, 3)
    assert out["outputs"]["b"].shape == (64, 3)


def test_loss_terms_match_a_numpy_recomputation():
    data = make_data(32)
    vae = make_vae(fusion="mwb", beta=2.5,
                   reconstruction_weights={"a": 2.0, "b": 0.5})
    out = vae(data, training=True)
    loss = to_numpy(vae.compute_loss(data, None, out))
    o = to_numpy(out)
    nll_a = -(-0.5 * (data["a"] - o["outputs"]["a"]) ** 2
              - 0.5 * np.log(2 * np.pi)).sum(-1)
    logits = o["outputs"]["b"]
    nll_b = -(data["b"] * logits - np.logaddexp(0, logits)).sum(-1)
    kl = 0.5 * (np.exp(o["log_var"]) + o["mean"] ** 2 - 1
                - o["log_var"]).sum(-1)
    expected = (2.0 * nll_a.mean() + 0.5 * nll_b.mean()
                + 2.5 * (o["weight"] * kl).sum(-1).mean())
    np.testing.assert_allclose(loss, expected, rtol=1e-4)


def test_stratified_selection_follows_blocks_and_random_varies():
    data = make_data(21, ("a", "b", "c"))
    vae = make_vae(("a", "b", "c"), fusion="mwb")
    component = to_numpy(vae(data, training=True)["component"])
    np.testing.assert_array_equal(component, np.repeat(np.arange(7), 3))
    masked = dict(data, mask=np.ones((21, 3), "float32"))
    first = to_numpy(vae(masked, training=True)["component"])
    second = to_numpy(vae(masked, training=True)["component"])
    assert not np.array_equal(first, second)  # the generator advances


@pytest.mark.parametrize("fusion", ["w2", "poe"])
def test_joint_fusion_trains_on_all_available_modalities(fusion):
    """`"auto"`: the reference WB-VAE / MVAE objective, no subset draw."""
    names = ("a", "b", "c")
    data = make_data(32, names)
    rng = np.random.default_rng(0)
    mask = (rng.random((32, 3)) < 0.6).astype("float32")
    mask[0] = 0.0  # nothing available -> the prior
    mask[1] = 1.0
    data["mask"] = mask
    vae = make_vae(names, fusion=fusion)
    assert vae.subset_sampling == "auto"
    out = to_numpy(vae(data, training=True))
    assert "subset" not in out or np.array_equal(out["subset"], mask)
    experts = {k: [] for k in ("mean", "log_var")}
    for name in names:
        m, lv = vae.encoders[name](data[name])
        experts["mean"].append(to_numpy(m))
        experts["log_var"].append(to_numpy(lv))
    mean = np.stack(experts["mean"], 1)
    std = np.exp(0.5 * np.clip(np.stack(experts["log_var"], 1), -10, 10))
    for b in range(32):
        used = mask[b] > 0
        if fusion == "w2":  # equal weights: means and std devs average
            expected_mean = mean[b, used].mean(0) if used.any() else 0.0
            expected_std = std[b, used].mean(0) if used.any() else 1.0
        else:  # product of the available experts and the prior expert
            precision = 1.0 + (1.0 / std[b, used] ** 2).sum(0)
            expected_mean = (mean[b, used] / std[b, used] ** 2).sum(0) \
                / precision
            expected_std = precision ** -0.5
        np.testing.assert_allclose(out["mean"][b, 0], expected_mean,
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.exp(0.5 * out["log_var"][b, 0]),
                                   expected_std, rtol=1e-4)


def test_joint_fusion_random_subsets_are_an_opt_in_ablation():
    data = make_data(256, ("a", "b", "c"))
    mask = np.ones((256, 3), "float32")
    mask[:128, 1] = 0.0
    data["mask"] = mask
    vae = make_vae(("a", "b", "c"), fusion="w2", subset_sampling="random")
    subsets = [to_numpy(vae(data, training=True)["subset"]) for _ in range(2)]
    for subset in subsets:
        assert np.all(subset <= mask)  # only available modalities
        assert np.all(subset.sum(-1) >= 1)  # never empty
    assert not np.array_equal(subsets[0], subsets[1])
    # Rows with all 3 available draw each of the 7 subsets about equally.
    full = subsets[0][128:]
    codes = (full * [1, 2, 4]).sum(-1).astype(int)
    counts = np.bincount(codes, minlength=8)[1:]
    assert counts.min() > 0 and counts.max() < 3 * counts.min() + 10


def test_fixed_seed_reproduces_a_run():
    def run():
        keras.utils.set_random_seed(1)
        vae = make_vae(fusion="mwb", seed=4)
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
        return vae.fit(make_data(64), batch_size=32, epochs=2, verbose=0,
                       shuffle=False).history["loss"]

    np.testing.assert_allclose(run(), run(), rtol=1e-6)


def test_masked_modality_is_left_out_of_the_loss():
    data = make_data(32, ("a", "b", "c"))
    data["mask"] = np.tile([1.0, 0.0, 1.0], (32, 1)).astype("float32")
    vae = make_vae(("a", "b", "c"), fusion="mwb", seed=3)
    vae(data)
    garbage = dict(data, b=np.full((32, 3), 7.0, "float32"))
    for batch in (data, garbage):
        vae.seed_generator.state.assign(np.array([0, 0], "uint32"))
        out = vae(batch, training=True)
        loss = to_numpy(vae.compute_loss(batch, None, out))
        if batch is data:
            reference = loss
    np.testing.assert_allclose(loss, reference, rtol=1e-6)


@pytest.mark.parametrize("preset", ["mwb", "poe", "moe"])
def test_fully_masked_modality_weights_do_not_move(preset):
    data = make_data(32, ("a", "b", "c"))
    data["mask"] = np.tile([1.0, 0.0, 1.0], (32, 1)).astype("float32")
    vae = make_vae(("a", "b", "c"), fusion=preset)
    vae.compile(optimizer=keras.optimizers.SGD(0.1))
    vae(data)
    before = {n: [to_numpy(w) for w in vae.encoders[n].weights]
              for n in ("a", "b")}
    decoder_b = [to_numpy(w) for w in vae.decoders["b"].weights]
    vae.fit(data, batch_size=32, epochs=1, verbose=0)
    for old, new in zip(before["b"], vae.encoders["b"].weights):
        np.testing.assert_array_equal(old, to_numpy(new))
    for old, new in zip(decoder_b, vae.decoders["b"].weights):
        np.testing.assert_array_equal(old, to_numpy(new))
    assert any(not np.array_equal(old, to_numpy(new))
               for old, new in zip(before["a"], vae.encoders["a"].weights))


def test_all_missing_row_gives_finite_loss():
    data = make_data(32)
    mask = np.ones((32, 2), "float32")
    mask[:4] = 0.0
    data["mask"] = mask
    for preset in PRESETS:
        vae = make_vae(fusion=preset)
        out = vae(data, training=True)
        loss = to_numpy(vae.compute_loss(data, None, out))
        assert np.isfinite(loss), preset
        np.testing.assert_allclose(to_numpy(out["kl"])[:4], 0.0, atol=1e-6)


@pytest.mark.parametrize("preset", ["mwb", "moe", "poe"])
def test_save_and_load_round_trip(preset, tmp_path):
    data = make_data(64, ("a", "b", "c"))
    vae = make_vae(("a", "b", "c"), fusion=preset)
    vae.compile(optimizer="adam")
    vae.fit(data, batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, mm.MultimodalVAE)
    query = {"a": data["a"][:8], "c": data["c"][:8]}
    for got, want in zip(loaded.encode(query), vae.encode(query)):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))
    assert loaded.fusion.get_config() == vae.fusion.get_config()
    # Compiled with its optimizer state (our `compile` is custom, so the
    # model restores it itself).
    assert loaded.compiled and len(loaded.optimizer.variables) == len(
        vae.optimizer.variables)
    for got, want in zip(loaded.optimizer.variables, vae.optimizer.variables):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))
    # The random state travels too: the reloaded model draws what the
    # original draws next.
    np.testing.assert_array_equal(to_numpy(loaded.seed_generator.state),
                                  to_numpy(vae.seed_generator.state))
    np.testing.assert_array_equal(to_numpy(loaded.generate(4)["a"]),
                                  to_numpy(vae.generate(4)["a"]))


def test_files_saved_without_the_seed_state_still_load(tmp_path):
    import zipfile

    import h5py

    vae = make_vae(seed=7)
    vae(make_data(32), training=True)  # draws: the state moves on
    vae.save(tmp_path / "new.keras")
    # Rewrite the file as an older version wrote it: no seed state entry.
    with zipfile.ZipFile(tmp_path / "new.keras") as archive:
        archive.extractall(tmp_path / "unzipped")
    with h5py.File(tmp_path / "unzipped" / "model.weights.h5", "a") as f:
        paths = []
        f.visit(lambda p: paths.append(p) if p.endswith(
            vae.SEED_STATE) else None)
        assert len(paths) == 1, paths
        del f[paths[0]]
    with zipfile.ZipFile(tmp_path / "old.keras", "w") as archive:
        for path in (tmp_path / "unzipped").iterdir():
            archive.write(path, path.name)
    loaded = keras.saving.load_model(tmp_path / "old.keras")
    np.testing.assert_array_equal(to_numpy(loaded.seed_generator.state),
                                  [7, 0])
    for got, want in zip(loaded.encode(make_data(8)),
                         vae.encode(make_data(8))):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


def test_custom_fusion_layer_round_trip(tmp_path):
    fusion = mm.BarycenterFusion(mode="w2", subsets=[(0,), (0, 1)],
                                 weights="learned")
    vae = make_vae(fusion=fusion)
    data = make_data(32)
    vae(data)
    vae.save(tmp_path / "custom.keras")
    loaded = keras.saving.load_model(tmp_path / "custom.keras")
    np.testing.assert_array_equal(to_numpy(loaded.fusion.weight_logits),
                                  to_numpy(vae.fusion.weight_logits))
    for got, want in zip(loaded.encode(data), vae.encode(data)):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


def test_encode_uses_the_subset_component():
    data = make_data(16, ("a", "b", "c"))
    vae = make_vae(("a", "b", "c"), fusion="mwb")
    out = vae(data)
    mean, log_var = to_numpy(vae.encode({"a": data["a"], "c": data["c"]}))
    fused = to_numpy(vae.fusion(*vae.encode_experts(data)[:2]))
    index = mm.ops.modality_subsets(3).index((0, 2))
    np.testing.assert_allclose(mean, fused["mean"][:, index], atol=1e-6)
    np.testing.assert_allclose(log_var, fused["log_var"][:, index], atol=1e-6)
    assert out["mean"].shape == (16, 7, 3)


def test_generation_shapes():
    data = make_data(16)
    vae = make_vae()
    vae(data)
    samples = vae.generate(5)
    assert samples["a"].shape == (5, 6) and samples["b"].shape == (5, 3)
    b = to_numpy(samples["b"])
    assert np.all((b > 0) & (b < 1))  # Bernoulli means
    cond = vae.conditional_generate({"a": data["a"][:4]})
    assert cond["b"].shape == (4, 3)


def test_unimodal_elbos_add_terms():
    data = make_data(32)
    with_terms = make_vae(fusion="poe")
    assert with_terms.unimodal_elbos
    out = with_terms(data, training=True)
    assert out["unimodal_kl"].shape == (32, 2)
    without = make_vae(fusion="poe", unimodal_elbos=False)
    assert "unimodal_kl" not in without(data, training=True)


def test_style_latents_train_and_reach_the_decoder():
    data = make_data(64)
    vae = mm.MultimodalVAE(
        encoders={"a": StyleEncoder(), "b": StyleEncoder()},
        decoders={n: mm.layers.MLPDecoder(SHAPES[n], hidden_dims=(8,))
                  for n in ("a", "b")},
        likelihoods={"a": "gaussian", "b": "bernoulli"},
        fusion="mwb", beta_style=2.0, style_betas={"a": 1.0, "b": 5.0},
    )
    out = vae(data, training=True)
    assert vae.style_dims == {"a": 3, "b": 3}
    assert out["style_kl"].shape == (64, 2)
    assert vae.decoders["a"].out.kernel.shape[0] == 8
    assert vae.decoders["a"].hidden[0].kernel.shape[0] == 5  # 3 style + 2
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(data, batch_size=32, epochs=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert vae.generate(3)["a"].shape == (3, 6)


def test_model_and_likelihoods_serialize():
    # The layers' round trips are in tests/layers (`run_layer_test`).
    vae = make_vae(fusion="mopoe")
    vae(make_data(8))
    revived = run_serialization_test(vae)
    assert revived.modality_names == ["a", "b"]
    for likelihood in (mm.likelihoods.Laplace(0.5), mm.likelihoods.Gaussian(),
                       mm.likelihoods.Bernoulli(),
                       mm.likelihoods.Categorical()):
        assert repr(run_serialization_test(likelihood)) == repr(likelihood)


def test_reference_conv_blocks_have_polymnist_parameter_counts():
    encoder = mm.layers.ConvEncoder(512)
    decoder = mm.layers.ConvDecoder((28, 28, 3))
    mean, _ = encoder(np.zeros((2, 28, 28, 3), "float32"))
    image = decoder(mean)
    assert image.shape == (2, 28, 28, 3)
    assert encoder.count_params() == 1_667_648
    assert decoder.count_params() == 1_143_747
    assert encoder.count_params() + decoder.count_params() == 2_811_395


# ------------------------------------------------------ bad model arguments
# (bad batches: tests/models/test_bad_inputs.py)
@pytest.mark.parametrize("kwargs, message", [
    (dict(fusion="sum"), "Unknown fusion"),
    (dict(subset_sampling="sometimes"), "subset_sampling"),
    (dict(beta=-1.0), "beta"),
    (dict(reconstruction_weights={"q": 1.0}), "reconstruction_weights"),
])
def test_bad_model_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_vae(**kwargs)


def test_mismatched_dicts_and_likelihood_names():
    with pytest.raises(ValueError, match="exactly the encoder keys"):
        mm.MultimodalVAE(
            encoders={"a": mm.layers.MLPEncoder(2)},
            decoders={"b": mm.layers.MLPDecoder((2,))},
            likelihoods={"a": "gaussian"})
    with pytest.raises(ValueError, match="Unknown likelihood"):
        mm.MultimodalVAE(
            encoders={"a": mm.layers.MLPEncoder(2)},
            decoders={"a": mm.layers.MLPDecoder((2,))},
            likelihoods={"a": "poisson"})


def test_kl_warmup_ramps_beta_over_training_steps(tmp_path):
    data = make_data(32)
    # Frozen weights (SGD with rate 0): only the KL weight changes.
    losses = {}
    for warmup in (0, 4):
        keras.utils.set_random_seed(0)
        vae = make_vae(fusion="w2", beta=50.0, kl_warmup_steps=warmup)
        vae.compile(optimizer=keras.optimizers.SGD(0.0))
        history = vae.fit(data, batch_size=32, epochs=6, verbose=0,
                          shuffle=False).history
        losses[warmup] = np.array(history["loss"])
        kl = np.array(history["kl_loss"])
    rec = losses[0] - 50.0 * kl
    np.testing.assert_allclose(
        losses[4], rec + 50.0 * np.minimum(np.arange(6) / 4, 1.0) * kl,
        rtol=1e-4)
    assert float(to_numpy(vae.kl_warmup_step)) == 6.0
    vae.save(tmp_path / "warm.keras")
    restored = keras.saving.load_model(tmp_path / "warm.keras")
    assert float(to_numpy(restored.kl_warmup_step)) == 6.0
    assert restored.get_config()["kl_warmup_steps"] == 4
    with pytest.raises(ValueError, match="kl_warmup_steps"):
        make_vae(kl_warmup_steps=-1)
