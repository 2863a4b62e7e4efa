"""MNIST-SVHN-Text: label-matched MNIST and SVHN images plus the digit's word.

- `load(data_dir, split="train", ...)`: batches `{"mnist", "svhn", "text"}`
  for `model.fit`, with the seeded pairing persisted next to the data;
- `load_arrays(data_dir, split="test")`: all triples as arrays;
- `pair_by_label(...)`: the label-matched pairing with data multiplication;
- `tfds_builder(manual_dir)`: a tensorflow-datasets builder (optional).
"""

from keras_mmvae.src.benchmarks.mnist_svhn_text.data import DIGIT_WORDS
from keras_mmvae.src.benchmarks.mnist_svhn_text.data import MNISTSVHNTextDataset
from keras_mmvae.src.benchmarks.mnist_svhn_text.data import load
from keras_mmvae.src.benchmarks.mnist_svhn_text.data import load_arrays
from keras_mmvae.src.benchmarks.mnist_svhn_text.data import pair_by_label
from keras_mmvae.src.benchmarks.mnist_svhn_text.tfds import tfds_builder

__all__ = [
    "DIGIT_WORDS",
    "MNISTSVHNTextDataset",
    "load",
    "load_arrays",
    "pair_by_label",
    "tfds_builder",
]
