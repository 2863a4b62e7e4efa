"""A pair of linear heads giving `(mean, log_var)`."""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export


def gaussian_spec(batch_shape, latent_dim, dtype):
    """Symbolic `(mean, log_var)` of shape `(*batch_shape, latent_dim)`."""
    shape = tuple(batch_shape) + (latent_dim,)
    return (keras.KerasTensor(shape, dtype=dtype),
            keras.KerasTensor(shape, dtype=dtype))


@keras_mmvae_export("keras_mmvae.layers.GaussianHead")
class GaussianHead(keras.layers.Layer):
    """Two linear heads mapping features `(B, F)` to `(mean, log_var)`.

    Args:
        latent_dim: Size of the latent Gaussian.
        kernel_initializer: Initializer of both heads (cloned per head).
        **kwargs: Standard `keras.layers.Layer` arguments.

    Returns:
        `(mean, log_var)`, each `(B, latent_dim)`.
    """

    def __init__(self, latent_dim: int, kernel_initializer="glorot_uniform",
                 **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        init = keras.initializers.serialize(self.kernel_initializer)
        self.mean_dense = keras.layers.Dense(
            self.latent_dim, kernel_initializer=keras.initializers.get(init),
            dtype=self.dtype_policy, name="mean",
        )
        self.log_var_dense = keras.layers.Dense(
            self.latent_dim, kernel_initializer=keras.initializers.get(init),
            dtype=self.dtype_policy, name="log_var",
        )

    def build(self, input_shape):
        self.mean_dense.build(input_shape)
        self.log_var_dense.build(input_shape)
        super().build(input_shape)

    def call(self, features):
        return self.mean_dense(features), self.log_var_dense(features)

    def compute_output_spec(self, features):
        return gaussian_spec(features.shape[:-1], self.latent_dim,
                             self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            latent_dim=self.latent_dim,
            kernel_initializer=keras.initializers.serialize(
                self.kernel_initializer
            ),
        )
        return config
