"""Bimodal CelebA: 64×64 face images and attribute text, 40 binary labels.

- `load(data_dir, split="train", ...)`: batches `{"image", "text"}` for
  `model.fit` from the official `.txt` layout or the reference CSV variant;
  `split="test"` is partition 1 (the official validation split, MoPoE's
  test set), `"official_test"` partition 2;
- `load_arrays(data_dir, split="test")`: a split as arrays;
- `attribute_text(...)`: the attribute sentence of one image;
- `tfds_builder(manual_dir)`: a tensorflow-datasets builder (optional).
"""

from keras_mmvae.src.benchmarks.celeba.data import CelebADataset
from keras_mmvae.src.benchmarks.celeba.data import attribute_text
from keras_mmvae.src.benchmarks.celeba.data import load
from keras_mmvae.src.benchmarks.celeba.data import load_arrays
from keras_mmvae.src.benchmarks.celeba.tfds import tfds_builder

__all__ = [
    "CelebADataset",
    "attribute_text",
    "load",
    "load_arrays",
    "tfds_builder",
]
