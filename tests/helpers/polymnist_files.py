"""`data_dir`: a tiny PolyMNIST-style set on disk (60 training and 20 test
tuples in the published file layout), for the CLI and training tests."""

import numpy as np
import pytest

from keras_mmvae import datasets


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    digits = (rng.random((80, 28, 28)) > 0.7).astype("uint8") * 255
    labels = np.arange(80) % 10
    mnist = ((digits[:60], labels[:60]), (digits[60:], labels[60:]))
    out = tmp_path_factory.mktemp("polymnist")
    datasets.polymnist.make(mnist, out, seed=0, progress=False)
    return out
