"""Every public layer through the `run_layer_test` harness."""

import keras
import numpy as np
import pytest

import keras_mmvae as mm
from keras_mmvae.src.testing.test_case import run_layer_test

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.normal(size=shape).astype("float32")


def test_every_public_layer_is_covered():
    public = {name for name in mm.layers.__all__
              if issubclass(getattr(mm.layers, name), keras.layers.Layer)}
    assert public == {"BarycenterFusion", "ConvDecoder", "ConvEncoder",
                      "GaussianHead", "MLPDecoder", "MLPEncoder"}


def test_gaussian_head():
    run_layer_test(
        mm.layers.GaussianHead, {"latent_dim": 5}, normal(4, 7),
        expected_output_shape=((4, 5), (4, 5)),
        expected_num_trainable_weights=4)


@pytest.mark.parametrize("dropout, seeds", [(0.0, 0), (0.1, 2)])
def test_mlp_encoder(dropout, seeds):
    run_layer_test(
        mm.layers.MLPEncoder,
        {"latent_dim": 3, "hidden_dims": (4, 5), "dropout": dropout},
        normal(4, 2, 3),
        expected_output_shape=((4, 3), (4, 3)),
        expected_num_trainable_weights=8,
        expected_num_seed_generators=seeds)


def test_mlp_decoder():
    run_layer_test(
        mm.layers.MLPDecoder,
        {"output_shape": (2, 3), "hidden_dims": (8,),
         "output_activation": "sigmoid"},
        normal(4, 5),
        expected_output_shape=(4, 2, 3),
        expected_num_trainable_weights=4)


@pytest.mark.parametrize("filters, hidden_dim, weights", [
    ((8, 6), 10, 10), ((8,), 0, 6)])
def test_conv_encoder(filters, hidden_dim, weights):
    run_layer_test(
        mm.layers.ConvEncoder,
        {"latent_dim": 4, "filters": filters, "hidden_dim": hidden_dim},
        normal(2, 28, 28, 3),
        expected_output_shape=((2, 4), (2, 4)),
        expected_num_trainable_weights=weights)


def test_conv_decoder():
    run_layer_test(
        mm.layers.ConvDecoder,
        {"output_shape": (28, 28, 3), "filters": (8, 4)},
        normal(2, 5),
        expected_output_shape=(2, 28, 28, 3),
        expected_num_trainable_weights=6)


@pytest.mark.parametrize("kwargs, components, trainable", [
    ({"mode": "w2"}, 1, 0),
    ({"mode": "poe", "prior_expert": True}, 1, 0),
    ({"mode": "moe"}, 3, 0),
    ({"mode": "poe", "subsets": "all", "prior_expert": "full"}, 7, 0),
    ({"mode": "w2", "subsets": "all"}, 7, 0),
    ({"mode": "w2", "weights": "learned"}, 1, 1),
])
def test_barycenter_fusion(kwargs, components, trainable):
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [1, 1, 0]], "float32")
    shape = (4, components, 5)
    run_layer_test(
        mm.layers.BarycenterFusion, {**kwargs, "seed": 1},
        (normal(4, 3, 5), normal(4, 3, 5), mask),
        expected_output_shape={"log_var": shape, "mean": shape,
                               "weight": (4, components)},
        expected_num_trainable_weights=trainable,
        expected_num_seed_generators=0)  # draws use the caller's generator
