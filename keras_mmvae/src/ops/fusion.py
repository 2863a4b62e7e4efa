"""Barycentric fusion of diagonal Gaussian experts in `keras.ops`.

Shapes: experts `mean`/`log_var` `(B, M, D)`, expert weights `(B, S, M)`
(one row of weights per mixture component), results `(B, S, D)`.

Both closed forms are sums over experts, so they are computed as batched
matrix products. The sums are evaluated in the log-sum-exp form: a per
(example, latent dim) shift `c` is taken out before `exp` and added back
after `log`. The shift is wrapped in `stop_gradient`: the result does not
depend on it, and this keeps the gradient into masked experts exactly zero.
"""

from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.ops.gaussian import gaussian_log_prob


def _tensors(*values):
    """`convert_to_tensor` of each value, `None` kept: NumPy arguments must
    work on every backend (a NumPy array times a torch tensor fails)."""
    return [None if v is None else ops.convert_to_tensor(v) for v in values]


def _shifted_exp(x, mask=None):
    """`exp(x − c)` with `c = max_m x` over available experts (no gradient).

    Unavailable experts (`mask` 0) neither set the shift nor reach `exp`:
    their entries become exactly 1 and must carry weight 0.
    """
    if mask is None:
        shift = ops.max(x, axis=1)  # (B, D)
    else:
        present = mask[:, :, None] > 0
        shift = ops.max(ops.where(present, x, -1e30), axis=1)
        shift = ops.where(shift > -1e29, shift, ops.zeros_like(shift))
        x = ops.where(present, x, shift[:, None, :])
    shift = ops.stop_gradient(shift)
    return ops.exp(x - shift[:, None, :]), shift


@keras_mmvae_export("keras_mmvae.ops.w2_barycenter")
def w2_barycenter(mean, log_var, weights, prior_weight=None, mask=None):
    """2-Wasserstein barycenter of diagonal Gaussians (closed form).

    `mean = Σ_m λ̄_m mean_m`, `std = Σ_m λ̄_m std_m` with `λ̄` the weights
    normalised per component. The optional `prior_weight` `(B, S)` adds the
    standard normal `N(0, I)` as one more expert.

    Args:
        mean: `(B, M, D)` expert means.
        log_var: `(B, M, D)` expert log variances.
        weights: `(B, S, M)` non-negative weights; every component needs a
            positive total weight (counting `prior_weight`).
        prior_weight: Optional `(B, S)` weight of the prior expert.
        mask: Optional `(B, M)` availability; unavailable experts must have
            weight 0 and then cannot affect the result, even when their
            values are extreme.

    Returns:
        `(mean, log_var)`, each `(B, S, D)`.
    """
    mean, log_var, weights, prior_weight, mask = _tensors(
        mean, log_var, weights, prior_weight, mask)
    weights, prior_weight = _normalized(weights, prior_weight)
    fused_log_var = _w2_log_var(log_var, weights, prior_weight, mask)
    fused_mean = ops.einsum("bsm,bmd->bsd", weights, _masked(mean, mask))
    return fused_mean, fused_log_var


def _normalized(weights, prior_weight):
    """Weights (and prior weight) divided by each component's total."""
    total = ops.sum(weights, axis=-1)
    if prior_weight is None:
        return weights / total[..., None], None
    total = total + prior_weight
    return weights / total[..., None], prior_weight / total


def _masked(values, mask):
    """`values` `(B, M, D)` with unavailable experts' rows set to 0."""
    if mask is None:
        return values
    return ops.where(mask[:, :, None] > 0, values, ops.zeros_like(values))


def _w2_log_var(log_var, weights, prior_weight, mask):
    """`2 log Σ_m λ̄_m std_m` `(B, S, D)` for normalised weights."""
    scaled_std, shift = _shifted_exp(0.5 * log_var, mask)
    std_sum = ops.einsum("bsm,bmd->bsd", weights, scaled_std)
    if prior_weight is not None:
        prior_std = ops.exp(-shift)[:, None, :]  # std 1, shifted
        std_sum = std_sum + prior_weight[..., None] * prior_std
    return 2.0 * (shift[:, None, :] + ops.log(std_sum))


