"""MNIST-SVHN-Text: .mat reading, pairing, persisted pairs, text, errors."""

import os

import numpy as np
import pytest
import scipy.io

from keras_mmvae.datasets import decode_text
from keras_mmvae.datasets import mnist_svhn_text as mst
from keras_mmvae.src.benchmarks.mnist_svhn_text import data as mst_impl
from keras_mmvae.src.datasets.formats import mat
from keras_mmvae.src.testing import fixtures

pytestmark = pytest.mark.one_backend


@pytest.fixture
def data_dir(tmp_path):
    mnist = fixtures.write_mnist_idx(tmp_path / "MNIST" / "raw", 300, 120,
                                     gz=True)
    svhn = fixtures.write_svhn_mat(tmp_path / "SVHN", 400, 150)
    return tmp_path, mnist, svhn


def ids_of(images):
    """The example index encoded in pixels (0, 0) and (0, 1)."""
    values = np.round(images[:, 0, :2, 0] * 255).astype("int64")
    return values[:, 0] + 256 * values[:, 1]


def test_svhn_mat_axes_and_label_ten(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 32, 3, 5), dtype="uint8")
    y = np.array([[10], [1], [9], [10], [5]], "uint8")
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y})
    images, labels = mat.read_svhn_mat(tmp_path / "train_32x32.mat")
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[3], x[..., 3])
    np.testing.assert_array_equal(labels, [0, 1, 9, 0, 5])
    assert labels.dtype == np.int64


def test_batches_are_aligned_and_well_formed(data_dir):
    root, ((_, ym), _), svhn = data_dir
    data = mst.load(root, "train", batch_size=64, seed=0)
    assert data.modality_names == ("mnist", "svhn", "text")
    assert data.shuffle and data.drop_last
    inputs, labels = data[0]
    assert inputs["mnist"].shape == (64, 28, 28, 1)
    assert inputs["svhn"].shape == (64, 32, 32, 3)
    assert inputs["text"].shape == (64, 8, 71)
    assert all(v.dtype == np.float32 for v in inputs.values())
    assert labels.shape == (64,) and labels.dtype == np.int64
    for name in ("mnist", "svhn"):
        assert inputs[name].min() >= 0 and inputs[name].max() <= 1
    np.testing.assert_array_equal(inputs["text"].sum(-1).max(), 1.0)
    np.testing.assert_array_equal(ym[ids_of(inputs["mnist"])], labels)
    np.testing.assert_array_equal(svhn["train"][1][ids_of(inputs["svhn"])],
                                  labels)
    for text, label in zip(decode_text(inputs["text"]), labels):
        word = mst.DIGIT_WORDS[label]
        assert len(text) == 8 and text.strip() == word
        start = text.index(word)
        assert 0 <= start <= 8 - 1 - len(word)
        assert text == " " * start + word + " " * (8 - start - len(word))


def test_pairing_follows_rand_match_on_idx(data_dir):
    _, ((_, ym), _), svhn = data_dir
    ys = svhn["train"][1]
    for dm, max_d in ((20, 10000), (3, 5)):
        a, b = mst.pair_by_label(ym, ys, dm=dm, max_d=max_d, seed=0)
        assert a.dtype == b.dtype == np.int64
        np.testing.assert_array_equal(ym[a], ys[b])
        total = 0
        for c in range(10):
            n_c = min((ym == c).sum(), (ys == c).sum(), max_d)
            total += n_c
            first_a = np.nonzero(ym == c)[0][:n_c]
            first_b = np.nonzero(ys == c)[0][:n_c]
            for idx, first in ((a, first_a), (b, first_b)):
                used, counts = np.unique(idx[ym[a] == c], return_counts=True)
                np.testing.assert_array_equal(used, first)
                assert np.all(counts == dm)
        assert len(a) == dm * total
    again = mst.pair_by_label(ym, ys, seed=0)
    other = mst.pair_by_label(ym, ys, seed=1)
    np.testing.assert_array_equal(again[0], mst.pair_by_label(ym, ys)[0])
    assert not np.array_equal(again[0], other[0])


