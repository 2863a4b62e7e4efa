"""PolyMNIST loader (PNG / npz layouts); synthesis is in `synthesis`."""

import os
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.polymnist import files
from keras_mmvae.src.benchmarks.polymnist.spec import SPEC
from keras_mmvae.src.datasets import cache as cache_lib
from keras_mmvae.src.datasets import parallel
from keras_mmvae.src.datasets.py_dataset import MultimodalDataset
from keras_mmvae.src.datasets.py_dataset import to_float

SPLITS = SPEC.splits


@keras_mmvae_export("keras_mmvae.datasets.polymnist.PolyMNISTDataset")
class PolyMNISTDataset(MultimodalDataset):
    """PolyMNIST batches: `{"m0": (B, 28, 28, 3), ..., "m4": ...}` in [0, 1].

    Attributes:
        images: Dict `m{k}` → uint8 `(N, 28, 28, 3)` (memory-mapped cache)
            or float32 for float `.npz` data.
        labels: int64 `(N,)` digits, sorted by `(label, index)`.
        source: The split folder or `.npz` file read.
    """

    def __init__(self, images, labels, source, **kwargs):
        super().__init__(modality_names=list(images), num_examples=len(labels),
                         labels=labels, **kwargs)
        self.images = images
        self.source = source

    def _fetch(self, indices):
        return {m: to_float(self.images[m][indices])
                for m in self.modality_names}


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}; got {split!r}.")


