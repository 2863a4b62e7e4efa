"""MNIST-SVHN-Text: label-matched MNIST/SVHN pairs plus the digit's word."""

import os
import warnings
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.mnist_svhn_text.spec import SPEC
from keras_mmvae.src.benchmarks.mnist_svhn_text.spec import TEXT_LENGTH
from keras_mmvae.src.datasets import alphabet
from keras_mmvae.src.datasets import cache
from keras_mmvae.src.datasets import errors
from keras_mmvae.src.datasets import mnist as mnist_lib
from keras_mmvae.src.datasets.formats import mat
from keras_mmvae.src.datasets.py_dataset import MultimodalDataset
from keras_mmvae.src.datasets.py_dataset import stream
from keras_mmvae.src.datasets.py_dataset import to_float

SPLITS = SPEC.splits
MODALITIES = SPEC.modality_names
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven",
               "eight", "nine")
"""The text modality's words, indexed by digit label."""
keras_mmvae_export("keras_mmvae.datasets.mnist_svhn_text.DIGIT_WORDS")(
    DIGIT_WORDS
)
_WORD_LENGTHS = np.array([len(w) for w in DIGIT_WORDS])
_TEXT_STREAM = 3

LAYOUT = """\
  <data_dir>/MNIST/raw/  (or <data_dir>/MNIST/ or <data_dir>/): the MNIST IDX
      files train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
      t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz], or mnist.npz
      (or pass `mnist=`, e.g. `mnist=keras_mmvae.datasets.mnist.load()`)
  <data_dir>/SVHN/train_32x32.mat, <data_dir>/SVHN/test_32x32.mat
      (or directly in <data_dir>/)"""


def text_string(label: int, offset: int) -> str:
    """The 8-character text of a digit: its word at `offset`, then spaces."""
    word = DIGIT_WORDS[int(label)]
    if not 0 <= offset <= TEXT_LENGTH - 1 - len(word):
        raise ValueError(
            f"Offset {offset} out of range for {word!r} (0.."
            f"{TEXT_LENGTH - 1 - len(word)})."
        )
    return " " * offset + word + " " * (TEXT_LENGTH - offset - len(word))


def _text_table():
    table = np.zeros((10, TEXT_LENGTH, TEXT_LENGTH, alphabet.ALPHABET_SIZE),
                     "float32")
    for label, word in enumerate(DIGIT_WORDS):
        for offset in range(TEXT_LENGTH - len(word)):
            table[label, offset] = alphabet.encode_text(
                text_string(label, offset), TEXT_LENGTH)
    return table


TEXT_TABLE = _text_table()


def draw_offsets(labels, rng):
    """Random start of each word: uniform on `0..8 - 1 - len(word)`."""
    return rng.integers(0, TEXT_LENGTH - _WORD_LENGTHS[labels]).astype("int64")


