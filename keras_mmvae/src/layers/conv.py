"""Convolutional image encoder and decoder (2-D, channels last)."""

import math

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.layers.conv_transpose import Conv2DTranspose
from keras_mmvae.src.layers.gaussian_head import GaussianHead
from keras_mmvae.src.layers.gaussian_head import gaussian_spec


@keras_mmvae_export("keras_mmvae.layers.ConvEncoder")
class ConvEncoder(keras.layers.Layer):
    """Strided `Conv2D` stack → Dense → Gaussian heads `(mean, log_var)`.

    With the defaults and 28×28×3 inputs it has the shapes and parameter
    count of MoPoE's PolyMNIST encoder (1,667,648 at `latent_dim=512`);
    Keras `"same"` padding places the odd pad after rather than on both
    sides, so `mm.models.PolyMNISTEncoder` is the exact port.

    Args:
        latent_dim: Latent size `D`.
        filters: Channels of the convolutions (each halves the resolution).
        kernel_size: Convolution kernel size.
        hidden_dim: Units of the Dense layer after flattening (0 = none).
        activation: Activation after every convolution and the Dense layer.
        **kwargs: Standard `keras.layers.Layer` arguments.

    Call arguments:
        images: `(B, H, W, C)` images.

    Returns:
        `(mean, log_var)`, each `(B, latent_dim)`.
    """

    def __init__(self, latent_dim: int, filters=(32, 64, 128),
                 kernel_size: int = 3, hidden_dim: int = 512,
                 activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.filters = [int(f) for f in filters]
        self.kernel_size = int(kernel_size)
        self.hidden_dim = int(hidden_dim)
        self.activation = keras.activations.get(activation)
        self.convs = [
            keras.layers.Conv2D(f, self.kernel_size, strides=2,
                                padding="same", activation=self.activation,
                                dtype=self.dtype_policy, name=f"conv_{i}")
            for i, f in enumerate(self.filters)
        ]
        self.flatten = keras.layers.Flatten(dtype=self.dtype_policy,
                                            name="flatten")
        self.dense = None
        if self.hidden_dim:
            self.dense = keras.layers.Dense(
                self.hidden_dim, activation=self.activation,
                dtype=self.dtype_policy, name="dense",
            )
        self.head = GaussianHead(self.latent_dim, dtype=self.dtype_policy,
                                 name="head")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        shape = (shape[0], math.prod(shape[1:]))
        if self.dense is not None:
            self.dense.build(shape)
            shape = (shape[0], self.hidden_dim)
        self.head.build(shape)
        super().build(input_shape)

    def call(self, images, training=False):
        x = images
        for conv in self.convs:
            x = conv(x)
        x = self.flatten(x)
        if self.dense is not None:
            x = self.dense(x)
        return self.head(x)

    def compute_output_spec(self, images, training=False):
        return gaussian_spec(images.shape[:1], self.latent_dim,
                             self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            latent_dim=self.latent_dim,
            filters=self.filters,
            kernel_size=self.kernel_size,
            hidden_dim=self.hidden_dim,
            activation=keras.activations.serialize(self.activation),
        )
        return config


def _upsampling_sizes(size, steps):
    """Sizes from the start resolution up to `size`, halving with ceil."""
    sizes = [size]
    for _ in range(steps):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes[::-1]


@keras_mmvae_export("keras_mmvae.layers.ConvDecoder")
class ConvDecoder(keras.layers.Layer):
    """Dense → reshape → stride-2 `Conv2DTranspose` stack → `output_shape`.

    The start resolution is `output_shape` halved (rounding up) once per
    transposed convolution; `output_padding` is chosen per layer so that
    the output has exactly `output_shape`. With the defaults and
    `output_shape=(28, 28, 3)` it has the shapes of MoPoE's PolyMNIST
    decoder (4×4×128 → 7 → 14 → 28; 1,143,747 parameters at latent 512;
    `mm.models.PolyMNISTDecoder` is the exact port). The last
    layer is linear (a Laplace location or logits).

    Args:
        output_shape: `(H, W, C)` of the modality.
        filters: Channels of the reshaped start tensor, then of each hidden
            transposed convolution; a final one maps to `C` channels.
        kernel_size: Kernel size of the transposed convolutions.
        activation: Hidden activation.
        output_activation: Activation of the output (default linear).
        **kwargs: Standard `keras.layers.Layer` arguments.

    Call arguments:
        z: `(B, D)` latent codes.

    Returns:
        `(B, H, W, C)` likelihood parameters.
    """

    def __init__(self, output_shape, filters=(128, 64, 32),
                 kernel_size: int = 3, activation="relu",
                 output_activation=None, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in output_shape)
        if len(self.target_shape) != 3:
            raise ValueError(
                "`output_shape` must be (height, width, channels); got "
                f"{output_shape!r}."
            )
        self.filters = [int(f) for f in filters]
        self.kernel_size = int(kernel_size)
        self.activation = keras.activations.get(activation)
        self.output_activation = keras.activations.get(output_activation)
        steps = len(self.filters)
        heights = _upsampling_sizes(self.target_shape[0], steps)
        widths = _upsampling_sizes(self.target_shape[1], steps)
        self.start_shape = (heights[0], widths[0], self.filters[0])
        self.dense = keras.layers.Dense(
            math.prod(self.start_shape), activation=self.activation,
            dtype=self.dtype_policy, name="dense",
        )
        self.reshape = keras.layers.Reshape(self.start_shape,
                                            dtype=self.dtype_policy,
                                            name="reshape")
        channels = self.filters[1:] + [self.target_shape[2]]
        # 'same' transposed conv: out = 2 (in - 1) + k - 2 (k // 2) + pad.
        base = self.kernel_size - 2 * (self.kernel_size // 2)
        self.deconvs = []
        for i, ch in enumerate(channels):
            pad_h = heights[i + 1] - (2 * heights[i] - 2 + base)
            pad_w = widths[i + 1] - (2 * widths[i] - 2 + base)
            last = i == len(channels) - 1
            self.deconvs.append(Conv2DTranspose(
                ch, self.kernel_size, strides=2, padding="same",
                output_padding=(pad_h, pad_w),
                activation=self.output_activation if last else self.activation,
                dtype=self.dtype_policy, name=f"deconv_{i}",
            ))

    def build(self, input_shape):
        self.dense.build(tuple(input_shape))
        shape = (input_shape[0],) + self.start_shape
        for deconv in self.deconvs:
            deconv.build(shape)
            shape = deconv.compute_output_shape(shape)
        if tuple(shape[1:]) != self.target_shape:
            raise ValueError(
                f"ConvDecoder produced {shape[1:]}, not {self.target_shape}; "
                "use an odd `kernel_size`."
            )
        super().build(input_shape)

    def call(self, z, training=False):
        x = self.reshape(self.dense(z))
        for deconv in self.deconvs:
            x = deconv(x)
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.target_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            output_shape=list(self.target_shape),
            filters=self.filters,
            kernel_size=self.kernel_size,
            activation=keras.activations.serialize(self.activation),
            output_activation=keras.activations.serialize(
                self.output_activation
            ),
        )
        return config
