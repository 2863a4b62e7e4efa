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
* `export_for_serving`: a TensorFlow SavedModel with the inference
  endpoints of any `MultimodalVAE`.
"""

from keras_mmvae.src.benchmarks.celeba.classifier import celeba_image_classifier
from keras_mmvae.src.benchmarks.celeba.classifier import celeba_text_classifier
from keras_mmvae.src.benchmarks.celeba.networks import CelebAImageDecoder
from keras_mmvae.src.benchmarks.celeba.networks import CelebAImageEncoder
from keras_mmvae.src.benchmarks.celeba.networks import CelebATextDecoder
from keras_mmvae.src.benchmarks.celeba.networks import CelebATextEncoder
from keras_mmvae.src.benchmarks.celeba.networks import celeba
from keras_mmvae.src.benchmarks.classifiers import benchmark_classifiers
from keras_mmvae.src.benchmarks.mnist_svhn_text.classifier import (
    digit_text_classifier,
)
from keras_mmvae.src.benchmarks.mnist_svhn_text.classifier import (
    mnist_classifier,
)
from keras_mmvae.src.benchmarks.mnist_svhn_text.classifier import (
    svhn_classifier,
)
from keras_mmvae.src.benchmarks.mnist_svhn_text.networks import DigitTextDecoder
from keras_mmvae.src.benchmarks.mnist_svhn_text.networks import DigitTextEncoder
from keras_mmvae.src.benchmarks.mnist_svhn_text.networks import MNISTDecoder
from keras_mmvae.src.benchmarks.mnist_svhn_text.networks import MNISTEncoder
from keras_mmvae.src.benchmarks.mnist_svhn_text.networks import SVHNDecoder
from keras_mmvae.src.benchmarks.mnist_svhn_text.networks import SVHNEncoder
from keras_mmvae.src.benchmarks.mnist_svhn_text.networks import mnist_svhn_text
from keras_mmvae.src.benchmarks.polymnist.classifier import polymnist_classifier
from keras_mmvae.src.benchmarks.polymnist.networks import PolyMNISTDecoder
from keras_mmvae.src.benchmarks.polymnist.networks import PolyMNISTEncoder
from keras_mmvae.src.benchmarks.polymnist.networks import polymnist
from keras_mmvae.src.benchmarks.registry import HYPERPARAMETERS
from keras_mmvae.src.evaluation.classifiers import evaluate_classifier
from keras_mmvae.src.evaluation.classifiers import load_classifiers
from keras_mmvae.src.evaluation.classifiers import train_classifier
from keras_mmvae.src.evaluation.classifiers import train_classifiers
from keras_mmvae.src.models.serving import export_for_serving

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
    "export_for_serving",
    "load_classifiers",
    "mnist_classifier",
    "mnist_svhn_text",
    "polymnist",
    "polymnist_classifier",
    "svhn_classifier",
    "train_classifier",
    "train_classifiers",
]