@keras_mmvae_export("keras_mmvae.datasets.mnist_svhn_text.pair_by_label")
def pair_by_label(
    labels_a: np.ndarray,
    labels_b: np.ndarray,
    dm: int = 20,
    max_d: int = 10000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Label-matched pairs with data multiplication (MMVAE/MoPoE).

    `rand_match_on_idx`: for every class `c` of `labels_a` (ascending) take
    `n_c = min(#a_c, #b_c, max_d)` indices of each side (the first ones in
    index order) and append `dm` independent random permutations of each
    side, so every example of the `n_c` is paired `dm` times.

    Args:
        labels_a: `(Na,)` integer labels (MNIST).
        labels_b: `(Nb,)` integer labels (SVHN).
        dm: Data multiplication factor.
        max_d: Maximum examples per class.
        seed: Seed of the permutations.

    Returns:
        int64 `(idx_a, idx_b)` of length `dm · Σ_c n_c`, with
        `labels_a[idx_a] == labels_b[idx_b]`.
    """
    for name, value in (("dm", dm), ("max_d", max_d)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    rng = stream(seed, 0)
    out_a, out_b = [], []
    for c in np.unique(labels_a):
        ia = np.nonzero(labels_a == c)[0]
        ib = np.nonzero(labels_b == c)[0]
        n = min(len(ia), len(ib), int(max_d))
        ia, ib = ia[:n], ib[:n]
        for _ in range(int(dm)):
            out_a.append(ia[rng.permutation(n)])
            out_b.append(ib[rng.permutation(n)])
    if not out_a:
        return np.zeros(0, "int64"), np.zeros(0, "int64")
    return (np.concatenate(out_a).astype("int64"),
            np.concatenate(out_b).astype("int64"))


def pairs_file_name(split, dm, seed):
    """`mnist_svhn_pairs_{split}_dm{dm}_seed{seed}.npz` (the layout in
    docs/benchmarks/mnist-svhn-text.md, "Data")."""
    return f"mnist_svhn_pairs_{split}_dm{dm}_seed{seed}.npz"


def _make_pairs(mnist_y, svhn_y, split, dm, max_d, seed):
    mnist_idx, svhn_idx = pair_by_label(mnist_y, svhn_y, dm, max_d, seed)
    offsets = draw_offsets(mnist_y[mnist_idx], stream(seed, 1))
    return {
        "mnist_idx": mnist_idx,
        "svhn_idx": svhn_idx,
        "text_offset": offsets,
        "split": np.array(split),
        "dm": np.array(dm, "int64"),
        "max_d": np.array(max_d, "int64"),
        "seed": np.array(seed, "int64"),
        "num_mnist": np.array(len(mnist_y), "int64"),
        "num_svhn": np.array(len(svhn_y), "int64"),
    }


def _read_pairs(path, mnist_y, svhn_y, split, dm, max_d, seed):
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except Exception as e:
        raise errors.corrupt_file_error(path, f"not a valid .npz ({e})") from e
    expected = {"split": split, "dm": dm, "max_d": max_d, "seed": seed,
                "num_mnist": len(mnist_y), "num_svhn": len(svhn_y)}
    recorded = {}
    for key in (*expected, "mnist_idx", "svhn_idx", "text_offset"):
        if key not in data:
            raise errors.corrupt_file_error(path, f"no {key!r} array")
    for key in expected:
        recorded[key] = data[key].item()
    if recorded != expected:
        raise ValueError(
            f"The pairing file {path!r} was made with {recorded}, but this "
            f"load needs {expected} (the MNIST/SVHN files changed?). Delete "
            "the file to recompute the pairs, or load with the recorded "
            "parameters."
        )
    mnist_idx, svhn_idx = data["mnist_idx"], data["svhn_idx"]
    offsets = data["text_offset"]
    ok = (
        mnist_idx.ndim == 1
        and mnist_idx.shape == svhn_idx.shape == offsets.shape
        and (len(mnist_idx) == 0 or (
            mnist_idx.min() >= 0 and mnist_idx.max() < len(mnist_y)
            and svhn_idx.min() >= 0 and svhn_idx.max() < len(svhn_y)))
    )
    if not ok:
        raise errors.corrupt_file_error(path, "inconsistent index arrays")
    labels = mnist_y[mnist_idx]
    if not np.array_equal(labels, svhn_y[svhn_idx]):
        raise ValueError(
            f"The pairing file {path!r} pairs MNIST and SVHN images of "
            "different digits: it does not belong to these data files. "
            "Delete it to recompute the pairs."
        )
    if len(offsets) and (
        offsets.min() < 0
        or np.any(offsets > TEXT_LENGTH - 1 - _WORD_LENGTHS[labels])
    ):
        raise errors.corrupt_file_error(path, "text offsets out of range")
    return data


def load_pairs(data_dir, mnist_y, svhn_y, split, dm=20, max_d=10000, seed=0,
               persist=True):
    """Reads the persisted pairing of a split, or makes and persists it.

    Returns:
        `(mnist_idx, svhn_idx, text_offset, path)`; `path` is `None` when the
        pairing could not be written.
    """
    path = os.path.join(os.fspath(data_dir), pairs_file_name(split, dm, seed))
    if os.path.isfile(path):
        data = _read_pairs(path, mnist_y, svhn_y, split, dm, max_d, seed)
    else:
        data = _make_pairs(mnist_y, svhn_y, split, dm, max_d, seed)
        if persist:
            try:
                cache.write_atomically(path,
                                       lambda tmp: np.savez(tmp, **data))
            except OSError as e:
                warnings.warn(
                    f"Could not write the pairing file {path!r} ({e}); the "
                    "(seeded, hence identical) pairs will be recomputed on "
                    "every load.",
                    stacklevel=3,
                )
                path = None
        else:
            path = None
    return (data["mnist_idx"].astype("int64"), data["svhn_idx"].astype("int64"),
            data["text_offset"].astype("int64"), path)


def read_sources(data_dir, split, mnist=None):
    """Returns `(mnist_x, mnist_y, svhn_x, svhn_y)` of one split."""
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}; got {split!r}.")
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise errors.missing_data_error(
            "the MNIST-SVHN-Text folder", data_dir, LAYOUT,
            f"SVHN: {errors.SVHN_URLS}; MNIST: {errors.MNIST_URLS}",
        )
    if mnist is None:
        found = mnist_lib.find_in_folder(data_dir)
        if found is None:
            error = errors.missing_data_error(
                "MNIST (IDX files or mnist.npz)", data_dir, LAYOUT,
                errors.MNIST_URLS,
            )
            pt = mnist_lib.torch_processed_file(data_dir)
            if pt is not None:
                raise FileNotFoundError(
                    f"{error}\nFound {pt!r}, MoPoE's torchvision file, which "
                    "needs PyTorch: convert it once to mnist.npz (see "
                    "`keras_mmvae.datasets.mnist.load`'s error for the "
                    "snippet) or pass "
                    "`mnist=keras_mmvae.datasets.mnist.load()`."
                )
            raise error
        mnist = mnist_lib.load_from(found[1])
    elif isinstance(mnist, (str, os.PathLike)):
        mnist = mnist_lib.load_from(mnist)
    try:
        (x_train, y_train), (x_test, y_test) = mnist
    except (TypeError, ValueError):
        raise ValueError(
            "`mnist` must be `((x_train, y_train), (x_test, y_test))` as "
            "returned by `keras_mmvae.datasets.mnist.load()`, or a path."
        ) from None
    if split == "train":
        mnist_x, mnist_y = x_train, y_train
    else:
        mnist_x, mnist_y = x_test, y_test
    mnist_x, mnist_y = mnist_lib.check_arrays(mnist_x, mnist_y, "`mnist`")
    svhn_path = None
    for folder in (os.path.join(data_dir, "SVHN"),
                   os.path.join(data_dir, "svhn"), data_dir):
        svhn_path = mat.find_svhn(folder, split)
        if svhn_path:
            break
    if svhn_path is None:
        raise errors.missing_data_error(
            f"SVHN ({split}_32x32.mat)", data_dir, LAYOUT, errors.SVHN_URLS
        )
    svhn_x, svhn_y = mat.read_svhn_mat(svhn_path)
    return mnist_x, mnist_y.astype("int64"), svhn_x, svhn_y


@keras_mmvae_export(
    "keras_mmvae.datasets.mnist_svhn_text.MNISTSVHNTextDataset"
)
class MNISTSVHNTextDataset(MultimodalDataset):
    """MNIST-SVHN-Text batches.

    `inputs`: `"mnist"` float32 `(B, 28, 28, 1)`, `"svhn"` `(B, 32, 32, 3)`
    (both in [0, 1]), `"text"` one-hot `(B, 8, 71)`; labels int64 `(B,)`.

    Attributes:
        mnist_images: uint8 `(Nm, 28, 28)`.
        svhn_images: uint8 `(Ns, 32, 32, 3)`.
        mnist_idx, svhn_idx: int64 `(N,)` the pairing.
        text_offset: int64 `(N,)` persisted word start per example.
        labels: int64 `(N,)` digit of each triple.
        pairs_file: Path of the persisted pairing (or `None`).
    """

    def __init__(self, mnist_images, svhn_images, mnist_idx, svhn_idx,
                 text_offset, labels, redraw_text=False, pairs_file=None,
                 **kwargs):
        super().__init__(modality_names=MODALITIES,
                         num_examples=len(mnist_idx), labels=labels, **kwargs)
        self.mnist_images = mnist_images
        self.svhn_images = svhn_images
        self.mnist_idx = mnist_idx
        self.svhn_idx = svhn_idx
        self.text_offset = text_offset
        self.redraw_text = bool(redraw_text)
        self.pairs_file = pairs_file
        self._offset_cache = None

    def offsets(self, epoch: int | None = None) -> np.ndarray:
        """Word offsets used in an epoch (the persisted ones unless
        `redraw_text`, then drawn from a generator seeded by
        `(seed, epoch)`)."""
        if not self.redraw_text:
            return self.text_offset
        epoch = self.epoch if epoch is None else int(epoch)
        cache = self._offset_cache
        if cache is not None and cache[0] == epoch:
            return cache[1]
        offsets = draw_offsets(self.labels,
                               stream(self.seed, _TEXT_STREAM, epoch))
        self._offset_cache = (epoch, offsets)
        return offsets

    def fetch(self, indices):
        labels = self.labels[indices]
        return {
            "mnist": to_float(
                self.mnist_images[self.mnist_idx[indices]])[..., None],
            "svhn": to_float(self.svhn_images[self.svhn_idx[indices]]),
            "text": TEXT_TABLE[labels, self.offsets()[indices]],
        }

    def texts(self, indices: np.ndarray) -> list[str]:
        """The text strings of some examples (current epoch's offsets)."""
        indices = np.asarray(indices)
        return [text_string(label, offset) for label, offset in
                zip(self.labels[indices], self.offsets()[indices])]


@keras_mmvae_export("keras_mmvae.datasets.mnist_svhn_text.load")
def load(
    data_dir: str | os.PathLike,
    split: str = "train",
    batch_size: int = 256,
    shuffle: bool | None = None,
    seed: int | None = None,
    missing_rate: float | Sequence[float] = 0.0,
    missing_per_class: Mapping[int, float | Sequence[float]] | None = None,
    drop_last: bool | None = None,
    mnist: tuple | str | os.PathLike | None = None,
    dm: int = 20,
    max_d: int = 10000,
    pairing_seed: int = 0,
    redraw_text: bool | None = None,
    persist_pairs: bool = True,
    workers: int = 1,
    use_multiprocessing: bool = False,
    max_queue_size: int = 10,
    num_shards: int = 1,
    shard_index: int = 0,
) -> MNISTSVHNTextDataset:
    """Loads MNIST-SVHN-Text triples as batches for `model.fit`.

    Layout (MoPoE's `data_mnistsvhntext`, without the PyTorch files):

    ```
    <data_dir>/MNIST/raw/   (or MNIST/, or <data_dir>/) IDX files or mnist.npz
    <data_dir>/SVHN/{train,test}_32x32.mat          (or in <data_dir>/)
    ```

    SVHN's label 10 is the digit 0 and its `(32, 32, 3, N)` axes are moved
    to `(N, 32, 32, 3)`. MNIST and SVHN images are paired by label with
    data multiplication (`pair_by_label`: per class `min(#MNIST, #SVHN,
    max_d)` images of each side, `dm` random permutations). Each triple's
    text is the digit's English word at a random start in 8 characters
    (spaces elsewhere), one-hot over the 71-symbol alphabet. The pairing and
    the word offsets are drawn with `pairing_seed` and persisted as
    `<data_dir>/mnist_svhn_pairs_{split}_dm{dm}_seed{pairing_seed}.npz`
    (int64 `mnist_idx`, `svhn_idx`, `text_offset` and the recorded
    parameters, checked on every load), so every run sees the same triples.
    MoPoE instead re-pairs (unseeded) on every construction and redraws the
    offsets on every access, a free augmentation of the text modality. By
    default a shuffled (training) load redraws them every epoch from a
    generator seeded by `(seed, epoch)`, so runs stay reproducible;
    unshuffled loads (the test split, `load_arrays`) keep the persisted
    offsets, so evaluation sees fixed texts.

    Args:
        data_dir: Folder of the layout above (where the pairing is saved).
        split: `"train"` (≈ 56k matched pairs × 20 ≈ 1.12 M triples) or
            `"test"` (10,000 × 20).
        batch_size: Batch size.
        shuffle: Reshuffle every epoch; default `True` for `"train"`.
        seed: Seed of the order, the mask and redrawn text offsets.
        missing_rate: Missing-completely-at-random probability (scalar or
            per modality in the order mnist, svhn, text).
        missing_per_class: Missing-not-at-random probabilities per digit.
        drop_last: Only full batches; default `True` for `"train"`.
        mnist: MNIST instead of the copy in `data_dir`: the tuple returned by
            `keras_mmvae.datasets.mnist.load()` or a path for it.
        dm: Data multiplication (MoPoE 20; MMVAE 30; MultiVae 5).
        max_d: Maximum images per class and side.
        pairing_seed: Seed of the pairing and the persisted offsets.
        redraw_text: Redraw word offsets every epoch; default: when
            shuffling (the training split).
        persist_pairs: Write the pairing file (it is read when present).
        workers: `keras.utils.PyDataset` workers.
        use_multiprocessing: See `keras.utils.PyDataset`.
        max_queue_size: See `keras.utils.PyDataset`.
        num_shards: Data-parallel workers sharing every epoch (see
            `MultimodalDataset`).
        shard_index: This worker's shard, `0 <= shard_index < num_shards`.

    Returns:
        A `MNISTSVHNTextDataset` yielding `({"mnist", "svhn", "text"[,
        "mask"]}, labels)`.

    Raises:
        FileNotFoundError: MNIST or SVHN files are absent (the message shows
            the layout and the download pages).
        ValueError: A corrupt file or a pairing file that does not match.
    """
    mnist_x, mnist_y, svhn_x, svhn_y = read_sources(data_dir, split, mnist)
    mnist_idx, svhn_idx, offsets, path = load_pairs(
        data_dir, mnist_y, svhn_y, split, dm, max_d, pairing_seed,
        persist=persist_pairs,
    )
    if len(mnist_idx) == 0:
        raise ValueError(
            f"MNIST and SVHN {split!r} share no digit class; nothing to pair."
        )
    train = split == "train"
    shuffle = train if shuffle is None else shuffle
    return MNISTSVHNTextDataset(
        mnist_x, svhn_x, mnist_idx, svhn_idx, offsets, mnist_y[mnist_idx],
        redraw_text=shuffle if redraw_text is None else redraw_text,
        pairs_file=path,
        batch_size=batch_size,
        shuffle=shuffle,
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


@keras_mmvae_export("keras_mmvae.datasets.mnist_svhn_text.load_arrays")
def load_arrays(
    data_dir: str | os.PathLike, split: str = "test", **kwargs: Any
) -> tuple[dict, np.ndarray]:
    """All triples of a split as arrays `({"mnist", "svhn", "text"}, labels)`.

    The texts use the persisted word offsets (never redrawn).

    Mind the size: the test split (200,000 triples with `dm=20`) takes
    3.5 GB as float32; pass e.g. `dm=1` for one pass over the matched pairs.

    Args:
        data_dir: As for `load`.
        split: `"train"` or `"test"`.
        **kwargs: Other `load` arguments (`mnist`, `dm`, ...).

    Returns:
        `(inputs, labels)` of the whole split, in pairing order.
    """
    kwargs.setdefault("shuffle", False)
    kwargs.setdefault("drop_last", False)
    kwargs.setdefault("redraw_text", False)
    return load(data_dir, split, **kwargs).arrays()
