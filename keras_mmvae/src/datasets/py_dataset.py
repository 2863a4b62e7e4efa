"""`MultimodalDataset`: the `keras.utils.PyDataset` every loader returns."""

import math
from collections.abc import Mapping
from collections.abc import Sequence

import keras
import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.datasets import missing as missing_lib
from keras_mmvae.src.models.validation import MASK_KEY

_SHUFFLE_STREAM = 1
_MASK_STREAM = 2


def resolve_seed(seed):
    """`seed`, or fresh OS entropy (recorded so the run can be repeated)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(
        seed, (int, np.integer)
    ):
        raise ValueError(f"`seed` must be an int or None; got {seed!r}.")
    if seed < 0:
        raise ValueError(f"`seed` must be >= 0; got {seed}.")
    return int(seed)


def stream(seed, *keys):
    """A NumPy generator for one purpose (`keys`) derived from `seed`."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def to_float(images):
    """uint8 → float32 in [0, 1]; float arrays are only cast."""
    if images.dtype == np.uint8:
        return images.astype("float32") * np.float32(1.0 / 255.0)
    return images.astype("float32")


@keras_mmvae_export("keras_mmvae.datasets.MultimodalDataset")
class MultimodalDataset(keras.utils.PyDataset):
    """Batches `(inputs, labels)` of a multimodal data set for `fit`.

    A `keras.utils.PyDataset`, so `model.fit`, `evaluate` and `predict`
    accept it on every backend without TensorFlow. Batch `i` of an epoch is
    `(inputs, labels)`: `inputs` maps every modality name to a float32 array
    (plus `"mask"`, float32 `(B, M)` 0/1 in `modality_names` order, when
    modalities can be missing; absent entries hold zeros), `labels` is int64
    `(B,)` digits or `(B, 40)` 0/1 attributes.

    **Order.** With `shuffle=True` the examples are permuted at the start of
    every epoch by a NumPy generator seeded with `(seed, epoch)`, so a run
    is reproducible; `seed=None` draws a seed (kept in `self.seed`). The
    epoch counter advances in `on_epoch_end` (safe with prefetching
    workers). Keras also calls `on_epoch_end` once when `fit`, `evaluate`
    or `predict` start, so the first `fit` epoch uses `order(epoch=1)`; the
    sequence of orders is still a function of the seed and the calls made.
    With `fit(steps_per_epoch=...)` shorter than `len(self)`, Keras keeps
    its batch iterator across epochs while the order changes, so a "pass"
    is no longer an exact permutation; leave `steps_per_epoch` unset to
    see every example once per epoch. Keras's
    `fit(shuffle=True)` (its default) additionally permutes the order of the
    *batches* with Python's `random` module; pass `shuffle=False` to `fit`
    or call `keras.utils.set_random_seed` for a fully seeded order. Rows
    inside a batch keep the shuffled order (never sorted: a model that
    assigns contiguous blocks of a batch to subsets, like MoPoE's stratified
    sampling, must not see label-sorted blocks).

    **Shards.** With `num_shards=K`, worker `shard_index=k` of a
    data-parallel run reads rows `k, k + K, k + 2K, ...` of every epoch's
    order, cut to `K · ⌊N/K⌋` rows so that every worker has `⌊N/K⌋`
    examples and the same number of batches (the last `N mod K` rows of each
    epoch's order are left out that epoch). All workers share the seed, so
    they agree on the order: the shards are disjoint, together cover the
    epoch, and are reproducible. `batch_size` is then the per-worker batch.

    **Batches.** `drop_last=True` yields only full batches (the training
    protocol; the last `N mod batch_size` examples of each epoch's order are
    skipped), `False` yields a final partial batch.

    Subclasses implement `_fetch(indices) -> {name: float32 array}`.

    Args:
        modality_names: Modality names, in the model's order.
        num_examples: Number of examples `N`.
        labels: `(N,)` or `(N, K)` labels.
        batch_size: Batch size.
        shuffle: Reshuffle the examples every epoch.
        seed: Seed of the order and the missing-modality mask.
        drop_last: Only yield full batches.
        missing_rate: Missing-completely-at-random probability, a scalar or
            one per modality (see `keras_mmvae.src.datasets.missing`).
        missing_per_class: `{class: probability or per-modality
            probabilities}` for missing-not-at-random data.
        classes: `(N,)` integer class per example for `missing_per_class`
            (default: `labels` when they are 1-D).
        workers: `keras.utils.PyDataset` worker count.
        use_multiprocessing: Use processes instead of threads for workers.
        max_queue_size: Prefetch queue size of the workers.
        num_shards: Number of data-parallel workers `K` sharing each epoch.
        shard_index: This worker's shard `k`, `0 <= k < K`.
    """

    def __init__(
        self,
        modality_names: Sequence[str],
        num_examples: int,
        labels: np.ndarray,
        batch_size: int = 256,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        missing_rate: float | Sequence[float] = 0.0,
        missing_per_class: Mapping[int, float | Sequence[float]] | None = None,
        classes: np.ndarray | None = None,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        num_shards: int = 1,
        shard_index: int = 0,
    ):
        super().__init__(workers=workers,
                         use_multiprocessing=use_multiprocessing,
                         max_queue_size=max_queue_size)
        if isinstance(batch_size, bool) or not isinstance(
            batch_size, (int, np.integer)
        ) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be a positive int; got {batch_size!r}."
            )
        self.modality_names = tuple(modality_names)
        self.num_examples = int(num_examples)
        self.labels = labels
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = resolve_seed(seed)
        self.drop_last = bool(drop_last)
        for arg, value in (("num_shards", num_shards),
                           ("shard_index", shard_index)):
            if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)
            ):
                raise ValueError(f"`{arg}` must be an int; got {value!r}.")
        if not 0 <= shard_index < num_shards:
            raise ValueError(
                f"Need 0 <= shard_index < num_shards; got shard_index="
                f"{shard_index}, num_shards={num_shards}."
            )
        self.num_shards = int(num_shards)
        self.shard_index = int(shard_index)
        self.epoch = 0
        self._order_cache = None
        if classes is None and missing_per_class and np.ndim(labels) == 1:
            classes = labels
        self.mask = missing_lib.make_mask(
            self.num_examples,
            len(self.modality_names),
            missing_rate=missing_rate,
            missing_per_class=missing_per_class,
            classes=classes,
            seed=np.random.SeedSequence([self.seed, _MASK_STREAM]),
        )
        if self.num_examples == 0:
            raise ValueError("The data set is empty.")
        if self.shard_size == 0:
            raise ValueError(
                f"The data set has {self.num_examples} examples, fewer than "
                f"the {self.num_shards} shards."
            )
        if self.drop_last and self.shard_size < self.batch_size:
            raise ValueError(
                f"The data set (shard) has {self.shard_size} examples, "
                "fewer than "
                f"one batch of {self.batch_size}, and `drop_last=True` keeps "
                "only full batches. Lower `batch_size` or pass "
                "`drop_last=False`."
            )

    # -------------------------------------------------------------- order
    @property
    def shard_size(self):
        """Examples this worker reads per epoch: `N`, or `⌊N/K⌋` sharded."""
        if self.num_shards == 1:
            return self.num_examples
        return self.num_examples // self.num_shards

    def __len__(self):
        if self.drop_last:
            return self.shard_size // self.batch_size
        return math.ceil(self.shard_size / self.batch_size)

    @property
    def num_batches(self):
        return len(self)

    def order(self, epoch: int | None = None) -> np.ndarray:
        """The example order of an epoch (default: the current one).

        Args:
            epoch: Epoch number; `None` for `self.epoch`.

        Returns:
            int64 `(N,)` permutation (the identity without shuffling); with
            shards, this worker's `⌊N/K⌋` rows of it.
        """
        epoch = self.epoch if epoch is None else int(epoch)
        if not self.shuffle:
            return self._shard(np.arange(self.num_examples))
        cache = self._order_cache
        if cache is not None and cache[0] == epoch:
            return cache[1]
        order = self._shard(stream(self.seed, _SHUFFLE_STREAM, epoch)
                            .permutation(self.num_examples))
        self._order_cache = (epoch, order)
        return order

    def _shard(self, order):
        if self.num_shards == 1:
            return order
        end = self.shard_size * self.num_shards
        return order[self.shard_index:end:self.num_shards]

    def batch_indices(self, index: int) -> np.ndarray:
        """Example indices of batch `index` of the current epoch."""
        if not 0 <= index < len(self):
            raise IndexError(
                f"Batch index {index} out of range for {len(self)} batches."
            )
        start = index * self.batch_size
        return self.order()[start:start + self.batch_size]

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch whose order (and text offsets) batches use."""
        self.epoch = int(epoch)

    def on_epoch_end(self):
        self.epoch += 1

    # ------------------------------------------------------------ batches
    def __getitem__(self, index):
        return self.get(self.batch_indices(int(index)))

    def _fetch(self, indices):
        raise NotImplementedError

    def get(self, indices: np.ndarray) -> tuple[dict, np.ndarray]:
        """Returns `(inputs, labels)` for arbitrary example indices.

        Args:
            indices: int array of example indices (natural numbering).

        Returns:
            The same structure as a batch (mask applied, if any).
        """
        indices = np.asarray(indices, dtype="int64").reshape(-1)
        if indices.size and (
            indices.min() < 0 or indices.max() >= self.num_examples
        ):
            raise IndexError(
                f"Example indices must lie in [0, {self.num_examples}); got "
                f"[{indices.min()}, {indices.max()}]."
            )
        inputs = self._fetch(indices)
        if self.mask is not None:
            mask = self.mask[indices]
            for i, name in enumerate(self.modality_names):
                absent = mask[:, i] == 0
                if absent.any():
                    inputs[name][absent] = 0.0
            inputs[MASK_KEY] = mask
        labels = np.asarray(self.labels[indices]).astype("int64")
        return inputs, labels

    def arrays(self) -> tuple[dict, np.ndarray]:
        """The whole data set, in natural order, as one `(inputs, labels)`.

        Mind the memory: this materialises every example as float32 (e.g.
        10,000 PolyMNIST test tuples take 470 MB). Use `get(indices)` for a
        subset.
        """
        return self.get(np.arange(self.num_examples))

    def __repr__(self):
        return (
            f"<{type(self).__name__} modalities={list(self.modality_names)} "
            f"examples={self.num_examples} batches={len(self)} "
            f"batch_size={self.batch_size} shuffle={self.shuffle} "
            f"drop_last={self.drop_last} seed={self.seed} "
            f"masked={self.mask is not None}>"
        )
