"""Base class of the decoder likelihoods."""

import math

import keras
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.ops.dtypes import at_least_float32


def sum_over_data_dims(values):
    """Sums `(B, ...)` to `(B,)` (the loss convention: sum over data)."""
    values = ops.convert_to_tensor(values)
    if len(values.shape) == 1:
        return values
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def is_class_ids(x, params):
    """Integer targets with one axis fewer than `params`: class ids.

    They stay integers (a bfloat16 cast would round ids above 256); every
    other target is compared in the dtype of `params`.
    """
    dtype = keras.backend.standardize_dtype(x.dtype)
    return ("int" in dtype and not dtype.startswith("bool")
            and len(x.shape) == len(params.shape) - 1)


@keras_mmvae_export("keras_mmvae.likelihoods.Likelihood")
class Likelihood:
    """A likelihood `p(x | params)` over one modality.

    Subclasses implement `log_prob_elements` (element-wise log density) and
    `mean`. `log_prob` sums over every data dimension and returns `(B,)`.
    Instances serialise with `keras.saving.serialize_keras_object`.
    """

    def log_prob_elements(self, params, x):
        raise NotImplementedError

    def log_prob(self, params, x):
        """`log p(x | params)` summed over data dimensions → `(B,)`.

        Computed in float32 when `params` come in a half type (mixed
        precision): the sum over data dimensions needs the precision.
        """
        x = ops.convert_to_tensor(x)
        params = at_least_float32(params)
        if not is_class_ids(x, params):
            x = ops.cast(x, params.dtype)
        return sum_over_data_dims(self.log_prob_elements(params, x))

    def mean(self, params):
        """The mean of the distribution (what evaluation decodes)."""
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@keras_mmvae_export("keras_mmvae.likelihoods.Laplace")
class Laplace(Likelihood):
    """Laplace with fixed `scale`; decoder outputs the location.

    `log p = −|x − loc| / scale − log(2 scale)` per element. The MoPoE
    protocol uses `scale=0.75` for every image modality.

    Args:
        scale: Positive fixed scale.
    """

    def __init__(self, scale: float = 0.75):
        if not scale > 0:
            raise ValueError(f"`scale` must be positive; got {scale}.")
        self.scale = float(scale)

    def log_prob_elements(self, params, x):
        return -ops.abs(x - params) / self.scale - math.log(2.0 * self.scale)

    def mean(self, params):
        return params

    def get_config(self):
        return {"scale": self.scale}


@keras_mmvae_export("keras_mmvae.likelihoods.Gaussian")
class Gaussian(Likelihood):
    """Gaussian with fixed `scale` (standard deviation); outputs the mean.

    Args:
        scale: Positive fixed standard deviation.
    """

    def __init__(self, scale: float = 1.0):
        if not scale > 0:
            raise ValueError(f"`scale` must be positive; got {scale}.")
        self.scale = float(scale)

    def log_prob_elements(self, params, x):
        z = (x - params) / self.scale
        return -0.5 * ops.square(z) - math.log(self.scale) - 0.5 * math.log(
            2.0 * math.pi
        )

    def mean(self, params):
        return params

    def get_config(self):
        return {"scale": self.scale}


@keras_mmvae_export("keras_mmvae.likelihoods.Bernoulli")
class Bernoulli(Likelihood):
    """Bernoulli on logits: `x·l − softplus(l)` per element; mean `σ(l)`.

    Targets may be binary or continuous in [0, 1] (the continuous Bernoulli
    is not normalised; this is the usual cross-entropy).
    """

    def log_prob_elements(self, params, x):
        return x * params - ops.softplus(params)

    def mean(self, params):
        return ops.sigmoid(params)


@keras_mmvae_export("keras_mmvae.likelihoods.Categorical")
class Categorical(Likelihood):
    """Categorical on logits over the last axis (e.g. text `(B, L, 71)`).

    Targets are one-hot (same shape as the logits) or integer class ids (one
    axis fewer). An all-zero one-hot row scores 0 (a character outside the
    alphabet). The mean is the softmax probabilities.
    """

    def log_prob_elements(self, params, x):
        log_probs = ops.log_softmax(params, axis=-1)
        if len(x.shape) == len(params.shape) - 1:
            x = ops.one_hot(ops.cast(x, "int32"), ops.shape(params)[-1],
                            dtype=params.dtype)
        else:
            x = ops.cast(x, params.dtype)
        return ops.sum(x * log_probs, axis=-1)

    def mean(self, params):
        return ops.softmax(params, axis=-1)


LIKELIHOODS = {
    "laplace": Laplace,
    "gaussian": Gaussian,
    "bernoulli": Bernoulli,
    "categorical": Categorical,
}


@keras_mmvae_export("keras_mmvae.likelihoods.get")
def get(identifier):
    """A likelihood object from an instance, a name or a serialized dict."""
    if isinstance(identifier, Likelihood):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() not in LIKELIHOODS:
            raise ValueError(
                f"Unknown likelihood {identifier!r}; use one of "
                f"{sorted(LIKELIHOODS)} or a `mm.likelihoods.Likelihood`."
            )
        return LIKELIHOODS[identifier.lower()]()
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    raise ValueError(
        "A likelihood must be a `mm.likelihoods.Likelihood` or one of "
        f"{sorted(LIKELIHOODS)}; got {identifier!r}."
    )
