"""Diagonal Gaussian maths in `keras.ops`: sampling, densities, divergences.

Every function takes `mean` and `log_var` (log variance) with the latent
dimensions on the last axis and reduces over that axis.
"""

import math

import keras
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export

LOG_2PI = math.log(2.0 * math.pi)


@keras_mmvae_export("keras_mmvae.ops.reparameterize")
def reparameterize(mean, log_var, seed=None):
    """Draws `z = mean + exp(log_var / 2) * eps`, `eps ~ N(0, I)`.

    Args:
        mean: Tensor of means, any shape.
        log_var: Tensor of log variances, same shape as `mean`.
        seed: A `keras.random.SeedGenerator` (or int / None) for the noise.

    Returns:
        A sample with the shape of `mean`, differentiable in both parameters.
    """
    mean = ops.convert_to_tensor(mean)
    log_var = ops.convert_to_tensor(log_var, dtype=mean.dtype)
    eps = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=seed)
    return mean + ops.exp(0.5 * log_var) * eps


@keras_mmvae_export("keras_mmvae.ops.gaussian_log_prob")
def gaussian_log_prob(x, mean, log_var):
    """`log N(x; mean, diag exp(log_var))`, summed over the last axis."""
    sq = ops.square(x - mean) * ops.exp(-log_var)
    return -0.5 * ops.sum(sq + log_var + LOG_2PI, axis=-1)


@keras_mmvae_export("keras_mmvae.ops.kl_to_standard_normal")
def kl_to_standard_normal(mean, log_var):
    """`KL(N(mean, diag exp(log_var)) || N(0, I))`, summed over the last axis.

    Closed form: `½ Σ_j (σ_j² + μ_j² − 1 − log σ_j²)`.
    """
    return 0.5 * ops.sum(
        ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1
    )


@keras_mmvae_export("keras_mmvae.ops.kl_divergence")
def kl_divergence(mean1, log_var1, mean2, log_var2):
    """`KL(N(mean1, σ1²) || N(mean2, σ2²))` for diagonal Gaussians.

    Closed form `½ Σ_j (log(σ2²/σ1²) + (σ1² + (μ1 − μ2)²)/σ2² − 1)`, summed
    over the last axis.
    """
    ratio = ops.exp(log_var1 - log_var2)
    sq = ops.square(mean1 - mean2) * ops.exp(-log_var2)
    return 0.5 * ops.sum(ratio + sq - 1.0 - (log_var1 - log_var2), axis=-1)


@keras_mmvae_export("keras_mmvae.ops.wasserstein2")
def wasserstein2(mean1, log_var1, mean2, log_var2, squared=True):
    """2-Wasserstein distance between diagonal Gaussians.

    For diagonal covariances `W2² = ‖μ1 − μ2‖² + ‖σ1 − σ2‖²`, with `σ` the
    standard deviations.

    Args:
        mean1: Means of the first Gaussian, latent on the last axis.
        log_var1: Log-variances of the first Gaussian.
        mean2: Means of the second Gaussian.
        log_var2: Log-variances of the second Gaussian.
        squared: Return `W2²` (default) or `W2`.

    Returns:
        Tensor reduced over the last axis.
    """
    std_diff = ops.exp(0.5 * log_var1) - ops.exp(0.5 * log_var2)
    w2_sq = ops.sum(ops.square(mean1 - mean2) + ops.square(std_diff), axis=-1)
    return w2_sq if squared else ops.sqrt(w2_sq)


@keras_mmvae_export("keras_mmvae.ops.log_mean_exp")
def log_mean_exp(x, axis=0):
    """`log(mean(exp(x)))` along `axis`, computed stably."""
    n = ops.cast(ops.shape(x)[axis], x.dtype)
    return ops.logsumexp(x, axis=axis) - ops.log(n)
