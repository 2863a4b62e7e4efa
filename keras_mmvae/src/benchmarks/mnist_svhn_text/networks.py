"""MNIST-SVHN-Text reference networks (MoPoE `mnistsvhntext/networks`)."""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.common import blocks
from keras_mmvae.src.benchmarks.common.network import ReferenceNetwork
from keras_mmvae.src.benchmarks.common.network import check_shape
from keras_mmvae.src.benchmarks.common.network import factory_kwargs
from keras_mmvae.src.benchmarks.common.network import model_settings
from keras_mmvae.src.benchmarks.mnist_svhn_text.spec import MNIST_SHAPE
from keras_mmvae.src.benchmarks.mnist_svhn_text.spec import SPEC
from keras_mmvae.src.benchmarks.mnist_svhn_text.spec import SVHN_SHAPE
from keras_mmvae.src.benchmarks.mnist_svhn_text.spec import TEXT_LENGTH
from keras_mmvae.src.datasets.alphabet import ALPHABET_SIZE
from keras_mmvae.src.likelihoods.likelihood import Categorical
from keras_mmvae.src.likelihoods.likelihood import Laplace
from keras_mmvae.src.layers.joint_encoder import JointMLPEncoder
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE
from keras_mmvae.src.presets import needs_joint_encoder


@keras_mmvae_export("keras_mmvae.models.MNISTEncoder")
class MNISTEncoder(ReferenceNetwork):
    """MNIST reference encoder: flatten 784 → `Dense(400)` + ReLU → heads.

    330,040 parameters at the reference sizes (latent 20).

    Args:
        latent_dim: Latent size `D` (reference: 20).
        hidden_dim: Units of the hidden Dense layer (reference: 400).
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(B, 28, 28, 1)` images in [0, 1] (any shape flattens).
        training: Unused; kept for the common signature.

    Returns:
        `(mean, log_var)`, each `(B, latent_dim)`, then `(style_mean,
        style_log_var)` `(B, style_dim)` when `style_dim > 0` (private
        latents).
    """

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400,
                 style_dim: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.style_dim = int(style_dim)
        self.hidden_dim = int(hidden_dim)

    def make_network(self, input_shape):
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="images")
        x = keras.layers.Flatten(dtype=dtype, name="flatten")(inputs)
        x = blocks.dense(x, self.hidden_dim, activation="relu",
                               **kw, name="dense")
        outputs = blocks.gaussian_heads(x, self.latent_dim, self.style_dim,
                                       **kw)
        return keras.Model(inputs, outputs, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, hidden_dim=self.hidden_dim,
                      style_dim=self.style_dim)
        return config


@keras_mmvae_export("keras_mmvae.models.MNISTDecoder")
class MNISTDecoder(ReferenceNetwork):
    """MNIST reference decoder: `Dense(400)` + ReLU → `Dense(784)` + sigmoid.

    The sigmoid output, reshaped to 28×28×1, is the Laplace location
    (322,784 parameters at latent 20).

    Args:
        hidden_dim: Units of the hidden Dense layer (reference: 400).
        output_shape: Shape of one image (reference `(28, 28, 1)`).
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        z: `(B, D)` latent codes.
        training: Unused; kept for the common signature.

    Returns:
        `(B, *output_shape)` locations in (0, 1).
    """

    def __init__(self, hidden_dim: int = 400,
                 output_shape: tuple[int, ...] = MNIST_SHAPE, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = int(hidden_dim)
        self.target_shape = tuple(int(d) for d in output_shape)

    def make_network(self, input_shape):
        check_shape(self, input_shape, (None,), "latent codes")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="z")
        x = blocks.dense(inputs, self.hidden_dim, activation="relu",
                               **kw, name="dense")
        size = 1
        for d in self.target_shape:
            size *= d
        x = blocks.dense(x, size, activation="sigmoid", **kw,
                               name="output")
        x = keras.layers.Reshape(self.target_shape, dtype=dtype,
                                 name="reshape")(x)
        return keras.Model(inputs, x, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim,
                      output_shape=list(self.target_shape))
        return config


