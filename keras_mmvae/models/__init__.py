"""Reference networks, model factories and evaluation classifiers.

* Factories building a `mm.MultimodalVAE` with the MoPoE reference
  architecture and hyper-parameters of each benchmark: `polymnist`,
  `mnist_svhn_text`, `celeba` (the latter with modality-specific style
  latents). All take size overrides for small test/demo versions.
* The encoders and decoders as Keras layers (PyTorch padding ported
  literally).
* Evaluation classifiers as plain functional Keras models, with
  `train_classifier(s)`, `evaluate_classifier` and `load_classifiers`.
* `HYPERPARAMETERS`: the reference training settings per benchmark.
"""

from keras_mmvae.src.models.classifiers.architectures import (
    benchmark_classifiers,
)
from keras_mmvae.src.models.classifiers.architectures import (
    celeba_image_classifier,
)
from keras_mmvae.src.models.classifiers.architectures import (
    celeba_text_classifier,
)
from keras_mmvae.src.models.classifiers.architectures import (
    digit_text_classifier,
)
from keras_mmvae.src.models.classifiers.architectures import mnist_classifier
from keras_mmvae.src.models.classifiers.architectures import (
    polymnist_classifier,
)
from keras_mmvae.src.models.classifiers.architectures import svhn_classifier
from keras_mmvae.src.models.classifiers.training import evaluate_classifier
from keras_mmvae.src.models.classifiers.training import load_classifiers
from keras_mmvae.src.models.classifiers.training import train_classifier
from keras_mmvae.src.models.classifiers.training import train_classifiers
from keras_mmvae.src.models.presets.celeba import CelebAImageDecoder
from keras_mmvae.src.models.presets.celeba import CelebAImageEncoder
from keras_mmvae.src.models.presets.celeba import CelebATextDecoder
from keras_mmvae.src.models.presets.celeba import CelebATextEncoder
from keras_mmvae.src.models.presets.celeba import celeba
from keras_mmvae.src.models.presets.hyperparameters import HYPERPARAMETERS
from keras_mmvae.src.models.presets.mnist_svhn_text import DigitTextDecoder
from keras_mmvae.src.models.presets.mnist_svhn_text import DigitTextEncoder
from keras_mmvae.src.models.presets.mnist_svhn_text import MNISTDecoder
from keras_mmvae.src.models.presets.mnist_svhn_text import MNISTEncoder
from keras_mmvae.src.models.presets.mnist_svhn_text import SVHNDecoder
from keras_mmvae.src.models.presets.mnist_svhn_text import SVHNEncoder
from keras_mmvae.src.models.presets.mnist_svhn_text import mnist_svhn_text
from keras_mmvae.src.models.presets.polymnist import PolyMNISTDecoder
from keras_mmvae.src.models.presets.polymnist import PolyMNISTEncoder
from keras_mmvae.src.models.presets.polymnist import polymnist

__all__ = [
    "HYPERPARAMETERS",
    "CelebAImageDecoder",
    "CelebAImageEncoder",
    "CelebATextDecoder",
    "CelebATextEncoder",
    "DigitTextDecoder",
    "DigitTextEncoder",
    "MNISTDecoder",
    "MNISTEncoder",
    "PolyMNISTDecoder",
    "PolyMNISTEncoder",
    "SVHNDecoder",
    "SVHNEncoder",
    "benchmark_classifiers",
    "celeba",
    "celeba_image_classifier",
    "celeba_text_classifier",
    "digit_text_classifier",
    "evaluate_classifier",
    "load_classifiers",
    "mnist_classifier",
    "mnist_svhn_text",
    "polymnist",
    "polymnist_classifier",
    "svhn_classifier",
    "train_classifier",
    "train_classifiers",
]
