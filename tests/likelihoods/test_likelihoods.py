"""Decoder likelihoods against SciPy closed forms, for every target dtype."""

import numpy as np
import pytest
import scipy.special
import scipy.stats
from keras import ops

import keras_mmvae as mm
from keras_mmvae.src.testing.test_case import to_numpy

RNG = np.random.default_rng(0)
PARAMS = RNG.normal(size=(4, 3, 5)).astype("float32")
TARGETS = RNG.integers(0, 2, size=(4, 3, 5))


def expected(name, params, x):
    x = x.astype("float64")
    if name == "laplace":
        values = scipy.stats.laplace.logpdf(x, loc=params, scale=0.75)
    elif name == "gaussian":
        values = scipy.stats.norm.logpdf(x, loc=params, scale=0.5)
    else:
        values = x * params - np.logaddexp(0.0, params)
    return values.reshape(len(x), -1).sum(axis=1)


LIKELIHOODS = {
    "laplace": mm.likelihoods.Laplace(0.75),
    "gaussian": mm.likelihoods.Gaussian(0.5),
    "bernoulli": mm.likelihoods.Bernoulli(),
}


@pytest.mark.parametrize("name", sorted(LIKELIHOODS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8",
                                   "bool"])
def test_log_prob_matches_scipy_for_every_target_dtype(name, dtype):
    x = TARGETS.astype(dtype)
    result = to_numpy(LIKELIHOODS[name].log_prob(PARAMS, x))
    assert result.shape == (4,)
    np.testing.assert_allclose(result, expected(name, PARAMS, TARGETS),
                               rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "float32"])
def test_categorical_ids_and_one_hot_agree_with_log_softmax(dtype):
    logits = RNG.normal(size=(3, 6, 7)).astype("float32")
    ids = RNG.integers(0, 7, size=(3, 6))
    log_softmax = logits - scipy.special.logsumexp(logits, -1, keepdims=True)
    oracle = np.take_along_axis(log_softmax, ids[..., None], -1).sum((1, 2))
    categorical = mm.likelihoods.Categorical()
    from_ids = to_numpy(categorical.log_prob(logits, ids.astype(dtype)))
    one_hot = np.eye(7)[ids].astype(dtype)
    from_one_hot = to_numpy(categorical.log_prob(logits, one_hot))
    np.testing.assert_allclose(from_ids, oracle, rtol=1e-5)
    np.testing.assert_allclose(from_one_hot, oracle, rtol=1e-5)


def test_integer_ids_stay_exact_with_bfloat16_logits():
    # 999 is not a bfloat16 number: a cast of the ids would pick class 1000.
    logits = np.zeros((2, 1000), "float32")
    logits[:, 999] = 8.0
    ids = np.array([999, 999], "int32")
    result = to_numpy(mm.likelihoods.Categorical().log_prob(
        ops.cast(logits, "bfloat16"), ids))
    oracle = 8.0 - scipy.special.logsumexp(logits[0])
    np.testing.assert_allclose(result.astype("float32"), [oracle] * 2,
                               atol=0.05)
