"""PolyMNIST reference networks (MoPoE `ConvNetworksImgCMNIST`) and factory."""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.common import blocks
from keras_mmvae.src.benchmarks.common.network import ReferenceNetwork
from keras_mmvae.src.benchmarks.common.network import check_shape
from keras_mmvae.src.benchmarks.common.network import factory_kwargs
from keras_mmvae.src.benchmarks.common.network import model_settings
from keras_mmvae.src.benchmarks.polymnist.spec import IMAGE_SHAPE
from keras_mmvae.src.benchmarks.polymnist.spec import SPEC
from keras_mmvae.src.layers.joint_encoder import JointMLPEncoder
from keras_mmvae.src.likelihoods.likelihood import Gaussian
from keras_mmvae.src.likelihoods.likelihood import Laplace
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE
from keras_mmvae.src.presets import needs_joint_encoder


@keras_mmvae_export("keras_mmvae.models.PolyMNISTEncoder")
class PolyMNISTEncoder(ReferenceNetwork):
    """PolyMNIST reference encoder: three stride-2 convolutions and a Dense.

    `Conv(32, k3, s2, p1)` 14×14 → `Conv(64)` 7×7 → `Conv(128)` 4×4 (all
    ReLU) → flatten 2048 → `Dense(512)` + ReLU → linear heads `mean` and
    `log_var`. PyTorch's padding 1 is ported literally (zero padding then a
    valid convolution). At the reference sizes it has 1,667,648 parameters.

    Args:
        latent_dim: Latent size `D` (reference: 512).
        filters: Channels of the three convolutions.
        hidden_dim: Units of the Dense layer after flattening.
        style_dim: Size of a modality-specific (style) latent; 0 = none.
            With a style latent the encoder returns four tensors.
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(B, 28, 28, C)` images in [0, 1].
        training: Unused (no dropout); kept for the common signature.

    Returns:
        `(mean, log_var)`, each `(B, latent_dim)`, followed by
        `(style_mean, style_log_var)` `(B, style_dim)` when `style_dim > 0`.

    Example:
    ```python
    import numpy as np
    import keras_mmvae.models as models

    encoder = models.PolyMNISTEncoder(latent_dim=8, filters=(4, 4, 4),
                                      hidden_dim=16)
    mean, log_var = encoder(np.zeros((2, 28, 28, 3), "float32"))
    assert mean.shape == (2, 8)
    ```

    References:
        Sutter et al., "Generalized Multimodal ELBO", ICLR 2021
        (https://github.com/thomassutter/MoPoE).
    """

    def __init__(self, latent_dim: int = 512,
                 filters: tuple[int, int, int] = (32, 64, 128),
                 hidden_dim: int = 512, style_dim: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.style_dim = int(style_dim)
        self.filters = [int(f) for f in filters]
        if len(self.filters) != 3:
            raise ValueError(f"`filters` needs 3 entries; got {filters!r}.")
        self.hidden_dim = int(hidden_dim)

    def make_network(self, input_shape):
        check_shape(self, input_shape, (28, 28, None), "images")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="images")
        x = inputs
        for i, f in enumerate(self.filters):
            x = blocks.conv(x, f, 3, 2, 1, activation="relu",
                            name=f"conv_{i}", **kw)
        x = keras.layers.Flatten(dtype=dtype, name="flatten")(x)
        x = blocks.dense(x, self.hidden_dim, activation="relu",
                               **kw, name="dense")
        outputs = blocks.gaussian_heads(x, self.latent_dim, self.style_dim,
                                        **kw)
        return keras.Model(inputs, outputs, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, filters=self.filters,
                      hidden_dim=self.hidden_dim, style_dim=self.style_dim)
        return config


