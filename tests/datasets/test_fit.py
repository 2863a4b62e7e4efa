"""End to end: one `model.fit` step on batches of every loader."""

import keras
import numpy as np

import keras_mmvae as mm
from keras_mmvae.datasets import celeba
from keras_mmvae.datasets import mnist_svhn_text
from keras_mmvae.datasets import polymnist
from keras_mmvae.src.testing import fixtures


def tiny_vae(shapes, likelihoods):
    names = list(shapes)
    return mm.MultimodalVAE(
        encoders={n: mm.layers.MLPEncoder(4, hidden_dims=(16,)) for n in names},
        decoders={n: mm.layers.MLPDecoder(shapes[n], hidden_dims=(16,))
                  for n in names},
        likelihoods=likelihoods,
        fusion="w2",
        subset_sampling=None,  # a smaller graph: faster to compile on JAX
        seed=0,
    )


def fit_one_step(data, shapes, likelihoods):
    vae = tiny_vae(shapes, likelihoods)
    # One step: running eagerly is cheaper than compiling the step, except
    # on JAX, whose op-by-op dispatch is far slower than one `jax.jit`.
    vae.compile(optimizer=keras.optimizers.SGD(1e-3),
                run_eagerly=keras.config.backend() != "jax")
    history = vae.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    loss = history.history["loss"][0]
    assert np.isfinite(loss) and loss > 0
    # `fit` advanced the loader's epoch (Keras also calls `on_epoch_end` once
    # when `fit` starts, so the count is not the number of epochs trained).
    assert data.epoch >= 1
    return history


def test_fit_on_polymnist_with_missing_modalities(tmp_path):
    mnist = (fixtures.mnist_like(40, 0), fixtures.mnist_like(10, 1))
    polymnist.make(mnist, tmp_path, num_train=40, num_test=10, progress=False)
    data = polymnist.load(tmp_path, "train", batch_size=8, seed=0,
                          missing_rate=0.3, progress=False)
    assert "mask" in data[0][0]
    fit_one_step(data, {f"m{k}": (28, 28, 3) for k in range(5)},
                 {f"m{k}": "laplace" for k in range(5)})


def test_fit_on_mnist_svhn_text(tmp_path):
    fixtures.write_mnist_idx(tmp_path / "MNIST", 60, 20)
    fixtures.write_svhn_mat(tmp_path / "SVHN", 60, 20)
    data = mnist_svhn_text.load(tmp_path, "train", batch_size=8, seed=0, dm=1)
    fit_one_step(data, {"mnist": (28, 28, 1), "svhn": (32, 32, 3),
                        "text": (8, 71)},
                 {"mnist": "laplace", "svhn": "laplace",
                  "text": "categorical"})


def test_fit_on_celeba_with_missing_text(tmp_path):
    fixtures.write_celeba(tmp_path, 16, "txt")
    data = celeba.load(tmp_path, "train", batch_size=4, seed=0,
                       missing_rate=[0.0, 0.5], progress=False)
    fit_one_step(data, {"image": (64, 64, 3), "text": (256, 71)},
                 {"image": "laplace", "text": "categorical"})
