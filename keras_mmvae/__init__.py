"""keras_mmvae: multimodal VAEs with barycentric fusion for Keras 3.

Public API (see the docs): `BarycenterFusion`, `MultimodalVAE`, and the
modules `datasets`, `evaluation`, `layers`, `likelihoods`, `models`,
`objectives`, `ops`.
"""

from keras_mmvae import datasets
from keras_mmvae import evaluation
from keras_mmvae import layers
from keras_mmvae import likelihoods
from keras_mmvae import models
from keras_mmvae import objectives
from keras_mmvae import ops
from keras_mmvae.src.layers.barycenter_fusion import BarycenterFusion
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE
from keras_mmvae.version import __version__

__all__ = [
    "BarycenterFusion",
    "MultimodalVAE",
    "datasets",
    "evaluation",
    "layers",
    "likelihoods",
    "models",
    "objectives",
    "ops",
    "__version__",
]
