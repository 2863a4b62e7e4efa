"""Evaluation classifiers of the benchmarks as plain functional Keras models.

Every classifier is a functional `keras.Model` made only of built-in layers,
so its `.keras` file loads with plain Keras on any backend (no
`custom_objects`). Each returns logits: 10 digit logits (argmax prediction)
or 40 attribute logits (sigmoid scores). Inputs are what the decoders
produce: images in [0, 1] and text as per-position probabilities.
"""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.celeba.classifier import celeba_image_classifier
from keras_mmvae.src.benchmarks.celeba.classifier import celeba_text_classifier
from keras_mmvae.src.benchmarks.mnist_svhn_text.classifier import (
    digit_text_classifier,
)
from keras_mmvae.src.benchmarks.mnist_svhn_text.classifier import (
    mnist_classifier,
)
from keras_mmvae.src.benchmarks.mnist_svhn_text.classifier import (
    svhn_classifier,
)
from keras_mmvae.src.benchmarks.polymnist.classifier import polymnist_classifier

BENCHMARK_CLASSIFIERS = {
    "polymnist": lambda names, **kw: {
        n: polymnist_classifier(name=f"classifier_{n}", **kw) for n in names
    },
    "mnist_svhn_text": lambda names, **kw: {
        "mnist": mnist_classifier(name="classifier_mnist"),
        "svhn": svhn_classifier(name="classifier_svhn"),
        "text": digit_text_classifier(name="classifier_text"),
    },
    "celeba": lambda names, **kw: {
        "image": celeba_image_classifier(name="classifier_image", **kw),
        "text": celeba_text_classifier(name="classifier_text", **kw),
    },
}


@keras_mmvae_export("keras_mmvae.models.benchmark_classifiers")
def benchmark_classifiers(
    benchmark: str, num_modalities: int = 5, **kwargs
) -> dict[str, keras.Model]:
    """Fresh (untrained) evaluation classifiers of a benchmark, by modality.

    Args:
        benchmark: `"polymnist"`, `"mnist_svhn_text"` or `"celeba"`.
        num_modalities: PolyMNIST only: number of modalities `m0 …`.
        **kwargs: Passed to the builders (e.g. `dim` for CelebA).

    Returns:
        Dict modality name → uncompiled classifier.
    """
    if benchmark not in BENCHMARK_CLASSIFIERS:
        raise ValueError(
            f"Unknown benchmark {benchmark!r}; choose one of "
            f"{sorted(BENCHMARK_CLASSIFIERS)}."
        )
    names = [f"m{i}" for i in range(int(num_modalities))]
    return BENCHMARK_CLASSIFIERS[benchmark](names, **kwargs)
