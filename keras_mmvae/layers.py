"""Building blocks: generic encoders/decoders and the fusion layer."""

from keras_mmvae.src.layers.barycenter_fusion import BarycenterFusion
from keras_mmvae.src.layers.conv import ConvDecoder
from keras_mmvae.src.layers.conv import ConvEncoder
from keras_mmvae.src.layers.gaussian_head import GaussianHead
from keras_mmvae.src.layers.joint_encoder import JointMLPEncoder
from keras_mmvae.src.layers.mlp import MLPDecoder
from keras_mmvae.src.layers.mlp import MLPEncoder

__all__ = [
    "BarycenterFusion",
    "ConvDecoder",
    "ConvEncoder",
    "GaussianHead",
    "JointMLPEncoder",
    "MLPDecoder",
    "MLPEncoder",
]
