"""Availability masks: MCAR, per-modality rates, per-class MNAR."""

import numpy as np
import pytest

from keras_mmvae import datasets
from keras_mmvae.src.datasets import missing

pytestmark = pytest.mark.one_backend


def test_no_missing_gives_no_mask():
    assert missing.make_mask(10, 3, 0.0) is None
    assert missing.make_mask(10, 3, [0, 0, 0], {1: 0.0}, np.ones(10)) is None


def test_mcar_rates_and_no_empty_rows():
    mask = missing.make_mask(20000, 4, 0.3, seed=0)
    assert mask.dtype == np.float32 and mask.shape == (20000, 4)
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert mask.sum(1).min() == 1
    # Rows drawn all-missing (0.3^4 ≈ 0.8 %) get one modality back.
    np.testing.assert_allclose(1 - mask.mean(0), 0.3 - 0.3**4 / 4, atol=0.015)
    per = missing.make_mask(20000, 3, [0.0, 0.5, 1.0], seed=0)
    assert np.all(per[:, 0] == 1)
    np.testing.assert_allclose(1 - per[:, 1].mean(), 0.5, atol=0.02)
    assert np.all(per[:, 2] == 0)
    full = missing.make_mask(1000, 5, 1.0, seed=0)
    assert np.all(full.sum(1) == 1)
    counts = full.sum(0)
    assert counts.min() > 150  # the kept modality is uniform


def test_seeded():
    a = missing.make_mask(100, 3, 0.5, seed=1)
    np.testing.assert_array_equal(a, missing.make_mask(100, 3, 0.5, seed=1))
    assert not np.array_equal(a, missing.make_mask(100, 3, 0.5, seed=2))


def test_missing_not_at_random():
    classes = np.repeat(np.arange(4), 500)
    mask = missing.make_mask(2000, 2, 0.1, {2: [1.0, 0.0], 3: 0.5},
                             classes, seed=0)
    assert np.all(mask[classes == 2, 0] == 0)
    assert np.all(mask[classes == 2, 1] == 1)
    np.testing.assert_allclose(1 - mask[classes == 3].mean(), 0.5 - 0.25 / 2,
                               atol=0.05)
    np.testing.assert_allclose(1 - mask[classes < 2].mean(), 0.1 - 0.01 / 2,
                               atol=0.03)


def test_validation():
    with pytest.raises(ValueError, match="one per modality"):
        missing.make_mask(5, 3, [0.1, 0.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        missing.make_mask(5, 3, -0.1)
    with pytest.raises(ValueError, match="dict"):
        missing.make_mask(5, 3, 0.0, [0.5])
    with pytest.raises(ValueError, match="class per example"):
        missing.make_mask(5, 3, 0.0, {1: 0.5})
    with pytest.raises(ValueError, match="classes"):
        missing.make_mask(5, 3, 0.0, {7: 0.5}, np.zeros(5))


def test_with_missing_masks_your_arrays_like_the_loaders():
    rng = np.random.default_rng(0)
    x = {"image": rng.random((2000, 3, 2)).astype("float32") + 1.0,
         "tabular": rng.random((2000, 6)).astype("float32") + 1.0,
         "label": np.ones((2000, 4), "int64")}
    data = datasets.with_missing(x, missing_rate=[0.5, 0.2, 0.0], seed=3)
    mask = data["mask"]
    assert list(data) == ["image", "tabular", "label", "mask"]
    assert mask.dtype == np.float32 and mask.min(axis=1).max() <= 1
    assert mask.sum(axis=1).min() >= 1  # never an empty example
    np.testing.assert_allclose(1 - mask.mean(axis=0), [0.5, 0.2, 0.0],
                               atol=0.04)
    for i, name in enumerate(x):
        absent = mask[:, i] == 0
        assert np.all(data[name][absent] == 0)
        np.testing.assert_array_equal(data[name][~absent], x[name][~absent])
        assert data[name].dtype == x[name].dtype
    assert np.all(x["image"] >= 1.0)  # the caller's arrays are untouched
    np.testing.assert_array_equal(
        datasets.with_missing(x, missing_rate=[0.5, 0.2, 0.0], seed=3)["mask"],
        mask)
    classes = np.arange(2000) % 2
    mnar = datasets.with_missing(x, missing_per_class={1: 1.0},
                                 classes=classes, seed=0)["mask"]
    assert mnar[classes == 0].min() == 1
    assert np.all(mnar[classes == 1].sum(axis=1) == 1)  # one kept


def test_with_missing_refuses_bad_inputs():
    x = {"a": np.ones((4, 2)), "b": np.ones((5, 2))}
    with pytest.raises(ValueError, match="one row per example"):
        datasets.with_missing(x, missing_rate=0.2)
    with pytest.raises(ValueError, match="already has a 'mask'"):
        datasets.with_missing({"a": np.ones((4, 2)), "mask": np.ones((4, 1))})
    with pytest.raises(ValueError, match="must lie in"):
        datasets.with_missing({"a": np.ones((4, 2))}, missing_rate=2.0)
