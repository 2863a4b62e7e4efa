"""CelebA reference networks (MoPoE `celeba/networks`) with style latents."""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.celeba.spec import IMAGE_SHAPE
from keras_mmvae.src.benchmarks.celeba.spec import SPEC
from keras_mmvae.src.benchmarks.celeba.spec import TEXT_LENGTH
from keras_mmvae.src.benchmarks.common import blocks
from keras_mmvae.src.benchmarks.common.network import ReferenceNetwork
from keras_mmvae.src.benchmarks.common.network import check_shape
from keras_mmvae.src.benchmarks.common.network import factory_kwargs
from keras_mmvae.src.datasets.alphabet import ALPHABET_SIZE
from keras_mmvae.src.likelihoods.likelihood import Categorical
from keras_mmvae.src.likelihoods.likelihood import Laplace
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE

# (channel multiple of `dim`, kernel, stride, padding) per residual block.
IMAGE_ENCODER_BLOCKS = ((2, 4, 2, 1), (3, 4, 2, 1), (4, 4, 2, 1),
                        (5, 4, 2, 0))
IMAGE_DECODER_BLOCKS = ((4, 4, 1, 0), (3, 4, 2, 1), (2, 4, 2, 1),
                        (1, 4, 2, 1))
TEXT_ENCODER_BLOCKS = ((2, 4, 2, 1), (3, 4, 2, 1), (4, 4, 2, 1),
                       (5, 4, 2, 1), (5, 4, 2, 1), (5, 4, 2, 0))
TEXT_DECODER_BLOCKS = ((5, 4, 1, 0), (5, 4, 2, 1), (4, 4, 2, 1),
                       (3, 4, 2, 1), (2, 4, 2, 1), (1, 4, 2, 1))


def image_features(inputs, dim, dropout_rate=0.5, dtype=None,
                   kernel_initializer=None, prefix="features"):
    """CelebA image feature extractor: 64²×3 → `(B, 5·dim)` (functional).

    Pad 2 + `Conv(dim, k3, s2, no bias)` 33² → residual blocks 2·dim 16²,
    3·dim 8², 4·dim 4², 5·dim (p0) 1² → flatten. Shared by the image
    encoder and the image classifier.
    """
    kw = {"dtype": dtype, "kernel_initializer": kernel_initializer}
    x = blocks.conv(inputs, dim, 3, 2, 2, use_bias=False,
                    name=f"{prefix}_conv", **kw)
    for i, (mult, k, s, p) in enumerate(IMAGE_ENCODER_BLOCKS):
        x = blocks.residual_block(
            x, mult * dim, k, s, p, rank=2, inner_bias=False,
            dropout_rate=dropout_rate, spatial_dropout=True,
            name=f"{prefix}_block_{i}", **kw,
        )
    return keras.layers.Flatten(dtype=dtype, name=f"{prefix}_flatten")(x)


def text_features(inputs, dim, dropout_rate=0.5, dtype=None,
                  kernel_initializer=None, prefix="features"):
    """CelebA text feature extractor: `(256, 71)` → `(B, 5·dim)`.

    `Conv1D(dim, k4, s2, p1)` 128 → residual blocks 2·dim 64, 3·dim 32,
    4·dim 16, 5·dim 8, 5·dim 4, 5·dim (p0) 1 → flatten.
    """
    kw = {"dtype": dtype, "kernel_initializer": kernel_initializer}
    x = blocks.conv(inputs, dim, 4, 2, 1, rank=1, name=f"{prefix}_conv",
                    **kw)
    for i, (mult, k, s, p) in enumerate(TEXT_ENCODER_BLOCKS):
        x = blocks.residual_block(
            x, mult * dim, k, s, p, rank=1, inner_bias=True,
            dropout_rate=dropout_rate, spatial_dropout=False,
            name=f"{prefix}_block_{i}", **kw,
        )
    return keras.layers.Flatten(dtype=dtype, name=f"{prefix}_flatten")(x)


