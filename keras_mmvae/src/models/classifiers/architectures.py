"""Evaluation classifiers of the benchmarks as plain functional Keras models.

Every classifier is a functional `keras.Model` made only of built-in layers,
so its `.keras` file loads with plain Keras on any backend (no
`custom_objects`). Each returns logits: 10 digit logits (argmax prediction)
or 40 attribute logits (sigmoid scores). Inputs are what the decoders
produce: images in [0, 1] and text as per-position probabilities.
"""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.models.presets import blocks
from keras_mmvae.src.models.presets.celeba import image_features

NUM_SYMBOLS = 71


@keras_mmvae_export("keras_mmvae.models.polymnist_classifier")
def polymnist_classifier(
    input_shape: tuple[int, int, int] = (28, 28, 3),
    num_classes: int = 10,
    name: str = "polymnist_classifier",
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
) -> keras.Model:
    """PolyMNIST digit classifier (MultiVae / MMVAE+ `clf_polyMNIST`).

    `Conv(10, k4, s2, p1)` → SpatialDropout(0.5) → ReLU →
    `Conv(20, k4, s2, p1)` → SpatialDropout(0.5) → ReLU → flatten 980 →
    `Dense(128)` → Dropout(0.5) → ReLU → `Dense(10)` logits. Raw [0, 1]
    input, no normalisation. Also works on 28×28×1 MNIST.

    Args:
        input_shape: Image shape (28×28 with any channel count).
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
    for i, f in enumerate((10, 20)):
        x = blocks.conv(x, f, 4, 2, 1, name=f"conv_{i}", **kw)
        x = keras.layers.SpatialDropout2D(0.5, name=f"dropout_{i}")(x)
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = blocks.dense(x, 128, name="dense", **kw)
    x = keras.layers.Dropout(0.5, name="dropout_dense")(x)
    x = keras.layers.ReLU(name="relu_dense")(x)
    x = blocks.dense(x, num_classes, name="logits", **kw)
    return keras.Model(inputs, x, name=name)


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
    num_symbols: int = NUM_SYMBOLS,
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
    num_symbols: int = NUM_SYMBOLS,
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
