"""CelebA: official txt and CSV layouts, preprocessing, text, splits, errors."""

import csv
import os
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from keras_mmvae.datasets import celeba
from keras_mmvae.datasets import decode_text
from keras_mmvae.src.benchmarks.celeba import data as celeba_impl
from keras_mmvae.src.benchmarks.celeba import files as celeba_files
from keras_mmvae.src.testing import fixtures

pytestmark = pytest.mark.one_backend

NAMES = celeba_impl.ATTRIBUTE_NAMES


def positive_text(attributes):
    names = [n for n, v in zip(NAMES, attributes) if v > 0]
    return ", ".join(names).replace("_", " ").lower()


def test_official_txt_layout(tmp_path):
    ids, attributes, parts = fixtures.write_celeba(tmp_path, 24, "txt")
    data = celeba.load(tmp_path, "train", batch_size=4, seed=0, progress=False)
    train = [i for i, p in enumerate(parts) if p == 0]
    assert data.modality_names == ("image", "text")
    assert data.image_ids == [ids[i] for i in train]
    assert data.attribute_names == list(NAMES)
    assert data.shuffle and data.drop_last and len(data) == 3
    inputs, labels = data.arrays()
    assert inputs["image"].shape == (12, 64, 64, 3)
    assert inputs["text"].shape == (12, 256, 71)
    assert inputs["image"].dtype == inputs["text"].dtype == np.float32
    assert labels.shape == (12, 40) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, (attributes[train] > 0))
    assert 0 <= inputs["image"].min() and inputs["image"].max() <= 1
    for row, i in enumerate(train):
        colour = fixtures.celeba_colour(i, attributes[i]) / 255.0
        np.testing.assert_allclose(inputs["image"][row].mean((0, 1)), colour,
                                   atol=3 / 255)
    texts = decode_text(inputs["text"])
    for row, i in enumerate(train):
        assert len(texts[row]) == 256
        assert texts[row].strip("*") == positive_text(attributes[i])
    # A shuffled batch keeps image, text and labels of the same file.
    inputs, labels = data[1]
    colours = np.stack([fixtures.celeba_colour(i, attributes[i])
                        for i in train]) / 255.0
    means = inputs["image"].mean(axis=(1, 2))
    rows = np.argmin(np.abs(means[:, None] - colours[None]).sum(-1), axis=1)
    assert len(set(rows.tolist())) == 4
    np.testing.assert_array_equal(labels, data.labels[rows])
    for text, row in zip(decode_text(inputs["text"]), rows):
        assert text.strip("*") == positive_text(attributes[train[row]])


def test_splits_follow_mopoe(tmp_path):
    ids, _, parts = fixtures.write_celeba(tmp_path, 20, "txt")
    expect = {"train": 0, "test": 1, "validation": 1, "official_test": 2,
              0: 0, 1: 1, 2: 2}
    for split, partition in expect.items():
        data = celeba.load(tmp_path, split, batch_size=2, progress=False)
        assert data.image_ids == [i for i, p in zip(ids, parts)
                                  if p == partition], split
        assert data.shuffle == (partition == 0)
    with pytest.raises(ValueError, match="official_test"):
        celeba.load(tmp_path, "val")


def test_crop_and_bicubic_resize_match_pil(tmp_path):
    fixtures.write_celeba(tmp_path, 4, "txt", partitions=[1, 1, 1, 1])
    yy, xx = np.mgrid[0:218, 0:178]
    image = np.stack([xx * 255 // 177, yy * 255 // 217,
                      (xx * yy) % 256], -1).astype("uint8")
    path = tmp_path / "img_align_celeba" / "000002.jpg"
    Image.fromarray(image).save(path, quality=90)
    with Image.open(path) as im:
        reference = np.asarray(
            im.convert("RGB").crop((15, 35, 163, 183))
            .resize((64, 64), Image.BICUBIC)) / np.float32(255)
    data = celeba.load(tmp_path, "test", batch_size=4, progress=False)
    np.testing.assert_allclose(data.get([1])[0]["image"][0], reference,
                               atol=1e-6)
    assert celeba_files.crop_box(178, 218) == (15, 35, 163, 183)


