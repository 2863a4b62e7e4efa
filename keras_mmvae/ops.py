"""Gaussian and Laplace latent maths, fusion closed forms and subset utilities (`keras.ops`)."""

from keras_mmvae.src.ops.distributions import latent_log_prob
from keras_mmvae.src.ops.distributions import latent_scale
from keras_mmvae.src.ops.distributions import standard_noise
from keras_mmvae.src.ops.full_covariance import w2_barycenter_full
from keras_mmvae.src.ops.fusion import moment_match
from keras_mmvae.src.ops.fusion import product_of_experts
from keras_mmvae.src.ops.fusion import w2_barycenter
from keras_mmvae.src.ops.fusion import w2_barycenter_kl
from keras_mmvae.src.ops.gaussian import gaussian_log_prob
from keras_mmvae.src.ops.gaussian import kl_divergence
from keras_mmvae.src.ops.gaussian import kl_to_standard_normal
from keras_mmvae.src.ops.gaussian import log_mean_exp
from keras_mmvae.src.ops.gaussian import reparameterize
from keras_mmvae.src.ops.gaussian import wasserstein2
from keras_mmvae.src.ops.subsets import modality_subsets
from keras_mmvae.src.ops.subsets import sample_components
from keras_mmvae.src.ops.subsets import stratified_components
from keras_mmvae.src.ops.subsets import stratified_selection
from keras_mmvae.src.ops.subsets import subset_matrix

__all__ = [
    "gaussian_log_prob",
    "kl_divergence",
    "kl_to_standard_normal",
    "latent_log_prob",
    "latent_scale",
    "log_mean_exp",
    "modality_subsets",
    "moment_match",
    "product_of_experts",
    "reparameterize",
    "sample_components",
    "standard_noise",
    "stratified_components",
    "stratified_selection",
    "subset_matrix",
    "w2_barycenter",
    "w2_barycenter_full",
    "w2_barycenter_kl",
    "wasserstein2",
]
