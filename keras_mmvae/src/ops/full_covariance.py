"""2-Wasserstein barycenter of full-covariance Gaussians (fixed point).

Not used in training: the encoders produce diagonal Gaussians, for which the
closed form in `fusion.py` is exact. This is the general case, for analysis
and for checking the closed form.
"""

from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export


def _matmul(a, b):
    # einsum keeps float64 on every backend (keras' torch matmul does not).
    return ops.einsum("...ij,...jk->...ik", a, b)


def _sqrtm(matrix, inverse=False):
    """Square root (or inverse square root) of symmetric PSD matrices."""
    eigenvalues, eigenvectors = ops.eigh(matrix)
    # ops.where, not ops.maximum: the latter drops float64 on torch.
    eigenvalues = ops.where(eigenvalues > 0, eigenvalues,
                            ops.zeros_like(eigenvalues))
    root = ops.sqrt(eigenvalues)
    if inverse:
        root = 1.0 / root
    scaled = eigenvectors * root[..., None, :]
    return _matmul(scaled, ops.swapaxes(eigenvectors, -1, -2))


@keras_mmvae_export("keras_mmvae.ops.w2_barycenter_full")
def w2_barycenter_full(mean, cov, weights=None, num_iters=50):
    """2-Wasserstein barycenter of Gaussians with full covariances.

    Mean: `Σ_m λ̄_m mean_m`. Covariance: the fixed point of Álvarez-Esteban
    et al. (2016),
    `S ← S^{-½} (Σ_m λ̄_m (S^½ Σ_m S^½)^½)² S^{-½}`, started from the
    closed form for commuting covariances, `(Σ_m λ̄_m Σ_m^½)²`. Matrix
    square roots use `keras.ops.eigh`. For diagonal inputs the start is
    already the fixed point.

    Args:
        mean: `(M, D)` means.
        cov: `(M, D, D)` symmetric positive-definite covariances.
        weights: `(M,)` non-negative weights (normalised here); uniform if
            `None`.
        num_iters: Fixed number of iterations (20–50 is plenty).

    Returns:
        `(mean, cov)` of shapes `(D,)` and `(D, D)`.

    References:
        Agueh & Carlier, "Barycenters in the Wasserstein space", 2011.
        Álvarez-Esteban, del Barrio, Cuesta-Albertos & Matrán, "A fixed-point
        approach to barycenters in Wasserstein space", 2016.
    """
    mean = ops.convert_to_tensor(mean)
    cov = ops.convert_to_tensor(cov, dtype=mean.dtype)
    num = ops.shape(mean)[0]
    if weights is None:
        weights = ops.ones((num,), dtype=mean.dtype)
    weights = ops.convert_to_tensor(weights, dtype=mean.dtype)
    weights = weights / ops.sum(weights)
    w = weights[:, None, None]
    fused_mean = ops.sum(weights[:, None] * mean, axis=0)
    root_mean = ops.sum(w * _sqrtm(cov), axis=0)
    estimate = _matmul(root_mean, root_mean)
    for _ in range(num_iters):
        root = _sqrtm(estimate)
        inv_root = _sqrtm(estimate, inverse=True)
        inner = _sqrtm(_matmul(_matmul(root[None], cov), root[None]))
        middle = ops.sum(w * inner, axis=0)
        estimate = _matmul(
            _matmul(inv_root, _matmul(middle, middle)), inv_root
        )
        estimate = 0.5 * (estimate + ops.transpose(estimate))
    return fused_mean, estimate