def test_attribute_text_rules():
    rng = np.random.default_rng(0)
    values = -np.ones(40)
    values[[0, 4, 20, 39]] = 1
    text = celeba.attribute_text(values, NAMES)
    assert text == ("5 o clock shadow, bald, male, young").ljust(256, "*")
    starts = set()
    for _ in range(200):
        text = celeba.attribute_text(values, NAMES, rng)
        assert len(text) == 256
        start = text.index("5")
        starts.add(start)
        assert text[start:start + 35] == "5 o clock shadow, bald, male, young"
        assert set(text[:start] + text[start + 35:]) == {"*"}
    assert min(starts) == 0 and max(starts) <= 256 - 2 - 35
    everything = celeba.attribute_text(np.ones(40), NAMES, rng)
    kept = everything.strip("*")
    assert len(kept) <= 256 and kept.startswith("5 o clock shadow, arched")
    full = ", ".join(NAMES).replace("_", " ").lower()
    assert full.startswith(kept) and len(full) > 256
    assert full[len(kept):].startswith(", ")  # whole attributes dropped
    assert celeba.attribute_text(-np.ones(40), NAMES, rng) == "*" * 256


def test_generated_text_is_persisted_and_seeded(tmp_path):
    fixtures.write_celeba(tmp_path, 12, "txt")
    first = celeba.load(tmp_path, "test", batch_size=3, progress=False)
    path = tmp_path / "list_attr_text_256_False_True_seed0_celeba.csv"
    assert first.text_file == str(path) and path.is_file()
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["image_id", "text"] and len(rows) == 13
    assert all(len(r[1]) == 256 for r in rows[1:])
    again = celeba.load(tmp_path, "test", batch_size=3, cache=False,
                        progress=False)
    np.testing.assert_array_equal(again.text_indices, first.text_indices)
    os.remove(path)
    regenerated = celeba.load(tmp_path, "test", batch_size=3, cache=False,
                              progress=False)
    np.testing.assert_array_equal(regenerated.text_indices,
                                  first.text_indices)
    other = celeba.load(tmp_path, "test", batch_size=3, text_seed=1,
                        progress=False)
    assert other.text_file.endswith("seed1_celeba.csv")
    assert not np.array_equal(other.text_indices, first.text_indices)


def test_csv_variant_joins_on_image_id(tmp_path):
    ids, attributes, parts = fixtures.write_celeba(
        tmp_path / "CelebA", 16, "csv", text=True)
    # Reverse the row order of the text and partition files: rows are
    # joined by image_id, not by position.
    for name in ("list_attr_text_256_False_True_celeba.csv",
                 "list_eval_partition.csv"):
        path = tmp_path / "CelebA" / name
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows([rows[0]] + rows[:0:-1])
    published = celeba_files.read_text_csv(
        str(tmp_path / "CelebA" / "list_attr_text_256_False_True_celeba.csv"))
    data = celeba.load(tmp_path, "train", batch_size=2, seed=0,
                       progress=False)
    assert data.text_file.endswith("list_attr_text_256_False_True_celeba.csv")
    train = [i for i, p in enumerate(parts) if p == 0]
    assert data.image_ids == [ids[i] for i in train]
    inputs, labels = data.arrays()
    np.testing.assert_array_equal(labels, attributes[train] > 0)
    assert decode_text(inputs["text"]) == [published[ids[i]] for i in train]


def test_zip_and_nested_image_folders(tmp_path):
    ids, _, _ = fixtures.write_celeba(tmp_path / "a", 8, "txt")
    reference = celeba.load(tmp_path / "a", "train", batch_size=2,
                            cache=False, progress=False).images
    shutil.copytree(tmp_path / "a", tmp_path / "zip")
    with zipfile.ZipFile(tmp_path / "zip" / "img_align_celeba.zip", "w") as z:
        for image_id in ids:
            z.write(tmp_path / "a" / "img_align_celeba" / image_id,
                    f"img_align_celeba/{image_id}")
    shutil.rmtree(tmp_path / "zip" / "img_align_celeba")
    zipped = celeba.load(tmp_path / "zip", "train", batch_size=2,
                         progress=False)
    np.testing.assert_array_equal(zipped.images, reference)
    nested = tmp_path / "kaggle" / "img_align_celeba"
    shutil.copytree(tmp_path / "a", tmp_path / "kaggle", dirs_exist_ok=True)
    shutil.move(tmp_path / "kaggle" / "img_align_celeba", tmp_path / "tmpdir")
    nested.mkdir()
    shutil.move(tmp_path / "tmpdir", nested / "img_align_celeba")
    kaggle = celeba.load(tmp_path / "kaggle", "train", batch_size=2,
                         progress=False)
    np.testing.assert_array_equal(kaggle.images, reference)


