"""Fréchet distance between feature statistics (FID), optional.

FID compares the Gaussian statistics (mean, covariance) of features of real
and generated images. The published numbers use the 2048-d pool features of
`pt_inception-2015-12-05-6726825d.pth` (the pytorch-fid port of the TF
Inception network). `keras.applications.InceptionV3` with its ImageNet
weights is a **different network**: FIDs computed with it are internally
consistent but not comparable with published numbers. Nothing here
downloads weights; the user supplies them.
"""

import os
from collections.abc import Callable
from collections.abc import Iterable

import keras
import numpy as np
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export


def _batches(images, batch_size):
    """Image batches from an array (sliced) or an iterable of batches."""
    if hasattr(images, "shape"):
        images = np.asarray(ops.convert_to_numpy(images))
        for start in range(0, len(images), int(batch_size)):
            yield images[start:start + int(batch_size)]
        return
    for batch in images:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        yield np.asarray(ops.convert_to_numpy(batch))


@keras_mmvae_export("keras_mmvae.evaluation.feature_statistics")
def feature_statistics(
    images: np.ndarray | Iterable,
    feature_extractor: Callable,
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64) of the features of `images`.

    Args:
        images: `(N, H, W, C)` array in [0, 1] or an iterable of image
            batches.
        feature_extractor: Callable mapping an image batch to `(B, F)`
            features (e.g. `inception_feature_extractor(...)`).
        batch_size: Batch size for arrays.

    Returns:
        `(mean (F,), covariance (F, F))`.
    """
    features = []
    for batch in _batches(images, batch_size):
        out = feature_extractor(batch)
        features.append(np.asarray(ops.convert_to_numpy(out),
                                   dtype="float64"))
    features = np.concatenate(features)
    if len(features) < 2:
        raise ValueError("Need at least two images for a covariance.")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrt_psd(matrix):
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


@keras_mmvae_export("keras_mmvae.evaluation.frechet_distance")
def frechet_distance(
    mean1: np.ndarray,
    cov1: np.ndarray,
    mean2: np.ndarray,
    cov2: np.ndarray,
) -> float:
    """Fréchet (2-Wasserstein) distance between two Gaussians, squared.

    `‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½)`, computed with
    symmetric eigendecompositions in float64 (no SciPy needed).

    Args:
        mean1: `(F,)` mean of the first Gaussian.
        cov1: `(F, F)` covariance of the first Gaussian.
        mean2: `(F,)` mean of the second Gaussian.
        cov2: `(F, F)` covariance of the second Gaussian.

    Returns:
        The squared distance (FID when the inputs are Inception statistics).
    """
    mean1, mean2 = (np.asarray(m, dtype="float64") for m in (mean1, mean2))
    cov1, cov2 = (np.atleast_2d(np.asarray(c, dtype="float64"))
                  for c in (cov1, cov2))
    root1 = _sqrt_psd(cov1)
    cross = _sqrt_psd(root1 @ cov2 @ root1)
    value = (np.sum((mean1 - mean2) ** 2) + np.trace(cov1) + np.trace(cov2)
             - 2.0 * np.trace(cross))
    return float(max(value, 0.0))


@keras_mmvae_export("keras_mmvae.evaluation.fid")
def fid(
    real_images: np.ndarray | Iterable,
    generated_images: np.ndarray | Iterable,
    feature_extractor: Callable,
    batch_size: int = 64,
) -> float:
    """Fréchet Inception Distance between real and generated images.

    Only comparable with published numbers when `feature_extractor` computes
    the 2048-d pool features of the reference pytorch-fid Inception weights
    (`pt_inception-2015-12-05-6726825d.pth`, ported); always report which
    extractor was used. MoPoE evaluates 10,000 generated vs real test
    images per image modality.

    Args:
        real_images: `(N, H, W, C)` images in [0, 1] or an iterable of
            batches.
        generated_images: Generated images, same kinds (e.g. batches of
            `model.generate(256)["m0"]`).
        feature_extractor: Callable image batch → `(B, F)` features.
        batch_size: Batch size for arrays.

    Returns:
        The FID (squared Fréchet distance of the feature Gaussians).
    """
    mean1, cov1 = feature_statistics(real_images, feature_extractor,
                                     batch_size)
    mean2, cov2 = feature_statistics(generated_images, feature_extractor,
                                     batch_size)
    return frechet_distance(mean1, cov1, mean2, cov2)


@keras_mmvae_export("keras_mmvae.evaluation.InceptionFeatures")
class InceptionFeatures:
    """Callable: images in [0, 1] → InceptionV3 pool features `(B, 2048)`.

    Grey images are replicated to RGB, resized (bilinear) to the network's
    input size and scaled to [−1, 1] before the network runs.

    Attributes:
        network: The `keras.applications.InceptionV3` feature network.
    """

    def __init__(self, network: keras.Model, image_size: int):
        self.network = network
        self.image_size = int(image_size)

    def __call__(self, images) -> np.ndarray:
        x = ops.convert_to_tensor(np.asarray(images, dtype="float32"))
        if x.shape[-1] == 1:
            x = ops.repeat(x, 3, axis=-1)
        x = ops.image.resize(x, (self.image_size, self.image_size),
                             interpolation="bilinear")
        features = self.network(x * 2.0 - 1.0, training=False)
        return np.asarray(ops.convert_to_numpy(features))


@keras_mmvae_export("keras_mmvae.evaluation.inception_feature_extractor")
def inception_feature_extractor(
    weights: str | os.PathLike | None,
    image_size: int = 299,
) -> InceptionFeatures:
    """InceptionV3 pool features for images in [0, 1], from user weights.

    Builds `keras.applications.InceptionV3(include_top=False,
    pooling="avg")` and loads `weights` (a Keras weights file of that
    network); the returned callable replicates grey images to RGB, resizes
    to `image_size` and scales [0, 1] → [−1, 1]. Nothing is downloaded.
    With Keras ImageNet weights the FIDs are not comparable with published
    ones (see the module notes).

    Args:
        weights: Path of a weights file for the InceptionV3 feature network,
            or `None` for random weights (tests only).
        image_size: Resize target (299 for the reference protocol; at least
            75).

    Returns:
        A callable mapping `(B, H, W, C)` images to `(B, 2048)` NumPy
        features.
    """
    if weights is not None and not os.path.exists(weights):
        raise FileNotFoundError(
            f"No Inception weights at {weights}; supply the file (nothing is "
            "downloaded)."
        )
    size = int(image_size)
    network = keras.applications.InceptionV3(
        include_top=False, weights=None, pooling="avg",
        input_shape=(size, size, 3),
    )
    if weights is not None:
        network.load_weights(weights)
    return InceptionFeatures(network, size)
