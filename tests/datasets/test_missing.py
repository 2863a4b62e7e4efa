"""Availability masks: MCAR, per-modality rates, per-class MNAR."""

import numpy as np
import pytest

from keras_mmvae.src.datasets import missing


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
