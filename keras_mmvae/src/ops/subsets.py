"""Modality subsets and per-example mixture-component selection."""

import itertools

import keras
import numpy as np
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export


@keras_mmvae_export("keras_mmvae.ops.modality_subsets")
def modality_subsets(num_modalities):
    """All non-empty subsets of `range(num_modalities)`, MoPoE order.

    Ordered by size, then in `itertools.combinations` order: the singletons
    come first (in modality order) and the full set is last. `M = 3` gives
    `(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)`.
    """
    if num_modalities < 1:
        raise ValueError(
            f"Need at least one modality; got num_modalities={num_modalities}."
        )
    return [
        subset
        for size in range(1, num_modalities + 1)
        for subset in itertools.combinations(range(num_modalities), size)
    ]


@keras_mmvae_export("keras_mmvae.ops.subset_matrix")
def subset_matrix(subsets, num_modalities):
    """`(S, M)` float32 0/1 membership matrix of `subsets` (index tuples)."""
    matrix = np.zeros((len(subsets), num_modalities), dtype="float32")
    for row, subset in enumerate(subsets):
        matrix[row, list(subset)] = 1.0
    return matrix


@keras_mmvae_export("keras_mmvae.ops.stratified_components")
def stratified_components(batch_size, num_components):
    """Component index of each example under MoPoE's stratified split.

    Contiguous blocks in component order, `⌊B/S⌋` examples each, the last
    component taking the remainder: example `b` uses component
    `min(⌊b / max(⌊B/S⌋, 1)⌋, S − 1)`. `batch_size` may be a symbolic
    (traced) scalar.

    Returns:
        int32 tensor of shape `(batch_size,)`.
    """
    block = ops.maximum(batch_size // num_components, 1)
    index = ops.arange(batch_size, dtype="int32") // ops.cast(block, "int32")
    return ops.minimum(index, num_components - 1)


@keras_mmvae_export("keras_mmvae.ops.sample_components")
def sample_components(weight, seed=None):
    """Draws one component per example from mixture weights `(B, S)`.

    Components with weight 0 are never drawn. A row whose weights are all 0
    falls back to component 0.

    Returns:
        int32 tensor of shape `(B,)`.
    """
    log_w = ops.where(
        weight > 0, ops.log(ops.maximum(weight, 1e-30)), -1e9
    )
    return ops.cast(
        keras.random.categorical(log_w, 1, seed=seed)[:, 0], "int32"
    )


def block_sizes(batch_size, num_components):
    """NumPy block sizes of the stratified split (for docs and tests)."""
    index = np.minimum(
        np.arange(batch_size) // max(batch_size // num_components, 1),
        num_components - 1,
    )
    return np.bincount(index, minlength=num_components).tolist()


@keras_mmvae_export("keras_mmvae.ops.stratified_selection")
def stratified_selection(weight):
    """One valid component per row by position in the batch, `(B, S)` one-hot.

    Row `b` with `k_b` valid components (weight > 0) takes the `j`-th valid
    one, `j = min(⌊b / max(⌊B/k_b⌋, 1)⌋, k_b − 1)`. With the same `k` in
    every row this is MoPoE's `mixture_component_selection` over the valid
    components (`stratified_components`), deterministic and without a seed.
    A row with no valid component gets an all-zero row.

    Args:
        weight: `(B, S)` mixture weights or 0/1 validity.

    Returns:
        `(B, S)` 0/1 selection in `weight`'s dtype.
    """
    valid = ops.cast(weight > 0, "int32")
    batch = ops.shape(weight)[0]
    count = ops.sum(valid, axis=-1)
    block = ops.maximum(batch // ops.maximum(count, 1), 1)
    index = ops.minimum(ops.arange(batch, dtype="int32") // block,
                        ops.maximum(count - 1, 0))
    rank = ops.cumsum(valid, axis=-1) - 1
    chosen = ops.logical_and(valid > 0, ops.equal(rank, index[:, None]))
    return ops.cast(chosen, weight.dtype)


def choose_components(weight, selection, seed=None):
    """Component index per example: `(B,)` int32 from `(B, S)` weights.

    `selection="stratified"` takes `stratified_components` (MoPoE's blocks,
    no randomness); anything else draws from `weight` with
    `sample_components`.
    """
    if selection == "stratified":
        return stratified_components(ops.shape(weight)[0],
                                     ops.shape(weight)[1])
    return sample_components(weight, seed=seed)


def select_components(mixture, component):
    """Gathers component `component[b]` of each row: `(mean, log_var)`.

    `mixture` is a dict with `"mean"`, `"log_var"` `(B, S, D)` and
    `"weight"` `(B, S)` (a `BarycenterFusion` output); each result is
    `(B, D)`.
    """
    one_hot = ops.one_hot(component, ops.shape(mixture["weight"])[-1],
                          dtype=mixture["mean"].dtype)
    mean = ops.einsum("bs,bsd->bd", one_hot, mixture["mean"])
    log_var = ops.einsum("bs,bsd->bd", one_hot, mixture["log_var"])
    return mean, log_var


def choose_subsets(available, selection, seed=None):
    """A non-empty subset of each row's available modalities, `(B, M)` 0/1.

    The candidates are all non-empty subsets of the `M` modalities
    (`modality_subsets` order) that lie inside the row's availability;
    one is picked per row with `choose_components(valid, selection)`, so
    `"random"` is uniform over them. Rows with nothing available get the
    empty set.

    Args:
        available: `(B, M)` 0/1 availability (a float tensor).
        selection: `"stratified"` or `"random"`.
        seed: A `keras.random.SeedGenerator` for `"random"`.
    """
    num = int(available.shape[-1])
    matrix = ops.convert_to_tensor(
        subset_matrix(modality_subsets(num), num), dtype=available.dtype
    )
    inside = ops.einsum("sm,bm->bs", matrix, available)
    valid = ops.cast(
        ops.equal(inside, ops.sum(matrix, axis=-1)[None, :]), available.dtype
    )
    component = choose_components(valid, selection, seed=seed)
    chosen = ops.one_hot(component, ops.shape(matrix)[0],
                         dtype=available.dtype)
    return ops.matmul(chosen, matrix) * available
