"""Every exported layer through the `run_layer_test` harness.

The layers are found in the export record (`PUBLIC_PATHS`: every
`keras.layers.Layer` subclass reachable from a public facade, e.g.
`keras_mmvae.layers` and the reference networks of `keras_mmvae.models`),
together with the exported factories returning a functional `keras.Model`
(the evaluation classifiers) and the internal layers the exported ones are
built from (`Conv2DTranspose`). `test_every_exported_layer_has_a_case` fails
when one of them has no case below, so a new layer cannot be forgotten.

Each case runs the harness's serialisation, symbolic/eager, rebuild,
one-step training and `mixed_bfloat16` checks on the smallest inputs the
layer accepts (the reference image sizes at batch 2, small widths).
"""

import inspect

import keras
import numpy as np
import pytest
from fast_init import NumpyGlorotUniform

import keras_mmvae as mm
import keras_mmvae.layers
import keras_mmvae.models as models
from keras_mmvae.src.api_export import PUBLIC_PATHS
from keras_mmvae.src.layers.conv_transpose import Conv2DTranspose
from keras_mmvae.src.testing.test_case import run_layer_test

# Exported layers tested elsewhere, with the reason.
EXEMPT = {
    "MultimodalVAE": "a model, not a building block: tests/models",
}
# Layers not exported that exported layers and networks are built from.
INTERNAL = (Conv2DTranspose,)

B = 2  # batch
# NumPy draws: JAX compiles its random kernel once per weight shape, most of
# the time of building a reference network on CPU.
INIT = {"kernel_initializer": NumpyGlorotUniform()}


def _normal(*shape):
    return lambda rng: rng.normal(size=shape).astype("float32")


def _uniform(*shape):
    return lambda rng: rng.uniform(size=shape).astype("float32")


def _one_hot(length, symbols, batch=B):
    def make(rng):
        return np.eye(symbols, dtype="float32")[
            rng.integers(0, symbols, size=(batch, length))]
    return make


def _mask(rng):
    return np.array([[1, 1, 1], [1, 0, 1]], "float32")


