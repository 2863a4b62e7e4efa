"""The benchmarks by name."""

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.celeba.spec import SPEC as CELEBA
from keras_mmvae.src.benchmarks.mnist_svhn_text.spec import (
    SPEC as MNIST_SVHN_TEXT,
)
from keras_mmvae.src.benchmarks.polymnist.spec import SPEC as POLYMNIST

SPECS = {spec.name: spec for spec in (POLYMNIST, MNIST_SVHN_TEXT, CELEBA)}

HYPERPARAMETERS = {name: spec.hyperparameters for name, spec in SPECS.items()}
"""Per benchmark: model settings (also the factory defaults) and the
training protocol (Adam(β1=0.9, β2=0.999), `learning_rate`, `batch_size`
with full batches only, `epochs`, evaluation every `eval_every` epochs)."""
keras_mmvae_export("keras_mmvae.models.HYPERPARAMETERS")(HYPERPARAMETERS)
