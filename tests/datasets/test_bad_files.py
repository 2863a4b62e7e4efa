"""Bad input to the data readers: every case raises a `ValueError` or
`FileNotFoundError` that names the problem and the fix, and leaves no file
behind (no partial decode cache, no half-written pairing file)."""

import os
import re

import numpy as np
import pytest
from PIL import Image

from keras_mmvae.datasets import celeba
from keras_mmvae.datasets import mnist
from keras_mmvae.datasets import mnist_svhn_text as mst
from keras_mmvae.datasets import polymnist
from keras_mmvae.src.benchmarks.mnist_svhn_text import data as mst_impl
from keras_mmvae.src.testing import fixtures

pytestmark = pytest.mark.one_backend

# What each kind of message must tell the user to do.
REDOWNLOAD = "download it again"
SHOW_LAYOUT = "Expected layout"


def _truncate(path, keep=0.5):
    with open(path, "rb") as f:
        raw = f.read()
    with open(path, "wb") as f:
        f.write(raw[:int(len(raw) * keep)])


def _polymnist_pngs(root, entries=((0, 3), (1, 3), (0, 7), (2, 7))):
    for m in range(3):
        folder = os.path.join(root, "train", f"m{m}")
        os.makedirs(folder, exist_ok=True)
        for index, label in entries:
            pixels = np.full((28, 28, 3), 10 * index + label + 40 * m,
                             "uint8")
            # Noise makes the PNG long enough to cut in the image data.
            pixels[::3, ::3] = np.random.default_rng(index).integers(
                0, 256, (10, 10, 3))
            Image.fromarray(pixels).save(
                os.path.join(folder, f"{index}.{label}.png"))


def _polymnist(root):
    return polymnist.load(root, "train", batch_size=2, progress=False)


def polymnist_missing_folder(root):
    return lambda: _polymnist(root / "absent")


def polymnist_truncated_png(root):
    _polymnist_pngs(root)
    _truncate(root / "train" / "m1" / "1.3.png")
    return lambda: _polymnist(root)


def polymnist_corrupt_png(root):
    _polymnist_pngs(root)
    (root / "train" / "m2" / "0.7.png").write_bytes(b"not a png at all")
    return lambda: _polymnist(root)


def polymnist_empty_modality_folder(root):
    _polymnist_pngs(root)
    for name in os.listdir(root / "train" / "m1"):
        os.remove(root / "train" / "m1" / name)
    return lambda: _polymnist(root)


def polymnist_mismatched_names(root):
    _polymnist_pngs(root)
    os.rename(root / "train" / "m2" / "2.7.png",
              root / "train" / "m2" / "5.7.png")
    return lambda: _polymnist(root)


def polymnist_truncated_npz(root):
    rng = np.random.default_rng(0)
    np.savez(root / "train.npz", labels=np.arange(20) % 10,
             **{f"m{k}": rng.integers(0, 256, (20, 28, 28, 3), "uint8")
                for k in range(3)})
    _truncate(root / "train.npz")
    return lambda: _polymnist(root)


def mnist_truncated_idx(root):
    fixtures.write_mnist_idx(root, 20, 10)
    _truncate(root / "t10k-images-idx3-ubyte", keep=0.9)
    return lambda: mnist.load(root)


def mnist_truncated_npz(root):
    fixtures.write_mnist_npz(root / "mnist.npz", 20, 10)
    _truncate(root / "mnist.npz")
    return lambda: mnist.load(root / "mnist.npz")


def _mnist_svhn_text(root):
    fixtures.write_mnist_idx(root / "MNIST", 60, 30)
    fixtures.write_svhn_mat(root / "SVHN", 60, 30)


def svhn_truncated_mat(root):
    _mnist_svhn_text(root)
    _truncate(root / "SVHN" / "test_32x32.mat")
    return lambda: mst.load(root, "test")


def mnist_svhn_text_truncated_pairs(root):
    _mnist_svhn_text(root)
    mst.load(root, "test")  # writes the pairing file
    _truncate(root / mst_impl.pairs_file_name("test", 20, 0))
    return lambda: mst.load(root, "test")


def mnist_svhn_text_missing_folder(root):
    return lambda: mst.load(root / "absent", "test")


def _celeba(root):
    return celeba.load(root, "train", batch_size=2, progress=False)


def celeba_missing_folder(root):
    return lambda: _celeba(root / "absent")


def celeba_truncated_jpeg(root):
    ids, _, _ = fixtures.write_celeba(root, 8)
    _truncate(root / "img_align_celeba" / ids[0], keep=0.3)
    return lambda: _celeba(root)


def celeba_empty_image_folder(root):
    ids, _, _ = fixtures.write_celeba(root, 8)
    for image_id in ids:
        os.remove(root / "img_align_celeba" / image_id)
    return lambda: _celeba(root)


