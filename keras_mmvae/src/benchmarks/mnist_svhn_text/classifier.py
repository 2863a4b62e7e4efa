"""The MNIST-SVHN-Text evaluation classifiers.

Plain functional Keras models; see `keras_mmvae.src.benchmarks.classifiers`.
"""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.common import blocks
from keras_mmvae.src.datasets.alphabet import ALPHABET_SIZE


@keras_mmvae_export("keras_mmvae.models.mnist_classifier")
def mnist_classifier(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    name: str = "mnist_classifier",
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
) -> keras.Model:
    """MNIST digit classifier (MoPoE `clf_m1`).

    `Conv(32, k4, s2)` 13² → ReLU → `Conv(64, k4, s2)` 5² → ReLU →
    `Conv(128, k4, s2)` 1² → ReLU → Dropout(0.5) → `Dense(10)` logits.

    Args:
        input_shape: Image shape.
        num_classes: Number of classes.
        name: Model name.
        kernel_initializer: Initializer of the convolution and Dense
            kernels (cloned per layer).

    Returns:
        An uncompiled functional `keras.Model` returning logits.
    """
    kw = {"kernel_initializer": kernel_initializer}
    inputs = keras.Input(tuple(input_shape), name="images")
    x = inputs
    for i, f in enumerate((32, 64, 128)):
        x = blocks.conv(x, f, 4, 2, 0, activation="relu", name=f"conv_{i}",
                        **kw)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    x = blocks.dense(x, num_classes, name="logits", **kw)
    return keras.Model(inputs, x, name=name)


@keras_mmvae_export("keras_mmvae.models.svhn_classifier")
def svhn_classifier(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    name: str = "svhn_classifier",
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
) -> keras.Model:
    """SVHN digit classifier (MoPoE `clf_m2`).

    Four × [`Conv(k4, s2)` with channels 32, 64, 64, 128 and padding 1, 1, 1,
    0 → Dropout(0.5) → BatchNorm → ReLU] → flatten 128 → `Dense(10)` logits.

    Args:
        input_shape: Image shape (32×32×C).
        num_classes: Number of classes.
        name: Model name.
        kernel_initializer: Initializer of the convolution and Dense
            kernels (cloned per layer).

    Returns:
        An uncompiled functional `keras.Model` returning logits.
    """
    kw = {"kernel_initializer": kernel_initializer}
    inputs = keras.Input(tuple(input_shape), name="images")
    x = inputs
    for i, (f, p) in enumerate(zip((32, 64, 64, 128), (1, 1, 1, 0))):
        x = blocks.conv(x, f, 4, 2, p, name=f"conv_{i}", **kw)
        x = keras.layers.Dropout(0.5, name=f"dropout_{i}")(x)
        x = blocks.batch_norm(x, name=f"bn_{i}")
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = blocks.dense(x, num_classes, name="logits", **kw)
    return keras.Model(inputs, x, name=name)


@keras_mmvae_export("keras_mmvae.models.digit_text_classifier")
def digit_text_classifier(
    sequence_length: int = 8,
    num_symbols: int = ALPHABET_SIZE,
    num_classes: int = 10,
    name: str = "text_classifier",
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
) -> keras.Model:
    """MNIST-SVHN-Text text classifier (MoPoE `clf_m3`).

    `Conv1D(128, k1)` → ResBlock(128 → 192, k4, s2, p1) 4 →
    ResBlock(192 → 128, k4, s2, p0) 1 → Dropout(0.5) → `Dense(10)` logits.
    ResBlock = BN → ReLU → Conv 1×1 → BN → ReLU → Conv(k, s, p), shortcut
    Conv(k, s, p) + BN, output `shortcut + 0.3 · branch`.

    Args:
        sequence_length: Text length (8).
        num_symbols: Alphabet size (71).
        num_classes: Number of classes.
        name: Model name.
        kernel_initializer: Initializer of the convolution and Dense
            kernels (cloned per layer).

    Returns:
        An uncompiled functional `keras.Model` returning logits.
    """
    kw = {"kernel_initializer": kernel_initializer}
    inputs = keras.Input((int(sequence_length), int(num_symbols)),
                         name="text")
    x = blocks.conv(inputs, 128, 1, rank=1, name="conv", **kw)
    x = blocks.residual_block(x, 192, 4, 2, 1, rank=1, inner_bias=True,
                              dropout_rate=0.0, shortcut_scale=1.0,
                              name="block_0", **kw)
    x = blocks.residual_block(x, 128, 4, 2, 0, rank=1, inner_bias=True,
                              dropout_rate=0.0, shortcut_scale=1.0,
                              name="block_1", **kw)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    x = blocks.dense(x, num_classes, name="logits", **kw)
    return keras.Model(inputs, x, name=name)
