"""Dtype conversions shared by the fusion, the likelihoods and the model.

Under a mixed precision policy (`"mixed_bfloat16"`, `"mixed_float16"`) the
networks compute in a half type, but the fusion (log-sum-exp over experts),
the KLs and the likelihood sums run in float32: half types lose the small
precisions and the long sums these need.
"""

import keras
from keras import ops

HALF_DTYPES = ("float16", "bfloat16")


def at_least_float32(x):
    """`x` as a tensor, half-precision floats promoted to float32."""
    x = ops.convert_to_tensor(x)
    if keras.backend.standardize_dtype(x.dtype) in HALF_DTYPES:
        return ops.cast(x, "float32")
    return x


def availability(mask, dtype):
    """A `(B, M)` availability mask of any documented form as 0/1 `dtype`.

    Accepts bool, integer or float masks (and nested lists); every non-zero
    entry counts as present. Going through bool avoids comparisons that
    some backends do not define for bool tensors.
    """
    mask = ops.convert_to_tensor(mask)
    if keras.backend.standardize_dtype(mask.dtype) != "bool":
        mask = ops.cast(mask, "bool")
    return ops.cast(mask, dtype)
