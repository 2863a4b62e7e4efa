"""SVHN `.mat` files (`train_32x32.mat`, `test_32x32.mat`)."""

import os

import numpy as np

from keras_mmvae.src.datasets.errors import corrupt_file_error


def read_svhn_mat(path):
    """Reads an SVHN cropped-digits `.mat` file.

    `scipy.io.loadmat` gives `X` uint8 `(32, 32, 3, N)` and `y` `(N, 1)` with
    labels 1-10 where 10 means the digit 0.

    Returns:
        `(x, y)`: uint8 `(N, 32, 32, 3)` images and int64 `(N,)` digits 0-9.
    """
    import scipy.io

    try:
        data = scipy.io.loadmat(path, variable_names=("X", "y"))
    except NotImplementedError as e:  # MATLAB v7.3 (HDF5) files
        raise corrupt_file_error(path, f"unsupported .mat version ({e})")
    except Exception as e:  # scipy raises ValueError/TypeError/OSError
        raise corrupt_file_error(path, f"scipy.io.loadmat failed ({e})") from e
    if "X" not in data or "y" not in data:
        raise corrupt_file_error(
            path, f"expected variables 'X' and 'y', found {sorted(data)}"
        )
    x, y = np.asarray(data["X"]), np.asarray(data["y"]).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
        raise corrupt_file_error(
            path, f"'X' must have shape (32, 32, 3, N); got {x.shape}"
        )
    if x.shape[3] != len(y):
        raise corrupt_file_error(
            path, f"'X' holds {x.shape[3]} images but 'y' {len(y)} labels"
        )
    y = y.astype("int64")
    if len(y) and (y.min() < 0 or y.max() > 10):
        raise corrupt_file_error(
            path, f"labels must lie in 1..10; got [{y.min()}, {y.max()}]"
        )
    y = np.where(y == 10, 0, y)
    x = np.ascontiguousarray(np.transpose(x, (3, 0, 1, 2)), dtype="uint8")
    return x, y


def find_svhn(folder, split):
    """Returns the path of `{split}_32x32.mat` in `folder` or `None`."""
    path = os.path.join(folder, f"{split}_32x32.mat")
    return path if os.path.isfile(path) else None
