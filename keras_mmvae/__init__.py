"""keras_mmvae: multimodal VAEs with barycentric fusion for Keras 3.

Public API (see the docs): `BarycenterFusion`, `MultimodalVAE`, and the
modules `likelihoods`, `layers`, `ops`.
"""

from keras_mmvae import layers
from keras_mmvae import likelihoods
from keras_mmvae import ops
from keras_mmvae.src.layers.barycenter_fusion import BarycenterFusion
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE
from keras_mmvae.version import __version__

__all__ = [
    "BarycenterFusion",
    "MultimodalVAE",
    "layers",
    "likelihoods",
    "ops",
    "__version__",
]
