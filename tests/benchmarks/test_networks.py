"""Reference architectures: shapes and parameter counts (the "Architecture"
sections of docs/benchmarks/polymnist.md, mnist-svhn-text.md, celeba.md)."""

import keras
import numpy as np
import pytest
from fast_init import NumpyGlorotUniform
from keras import ops

import keras_mmvae as mm
import keras_mmvae.models as models
from keras_mmvae.src.testing.test_case import run_serialization_test
from keras_mmvae.src.testing.test_case import to_numpy

INIT = NumpyGlorotUniform()


def _shapes(layer, names):
    """Output shapes (without batch) of named layers of a network."""
    net = layer.network
    return [tuple(net.get_layer(n).output.shape[1:]) for n in names]


def test_polymnist_reference_sizes():
    model = models.polymnist(kernel_initializer=INIT, seed=0)
    assert model.modality_names == [f"m{i}" for i in range(5)]
    assert model.latent_dim == 512 and model.beta == 2.5
    assert model.fusion.mode == "w2" and model.fusion.is_mixture  # mwb
    assert model.reconstruction_weights == {f"m{i}": 1.0 for i in range(5)}
    for name in model.modality_names:
        likelihood = model.likelihoods[name]
        assert isinstance(likelihood, mm.likelihoods.Laplace)
        assert likelihood.scale == 0.75
    encoder, decoder = model.encoders["m0"], model.decoders["m0"]
    assert encoder.count_params() == 1_667_648
    assert decoder.count_params() == 1_143_747
    assert encoder.count_params() + decoder.count_params() == 2_811_395
    assert model.count_params() == 14_056_975
    assert _shapes(encoder, ["conv_0", "conv_1", "conv_2", "dense"]) == [
        (14, 14, 32), (7, 7, 64), (4, 4, 128), (512,)]
    assert _shapes(decoder, ["reshape", "deconv_0_relu", "deconv_1_relu",
                             "deconv_2"]) == [
        (4, 4, 128), (7, 7, 64), (14, 14, 32), (28, 28, 3)]
    assert model.style_dims == {n: 0 for n in model.modality_names}


def test_mnist_svhn_text_reference_sizes():
    model = models.mnist_svhn_text(fusion="mopoe", kernel_initializer=INIT,
                                   seed=0)
    counts = {n: (model.encoders[n].count_params(),
                  model.decoders[n].count_params())
              for n in model.modality_names}
    assert counts == {"mnist": (330_040, 322_784), "svhn": (236_360, 233_763),
                      "text": (145_704, 143_175)}
    assert model.count_params() == 1_411_826
    assert model.latent_dim == 20 and model.beta == 2.5
    weights = model.reconstruction_weights
    assert weights["mnist"] == pytest.approx(3072 / 784)
    assert weights["svhn"] == 1.0 and weights["text"] == 384.0
    assert isinstance(model.likelihoods["text"], mm.likelihoods.Categorical)
    assert _shapes(model.encoders["svhn"],
                   ["conv_0", "conv_1", "conv_2", "conv_3"]) == [
        (16, 16, 32), (8, 8, 64), (4, 4, 64), (1, 1, 128)]
    assert _shapes(model.decoders["svhn"],
                   ["deconv_0_relu", "deconv_1_relu", "deconv_2_relu",
                    "deconv_3"]) == [
        (4, 4, 64), (8, 8, 64), (16, 16, 32), (32, 32, 3)]
    assert _shapes(model.encoders["text"], ["conv_0", "conv_1",
                                            "conv_2"]) == [
        (8, 128), (4, 128), (1, 128)]
    assert _shapes(model.decoders["text"],
                   ["deconv_0_relu", "deconv_1_relu", "logits"]) == [
        (4, 128), (8, 128), (8, 71)]
    assert _shapes(model.decoders["mnist"], ["reshape"]) == [(28, 28, 1)]


@pytest.fixture(scope="module")
def celeba_model():
    """One small CelebA model (width `dim = 4`) shared by the tests below."""
    return models.celeba(latent_dim=5, style_dim=3, dim=4,
                         kernel_initializer=INIT, seed=0)