@keras_mmvae_export("keras_mmvae.models.PolyMNISTDecoder")
class PolyMNISTDecoder(ReferenceNetwork):
    """PolyMNIST reference decoder: Dense then three transposed convolutions.

    `Dense(2048)` + ReLU → 4×4×128 → `ConvT(64, k3, s2, p1)` 7×7 →
    `ConvT(32, k3, s2, p1, op1)` 14×14 → `ConvT(C, k3, s2, p1, op1)` 28×28
    (hidden layers ReLU, output linear: a Laplace location). At the reference
    sizes it has 1,143,747 parameters.

    Args:
        channels: Output channels `C` (3 for PolyMNIST).
        filters: Channels of the 4×4 start tensor and of the two hidden
            transposed convolutions.
        **kwargs: `kernel_initializer` (default Glorot uniform) and the
            standard `keras.layers.Layer` arguments.

    Call arguments:
        z: `(B, D)` latent codes.
        training: Unused; kept for the common signature.

    Returns:
        `(B, 28, 28, channels)` Laplace locations.

    References:
        Sutter et al., "Generalized Multimodal ELBO", ICLR 2021.
    """

    def __init__(self, channels: int = 3,
                 filters: tuple[int, int, int] = (128, 64, 32), **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.filters = [int(f) for f in filters]
        if len(self.filters) != 3:
            raise ValueError(f"`filters` needs 3 entries; got {filters!r}.")

    def make_network(self, input_shape):
        check_shape(self, input_shape, (None,), "latent codes")
        dtype = self.dtype_policy
        kw = self.layer_kwargs()
        inputs = keras.Input(input_shape, name="z")
        start = self.filters[0]
        x = blocks.dense(inputs, 16 * start, activation="relu", **kw,
                               name="dense")
        x = keras.layers.Reshape((4, 4, start), dtype=dtype,
                                 name="reshape")(x)
        x = blocks.conv_transpose(x, self.filters[1], 3, 2, 1, 0,
                                  activation="relu", name="deconv_0",
                                  **kw)
        x = blocks.conv_transpose(x, self.filters[2], 3, 2, 1, 1,
                                  activation="relu", name="deconv_1",
                                  **kw)
        x = blocks.conv_transpose(x, self.channels, 3, 2, 1, 1,
                                  name="deconv_2", **kw)
        return keras.Model(inputs, x, name="network")

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, filters=self.filters)
        return config


def image_likelihood(kind, scale):
    """A fixed-scale `"laplace"` or `"gaussian"` image likelihood."""
    kinds = {"laplace": Laplace, "gaussian": Gaussian}
    if kind not in kinds:
        raise ValueError(
            f"`likelihood` must be one of {sorted(kinds)}; got {kind!r}.")
    return kinds[kind](scale)


