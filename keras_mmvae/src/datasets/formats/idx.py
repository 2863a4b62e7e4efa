"""IDX files (MNIST): a big-endian header and raw values, optionally gzipped.

Header: two zero bytes, a type code, the number of dimensions `d`, then `d`
big-endian int32 sizes. MNIST images have magic 2051 (`0x00000803`: uint8,
3 dimensions `n, 28, 28`), labels 2049 (`0x00000801`: uint8, `n`).
"""

import gzip
import os
import zlib

import numpy as np

from keras_mmvae.src.datasets.errors import corrupt_file_error

_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes(path):
    """Reads a file, transparently un-gzipping it (by magic bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise corrupt_file_error(path, f"broken gzip stream ({e})") from e
    return data


def parse_idx(data, path="<bytes>"):
    """Parses IDX bytes into a NumPy array (native byte order)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise corrupt_file_error(path, "no IDX header (magic number)")
    code, ndim = data[2], data[3]
    if code not in _DTYPES or ndim == 0:
        raise corrupt_file_error(
            path, f"unknown IDX type code 0x{code:02x} / {ndim} dimensions"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise corrupt_file_error(path, "truncated IDX header")
    shape = tuple(int(s) for s in np.frombuffer(data, ">i4", ndim, 4))
    dtype = _DTYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise corrupt_file_error(
            path,
            f"header says shape {shape} ({expected} bytes of data) but the "
            f"file holds {len(data) - header} bytes",
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path):
    """Reads an IDX file (plain or `.gz`) into a NumPy array."""
    return parse_idx(read_bytes(path), os.fspath(path))


_MNIST_STEMS = {
    ("train", "images"): ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    ("train", "labels"): ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    ("test", "images"): ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def find_mnist_idx(folder):
    """Maps `(split, kind)` to the IDX file in `folder`; `None` if incomplete.

    Accepts the canonical names (`train-images-idx3-ubyte`, ...), the
    `train-images.idx3-ubyte` variant of some archives, each plain or `.gz`.
    """
    found = {}
    for key, stems in _MNIST_STEMS.items():
        for stem in stems:
            for suffix in ("", ".gz"):
                path = os.path.join(folder, stem + suffix)
                if os.path.isfile(path):
                    found.setdefault(key, path)
    return found if len(found) == len(_MNIST_STEMS) else None


def load_mnist_idx(folder):
    """Reads the four MNIST IDX files of `folder` (checked) as uint8."""
    files = find_mnist_idx(folder)
    if files is None:
        return None
    out = {}
    for split in ("train", "test"):
        images = read_idx(files[split, "images"])
        labels = read_idx(files[split, "labels"])
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise corrupt_file_error(
                files[split, "images"],
                f"expected images of shape (n, 28, 28), got {images.shape}",
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"{files[split, 'labels']!r} holds {labels.shape} labels but "
                f"{files[split, 'images']!r} holds {len(images)} images; the "
                "files do not belong together."
            )
        out[split] = (images.astype("uint8"), labels.astype("uint8"))
    return (out["train"], out["test"])