@keras_mmvae_export("keras_mmvae.models.SVHNEncoder")
class SVHNEncoder(ReferenceNetwork):
    """SVHN reference encoder: four k4/s2 convolutions → heads.

    `Conv(32, k4, s2, p1)` 16² → `Conv(64, k4, s2, p1)` 8² →
    `Conv(64, k4, s2, p1)` 4² → `Conv(128, k4, s2, p0)` 1², all ReLU →
    flatten 128 → linear heads (236,360 parameters at latent 20).

    Args:
        latent_dim: Latent size `D` (reference: 20).
        filters: Channels of the four convolutions.
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(B, 32, 32, C)` images in [0, 1].
        training: Unused; kept for the common signature.

    Returns:
        `(mean, log_var)`, each `(B, latent_dim)`, then `(style_mean,
        style_log_var)` `(B, style_dim)` when `style_dim > 0` (private
        latents).
    """

    def __init__(self, latent_dim: int = 20,
                 filters: tuple[int, int, int, int] = (32, 64, 64, 128),
                 style_dim: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.style_dim = int(style_dim)
        self.filters = [int(f) for f in filters]
        if len(self.filters) != 4:
            raise ValueError(f"`filters` needs 4 entries; got {filters!r}.")

    def make_network(self, input_shape):
        check_shape(self, input_shape, (32, 32, None), "images")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="images")
        x = inputs
        for i, (f, p) in enumerate(zip(self.filters, (1, 1, 1, 0))):
            x = blocks.conv(x, f, 4, 2, p, activation="relu",
                            name=f"conv_{i}", **kw)
        x = keras.layers.Flatten(dtype=dtype, name="flatten")(x)
        outputs = blocks.gaussian_heads(x, self.latent_dim, self.style_dim,
                                       **kw)
        return keras.Model(inputs, outputs, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, filters=self.filters,
                      style_dim=self.style_dim)
        return config


@keras_mmvae_export("keras_mmvae.models.SVHNDecoder")
class SVHNDecoder(ReferenceNetwork):
    """SVHN reference decoder: Dense → 1×1 → four transposed convolutions.

    `Dense(128)` + ReLU → 1×1×128 → `ConvT(64, k4, s1, p0)` 4² → ReLU →
    `ConvT(64, k4, s2, p1)` 8² → ReLU → `ConvT(32, k4, s2, p1)` 16² → ReLU →
    `ConvT(C, k4, s2, p1)` 32² (linear: Laplace location). 233,763
    parameters at latent 20.

    Args:
        channels: Output channels `C` (3 for SVHN).
        filters: Units of the Dense layer, then channels of the three hidden
            transposed convolutions.
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        z: `(B, D)` latent codes.
        training: Unused; kept for the common signature.

    Returns:
        `(B, 32, 32, channels)` Laplace locations.
    """

    def __init__(self, channels: int = 3,
                 filters: tuple[int, int, int, int] = (128, 64, 64, 32),
                 **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.filters = [int(f) for f in filters]
        if len(self.filters) != 4:
            raise ValueError(f"`filters` needs 4 entries; got {filters!r}.")

    def make_network(self, input_shape):
        check_shape(self, input_shape, (None,), "latent codes")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="z")
        x = blocks.dense(inputs, self.filters[0], activation="relu",
                               **kw, name="dense")
        x = keras.layers.Reshape((1, 1, self.filters[0]), dtype=dtype,
                                 name="reshape")(x)
        x = blocks.conv_transpose(x, self.filters[1], 4, 1, 0,
                                  activation="relu", name="deconv_0",
                                  **kw)
        x = blocks.conv_transpose(x, self.filters[2], 4, 2, 1,
                                  activation="relu", name="deconv_1",
                                  **kw)
        x = blocks.conv_transpose(x, self.filters[3], 4, 2, 1,
                                  activation="relu", name="deconv_2",
                                  **kw)
        x = blocks.conv_transpose(x, self.channels, 4, 2, 1,
                                  name="deconv_3", **kw)
        return keras.Model(inputs, x, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, filters=self.filters)
        return config