def test_celeba_shapes_and_style_latents(celeba_model):
    """Block resolutions as in docs/benchmarks/celeba.md, "Architecture"
    (width scaled by `dim`)."""
    dim = 4
    model = celeba_model
    assert model.style_dims == {"image": 3, "text": 3}
    assert model.beta == 2.5 and model.beta_content == 1.0
    assert model.beta_style == 2.0
    assert model.style_betas == {"image": 1.0, "text": 5.0}
    assert model.reconstruction_weights == pytest.approx(
        {"image": 1 / 3, "text": 16.0})
    image_enc = model.encoders["image"]
    assert _shapes(image_enc, ["features_conv"] + [
        f"features_block_{i}" for i in range(4)]) == [
        (33, 33, dim), (16, 16, 2 * dim), (8, 8, 3 * dim), (4, 4, 4 * dim),
        (1, 1, 5 * dim)]
    assert _shapes(image_enc, ["mean", "log_var", "style_mean",
                               "style_log_var"]) == [(5,), (5,), (3,), (3,)]
    assert _shapes(model.decoders["image"], [
        f"block_{i}" for i in range(4)] + ["output"]) == [
        (4, 4, 4 * dim), (8, 8, 3 * dim), (16, 16, 2 * dim),
        (32, 32, dim), (64, 64, 3)]
    # The decoder sees concat[z_style, z].
    assert model.decoders["image"].network.input_shape == (None, 8)
    assert _shapes(model.encoders["text"], ["features_conv"] + [
        f"features_block_{i}" for i in range(6)]) == [
        (128, dim), (64, 2 * dim), (32, 3 * dim), (16, 4 * dim),
        (8, 5 * dim), (4, 5 * dim), (1, 5 * dim)]
    assert _shapes(model.decoders["text"], [
        f"block_{i}" for i in range(6)] + ["output_crop"]) == [
        (4, 5 * dim), (8, 5 * dim), (16, 4 * dim), (32, 3 * dim),
        (64, 2 * dim), (128, dim), (256, 71)]
    # Image blocks: 2-D convs without bias inside, spatial dropout.
    net = image_enc.network
    assert not net.get_layer("features_block_0_conv2").use_bias
    assert net.get_layer("features_block_0_shortcut").use_bias
    assert type(net.get_layer("features_block_0_dropout1")).__name__ == (
        "SpatialDropout2D")
    text_net = model.encoders["text"].network
    assert text_net.get_layer("features_block_0_conv2").use_bias
    assert type(text_net.get_layer("features_block_0_dropout1")).__name__ == (
        "Dropout")


def _celeba_batch(n=2):
    rng = np.random.default_rng(0)
    return {
        "image": rng.random((n, 64, 64, 3)).astype("float32"),
        "text": np.eye(71, dtype="float32")[rng.integers(0, 71, (n, 256))],
    }


def test_celeba_forward_with_style_latents(celeba_model):
    # One compiled inference call: eager JAX dispatch of this deep network
    # would compile every operation separately. Style wiring is tested with
    # small models in test_style_latents.py.
    out = celeba_model.predict_on_batch(_celeba_batch())
    assert out["style_kl"].shape == (2, 2)
    assert np.all(np.isfinite(out["style_kl"]))
    assert out["outputs"]["image"].shape == (2, 64, 64, 3)
    assert out["outputs"]["text"].shape == (2, 256, 71)
    assert out["weight"].shape == (2, 3)  # mwb: {image}, {text}, both
    assert np.all(np.isfinite(out["outputs"]["image"]))


