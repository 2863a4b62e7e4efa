import numpy as np
import pytest

from keras_mmvae import datasets


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A tiny PolyMNIST-style set: 60 training and 20 test tuples.

    The same set as tests/cli's `data_dir`.
    """
    rng = np.random.default_rng(0)
    digits = (rng.random((80, 28, 28)) > 0.7).astype("uint8") * 255
    labels = np.arange(80) % 10
    mnist = ((digits[:60], labels[:60]), (digits[60:], labels[60:]))
    out = tmp_path_factory.mktemp("polymnist")
    datasets.polymnist.make(mnist, out, seed=0, progress=False)
    return out
