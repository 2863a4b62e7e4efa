"""A joint encoder q(z | X) over all modalities (JMVAE)."""

import math

import keras
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.layers.gaussian_head import GaussianHead
from keras_mmvae.src.layers.gaussian_head import gaussian_spec
from keras_mmvae.src.layers.mlp import _dense_stack


@keras_mmvae_export("keras_mmvae.layers.JointMLPEncoder")
class JointMLPEncoder(keras.layers.Layer):
    """Flatten and concatenate every modality → Dense stack → Gaussian
    heads `(mean, log_var)`: the joint encoder `q(z | X)` of JMVAE
    (`MultimodalVAE(joint_encoder=...)`).

    Args:
        latent_dim: Latent size `D`.
        hidden_dims: Units of the hidden Dense layers.
        modality_names: The order in which the modalities are concatenated;
            `None` uses the order of the input dict (the model's modality
            order).
        activation: Hidden activation.
        dropout: Dropout rate after each hidden layer (0 = none).
        **kwargs: Standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: Dict name → `(B, ...)` array of every modality.

    Returns:
        `(mean, log_var)`, each `(B, latent_dim)`.

    Example:
    ```python
    import numpy as np
    import keras_mmvae as mm

    encoder = mm.layers.JointMLPEncoder(4, hidden_dims=(16,))
    mean, log_var = encoder({"a": np.zeros((2, 6), "float32"),
                             "b": np.zeros((2, 3, 3), "float32")})
    assert mean.shape == (2, 4)
    ```
    """

    def __init__(self, latent_dim: int, hidden_dims=(256,),
                 modality_names=None, activation="relu",
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.hidden_dims = [int(u) for u in hidden_dims]
        self.modality_names = None if modality_names is None else [
            str(n) for n in modality_names]
        self.activation = keras.activations.get(activation)
        self.dropout = float(dropout)
        self.hidden = _dense_stack(self.hidden_dims, self.activation,
                                   self.dropout, self.dtype_policy)
        self.head = GaussianHead(self.latent_dim, dtype=self.dtype_policy,
                                 name="head")

    def _names(self, inputs):
        if not isinstance(inputs, dict):
            raise ValueError(
                "JointMLPEncoder takes a dict {modality name: array}; got "
                f"{type(inputs).__name__}.")
        names = self.modality_names or list(inputs)
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(
                f"JointMLPEncoder needs every modality; missing {missing}.")
        return names

    def build(self, input_shape):
        names = self._names(input_shape)
        width = sum(math.prod(input_shape[n][1:]) for n in names)
        shape = (None, width)
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.head.build(shape)
        self.built = True

    def call(self, inputs, training=False):
        names = self._names(inputs)
        x = ops.concatenate(
            [ops.reshape(ops.cast(inputs[n], self.compute_dtype),
                         (ops.shape(inputs[n])[0], -1)) for n in names],
            axis=-1)
        for layer in self.hidden:
            x = layer(x, training=training)
        return self.head(x)

    def compute_output_spec(self, inputs, training=False):
        first = inputs[self._names(inputs)[0]]
        return gaussian_spec(first.shape[:1], self.latent_dim,
                             self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            latent_dim=self.latent_dim,
            hidden_dims=self.hidden_dims,
            modality_names=self.modality_names,
            activation=keras.activations.serialize(self.activation),
            dropout=self.dropout,
        )
        return config