def test_small_factories_save_and_load(tmp_path, celeba_model):
    rng = np.random.default_rng(0)
    small = {
        "polymnist": models.polymnist(
            fusion="moe", latent_dim=4, num_modalities=2,
            encoder_filters=(2, 2, 2), hidden_dim=8,
            decoder_filters=(2, 2, 2), kernel_initializer=INIT, seed=0),
        "mnist_svhn_text": models.mnist_svhn_text(
            fusion="poe", latent_dim=3, mnist_hidden_dim=8,
            svhn_encoder_filters=(2, 2, 2, 2),
            svhn_decoder_filters=(4, 2, 2, 2), text_filters=4,
            kernel_initializer=INIT, seed=0),
        "celeba": celeba_model,
    }
    for name, model in small.items():
        path = tmp_path / f"{name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is mm.MultimodalVAE
        assert loaded.modality_names == model.modality_names
        assert loaded.style_dims == model.style_dims
        assert len(loaded.weights) == len(model.weights)
        for new, old in zip(loaded.weights, model.weights):
            np.testing.assert_array_equal(to_numpy(new), to_numpy(old))
        if name != "polymnist":
            continue  # outputs follow from the weights; one forward check
        batch = {
            modality: rng.random((2,) + tuple(shape[1:])).astype("float32")
            for modality, shape in model.input_shapes.items()
        }
        np.testing.assert_allclose(to_numpy(loaded.encode(batch)[0]),
                                   to_numpy(model.encode(batch)[0]),
                                   atol=1e-5)
        z = np.ones((2, model.latent_dim), "float32")
        for modality in model.modality_names:
            np.testing.assert_allclose(
                to_numpy(loaded.decode(z)[modality]),
                to_numpy(model.decode(z)[modality]), atol=1e-5)


@pytest.mark.parametrize("layer", [
    models.PolyMNISTEncoder(8, (2, 2, 2), 4),
    models.PolyMNISTDecoder(3, (2, 2, 2)),
    models.MNISTEncoder(3, 5), models.MNISTDecoder(5),
    models.SVHNEncoder(3, (2, 2, 2, 2)), models.SVHNDecoder(3, (2, 2, 2, 2)),
    models.DigitTextEncoder(3, 4), models.DigitTextDecoder(4),
    models.CelebAImageEncoder(3, 2, 2), models.CelebAImageDecoder(2),
    models.CelebATextEncoder(3, 0, 2), models.CelebATextDecoder(2),
], ids=lambda layer: type(layer).__name__)
def test_layers_serialize(layer):
    revived = run_serialization_test(layer)
    assert type(revived) is type(layer)


