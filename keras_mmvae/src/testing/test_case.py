"""Test utilities shared by the suite (not part of the public API)."""

import json

import keras
import numpy as np
from keras import ops


def to_numpy(x):
    """Backend tensor (or nested dict/list of them) → NumPy."""
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_numpy(v) for v in x)
    return np.asarray(ops.convert_to_numpy(x))


def assert_all_close(actual, expected, atol=1e-5, rtol=1e-5):
    np.testing.assert_allclose(to_numpy(actual), to_numpy(expected),
                               atol=atol, rtol=rtol)


def run_serialization_test(obj):
    """`get_config → from_config → get_config` and Keras (de)serialisation.

    Both configs must be equal as sorted JSON, and the registered name must
    deserialize to the same class.
    """
    config = obj.get_config()
    rebuilt = type(obj).from_config(config)
    assert json.dumps(config, sort_keys=True, default=str) == json.dumps(
        rebuilt.get_config(), sort_keys=True, default=str
    )
    serialized = keras.saving.serialize_keras_object(obj)
    revived = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(serialized))
    )
    assert type(revived) is type(obj)
    assert json.dumps(revived.get_config(), sort_keys=True,
                      default=str) == json.dumps(config, sort_keys=True,
                                                 default=str)
    return revived
