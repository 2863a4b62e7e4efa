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

    With `extractors`, each modality first goes through its own feature
    extractor (any layer, e.g. a unimodal encoder of the same architecture
    as the model's, with weights of its own), and the flattened outputs
    are concatenated: the reference JMVAE joint encoder.

    Args:
        latent_dim: Latent size `D`.
        hidden_dims: Units of the hidden Dense layers.
        modality_names: The order in which the modalities are concatenated;
            `None` uses the order of the input dict (the model's modality
            order).
        activation: Hidden activation.
        dropout: Dropout rate after each hidden layer (0 = none).
        extractors: Optional dict name → layer applied to that modality
            before the concatenation (all its outputs are flattened).
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
                 dropout: float = 0.0, extractors=None, **kwargs):
        super().__init__(**kwargs)
        self.extractors = None if extractors is None else dict(extractors)
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
        width = 0
        for n in names:
            if self.extractors is None:
                width += math.prod(input_shape[n][1:])
                continue
            features = self.extractors[n](keras.KerasTensor(
                tuple(input_shape[n]), dtype=self.compute_dtype))
            width += sum(math.prod(f.shape[1:])
                         for f in keras.tree.flatten(features))
        shape = (None, width)
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.head.build(shape)
        self.built = True

    def call(self, inputs, training=False):
        names = self._names(inputs)
        parts = []
        for n in names:
            features = inputs[n] if self.extractors is None else \
                self.extractors[n](inputs[n], training=training)
            parts += [ops.reshape(ops.cast(f, self.compute_dtype),
                                  (ops.shape(f)[0], -1))
                      for f in keras.tree.flatten(features)]
        x = ops.concatenate(parts, axis=-1)
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
            extractors=None if self.extractors is None else {
                n: keras.layers.serialize(layer)
                for n, layer in self.extractors.items()},
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("extractors") is not None:
            config["extractors"] = {
                n: keras.layers.deserialize(c)
                for n, c in config["extractors"].items()}
        return cls(**config)
