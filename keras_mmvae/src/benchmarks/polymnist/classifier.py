"""The PolyMNIST evaluation classifier.

Plain functional Keras models; see `keras_mmvae.src.benchmarks.classifiers`.
"""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.common import blocks


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