def read_split(data_dir, split, cache=True, cache_dir=None, decode_workers=1,
               progress=True):
    """Decodes one split; returns `(images, labels, source)`."""
    _check_split(split)
    parallel.check_workers(decode_workers, "decode_workers")
    kind, path = files.find(data_dir, split)
    if kind == "pt":
        raise files.torch_layout_error(path)
    if kind == "npz":
        images, labels = files.read_npz(path)
        return images, labels, path
    names, labels, stats = files.scan_png(path)
    count = len(stats)
    signature = {
        "layout": "png",
        "split": split,
        "modalities": count,
        "files": cache_lib.names_signature(
            [(k, *entry) for k, entries in enumerate(stats)
             for entry in entries]
        ),
    }

    def build():
        chunk = files.FILES_PER_JOB
        jobs = (
            (([os.path.join(path, f"m{k}", n) for n in names[i:i + chunk]],),
             len(names[i:i + chunk]))
            for k in range(count) for i in range(0, len(names), chunk)
        )
        bar = parallel.progress_bar(len(names) * count,
                                    f"Decoding PolyMNIST {split}", progress)
        with bar, parallel.Pool(decode_workers) as pool:
            parts = pool.map_chunks(files.decode_png_files, jobs, bar)
        per_modality = -(-len(names) // chunk)  # chunks per modality
        out = {f"m{k}": np.concatenate(
            parts[k * per_modality:(k + 1) * per_modality])
            for k in range(count)}
        out["labels"] = labels
        return out

    root = os.path.dirname(path)
    arrays = cache_lib.cached(
        build,
        os.fspath(cache_dir or os.path.join(root, cache_lib.DEFAULT_DIR_NAME)),
        cache_lib.entry_key(f"polymnist_{split}", path, cache_dir),
        signature,
        enabled=cache,
    )
    images = {f"m{k}": arrays[f"m{k}"] for k in range(count)}
    return images, np.asarray(arrays["labels"]), path


@keras_mmvae_export("keras_mmvae.datasets.polymnist.load")
def load(
    data_dir: str | os.PathLike,
    split: str = "train",
    batch_size: int = 256,
    shuffle: bool | None = None,
    seed: int | None = None,
    missing_rate: float | Sequence[float] = 0.0,
    missing_per_class: Mapping[int, float | Sequence[float]] | None = None,
    drop_last: bool | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    decode_workers: int = 1,
    progress: bool = True,
    workers: int = 1,
    use_multiprocessing: bool = False,
    max_queue_size: int = 10,
    num_shards: int = 1,
    shard_index: int = 0,
) -> PolyMNISTDataset:
    """Loads a PolyMNIST split as batches for `model.fit`.

    Reads the published PNG layout (MoPoE `MMNIST/`, MMVAE+ `PolyMNIST/`):

    ```
    <data_dir>/[MMNIST/ or PolyMNIST/]{train,test}/m{0..4}/<i>.<label>.png
    ```

    Files are matched across modalities by name (index and label; a name
    missing in one modality, or the same index with another label, is an
    error) and sorted numerically by `(label, index)`. Also reads
    `<data_dir>/{train,test}.npz` (arrays `m0..m4`, channels-first float in
    [0, 1] or channels-last uint8, and `labels`) — the one-time conversion of
    the PyTorch tensor layout (`m{k}.pt`, `labels.pt`), which is refused
    with instructions because it needs PyTorch.

    The PNGs are decoded once and cached as memory-mapped `.npy` arrays in
    `<root>/keras_mmvae_cache/` (revalidated against file names, sizes and
    times on every load), so later loads take about a second.

    Args:
        data_dir: Folder holding `train/` and `test/` (or `MMNIST/`,
            `PolyMNIST/`, or the `.npz` files).
        split: `"train"` (60,000 tuples) or `"test"` (10,000).
        batch_size: Batch size (256 in the reference protocol).
        shuffle: Reshuffle every epoch; default `True` for `"train"`.
        seed: Seed of the order and of the missing-modality mask.
        missing_rate: Probability that a modality is missing (completely at
            random), a float or one per modality. `> 0` adds `"mask"`.
        missing_per_class: Missing-not-at-random probabilities per digit,
            e.g. `{0: 0.8, 1: [0.5, 0, 0, 0, 0]}`; other digits use
            `missing_rate`.
        drop_last: Only full batches; default `True` for `"train"`.
        cache: Read/write the decode cache.
        cache_dir: Cache folder (default `<root>/keras_mmvae_cache`).
        decode_workers: Processes decoding PNGs on the first load ("spawn"
            workers each import Keras first: worth it on idle cores only).
        progress: Show a tqdm progress bar while decoding.
        workers: `keras.utils.PyDataset` workers (threads, or processes with
            `use_multiprocessing=True`).
        use_multiprocessing: See `keras.utils.PyDataset`.
        max_queue_size: See `keras.utils.PyDataset`.
        num_shards: Data-parallel workers sharing every epoch (see
            `MultimodalDataset`).
        shard_index: This worker's shard, `0 <= shard_index < num_shards`.

    Returns:
        A `PolyMNISTDataset` (a `keras.utils.PyDataset`) yielding
        `(inputs, labels)`: `inputs` `{"m0": ..., "m4": ...}` float32
        `(B, 28, 28, 3)` in [0, 1] (+ `"mask"` `(B, 5)`), labels int64
        `(B,)`. `.images`, `.labels`, `.get(indices)` and `.arrays()` give
        the decoded data.

    Raises:
        FileNotFoundError: The layout is absent (the message shows it and
            where PolyMNIST is published).
        ValueError: A corrupt PNG or mismatched modalities (named).

    Example:
    ```python
    import tempfile
    import keras_mmvae as mm

    root = tempfile.mkdtemp()
    mm.datasets.polymnist.make(None, root, num_train=64, num_test=32,
                               progress=False)
    data = mm.datasets.polymnist.load(root, "train", batch_size=32)
    inputs, labels = data[0]
    assert inputs["m0"].shape == (32, 28, 28, 3) and labels.shape == (32,)
    ```
    """
    images, labels, source = read_split(data_dir, split, cache=cache,
                                        cache_dir=cache_dir,
                                        decode_workers=decode_workers,
                                        progress=progress)
    train = split == "train"
    return PolyMNISTDataset(
        images, labels, source,
        batch_size=batch_size,
        shuffle=train if shuffle is None else shuffle,
        seed=seed,
        drop_last=train if drop_last is None else drop_last,
        missing_rate=missing_rate,
        missing_per_class=missing_per_class,
        workers=workers,
        use_multiprocessing=use_multiprocessing,
        max_queue_size=max_queue_size,
        num_shards=num_shards,
        shard_index=shard_index,
    )


@keras_mmvae_export("keras_mmvae.datasets.polymnist.load_arrays")
def load_arrays(
    data_dir: str | os.PathLike, split: str = "test", **kwargs: Any
) -> tuple[dict, np.ndarray]:
    """The decoded split as arrays `({"m0": ..., ...}, labels)`, in order.

    float32 `(N, 28, 28, 3)` in [0, 1] per modality (10,000 test tuples take
    470 MB; the 60,000 training tuples 2.8 GB) and int64 labels `(N,)`.

    Args:
        data_dir: As for `load`.
        split: `"train"` or `"test"`.
        **kwargs: Other `load` arguments (`cache`, `missing_rate`, ...).

    Returns:
        `(inputs, labels)` of the whole split.
    """
    kwargs.setdefault("shuffle", False)
    kwargs.setdefault("drop_last", False)
    return load(data_dir, split, **kwargs).arrays()
