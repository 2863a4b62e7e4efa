"""Latent distributions parameterised by `(mean, log_var)` heads.

`"normal"`: `N(mean, diag exp(log_var))`. `"laplace"`: MMVAE's
`laplace_with_softmax`, `Laplace(mean, b)` with scale
`b = softmax(log_var) · D + 1e-6` over the `D` latent dimensions (the
head's second output is then the logits of the scale, not a log
variance). Both are reparameterised as `mean + scale · eps` with standard
noise `eps`, which is what lets an objective take its noise from outside
(a test injecting the draws of another library).
"""

import math

import keras
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export

DISTRIBUTIONS = ("normal", "laplace")
LAPLACE_SCALE_FLOOR = 1e-6
LOG_2PI = math.log(2.0 * math.pi)


def check_distribution(distribution):
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"`distribution` must be one of {DISTRIBUTIONS}; got "
            f"{distribution!r}.")
    return distribution


@keras_mmvae_export("keras_mmvae.ops.latent_scale")
def latent_scale(distribution, log_var):
    """The scale of each latent dimension: the standard deviation
    `exp(log_var / 2)` (`"normal"`) or `softmax(log_var) · D + 1e-6`
    (`"laplace"`, softmax over the last axis)."""
    log_var = ops.convert_to_tensor(log_var)
    if check_distribution(distribution) == "normal":
        return ops.exp(0.5 * log_var)
    size = ops.cast(ops.shape(log_var)[-1], log_var.dtype)
    return ops.softmax(log_var, axis=-1) * size + LAPLACE_SCALE_FLOOR


@keras_mmvae_export("keras_mmvae.ops.latent_log_prob")
def latent_log_prob(distribution, z, mean, scale):
    """`log q(z)` of the distribution with `mean` and `scale`, summed over
    the last axis (shapes broadcast)."""
    if check_distribution(distribution) == "normal":
        sq = ops.square((z - mean) / scale)
        return ops.sum(-0.5 * sq - ops.log(scale) - 0.5 * LOG_2PI, axis=-1)
    return ops.sum(-ops.abs(z - mean) / scale - ops.log(2.0 * scale),
                   axis=-1)


@keras_mmvae_export("keras_mmvae.ops.standard_noise")
def standard_noise(distribution, shape, dtype="float32", seed=None):
    """Draws `eps` of the standard distribution: `N(0, 1)` or
    `Laplace(0, 1)` (by inversion of a uniform draw)."""
    if check_distribution(distribution) == "normal":
        return keras.random.normal(shape, dtype=dtype, seed=seed)
    tiny = 1e-7 if keras.backend.standardize_dtype(dtype) != "float64" \
        else 1e-15
    u = keras.random.uniform(shape, minval=-1.0 + tiny, maxval=1.0,
                             dtype=dtype, seed=seed)
    return -ops.sign(u) * ops.log1p(-ops.abs(u))