def celeba_attribute_columns(root):
    """Every row (and the header) one attribute short: 39 columns."""
    fixtures.write_celeba(root, 8)
    path = root / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[1] = " ".join(lines[1].split()[:-1])
    lines[2:] = [line.rsplit(" ", 1)[0] for line in lines[2:]]
    path.write_text("\n".join(lines) + "\n")
    return lambda: _celeba(root)


def celeba_csv_attribute_columns(root):
    fixtures.write_celeba(root, 8, layout="csv")
    path = root / "list_attr_celeba.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines)
                    + "\n")
    return lambda: _celeba(root)


# (case, exception, what the message must name, the fix it must give)
CASES = [
    (polymnist_missing_folder, FileNotFoundError, "absent", SHOW_LAYOUT),
    (polymnist_truncated_png, ValueError, "1.3.png", REDOWNLOAD),
    (polymnist_corrupt_png, ValueError, "0.7.png", REDOWNLOAD),
    (polymnist_empty_modality_folder, FileNotFoundError, "m1", "layout"),
    (polymnist_mismatched_names, ValueError, "5.7.png", "m2"),
    (polymnist_truncated_npz, ValueError, "train.npz", REDOWNLOAD),
    (mnist_truncated_idx, ValueError, "t10k-images-idx3-ubyte",
     REDOWNLOAD),
    (mnist_truncated_npz, ValueError, "mnist.npz", REDOWNLOAD),
    (svhn_truncated_mat, ValueError, "test_32x32.mat", REDOWNLOAD),
    (mnist_svhn_text_truncated_pairs, ValueError,
     "mnist_svhn_pairs_test_dm20_seed0.npz", "download it again|Delete"),
    (mnist_svhn_text_missing_folder, FileNotFoundError, "absent",
     SHOW_LAYOUT),
    (celeba_missing_folder, FileNotFoundError, "absent", SHOW_LAYOUT),
    (celeba_truncated_jpeg, ValueError, "000001.jpg", REDOWNLOAD),
    (celeba_empty_image_folder, FileNotFoundError, "000001.jpg",
     "img_align_celeba"),
    (celeba_attribute_columns, ValueError, "list_attr_celeba.txt", "40"),
    (celeba_csv_attribute_columns, ValueError, "list_attr_celeba.csv",
     "40"),
]


def _files(root):
    return {os.path.relpath(os.path.join(d, f), root)
            for d, _, names in os.walk(root) for f in names}


@pytest.mark.parametrize("case, error, names, fix", CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_bad_input_is_named_and_leaves_no_files(tmp_path, case, error,
                                                names, fix):
    root = tmp_path / "data"
    root.mkdir()
    load = case(root)
    before = _files(root)
    with pytest.raises(error) as info:
        load()
    message = str(info.value)
    assert re.escape(names) and names in message, message
    assert re.search(fix, message), message
    assert _files(root) == before


def test_interrupted_cache_write_leaves_no_files(tmp_path, monkeypatch):
    """A disk that fills up while the decode cache is written: the data
    still loads (with a warning) and no partial entry stays behind."""
    from keras_mmvae.src.datasets import cache

    arrays = {"a": np.arange(6), "b": np.ones((2, 3))}
    real_save = np.save

    def save(path, array):
        if str(path).endswith(".b.tmp" + str(os.getpid()) + ".npy"):
            with open(path, "wb") as f:
                f.write(b"\x93NUMPY partial")
            raise OSError(28, "No space left on device")
        real_save(path, array)

    monkeypatch.setattr(np, "save", save)
    with pytest.warns(UserWarning, match="No space left"):
        out = cache.cached(lambda: arrays, tmp_path / "c", "key", {"v": 1})
    np.testing.assert_array_equal(out["a"], arrays["a"])
    assert _files(tmp_path) == set()


class _Payload:
    """Pickling this runs `os.system` on load: what a hostile file does."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_mnist_pickle_refuses_anything_but_arrays(tmp_path):
    import gzip
    import pickle

    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(((_Payload(), None),) * 3, f)
    with pytest.raises(ValueError, match=r"mnist.pkl.gz.*refusing.*system"):
        mnist.load(path)
    # A real-format pickle (float32 k/256 values, train + valid + test).
    (x, y), (xt, yt) = fixtures.mnist_like(12, 0), fixtures.mnist_like(4, 1)
    for protocol in (2, 4, 5):
        with gzip.open(path, "wb") as f:
            pickle.dump(((x[:8] / 256.0, y[:8]), (x[8:] / 256.0, y[8:]),
                         (xt / 256.0, yt)), f, protocol=protocol)
        (x_train, y_train), (x_test, _) = mnist.load(path)
        np.testing.assert_array_equal(x_train, x)
        np.testing.assert_array_equal(y_train, y)
        np.testing.assert_array_equal(x_test, xt)