@keras_mmvae_export("keras_mmvae.models.polymnist")
def polymnist(
    fusion: str | keras.layers.Layer = "mwb",
    latent_dim: int | None = None,
    num_modalities: int = 5,
    beta: float | None = None,
    encoder_filters: tuple[int, int, int] = (32, 64, 128),
    hidden_dim: int = 512,
    decoder_filters: tuple[int, int, int] = (128, 64, 32),
    likelihood_scale: float = 0.75,
    likelihood: str = "laplace",
    style_dim: int | None = None,
    kernel_initializer: str | keras.initializers.Initializer = (
        "glorot_uniform"),
    dtype_policy: str | keras.DTypePolicy | None = None,
    seed: int | None = None,
    model: str | None = None,
    **kwargs,
) -> MultimodalVAE:
    """The PolyMNIST reference model (MoPoE `job_polymnist`), built.

    Modalities `m0 … m{num_modalities−1}`, each 28×28×3 in [0, 1], with the
    reference `PolyMNISTEncoder`/`PolyMNISTDecoder` per modality, latent 512,
    β = 2.5, `Laplace(0.75)` likelihoods and reconstruction weights 1. The
    reference trains with `Adam(5e-4)`, batch 256, 300 epochs
    (`mm.models.HYPERPARAMETERS["polymnist"]`). With the defaults the model
    has 14,056,975 parameters (2,811,395 per modality). Smaller sizes are for
    tests and demos.

    `model="mmvae+"` (or `"mmvae"`, `"mopoe+"`, `"mwb+"`, any preset)
    builds that model in its published setting: for MMVAE+ (Palumbo et al.
    2023) shared latent 32, private latent 32, β 2.5 (train with batch 128
    for 250 epochs: `mm.models.HYPERPARAMETERS` and
    `SPEC.settings("mmvae+")`); for MMVAE β 1. Arguments you pass override
    the published values.

    Args:
        fusion: A preset name (see the model table in the docs) or a
            `mm.BarycenterFusion` layer.
        latent_dim: Latent size (reference 512; `None`: the model's
            published setting).
        num_modalities: Number of modalities (reference 5).
        beta: KL weight (reference 2.5).
        encoder_filters: Channels of the encoder convolutions.
        hidden_dim: Units of the encoder's Dense layer.
        decoder_filters: Channels of the decoder's start tensor and hidden
            transposed convolutions.
        likelihood_scale: Scale of the image likelihoods.
        likelihood: `"laplace"` (reference: its location is a per-pixel
            median) or `"gaussian"` (a mean; `likelihood_scale` is then
            the standard deviation).
        style_dim: Size of a modality-specific (private) latent per
            modality, the MMVAE+ idea: the texture of each modality can live
            there instead of in the shared latent. 0 (reference) = none;
            `None`: the model's published setting.
            Tune its KL weight with `beta_style`/`beta_content`.
        kernel_initializer: Initializer of every convolution and Dense
            kernel of the networks (default Glorot uniform).
        dtype_policy: Precision of the networks and the model, e.g.
            `"mixed_bfloat16"` (float32 variables, bfloat16 computation; the
            fusion, KL and likelihood sums stay float32). `None` (default):
            Keras's global policy.
        seed: Seed of the model's `SeedGenerator` (weights use Keras's global
            seed: call `keras.utils.set_random_seed` for reproducible
            initialisation).
        model: A preset name, built in its published setting (instead of
            `fusion`).
        **kwargs: Further `mm.MultimodalVAE` arguments (e.g.
            `subset_sampling`, `name`).

    Returns:
        A built, uncompiled `mm.MultimodalVAE`.

    Example:
    ```python
    import keras_mmvae.models as models

    vae = models.polymnist(fusion="mwb", latent_dim=8, num_modalities=3,
                           encoder_filters=(4, 4, 4), hidden_dim=16,
                           decoder_filters=(4, 4, 4), seed=0)
    assert vae.modality_names == ["m0", "m1", "m2"]
    ```
    """
    names = [f"m{i}" for i in range(int(num_modalities))]
    init, precision = factory_kwargs(kernel_initializer, dtype_policy)
    fusion, settings = model_settings(SPEC, model, fusion,
                                      latent_dim=latent_dim, beta=beta,
                                      style_dim=style_dim)
    latent_dim, beta, style_dim = (settings["latent_dim"], settings["beta"],
                                   settings["style_dim"])
    if needs_joint_encoder(fusion):
        # JMVAE: the unimodal encoders' architecture as feature extractors.
        kwargs.setdefault("joint_encoder", JointMLPEncoder(
            latent_dim, hidden_dims=(hidden_dim,), name="joint_encoder",
            extractors={n: PolyMNISTEncoder(
                latent_dim, encoder_filters, hidden_dim,
                name=f"joint_features_{n}", **init) for n in names}))
    vae = MultimodalVAE(
        encoders={
            n: PolyMNISTEncoder(latent_dim, encoder_filters, hidden_dim,
                                style_dim=style_dim, name=f"encoder_{n}",
                                **init)
            for n in names
        },
        decoders={
            n: PolyMNISTDecoder(IMAGE_SHAPE[-1], decoder_filters,
                                name=f"decoder_{n}", **init)
            for n in names
        },
        likelihoods={n: image_likelihood(likelihood, likelihood_scale)
                     for n in names},
        fusion=fusion,
        latent_dim=latent_dim,
        beta=beta,
        reconstruction_weights={n: 1.0 for n in names},
        seed=seed,
        **precision,
        **kwargs,
    )
    vae.build({n: (None,) + IMAGE_SHAPE for n in names})
    return vae
