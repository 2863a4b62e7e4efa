"""Fully connected encoder and decoder."""

import math

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.layers.gaussian_head import GaussianHead
from keras_mmvae.src.layers.gaussian_head import gaussian_spec


def _dense_stack(hidden_dims, activation, dropout, dtype):
    layers = []
    for i, units in enumerate(hidden_dims):
        layers.append(keras.layers.Dense(units, activation=activation,
                                         dtype=dtype, name=f"dense_{i}"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, dtype=dtype,
                                               name=f"dropout_{i}"))
    return layers


@keras_mmvae_export("keras_mmvae.layers.MLPEncoder")
class MLPEncoder(keras.layers.Layer):
    """Flatten → Dense stack → Gaussian heads `(mean, log_var)`.

    Args:
        latent_dim: Latent size `D`.
        hidden_dims: Units of the hidden Dense layers.
        activation: Hidden activation.
        dropout: Dropout rate after each hidden layer (0 = none).
        **kwargs: Standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(B, ...)` one modality; flattened first.

    Returns:
        `(mean, log_var)`, each `(B, latent_dim)`.

    Example:
    ```python
    import numpy as np
    import keras_mmvae as mm

    mean, log_var = mm.layers.MLPEncoder(8, hidden_dims=(32,))(
        np.zeros((2, 28, 28), "float32"))
    assert mean.shape == (2, 8)
    ```
    """

    def __init__(self, latent_dim: int, hidden_dims=(256,),
                 activation="relu", dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.hidden_dims = [int(u) for u in hidden_dims]
        self.activation = keras.activations.get(activation)
        self.dropout = float(dropout)
        self.flatten = keras.layers.Flatten(dtype=self.dtype_policy,
                                            name="flatten")
        self.hidden = _dense_stack(self.hidden_dims, self.activation,
                                   self.dropout, self.dtype_policy)
        self.head = GaussianHead(self.latent_dim, dtype=self.dtype_policy,
                                 name="head")

    def build(self, input_shape):
        shape = (input_shape[0], math.prod(input_shape[1:]))
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.head.build(shape)
        super().build(input_shape)

    def call(self, inputs, training=False):
        x = self.flatten(inputs)
        for layer in self.hidden:
            x = layer(x, training=training)
        return self.head(x)

    def compute_output_spec(self, inputs, training=False):
        return gaussian_spec(inputs.shape[:1], self.latent_dim,
                             self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            latent_dim=self.latent_dim,
            hidden_dims=self.hidden_dims,
            activation=keras.activations.serialize(self.activation),
            dropout=self.dropout,
        )
        return config


@keras_mmvae_export("keras_mmvae.layers.MLPDecoder")
class MLPDecoder(keras.layers.Layer):
    """Dense stack → linear output reshaped to `output_shape`.

    The output is the likelihood parameter (location, logits, ...); set
    `output_activation` for a bounded mean (e.g. `"sigmoid"`).

    Args:
        output_shape: Shape of one example of the modality, e.g. `(28, 28)`.
        hidden_dims: Units of the hidden Dense layers.
        activation: Hidden activation.
        output_activation: Activation of the output (default linear).
        dropout: Dropout rate after each hidden layer.
        **kwargs: Standard `keras.layers.Layer` arguments.

    Call arguments:
        z: `(B, D)` latent codes.

    Returns:
        `(B, *output_shape)` likelihood parameters.
    """

    def __init__(self, output_shape, hidden_dims=(256,), activation="relu",
                 output_activation=None, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in output_shape)
        self.hidden_dims = [int(u) for u in hidden_dims]
        self.activation = keras.activations.get(activation)
        self.output_activation = keras.activations.get(output_activation)
        self.dropout = float(dropout)
        self.hidden = _dense_stack(self.hidden_dims, self.activation,
                                   self.dropout, self.dtype_policy)
        self.out = keras.layers.Dense(
            math.prod(self.target_shape), activation=self.output_activation,
            dtype=self.dtype_policy, name="output",
        )
        self.reshape = keras.layers.Reshape(self.target_shape,
                                            dtype=self.dtype_policy,
                                            name="reshape")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.out.build(shape)
        super().build(input_shape)

    def call(self, z, training=False):
        x = z
        for layer in self.hidden:
            x = layer(x, training=training)
        return self.reshape(self.out(x))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.target_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            output_shape=list(self.target_shape),
            hidden_dims=self.hidden_dims,
            activation=keras.activations.serialize(self.activation),
            output_activation=keras.activations.serialize(
                self.output_activation
            ),
            dropout=self.dropout,
        )
        return config