def test_shape_checks():
    with pytest.raises(ValueError, match=r"\(28, 28, \?\)"):
        models.PolyMNISTEncoder(4, kernel_initializer=INIT)(
            np.zeros((1, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match="needs 3 entries"):
        models.PolyMNISTEncoder(4, filters=(1, 2))
    with pytest.raises(ValueError, match=r"\(64, 64, 3\)"):
        models.CelebAImageEncoder(4, 2, 2, kernel_initializer=INIT)(
            np.zeros((1, 32, 32, 3), "float32"))
    encoder = models.CelebATextEncoder(4, style_dim=0, dim=2,
                                       kernel_initializer=INIT)
    out = encoder(keras.KerasTensor((None, 256, 71)))
    assert [tuple(t.shape) for t in out] == [(None, 4)] * 2  # no style


def test_pytorch_padding_is_ported_exactly():
    """`Conv(p)` = pad + valid conv; `ConvT(p, op)` = valid ConvT + crop.

    Checked against torch's own convolutions with the same weights.
    """
    torch = pytest.importorskip("torch")

    from keras_mmvae.src.benchmarks.common import blocks

    rng = np.random.default_rng(0)
    cases = [  # rank, transpose, size, kernel, stride, padding, out_pad
        (2, False, 28, 3, 2, 1, 0), (2, False, 64, 3, 2, 2, 0),
        (2, False, 33, 4, 2, 1, 0), (1, False, 8, 4, 2, 1, 0),
        (2, True, 4, 3, 2, 1, 0), (2, True, 7, 3, 2, 1, 1),
        (2, True, 1, 4, 1, 0, 0), (1, True, 128, 4, 2, 1, 0),
    ]
    for rank, transpose, size, k, s, p, op in cases:
        spatial = (size,) * rank
        inputs = keras.Input(spatial + (3,))
        if transpose:
            out = blocks.conv_transpose(inputs, 2, k, s, p, op, rank=rank,
                                        name="layer", kernel_initializer=INIT)
        else:
            out = blocks.conv(inputs, 2, k, s, p, rank=rank, name="layer",
                              kernel_initializer=INIT)
        net = keras.Model(inputs, out)
        x = rng.normal(size=(1,) + spatial + (3,)).astype("float32")
        kernel, bias = (to_numpy(w) for w in
                        net.get_layer("layer").weights)
        x_t = torch.from_numpy(np.moveaxis(x, -1, 1).copy())
        axes = tuple(range(rank))
        if transpose:  # Keras (k.., out, in) → torch (in, out, k..)
            w = np.transpose(kernel, (rank + 1, rank) + axes)
            fn = getattr(torch.nn.functional, f"conv_transpose{rank}d")
            y = fn(x_t, torch.from_numpy(w.copy()), torch.from_numpy(bias),
                   stride=s, padding=p, output_padding=op)
        else:  # Keras (k.., in, out) → torch (out, in, k..)
            w = np.transpose(kernel, (rank + 1, rank) + axes)
            fn = getattr(torch.nn.functional, f"conv{rank}d")
            y = fn(x_t, torch.from_numpy(w.copy()), torch.from_numpy(bias),
                   stride=s, padding=p)
        expected = np.moveaxis(y.numpy(), 1, -1)
        actual = to_numpy(net(x))
        assert actual.shape == expected.shape, (rank, transpose, size)
        np.testing.assert_allclose(actual, expected, atol=1e-4,
                                   err_msg=str((rank, transpose, size)))


def test_residual_block_formula():
    """`a · BN(conv(x)) + b · f(x)` with inference-mode BN and no dropout."""
    from keras_mmvae.src.benchmarks.common import blocks

    inputs = keras.Input((8, 3))
    out = blocks.residual_block(inputs, 4, 4, 2, 1, rank=1, inner_bias=True,
                                dropout_rate=0.5, spatial_dropout=False,
                                name="rb", kernel_initializer=INIT)
    net = keras.Model(inputs, out)
    x = np.random.default_rng(0).normal(size=(2, 8, 3)).astype("float32")
    shortcut = keras.Model(inputs, net.get_layer("rb_shortcut_bn").output)
    branch = keras.Model(inputs, net.get_layer("rb_dropout2").output)
    expected = 2.0 * to_numpy(shortcut(x)) + 0.3 * to_numpy(branch(x))
    np.testing.assert_allclose(to_numpy(net(x)), expected, atol=1e-5)
    assert tuple(ops.shape(net(x))) == (2, 4, 4)


@pytest.mark.parametrize("factory, kwargs", [
    (models.polymnist, dict(latent_dim=4, num_modalities=2,
                            encoder_filters=(2, 2, 2), hidden_dim=8,
                            decoder_filters=(2, 2, 2))),
    (models.mnist_svhn_text, dict(latent_dim=3, mnist_hidden_dim=8,
                                  svhn_encoder_filters=(2, 2, 2, 2),
                                  svhn_decoder_filters=(4, 2, 2, 2),
                                  text_filters=4)),
], ids=["polymnist", "mnist_svhn_text"])  # celeba: the same helper
def test_factories_take_a_precision_policy(factory, kwargs, tmp_path):
    model = factory(dtype_policy="mixed_bfloat16", seed=0, **kwargs)
    assert keras.config.dtype_policy().name == "float32"  # global untouched
    assert model.dtype_policy.name == "mixed_bfloat16"
    layers = [layer for network in [*model.encoders.values(),
                                    *model.decoders.values()]
              for layer in network.network.layers if layer.weights]
    assert layers and all(layer.compute_dtype == "bfloat16"
                          for layer in layers)
    assert all(v.dtype == "float32" for v in model.weights)
    if factory is not models.polymnist:
        return  # one factory trains and reloads: the helper is shared
    model.compile(optimizer="adam")
    batch = {name: np.random.default_rng(0).random(
                 (4,) + tuple(shape[1:])).astype("float32")
             for name, shape in model.input_shapes.items()}
    assert np.isfinite(model.train_on_batch(batch)[0])
    model.save(tmp_path / "mixed.keras")
    loaded = keras.saving.load_model(tmp_path / "mixed.keras")
    assert loaded.dtype_policy.name == "mixed_bfloat16"
    assert loaded.encoders[model.modality_names[0]].dtype_policy.name == (
        "mixed_bfloat16")