@keras_mmvae_export("keras_mmvae.models.DigitTextEncoder")
class DigitTextEncoder(ReferenceNetwork):
    """MNIST-SVHN-Text reference text encoder: three 1-D convolutions.

    `(8, 71)` → `Conv1D(128, k1)` → `Conv1D(128, k4, s2, p1)` 4 →
    `Conv1D(128, k4, s2, p0)` 1, all ReLU → flatten 128 → heads (145,704
    parameters at latent 20).

    Args:
        latent_dim: Latent size `D` (reference: 20).
        filters: Channels of the convolutions (reference: 128).
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(B, 8, 71)` one-hot text (or per-position probabilities).
        training: Unused; kept for the common signature.

    Returns:
        `(mean, log_var)`, each `(B, latent_dim)`, then `(style_mean,
        style_log_var)` `(B, style_dim)` when `style_dim > 0` (private
        latents).
    """

    def __init__(self, latent_dim: int = 20, filters: int = 128,
                 style_dim: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.style_dim = int(style_dim)
        self.filters = int(filters)

    def make_network(self, input_shape):
        check_shape(self, input_shape, (TEXT_LENGTH, None), "text")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="text")
        x = blocks.conv(inputs, self.filters, 1, rank=1, activation="relu",
                        name="conv_0", **kw)
        x = blocks.conv(x, self.filters, 4, 2, 1, rank=1, activation="relu",
                        name="conv_1", **kw)
        x = blocks.conv(x, self.filters, 4, 2, 0, rank=1, activation="relu",
                        name="conv_2", **kw)
        x = keras.layers.Flatten(dtype=dtype, name="flatten")(x)
        outputs = blocks.gaussian_heads(x, self.latent_dim, self.style_dim,
                                       **kw)
        return keras.Model(inputs, outputs, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, filters=self.filters,
                      style_dim=self.style_dim)
        return config


@keras_mmvae_export("keras_mmvae.models.DigitTextDecoder")
class DigitTextDecoder(ReferenceNetwork):
    """MNIST-SVHN-Text reference text decoder: transposed 1-D convolutions.

    `Dense(128)` (no activation) → `(1, 128)` → `ConvT1D(128, k4, s1, p0)`
    4 → ReLU → `ConvT1D(128, k4, s2, p1)` 8 → ReLU → `Conv1D(71, k1)`
    logits (143,175 parameters at latent 20).

    Args:
        filters: Channels of the hidden layers (reference: 128).
        num_symbols: Alphabet size (71).
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        z: `(B, D)` latent codes.
        training: Unused; kept for the common signature.

    Returns:
        `(B, 8, num_symbols)` categorical logits.
    """

    def __init__(self, filters: int = 128, num_symbols: int = ALPHABET_SIZE,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.num_symbols = int(num_symbols)

    def make_network(self, input_shape):
        check_shape(self, input_shape, (None,), "latent codes")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="z")
        x = blocks.dense(inputs, self.filters, **kw,
                               name="dense")
        x = keras.layers.Reshape((1, self.filters), dtype=dtype,
                                 name="reshape")(x)
        x = blocks.conv_transpose(x, self.filters, 4, 1, 0, rank=1,
                                  activation="relu", name="deconv_0",
                                  **kw)
        x = blocks.conv_transpose(x, self.filters, 4, 2, 1, rank=1,
                                  activation="relu", name="deconv_1",
                                  **kw)
        x = blocks.conv(x, self.num_symbols, 1, rank=1, name="logits",
                        **kw)
        return keras.Model(inputs, x, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, num_symbols=self.num_symbols)
        return config