def test_pairs_are_persisted_and_reproducible(data_dir, monkeypatch):
    root, _, _ = data_dir
    first = mst.load(root, "test", batch_size=32)
    path = root / "mnist_svhn_pairs_test_dm20_seed0.npz"
    assert first.pairs_file == str(path) and path.is_file()
    with np.load(path) as f:
        for key in ("mnist_idx", "svhn_idx", "text_offset"):
            assert f[key].dtype == np.int64
        np.testing.assert_array_equal(f["mnist_idx"], first.mnist_idx)
        assert int(f["dm"]) == 20 and int(f["seed"]) == 0
    # A second load reads the file instead of pairing again.
    monkeypatch.setattr(mst_impl, "pair_by_label", _fail)
    second = mst.load(root, "test", batch_size=32)
    np.testing.assert_array_equal(second.svhn_idx, first.svhn_idx)
    np.testing.assert_array_equal(second.text_offset, first.text_offset)
    monkeypatch.undo()
    # Recomputing from scratch (a new run) gives the same pairs.
    os.remove(path)
    third = mst.load(root, "test", batch_size=32)
    np.testing.assert_array_equal(third.mnist_idx, first.mnist_idx)
    np.testing.assert_array_equal(third.text_offset, first.text_offset)
    other = mst.load(root, "test", batch_size=32, pairing_seed=1, dm=5)
    assert (root / "mnist_svhn_pairs_test_dm5_seed1.npz").is_file()
    assert other.num_examples * 4 == first.num_examples
    assert not mst.load(root, "test", persist_pairs=False, dm=2).pairs_file
    assert not (root / "mnist_svhn_pairs_test_dm2_seed0.npz").exists()


def _fail(*args, **kwargs):
    raise AssertionError("paired again")


def test_pairing_file_is_checked(data_dir):
    root, _, _ = data_dir
    mst.load(root, "test", batch_size=32)
    path = root / "mnist_svhn_pairs_test_dm20_seed0.npz"
    with np.load(path) as f:
        content = {k: f[k] for k in f.files}
    np.savez(path, **dict(content, dm=np.array(5)))
    with pytest.raises(ValueError, match="pairs_test_dm20_seed0.npz.*dm"):
        mst.load(root, "test")
    np.savez(path, **content)
    # Other SVHN data of the same size: the stored pairs no longer match.
    fixtures.write_svhn_mat(root / "SVHN", 400, 150, seed=9)
    with pytest.raises(ValueError, match="different digits"):
        mst.load(root, "test")
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="pairs_test_dm20_seed0.npz"):
        mst.load(root, "test")


def test_text_offsets_persisted_or_redrawn_per_epoch(data_dir):
    root, _, _ = data_dir
    data = mst.load(root, "train", batch_size=64, seed=0, redraw_text=False)
    lengths = np.array([len(w) for w in mst.DIGIT_WORDS])[data.labels]
    assert data.text_offset.min() == 0
    assert np.all(data.text_offset <= 7 - lengths)
    assert np.any(data.text_offset == 7 - lengths)
    indices = data.batch_indices(0)
    before = data.get(indices)[0]["text"]
    data.on_epoch_end()
    np.testing.assert_array_equal(data.get(indices)[0]["text"], before)
    redraw = mst.load(root, "train", batch_size=64, seed=0, redraw_text=True)
    epoch0 = redraw.offsets().copy()
    redraw.on_epoch_end()
    epoch1 = redraw.offsets()
    assert not np.array_equal(epoch0, epoch1)
    assert np.all(epoch1 <= 7 - lengths)
    same = mst.load(root, "train", batch_size=64, seed=0, redraw_text=True)
    np.testing.assert_array_equal(same.offsets(epoch=1), epoch1)
    texts = redraw.texts(np.arange(5))
    assert [t.strip() for t in texts] == [
        mst.DIGIT_WORDS[i] for i in redraw.labels[:5]]


