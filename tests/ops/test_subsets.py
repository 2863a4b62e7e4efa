"""Subset enumeration, stratified split and component sampling."""

import itertools

import keras
import numpy as np
import pytest
from keras import ops

from keras_mmvae import ops as mm_ops
from keras_mmvae.src.ops.subsets import block_sizes
from keras_mmvae.src.testing.test_case import to_numpy


def test_subset_order_and_count():
    assert mm_ops.modality_subsets(3) == [
        (0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]
    subsets = mm_ops.modality_subsets(5)
    assert len(subsets) == 31 and subsets[-1] == (0, 1, 2, 3, 4)
    assert subsets[:5] == [(m,) for m in range(5)]
    matrix = mm_ops.subset_matrix(subsets, 5)
    assert matrix.shape == (31, 5)
    assert len({tuple(row) for row in matrix}) == 31
    with pytest.raises(ValueError, match="at least one modality"):
        mm_ops.modality_subsets(0)


@pytest.mark.parametrize("num, expected", [
    (31, [8] * 30 + [16]),
    (7, [36] * 6 + [40]),
    (3, [85, 85, 86]),
])
def test_stratified_block_sizes(num, expected):
    assert block_sizes(256, num) == expected
    index = to_numpy(mm_ops.stratified_components(256, num))
    assert np.bincount(index, minlength=num).tolist() == expected
    assert np.all(np.diff(index) >= 0)  # contiguous blocks in order


def test_stratified_more_components_than_examples():
    index = to_numpy(mm_ops.stratified_components(4, 7))
    assert index.tolist() == [0, 1, 2, 3]


def test_component_frequencies_match_weights():
    # 20k draws; each frequency must lie within 5 binomial standard errors.
    n = 20_000
    probs = np.array([0.5, 0.0, 0.2, 0.3], "float32")
    weight = np.tile(probs, (n, 1))
    draws = to_numpy(mm_ops.sample_components(
        weight, seed=keras.random.SeedGenerator(1)))
    freq = np.bincount(draws, minlength=4) / n
    tolerance = 5 * np.sqrt(probs * (1 - probs) / n)
    assert np.all(np.abs(freq - probs) <= tolerance + 1e-12)
    assert freq[1] == 0.0  # zero-weight components are never drawn


def test_sampling_varies_between_calls_and_reproduces():
    weight = np.full((64, 7), 1 / 7, "float32")
    generator = keras.random.SeedGenerator(5)
    first = to_numpy(mm_ops.sample_components(weight, seed=generator))
    second = to_numpy(mm_ops.sample_components(weight, seed=generator))
    assert not np.array_equal(first, second)
    replay = to_numpy(mm_ops.sample_components(
        weight, seed=keras.random.SeedGenerator(5)))
    np.testing.assert_array_equal(first, replay)


def test_subsets_are_all_nonempty_combinations():
    for num in range(1, 6):
        expected = {s for k in range(1, num + 1)
                    for s in itertools.combinations(range(num), k)}
        assert set(mm_ops.modality_subsets(num)) == expected


def test_stratified_selection_matches_mopoe_blocks_per_row():
    rng = np.random.default_rng(0)
    valid = (rng.random((37, 5)) < 0.6).astype("float32")
    valid[:, 2] = 1.0
    valid[3] = 0.0  # nothing valid: an all-zero row
    chosen = to_numpy(mm_ops.stratified_selection(
        ops.convert_to_tensor(valid)))
    for b in range(37):
        columns = np.flatnonzero(valid[b])
        if not len(columns):
            assert not chosen[b].any()
            continue
        k = len(columns)
        j = min(b // max(37 // k, 1), k - 1)  # MoPoE's block rule
        np.testing.assert_array_equal(chosen[b], np.eye(5)[columns[j]])
    # Complete rows: exactly `stratified_components`.
    full = to_numpy(mm_ops.stratified_selection(ops.ones((256, 3))))
    np.testing.assert_array_equal(
        full.argmax(-1), to_numpy(mm_ops.stratified_components(256, 3)))