def test_cache_and_missing_modalities(tmp_path, monkeypatch):
    fixtures.write_celeba(tmp_path, 40, "txt")
    first = celeba.load(tmp_path, "train", batch_size=4, progress=False)
    assert isinstance(first.images, np.memmap)

    def fail(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(celeba_files, "decode_images", fail)
    data = celeba.load(tmp_path, "train", batch_size=5, seed=0,
                       missing_rate=[0.0, 0.6], progress=False)
    np.testing.assert_array_equal(data.images, first.images)
    inputs, _ = data[0]
    mask = inputs["mask"]
    assert mask.shape == (5, 2) and np.all(mask[:, 0] == 1)
    assert np.all(inputs["text"][mask[:, 1] == 0] == 0)
    male = data.attribute_names.index("Male")
    mnar = celeba.load(tmp_path, "train", batch_size=5, seed=0,
                       missing_per_class={1: [0.0, 1.0]},
                       missing_attribute="Male", progress=False)
    is_male = data.labels[:, male] == 1
    assert is_male.any() and (~is_male).any()
    assert np.all(mnar.mask[is_male, 1] == 0)
    assert np.all(mnar.mask[~is_male] == 1)
    with pytest.raises(ValueError, match="missing_attribute"):
        celeba.load(tmp_path, "train", missing_per_class={1: 0.5},
                    progress=False)
    with pytest.raises(ValueError, match="Unknown attribute"):
        celeba.load(tmp_path, "train", missing_per_class={1: 0.5},
                    missing_attribute="Tall", progress=False)


def test_errors_show_layout_and_name_files(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        celeba.load(tmp_path / "none")
    assert "img_align_celeba" in str(info.value)
    assert "mmlab.ie.cuhk.edu.hk" in str(info.value)
    ids, _, _ = fixtures.write_celeba(tmp_path, 8, "txt")
    os.remove(tmp_path / "list_eval_partition.txt")
    with pytest.raises(FileNotFoundError, match="partition"):
        celeba.load(tmp_path)
    fixtures.write_celeba(tmp_path, 8, "txt")
    os.remove(tmp_path / "img_align_celeba" / ids[4])
    with pytest.raises(FileNotFoundError, match=ids[4]):
        celeba.load(tmp_path, batch_size=2, progress=False)
    (tmp_path / "img_align_celeba" / ids[4]).write_bytes(b"\xff\xd8 broken")
    with pytest.raises(ValueError, match=ids[4]):
        celeba.load(tmp_path, batch_size=2, progress=False)
    fixtures.write_celeba(tmp_path, 8, "txt")
    attr = tmp_path / "list_attr_celeba.txt"
    lines = attr.read_text().splitlines()
    attr.write_text("\n".join(lines[:-2]) + "\n")
    with pytest.raises(ValueError, match="list_attr_celeba.txt.*truncated"):
        celeba.load(tmp_path, batch_size=2, progress=False)
    attr.write_text("\n".join(lines[:5] + [lines[5] + " 1"] + lines[6:]))
    with pytest.raises(ValueError, match="list_attr_celeba.txt.*line 6"):
        celeba.load(tmp_path, batch_size=2, progress=False)
    attr.write_text("\n".join(lines) + "\n")
    with open(tmp_path / "list_eval_partition.txt", "a") as f:
        f.write("999999.jpg 0\n")
    with pytest.raises(ValueError, match="999999.jpg"):
        celeba.load(tmp_path, batch_size=2, progress=False)
