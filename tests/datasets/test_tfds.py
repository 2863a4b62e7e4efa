"""tensorflow-datasets builders (optional extra; never download)."""

import sys

import numpy as np
import pytest

from keras_mmvae.datasets import celeba
from keras_mmvae.datasets import mnist_svhn_text
from keras_mmvae.datasets import polymnist
from keras_mmvae.src.testing import fixtures

pytestmark = pytest.mark.one_backend


def test_builders_explain_the_missing_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    from keras_mmvae.src.benchmarks.common import tfds as tfds_common

    monkeypatch.setattr(tfds_common, "_CLASSES", {})
    for module in (polymnist, mnist_svhn_text, celeba):
        with pytest.raises(ImportError, match=r"keras_mmvae\[tfds\]"):
            module.tfds_builder(tmp_path)


def test_builders_prepare_offline_from_the_manual_folder(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    mnist = (fixtures.mnist_like(30, 0), fixtures.mnist_like(20, 1))
    polymnist.make(mnist, tmp_path / "poly", progress=False)
    builder = polymnist.tfds_builder(tmp_path / "poly", tmp_path / "records")
    builder.download_and_prepare()
    reference = polymnist.load(tmp_path / "poly", "test", progress=False)
    examples = list(tfds.as_numpy(builder.as_dataset(split="test")))
    assert len(examples) == reference.num_examples == 20
    by_label = sorted(int(e["label"]) for e in examples)
    np.testing.assert_array_equal(by_label, np.sort(reference.labels))
    first = examples[0]
    assert first["m0"].shape == (28, 28, 3) and first["m0"].dtype == np.uint8

    fixtures.write_mnist_idx(tmp_path / "mst" / "MNIST", 40, 20)
    fixtures.write_svhn_mat(tmp_path / "mst" / "SVHN", 40, 20)
    builder = mnist_svhn_text.tfds_builder(tmp_path / "mst",
                                           tmp_path / "records", dm=2)
    builder.download_and_prepare()
    reference = mnist_svhn_text.load(tmp_path / "mst", "test", dm=2)
    examples = list(tfds.as_numpy(builder.as_dataset(split="test")))
    assert len(examples) == reference.num_examples
    for e in examples[:5]:
        assert e["text"].shape == (8,) and e["svhn"].shape == (32, 32, 3)

    fixtures.write_celeba(tmp_path / "celeba", 8, "txt")
    builder = celeba.tfds_builder(tmp_path / "celeba", tmp_path / "records")
    builder.download_and_prepare()
    examples = list(tfds.as_numpy(builder.as_dataset(split="train")))
    reference = celeba.load(tmp_path / "celeba", "train", batch_size=2,
                            progress=False)
    assert len(examples) == reference.num_examples
    assert examples[0]["image"].shape == (64, 64, 3)
    assert examples[0]["labels"].shape == (40,)
