"""Decoder likelihoods: `log_prob(params, x)` → `(B,)` and `mean(params)`."""

from keras_mmvae.src.likelihoods.likelihood import Bernoulli
from keras_mmvae.src.likelihoods.likelihood import Categorical
from keras_mmvae.src.likelihoods.likelihood import Gaussian
from keras_mmvae.src.likelihoods.likelihood import Laplace
from keras_mmvae.src.likelihoods.likelihood import Likelihood
from keras_mmvae.src.likelihoods.likelihood import get

__all__ = [
    "Bernoulli",
    "Categorical",
    "Gaussian",
    "Laplace",
    "Likelihood",
    "get",
]