@keras_mmvae_export("keras_mmvae.ops.w2_barycenter_kl")
def w2_barycenter_kl(mean, log_var, weights, prior_weight=None, mask=None):
    """`KL(q_s || N(0, I))` of every W2 barycenter component `q_s`, `(B, S)`.

    Equals `kl_to_standard_normal(*w2_barycenter(...))` without forming the
    `(B, S, D)` component means: the barycenter's mean and standard
    deviation are linear in the experts', so `Σ_d mean_sd²` and
    `Σ_d std_sd²` are quadratic forms `λ̄_sᵀ G λ̄_s` of the `(M, M)` Gram
    matrices of the experts' means and standard deviations. Only the
    log-variance term needs every component and dimension. With many
    modalities (`S = 2^M − 1` subsets) this is most of the mixture's KL
    cost in time and memory.

    Args:
        mean, log_var, weights, prior_weight, mask: As `w2_barycenter`.

    Returns:
        `(B, S)` KL divergences.
    """
    mean, log_var, weights, prior_weight, mask = _tensors(
        mean, log_var, weights, prior_weight, mask)
    weights, prior_weight = _normalized(weights, prior_weight)
    # Masked before `exp`: an absent expert's extreme value never reaches it.
    std = _masked(ops.exp(0.5 * _masked(log_var, mask)), mask)
    mean = _masked(mean, mask)

    def quadratic(values):  # Σ_d (Σ_m λ̄_m values_md)²
        gram = ops.einsum("bmd,bnd->bmn", values, values)
        return ops.einsum("bsm,bmn,bsn->bs", weights, gram, weights)

    variance = quadratic(std)
    dim = ops.cast(ops.shape(mean)[-1], mean.dtype)
    if prior_weight is not None:  # the prior expert: mean 0, std 1
        std_total = ops.einsum("bsm,bm->bs", weights, ops.sum(std, axis=-1))
        variance = (variance + 2.0 * prior_weight * std_total
                    + ops.square(prior_weight) * dim)
    log_var_sum = ops.sum(
        _w2_log_var(log_var, weights, prior_weight, mask), axis=-1)
    return 0.5 * (variance + quadratic(mean) - dim - log_var_sum)


@keras_mmvae_export("keras_mmvae.ops.product_of_experts")
def product_of_experts(mean, log_var, weights, prior_weight=None,
                       normalize=False, mask=None):
    """Weighted product of diagonal Gaussian experts.

    Precision `Σ_m w_m Λ_m` (plus `prior_weight · I`), mean
    `Λ̃⁻¹ Σ_m w_m Λ_m mean_m`. With `normalize=True` the weights are first
    normalised per component, which gives the reverse-KL barycenter (the
    precision average); with `normalize=False` and unit weights it is the
    MVAE product of experts.

    Args:
        mean: `(B, M, D)` expert means.
        log_var: `(B, M, D)` expert log variances.
        weights: `(B, S, M)` non-negative weights; every component needs a
            positive total weight (counting `prior_weight`).
        prior_weight: Optional `(B, S)` weight of the `N(0, I)` expert.
        normalize: Normalise the weights per component.
        mask: Optional `(B, M)` availability (see `w2_barycenter`).

    Returns:
        `(mean, log_var)`, each `(B, S, D)`.
    """
    mean, log_var, weights, prior_weight, mask = _tensors(
        mean, log_var, weights, prior_weight, mask)
    if normalize:
        weights, prior_weight = _normalized(weights, prior_weight)
    scaled_precision, shift = _shifted_exp(-log_var, mask)
    precision = ops.einsum("bsm,bmd->bsd", weights, scaled_precision)
    if prior_weight is not None:
        precision = precision + prior_weight[..., None] * ops.exp(
            -shift
        )[:, None, :]
    weighted_mean = ops.einsum("bsm,bmd->bsd", weights,
                               scaled_precision * _masked(mean, mask))
    fused_mean = weighted_mean / precision
    fused_log_var = -(shift[:, None, :] + ops.log(precision))
    return fused_mean, fused_log_var


@keras_mmvae_export("keras_mmvae.ops.moment_match")
def moment_match(mean, log_var, weight):
    """Gaussian with the moments of the mixture `Σ_s weight_s N(mean_s, var_s)`.

    This is the forward-KL barycenter restricted to Gaussians (diagonal).

    Args:
        mean: `(B, S, D)` component means.
        log_var: `(B, S, D)` component log-variances.
        weight: `(B, S)` mixture weights summing to 1.

    Returns:
        `(mean, log_var)`, each `(B, D)`.
    """
    mean, log_var, weight = _tensors(mean, log_var, weight)
    w = weight[..., None]
    fused_mean = ops.sum(w * mean, axis=1)
    spread = ops.square(mean - fused_mean[:, None, :])
    variance = ops.sum(w * (ops.exp(log_var) + spread), axis=1)
    return fused_mean, ops.log(variance)


def mixture_log_prob(z, mixture):
    """`log Σ_s w_s N(z; mean_s, exp(log_var_s))` per row, `(B,)`.

    `z` is `(B, D)`; `mixture` a dict with `"mean"`, `"log_var"`
    `(B, S, D)` and `"weight"` `(B, S)`. Components of weight 0 contribute
    nothing.
    """
    log_w = ops.where(mixture["weight"] > 0,
                      ops.log(ops.maximum(mixture["weight"], 1e-30)), -1e30)
    comp = gaussian_log_prob(z[:, None, :], mixture["mean"],
                             mixture["log_var"])
    return ops.logsumexp(log_w + comp, axis=-1)
