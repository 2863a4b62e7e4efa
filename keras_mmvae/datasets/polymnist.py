"""PolyMNIST: five modalities `m0` … `m4` (28×28×3) sharing a digit label.

- `load(data_dir, split="train", ...)`: batches for `model.fit` from the
  published PNG layout `{train,test}/m{0..4}/<i>.<label>.png` (or the `.npz`
  conversion of the tensor layout);
- `load_arrays(data_dir, split="test")`: the decoded split as arrays;
- `make(mnist, out_dir, backgrounds=None, seed=0)`: PolyMNIST-style data
  from MNIST (real backgrounds or built-in procedural textures);
- `tfds_builder(manual_dir)`: a tensorflow-datasets builder (optional).
"""

from keras_mmvae.src.benchmarks.polymnist.data import PolyMNISTDataset
from keras_mmvae.src.benchmarks.polymnist.data import load
from keras_mmvae.src.benchmarks.polymnist.data import load_arrays
from keras_mmvae.src.benchmarks.polymnist.synthesis import make
from keras_mmvae.src.benchmarks.polymnist.tfds import tfds_builder

__all__ = ["PolyMNISTDataset", "load", "load_arrays", "make", "tfds_builder"]