def case(name, target, init_kwargs, inputs, variant=None, large=False,
         **expected):
    """A `pytest.param` of (target, init kwargs, input makers, expected).

    `large`: a network whose compilation takes tens of seconds on CPU
    (the CelebA residual stacks); runs with `--run-large` (`make test`),
    on torch only.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    # The large networks compile for tens of seconds on JAX and
    # TensorFlow; torch runs them eagerly.
    marks = [pytest.mark.large, pytest.mark.one_backend("torch")] \
        if large else []
    return pytest.param(target, init_kwargs, inputs, expected,
                        id=name if variant is None else f"{name}-{variant}",
                        marks=marks)


def pair(dim):
    return ((B, dim), (B, dim))


def _modalities(**shapes):
    """A maker of a dict input, one normal array per modality."""
    return lambda rng: {name: rng.normal(size=(B, *shape)).astype("float32")
                        for name, shape in shapes.items()}


CASES = [
    # keras_mmvae.layers
    case("GaussianHead", mm.layers.GaussianHead,
         {"latent_dim": 5, **INIT},
         _normal(B, 7), expected_output_shape=pair(5),
         expected_num_trainable_weights=4),
    case("MLPEncoder", mm.layers.MLPEncoder,
         {"latent_dim": 3, "hidden_dims": (4, 5)}, _normal(B, 2, 3),
         variant="no-dropout", expected_output_shape=pair(3),
         expected_num_trainable_weights=8),
    case("MLPEncoder", mm.layers.MLPEncoder,
         {"latent_dim": 3, "hidden_dims": (4, 5), "dropout": 0.1},
         _normal(B, 2, 3), variant="dropout", expected_output_shape=pair(3),
         expected_num_trainable_weights=8, expected_num_seed_generators=2),
    case("JointMLPEncoder", mm.layers.JointMLPEncoder,
         {"latent_dim": 3, "hidden_dims": (4,)},
         _modalities(a=(2, 3), b=(5,)), expected_output_shape=pair(3),
         expected_num_trainable_weights=6),
    case("MLPDecoder", mm.layers.MLPDecoder,
         {"output_shape": (2, 3), "hidden_dims": (8,),
          "output_activation": "sigmoid"},
         _normal(B, 5), expected_output_shape=(B, 2, 3),
         expected_num_trainable_weights=4),
    case("ConvEncoder", mm.layers.ConvEncoder,
         {"latent_dim": 4, "filters": (8, 6), "hidden_dim": 10},
         _normal(B, 28, 28, 3), variant="hidden",
         expected_output_shape=pair(4), expected_num_trainable_weights=10),
    case("ConvEncoder", mm.layers.ConvEncoder,
         {"latent_dim": 4, "filters": (8,), "hidden_dim": 0},
         _normal(B, 28, 28, 3), variant="no-hidden",
         expected_output_shape=pair(4), expected_num_trainable_weights=6),
    case("ConvDecoder", mm.layers.ConvDecoder,
         {"output_shape": (28, 28, 3), "filters": (8, 4)}, _normal(B, 5),
         expected_output_shape=(B, 28, 28, 3),
         expected_num_trainable_weights=6),
    *[case("BarycenterFusion", mm.layers.BarycenterFusion,
           {**kwargs, "seed": 1},
           (_normal(B, 3, 5), _normal(B, 3, 5), _mask), variant=variant,
           expected_output_shape={"log_var": (B, k, 5), "mean": (B, k, 5),
                                  "weight": (B, k)},
           expected_num_trainable_weights=trainable,
           # The fusion computes in float32 (precision of the barycenter).
           expected_mixed_precision_output_dtype="float32")
      for variant, kwargs, k, trainable in [
          ("w2", {"mode": "w2"}, 1, 0),
          ("poe-prior", {"mode": "poe", "prior_expert": True}, 1, 0),
          ("moe", {"mode": "moe"}, 3, 0),
          ("poe-all-full-prior", {"mode": "poe", "subsets": "all",
                                  "prior_expert": "full"}, 7, 0),
          ("w2-all", {"mode": "w2", "subsets": "all"}, 7, 0),
          ("w2-learned", {"mode": "w2", "weights": "learned"}, 1, 1),
      ]],
    # Internal: the transposed convolution with PyTorch padding.
    case("Conv2DTranspose", Conv2DTranspose,
         {"filters": 3, "kernel_size": 4, "strides": 2, "padding": 1,
          **INIT},
         _normal(B, 7, 7, 5), expected_output_shape=(B, 14, 14, 3),
         expected_num_trainable_weights=2),
    # keras_mmvae.models: PolyMNIST.
    case("PolyMNISTEncoder", models.PolyMNISTEncoder,
         {"latent_dim": 4, "filters": (4, 4, 4), "hidden_dim": 8, **INIT},
         _uniform(B, 28, 28, 3), expected_output_shape=pair(4),
         expected_num_trainable_weights=12),
    case("PolyMNISTEncoder", models.PolyMNISTEncoder,
         {"latent_dim": 4, "filters": (4, 4, 4), "hidden_dim": 8,
          "style_dim": 2, **INIT},
         _uniform(B, 28, 28, 3), variant="style",
         expected_output_shape=(*pair(4), *pair(2)),
         expected_num_trainable_weights=16),
    case("PolyMNISTDecoder", models.PolyMNISTDecoder,
         {"filters": (4, 4, 4), **INIT}, _normal(B, 4),
         expected_output_shape=(B, 28, 28, 3),
         expected_num_trainable_weights=8),
    # MNIST-SVHN-Text.
    case("MNISTEncoder", models.MNISTEncoder,
         {"latent_dim": 4, "hidden_dim": 8, **INIT}, _uniform(B, 28, 28, 1),
         expected_output_shape=pair(4), expected_num_trainable_weights=6),
    case("MNISTDecoder", models.MNISTDecoder, {"hidden_dim": 8, **INIT},
         _normal(B, 4), expected_output_shape=(B, 28, 28, 1),
         expected_num_trainable_weights=4),
    case("SVHNEncoder", models.SVHNEncoder,
         {"latent_dim": 4, "filters": (4, 4, 4, 4), **INIT},
         _uniform(B, 32, 32, 3), expected_output_shape=pair(4),
         expected_num_trainable_weights=12),
    case("SVHNDecoder", models.SVHNDecoder,
         {"filters": (4, 4, 4, 4), **INIT}, _normal(B, 4),
         expected_output_shape=(B, 32, 32, 3),
         expected_num_trainable_weights=10),
    case("DigitTextEncoder", models.DigitTextEncoder,
         {"latent_dim": 4, "filters": 4, **INIT}, _one_hot(8, 71),
         expected_output_shape=pair(4), expected_num_trainable_weights=10),
    case("DigitTextDecoder", models.DigitTextDecoder,
         {"filters": 4, **INIT}, _normal(B, 4),
         expected_output_shape=(B, 8, 71), expected_num_trainable_weights=8),
    # CelebA: residual blocks with BatchNorm (moving statistics) and
    # dropout (one seed generator per dropout layer).
    case("CelebAImageEncoder", models.CelebAImageEncoder,
         {"latent_dim": 4, "style_dim": 2, "dim": 2, **INIT},
         _uniform(B, 64, 64, 3), expected_output_shape=(*pair(4), *pair(2)),
         large=True,
         expected_num_trainable_weights=49,
         expected_num_non_trainable_weights=24,
         expected_num_seed_generators=8),
    case("CelebATextEncoder", models.CelebATextEncoder,
         {"latent_dim": 4, "style_dim": 2, "dim": 2, **INIT},
         _one_hot(256, 71), expected_output_shape=(*pair(4), *pair(2)),
         large=True,
         expected_num_trainable_weights=82,
         expected_num_non_trainable_weights=36,
         expected_num_seed_generators=12),
    # The CelebA networks use batch 5: batch norm of a 1×1 map over two
    # rows gives ±1, whose gamma gradient can vanish exactly.
    case("CelebAImageDecoder", models.CelebAImageDecoder,
         {"dim": 2, **INIT}, _normal(5, 6),
         expected_output_shape=(5, 64, 64, 3),
         large=True,
         expected_num_trainable_weights=44,
         expected_num_non_trainable_weights=24,
         expected_num_seed_generators=8),
    case("CelebATextDecoder", models.CelebATextDecoder,
         {"dim": 2, **INIT}, _normal(5, 6),
         expected_output_shape=(5, 256, 71),
         large=True,
         expected_num_trainable_weights=76,
         expected_num_non_trainable_weights=36,
         expected_num_seed_generators=12),
    # Evaluation classifiers: functional models from factories.
    case("polymnist_classifier", models.polymnist_classifier, INIT,
         _uniform(B, 28, 28, 3), expected_output_shape=(B, 10),
         expected_num_trainable_weights=8, expected_num_seed_generators=3),
    case("mnist_classifier", models.mnist_classifier, INIT,
         _uniform(B, 28, 28, 1), expected_output_shape=(B, 10),
         expected_num_trainable_weights=8, expected_num_seed_generators=1),
    case("svhn_classifier", models.svhn_classifier, INIT,
         _uniform(B, 32, 32, 3), expected_output_shape=(B, 10),
         expected_num_trainable_weights=18,
         expected_num_non_trainable_weights=8,
         expected_num_seed_generators=4),
    case("digit_text_classifier", models.digit_text_classifier, INIT,
         _one_hot(8, 71), expected_output_shape=(B, 10),
         expected_num_trainable_weights=28,
         expected_num_non_trainable_weights=12,
         expected_num_seed_generators=1),
    case("celeba_image_classifier", models.celeba_image_classifier,
         {"dim": 2, **INIT}, _uniform(5, 64, 64, 3),
         expected_output_shape=(5, 40), large=True,
         expected_num_trainable_weights=43,
         expected_num_non_trainable_weights=24,
         expected_num_seed_generators=9),
    case("celeba_text_classifier", models.celeba_text_classifier,
         {"dim": 2, **INIT}, _one_hot(256, 71, batch=5),
         expected_output_shape=(5, 40), large=True,
         expected_num_trainable_weights=76,
         expected_num_non_trainable_weights=36,
         expected_num_seed_generators=13),
]


def exported_layers():
    """Names of the exported layer classes and functional-model factories."""
    names = set()
    for obj in PUBLIC_PATHS.values():
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer):
            names.add(obj.__name__)
        elif inspect.isfunction(obj) and (
                inspect.signature(obj).return_annotation is keras.Model):
            names.add(obj.__name__)
    return names


def test_every_exported_layer_has_a_case():
    assert {"BarycenterFusion", "ConvEncoder",
            "PolyMNISTEncoder"} <= exported_layers()  # the record is read
    covered = {p.values[0].__name__ for p in CASES}
    missing = exported_layers() - covered - set(EXEMPT)
    assert not missing, (
        f"exported layers without a case in {__name__}: {sorted(missing)}")
    internal = {cls.__name__ for cls in INTERNAL}
    assert covered - exported_layers() == internal


@pytest.mark.parametrize("target, init_kwargs, inputs, expected", CASES)
def test_layer(target, init_kwargs, inputs, expected):
    rng = np.random.default_rng(0)
    run_layer_test(target, init_kwargs,
                   tuple(make(rng) for make in inputs), **expected)