def test_training_redraws_text_offsets_evaluation_keeps_them(data_dir):
    """MoPoE's free text augmentation is the training default, seeded by
    `(seed, epoch)`; the test split and `load_arrays` see fixed texts."""
    root, _, _ = data_dir
    train = mst.load(root, "train", batch_size=64, seed=5)
    assert train.redraw_text
    rows = np.arange(train.num_examples)
    epoch0 = train.get(rows)[0]["text"]
    np.testing.assert_array_equal(
        epoch0, mst_impl.TEXT_TABLE[train.labels, train.offsets(epoch=0)])
    train.on_epoch_end()
    epoch1 = train.get(rows)[0]["text"]
    assert not np.array_equal(epoch0, epoch1)
    again = mst.load(root, "train", batch_size=64, seed=5)
    again.set_epoch(1)
    np.testing.assert_array_equal(again.get(rows)[0]["text"], epoch1)
    persisted = mst_impl.TEXT_TABLE[train.labels, train.text_offset]
    inputs, _ = mst.load_arrays(root, "train")
    np.testing.assert_array_equal(inputs["text"], persisted)
    assert not mst.load(root, "train", shuffle=False).redraw_text
    test = mst.load(root, "test", batch_size=64)
    assert not test.redraw_text
    before = test.get(np.arange(test.num_examples))[0]["text"]
    test.on_epoch_end()
    np.testing.assert_array_equal(
        test.get(np.arange(test.num_examples))[0]["text"], before)
    np.testing.assert_array_equal(
        before, mst_impl.TEXT_TABLE[test.labels, test.text_offset])


def test_defaults_mask_and_mnist_argument(data_dir, tmp_path_factory):
    root, mnist, _ = data_dir
    test = mst.load(root, "test", batch_size=1000)
    assert not test.shuffle and not test.drop_last
    assert test.num_examples == 2220 and len(test) == 3
    assert len(test[2][1]) == 220
    only_svhn = tmp_path_factory.mktemp("svhn_only")
    fixtures.write_svhn_mat(only_svhn, 400, 150)
    with pytest.raises(FileNotFoundError, match="mnist="):
        mst.load(only_svhn, "test")
    given = mst.load(only_svhn, "test", mnist=mnist)
    np.testing.assert_array_equal(given.mnist_idx, test.mnist_idx)
    masked = mst.load(root, "train", batch_size=128, seed=0,
                      missing_rate=[0.0, 0.5, 0.5])
    inputs, _ = masked[0]
    mask = inputs["mask"]
    assert mask.shape == (128, 3) and mask.dtype == np.float32
    assert np.all(mask[:, 0] == 1) and mask.sum(1).min() >= 1
    assert 0.3 < 1 - mask[:, 1].mean() < 0.7
    assert np.all(inputs["text"][mask[:, 2] == 0] == 0)
    assert np.all(inputs["svhn"][mask[:, 1] == 0] == 0)
    mnar = mst.load(root, "train", batch_size=128, seed=0,
                    missing_per_class={7: [0, 1, 0]})
    sevens = mnar.labels == 7
    assert np.all(mnar.mask[sevens, 1] == 0)
    assert np.all(mnar.mask[~sevens] == 1)


def test_missing_and_corrupt_files(tmp_path, data_dir):
    with pytest.raises(FileNotFoundError) as info:
        mst.load(tmp_path / "absent")
    assert "ufldl.stanford.edu/housenumbers" in str(info.value)
    assert "train_32x32.mat" in str(info.value)
    root, _, _ = data_dir
    os.remove(root / "SVHN" / "test_32x32.mat")
    with pytest.raises(FileNotFoundError, match="test_32x32.mat"):
        mst.load(root, "test")
    (root / "SVHN" / "test_32x32.mat").write_bytes(b"MATLAB 5.0 garbage")
    with pytest.raises(ValueError, match="test_32x32.mat"):
        mst.load(root, "test")
    scipy.io.savemat(root / "SVHN" / "test_32x32.mat",
                     {"X": np.zeros((32, 32, 3, 4), "uint8"),
                      "y": np.zeros((3, 1), "uint8")})
    with pytest.raises(ValueError, match="test_32x32.mat.*4 images"):
        mst.load(root, "test")
    with pytest.raises(ValueError, match="split"):
        mst.load(root, "valid")