@keras_mmvae_export("keras_mmvae.models.mnist_svhn_text")
def mnist_svhn_text(
    fusion: str | keras.layers.Layer = "mwb",
    latent_dim: int | None = None,
    beta: float | None = None,
    mnist_hidden_dim: int = 400,
    svhn_encoder_filters: tuple[int, int, int, int] = (32, 64, 64, 128),
    svhn_decoder_filters: tuple[int, int, int, int] = (128, 64, 64, 32),
    text_filters: int = 128,
    likelihood_scale: float = 0.75,
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
    dtype_policy: str | keras.DTypePolicy | None = None,
    seed: int | None = None,
    style_dim: int | None = None,
    model: str | None = None,
    **kwargs,
) -> MultimodalVAE:
    """The MNIST-SVHN-Text reference model (MoPoE `job_mnistsvhntext`).

    Modalities `mnist` (28×28×1), `svhn` (32×32×3) and `text` (8×71
    one-hot); latent 20, β = 2.5; `Laplace(0.75)` for both images and a
    categorical for text; reconstruction weights MNIST 3072/784, SVHN 1,
    text 3072/8 = 384. The reference trains with `Adam(1e-3)`, batch 256,
    200 epochs. With the defaults the model has 1,411,826 parameters.

    Args:
        fusion: Fusion preset or a `mm.BarycenterFusion` layer.
        latent_dim: Latent size (reference 20).
        beta: KL weight (reference 2.5).
        mnist_hidden_dim: Hidden units of the MNIST networks.
        svhn_encoder_filters: Channels of the SVHN encoder convolutions.
        svhn_decoder_filters: Dense units and transposed-convolution
            channels of the SVHN decoder.
        text_filters: Channels of the text networks.
        likelihood_scale: Scale of the Laplace likelihoods.
        kernel_initializer: Initializer of every convolution and Dense
            kernel of the networks (default Glorot uniform).
        dtype_policy: Precision of the networks and the model, e.g.
            `"mixed_bfloat16"` (float32 variables, bfloat16 computation; the
            fusion, KL and likelihood sums stay float32). `None` (default):
            Keras's global policy.
        seed: Seed of the model's `SeedGenerator`.
        style_dim: Private latent size per modality (0 = none; `None`: the
            model's setting, 20 for the "+" presets).
        model: A preset name, built in its setting on this benchmark
            (`"mmvae"`: β 1; `"mmvae+"`, `"mopoe+"`, `"mwb+"`: private
            latents 20 — MMVAE+ was not published here, this is our
            choice) instead of `fusion`; arguments you pass override it.
        **kwargs: Further `mm.MultimodalVAE` arguments.

    Returns:
        A built, uncompiled `mm.MultimodalVAE`.
    """
    init, precision = factory_kwargs(kernel_initializer, dtype_policy)
    fusion, settings = model_settings(SPEC, model, fusion,
                                      latent_dim=latent_dim, beta=beta,
                                      style_dim=style_dim)
    latent_dim, beta, style_dim = (settings["latent_dim"], settings["beta"],
                                   settings["style_dim"])
    if needs_joint_encoder(fusion):
        # JMVAE: the unimodal encoders' architecture as feature extractors.
        kwargs.setdefault("joint_encoder", JointMLPEncoder(
            latent_dim, hidden_dims=(mnist_hidden_dim,), name="joint_encoder",
            extractors={
                "mnist": MNISTEncoder(latent_dim, mnist_hidden_dim,
                                      name="joint_features_mnist", **init),
                "svhn": SVHNEncoder(latent_dim, svhn_encoder_filters,
                                    name="joint_features_svhn", **init),
                "text": DigitTextEncoder(latent_dim, text_filters,
                                         name="joint_features_text", **init),
            }))
    vae = MultimodalVAE(
        encoders={
            "mnist": MNISTEncoder(latent_dim, mnist_hidden_dim, style_dim,
                                  name="encoder_mnist", **init),
            "svhn": SVHNEncoder(latent_dim, svhn_encoder_filters, style_dim,
                                name="encoder_svhn", **init),
            "text": DigitTextEncoder(latent_dim, text_filters, style_dim,
                                     name="encoder_text", **init),
        },
        decoders={
            "mnist": MNISTDecoder(mnist_hidden_dim, name="decoder_mnist",
                                  **init),
            "svhn": SVHNDecoder(SVHN_SHAPE[-1], svhn_decoder_filters,
                                name="decoder_svhn", **init),
            "text": DigitTextDecoder(text_filters, name="decoder_text",
                                     **init),
        },
        likelihoods={"mnist": Laplace(likelihood_scale),
                     "svhn": Laplace(likelihood_scale),
                     "text": Categorical()},
        fusion=fusion,
        latent_dim=latent_dim,
        beta=beta,
        reconstruction_weights=dict(SPEC.reconstruction_weights),
        seed=seed,
        **precision,
        **kwargs,
    )
    vae.build({"mnist": (None,) + MNIST_SHAPE,
               "svhn": (None,) + SVHN_SHAPE,
               "text": (None, TEXT_LENGTH, ALPHABET_SIZE)})
    return vae
