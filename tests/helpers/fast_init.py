"""A NumPy Glorot-uniform initializer for the model tests.

JAX compiles its random-number kernel once per weight shape, which makes
building the larger reference networks slow on CPU; drawing the initial
weights with NumPy avoids that and keeps the suite fast on every backend.
"""

import math

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mmvae_tests")
class NumpyGlorotUniform(keras.initializers.Initializer):
    """Glorot uniform drawn with NumPy (deterministic per shape and seed)."""

    def __init__(self, seed=0):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
        fan_in = receptive * (shape[-2] if len(shape) > 1 else shape[-1])
        fan_out = receptive * shape[-1]
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        rng = np.random.default_rng([self.seed, *shape])
        values = rng.uniform(-limit, limit, size=shape)
        return ops.convert_to_tensor(values.astype(dtype or "float32"))

    def get_config(self):
        return {"seed": self.seed}
