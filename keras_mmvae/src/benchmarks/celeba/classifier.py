"""The CelebA evaluation classifiers.

Plain functional Keras models; see `keras_mmvae.src.benchmarks.classifiers`.
"""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.celeba.networks import image_features
from keras_mmvae.src.benchmarks.common import blocks
from keras_mmvae.src.datasets.alphabet import ALPHABET_SIZE


@keras_mmvae_export("keras_mmvae.models.celeba_image_classifier")
def celeba_image_classifier(
    dim: int = 128,
    num_attributes: int = 40,
    name: str = "celeba_image_classifier",
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
) -> keras.Model:
    """CelebA 40-attribute image classifier (MoPoE `clf_m1`).

    The image-encoder feature extractor (→ 5·dim = 640) → Dropout(0.5) →
    `Dense(40)` logits (sigmoid scores).

    Args:
        dim: Base width of the feature extractor (reference 128).
        num_attributes: Number of binary attributes (40).
        name: Model name.
        kernel_initializer: Initializer of the convolution and Dense
            kernels (cloned per layer).

    Returns:
        An uncompiled functional `keras.Model` returning logits.
    """
    kw = {"kernel_initializer": kernel_initializer}
    inputs = keras.Input((64, 64, 3), name="images")
    x = image_features(inputs, int(dim), **kw)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    x = blocks.dense(x, num_attributes, name="logits", **kw)
    return keras.Model(inputs, x, name=name)


@keras_mmvae_export("keras_mmvae.models.celeba_text_classifier")
def celeba_text_classifier(
    dim: int = 128,
    num_attributes: int = 40,
    num_symbols: int = ALPHABET_SIZE,
    name: str = "celeba_text_classifier",
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
) -> keras.Model:
    """CelebA 40-attribute text classifier (MoPoE `clf_m2`).

    `Conv1D(128, k3, s2, p1)` 128 → residual blocks 256, 384, 512, 640, 768
    (k4 s2 p1) → 896 (k4 s2 p0) 1 → Dropout(0.5) → `Dense(40)` logits.
    Blocks as in the CelebA text encoder (`2·shortcut + 0.3·f`).

    Args:
        dim: Base width (reference 128).
        num_attributes: Number of binary attributes (40).
        num_symbols: Alphabet size (71).
        name: Model name.
        kernel_initializer: Initializer of the convolution and Dense
            kernels (cloned per layer).

    Returns:
        An uncompiled functional `keras.Model` returning logits.
    """
    kw = {"kernel_initializer": kernel_initializer}
    dim = int(dim)
    inputs = keras.Input((256, int(num_symbols)), name="text")
    x = blocks.conv(inputs, dim, 3, 2, 1, rank=1, name="conv", **kw)
    specs = [(m, 1) for m in (2, 3, 4, 5, 6)] + [(7, 0)]
    for i, (mult, p) in enumerate(specs):
        x = blocks.residual_block(x, mult * dim, 4, 2, p, rank=1,
                                  inner_bias=True, spatial_dropout=False,
                                  name=f"block_{i}", **kw)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    x = blocks.dense(x, num_attributes, name="logits", **kw)
    return keras.Model(inputs, x, name=name)