class _CelebANetwork(ReferenceNetwork):
    def __init__(self, dim: int = 128, dropout: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.dropout = float(dropout)

    def get_config(self):
        config = super().get_config()
        config.update(dim=self.dim, dropout=self.dropout)
        return config


class _CelebAEncoder(_CelebANetwork):
    def __init__(self, latent_dim: int = 20, style_dim: int = 32,
                 dim: int = 128, dropout: float = 0.5, **kwargs):
        super().__init__(dim=dim, dropout=dropout, **kwargs)
        self.latent_dim = int(latent_dim)
        self.style_dim = int(style_dim)

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, style_dim=self.style_dim)
        return config


@keras_mmvae_export("keras_mmvae.models.CelebAImageEncoder")
class CelebAImageEncoder(_CelebAEncoder):
    """CelebA reference image encoder with a modality-specific (style) latent.

    64²×3 → pad 2 + `Conv(128, k3, s2, no bias)` 33² → residual blocks
    (`2·shortcut + 0.3·f`, see below) 256 16², 384 8², 512 4², 640 (p0) 1² →
    flatten 640 → four Dense heads: content `mean`/`log_var` (20) and
    `style_mean`/`style_log_var` (32). Residual block: `f` = BN → ReLU →
    Conv 1×1 (no bias) → SpatialDropout → BN → ReLU → Conv(k4, s2; no bias)
    → SpatialDropout, shortcut = Conv(k4, s2) → BN. BatchNorm and dropout
    make the `training` flag matter.

    Args:
        latent_dim: Shared (content) latent size (reference: 20).
        style_dim: Style latent size (reference: 32; 0 = no style latent,
            the encoder then returns only `(mean, log_var)`).
        dim: Base width `DIM` (reference: 128); blocks use multiples of it.
        dropout: Dropout rate inside the residual blocks (reference: 0.5).
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(B, 64, 64, 3)` images in [0, 1].
        training: Enables dropout and batch statistics.

    Returns:
        `(mean, log_var, style_mean, style_log_var)`: `(B, latent_dim)` and
        `(B, style_dim)` pairs.

    References:
        Sutter et al., "Generalized Multimodal ELBO", ICLR 2021.
    """

    def make_network(self, input_shape):
        check_shape(self, input_shape, IMAGE_SHAPE, "images")
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="images")
        x = image_features(inputs, self.dim, self.dropout, **kw)
        outputs = blocks.gaussian_heads(x, self.latent_dim, self.style_dim,
                                        **kw)
        return keras.Model(inputs, outputs, name="network")


@keras_mmvae_export("keras_mmvae.models.CelebATextEncoder")
class CelebATextEncoder(_CelebAEncoder):
    """CelebA reference text encoder with a style latent.

    `(256, 71)` → `Conv1D(128, k4, s2, p1)` 128 → residual blocks 256 64,
    384 32, 512 16, 640 8, 640 4, 640 (p0) 1 → flatten 640 → four heads.
    Text blocks use 1-D convolutions with bias and element-wise dropout.

    Args:
        latent_dim: Shared latent size (reference: 20).
        style_dim: Style latent size (reference: 32; 0 = none).
        dim: Base width (reference: 128).
        dropout: Dropout rate inside the residual blocks.
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(B, 256, 71)` one-hot text.
        training: Enables dropout and batch statistics.

    Returns:
        `(mean, log_var, style_mean, style_log_var)`.
    """

    def make_network(self, input_shape):
        check_shape(self, input_shape, (TEXT_LENGTH, None), "text")
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="text")
        x = text_features(inputs, self.dim, self.dropout, **kw)
        outputs = blocks.gaussian_heads(x, self.latent_dim, self.style_dim,
                                        **kw)
        return keras.Model(inputs, outputs, name="network")


