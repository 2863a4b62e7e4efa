"""Every benchmark model and classifier loads with Keras's
`safe_mode=True`: no lambdas or other arbitrary code in their configs."""

import keras
import numpy as np
import pytest
from fast_init import NumpyGlorotUniform

import keras_mmvae as mm
from keras_mmvae import models
from keras_mmvae.src.testing.test_case import to_numpy

INIT = NumpyGlorotUniform()

TINY = {
    "polymnist": {"latent_dim": 4, "num_modalities": 2, "hidden_dim": 8,
                  "encoder_filters": (2, 2, 2),
                  "decoder_filters": (2, 2, 2), "style_dim": 2},
    "mnist_svhn_text": {"latent_dim": 4, "mnist_hidden_dim": 8,
                        "svhn_encoder_filters": (2, 2, 2, 4),
                        "svhn_decoder_filters": (4, 2, 2, 2),
                        "text_filters": 4},
    "celeba": {"latent_dim": 4, "style_dim": 2, "dim": 2},
}


@pytest.mark.parametrize("benchmark", sorted(TINY))
def test_benchmark_models_load_in_safe_mode(benchmark, tmp_path):
    model = getattr(models, benchmark)(
        kernel_initializer=INIT, seed=0, **TINY[benchmark])
    path = tmp_path / f"{benchmark}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, mm.MultimodalVAE)
    assert loaded.modality_names == model.modality_names
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_classifiers_load_in_safe_mode(tmp_path):
    built = {
        **models.benchmark_classifiers("polymnist", num_modalities=1,
                                       kernel_initializer=INIT),
        "text": models.digit_text_classifier(kernel_initializer=INIT),
        "attributes": models.celeba_text_classifier(
            dim=2, kernel_initializer=INIT),
    }
    for name, classifier in built.items():
        classifier.save(tmp_path / f"{name}.keras")
        keras.saving.load_model(tmp_path / f"{name}.keras", safe_mode=True)