@keras_mmvae_export("keras_mmvae.models.CelebAImageDecoder")
class CelebAImageDecoder(_CelebANetwork):
    """CelebA reference image decoder (transposed residual blocks).

    `concat[z_style, z]` → `Dense(640)` → 1²×640 → transposed residual
    blocks 512 (k4 s1 p0) 4², 384 8², 256 16², 128 32² →
    `ConvT(3, k3, s2, p1, op1)` 64²×3 (Laplace location).

    Args:
        dim: Base width (reference: 128).
        dropout: Dropout rate inside the residual blocks.
        channels: Output channels (3).
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        z: `(B, style_dim + latent_dim)` (the model concatenates the style
            sample in front of the shared code).
        training: Enables dropout and batch statistics.

    Returns:
        `(B, 64, 64, channels)` Laplace locations.
    """

    def __init__(self, dim: int = 128, dropout: float = 0.5,
                 channels: int = 3, **kwargs):
        super().__init__(dim=dim, dropout=dropout, **kwargs)
        self.channels = int(channels)

    def make_network(self, input_shape):
        check_shape(self, input_shape, (None,), "latent codes")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        width = 5 * self.dim
        inputs = keras.Input(input_shape, name="z")
        x = blocks.dense(inputs, width, **kw, name="dense")
        x = keras.layers.Reshape((1, 1, width), dtype=dtype,
                                 name="reshape")(x)
        for i, (mult, k, s, p) in enumerate(IMAGE_DECODER_BLOCKS):
            x = blocks.residual_block(
                x, mult * self.dim, k, s, p, rank=2, transpose=True,
                inner_bias=False, dropout_rate=self.dropout,
                spatial_dropout=True, name=f"block_{i}", **kw,
            )
        x = blocks.conv_transpose(x, self.channels, 3, 2, 1, 1,
                                  name="output", **kw)
        return keras.Model(inputs, x, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels)
        return config


@keras_mmvae_export("keras_mmvae.models.CelebATextDecoder")
class CelebATextDecoder(_CelebANetwork):
    """CelebA reference text decoder (transposed 1-D residual blocks).

    `Dense(640)` → 1×640 → transposed residual blocks 640 (k4 s1 p0) 4,
    640 8, 512 16, 384 32, 256 64, 128 128 → `ConvT1D(71, k4, s2, p1)` 256
    (categorical logits).

    Args:
        dim: Base width (reference: 128).
        dropout: Dropout rate inside the residual blocks.
        num_symbols: Alphabet size (71).
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        z: `(B, style_dim + latent_dim)`.
        training: Enables dropout and batch statistics.

    Returns:
        `(B, 256, num_symbols)` logits.
    """

    def __init__(self, dim: int = 128, dropout: float = 0.5,
                 num_symbols: int = ALPHABET_SIZE, **kwargs):
        super().__init__(dim=dim, dropout=dropout, **kwargs)
        self.num_symbols = int(num_symbols)

    def make_network(self, input_shape):
        check_shape(self, input_shape, (None,), "latent codes")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        width = 5 * self.dim
        inputs = keras.Input(input_shape, name="z")
        x = blocks.dense(inputs, width, **kw, name="dense")
        x = keras.layers.Reshape((1, width), dtype=dtype, name="reshape")(x)
        for i, (mult, k, s, p) in enumerate(TEXT_DECODER_BLOCKS):
            x = blocks.residual_block(
                x, mult * self.dim, k, s, p, rank=1, transpose=True,
                inner_bias=True, dropout_rate=self.dropout,
                spatial_dropout=False, name=f"block_{i}", **kw,
            )
        x = blocks.conv_transpose(x, self.num_symbols, 4, 2, 1, rank=1,
                                  name="output", **kw)
        return keras.Model(inputs, x, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(num_symbols=self.num_symbols)
        return config


@keras_mmvae_export("keras_mmvae.models.celeba")
def celeba(
    fusion: str | keras.layers.Layer = "mwb",
    latent_dim: int = 20,
    style_dim: int = 32,
    dim: int = 128,
    dropout: float = 0.5,
    beta: float = 2.5,
    beta_content: float = 1.0,
    beta_style: float = 2.0,
    style_betas: dict[str, float] | None = None,
    likelihood_scale: float = 0.75,
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
    dtype_policy: str | keras.DTypePolicy | None = None,
    seed: int | None = None,
    **kwargs,
) -> MultimodalVAE:
    """The bimodal CelebA reference model (MoPoE `job_celeba`), built.

    Modalities `image` (64×64×3) and `text` (256×71 one-hot attribute text).
    Each encoder gives a shared (content) posterior of size 20 and a
    modality-specific **style** posterior of size 32; styles are never
    fused, decoder `m` receives `concat[z_style_m, z]`, and generation draws
    styles from `N(0, I)` (docs/concepts/training.md, "Modality-specific
    latents"). Loss:
    `Σ_m w_m NLL_m + β (β_content KL_shared + β_style Σ_m β_m KL_style_m)`
    with β = 2.5, β_content = 1, β_style = 2, β_image = 1, β_text = 5;
    `Laplace(0.75)` / categorical likelihoods; reconstruction weights image
    1/3, text 16. The reference trains with `Adam(5e-4)`, batch 256, 250
    epochs, and tests on the official validation split.

    Args:
        fusion: Fusion preset or a `mm.BarycenterFusion` layer.
        latent_dim: Shared latent size (reference 20).
        style_dim: Style latent size per modality (reference 32; 0 turns
            style latents off).
        dim: Base width of the residual networks (reference 128).
        dropout: Dropout rate inside the residual blocks (reference 0.5).
        beta: KL weight (reference 2.5).
        beta_content: Weight of the shared KL (reference 1).
        beta_style: Weight of the style KLs (reference 2).
        style_betas: Per-modality style KL weights (reference image 1,
            text 5).
        likelihood_scale: Scale of the image Laplace likelihood.
        kernel_initializer: Initializer of every convolution and Dense
            kernel of the networks (default Glorot uniform).
        dtype_policy: Precision of the networks and the model, e.g.
            `"mixed_bfloat16"` (float32 variables, bfloat16 computation; the
            fusion, KL and likelihood sums stay float32). `None` (default):
            Keras's global policy.
        seed: Seed of the model's `SeedGenerator`.
        **kwargs: Further `mm.MultimodalVAE` arguments.

    Returns:
        A built, uncompiled `mm.MultimodalVAE` (`model.style_dims` is
        `{"image": style_dim, "text": style_dim}`).

    Example:
    ```python
    import keras_mmvae.models as models

    vae = models.celeba(latent_dim=4, style_dim=2, dim=4, seed=0)
    assert vae.style_dims == {"image": 2, "text": 2}
    ```
    """
    if style_betas is None:
        style_betas = dict(SPEC.hyperparameters["style_betas"])
    init, precision = factory_kwargs(kernel_initializer, dtype_policy)
    model = MultimodalVAE(
        encoders={
            "image": CelebAImageEncoder(latent_dim, style_dim, dim, dropout,
                                        name="encoder_image", **init),
            "text": CelebATextEncoder(latent_dim, style_dim, dim, dropout,
                                      name="encoder_text", **init),
        },
        decoders={
            "image": CelebAImageDecoder(dim, dropout, name="decoder_image",
                                        **init),
            "text": CelebATextDecoder(dim, dropout, name="decoder_text",
                                      **init),
        },
        likelihoods={"image": Laplace(likelihood_scale),
                     "text": Categorical()},
        fusion=fusion,
        latent_dim=latent_dim,
        beta=beta,
        reconstruction_weights=dict(SPEC.reconstruction_weights),
        beta_content=beta_content,
        beta_style=beta_style,
        style_betas=style_betas,
        seed=seed,
        **precision,
        **kwargs,
    )
    model.build({"image": (None,) + IMAGE_SHAPE,
                 "text": (None, TEXT_LENGTH, ALPHABET_SIZE)})
    return model
