"""The tensorflow-datasets builder of bimodal CelebA."""

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.celeba import data as celeba
from keras_mmvae.src.benchmarks.common import tfds as common


def builder_class():
    """The bimodal CelebA builder class (created on first use)."""
    return common.cached_class("celeba", _make_builder_class)


def _make_builder_class():
    tfds = common.import_tfds()
    base = common.base_class(
        tfds, "keras_mmvae_celeba",
        "Bimodal CelebA: 64x64 aligned faces (centre crop 148, bicubic) and "
        "attribute text (256 characters), 40 binary attributes. Splits: "
        "train = partition 0, test = partition 1 (official validation, "
        "MoPoE's test set), official_test = partition 2.",
        "http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        f"Put CelebA into the manual folder:\n{celeba.LAYOUT}",
    )

    class Builder(base, skip_registration=True):
        def _info(self):
            return self._make_info({
                "image": tfds.features.Image(shape=(64, 64, 3)),
                "text": tfds.features.Tensor(shape=(celeba.TEXT_LENGTH,),
                                             dtype=np.int32),
                "labels": tfds.features.Tensor(shape=(40,), dtype=np.int64),
                "image_id": tfds.features.Text(),
            })

        def _split_generators(self, dl_manager):
            root = self._manual(dl_manager)
            return {split: self._generate_examples(root, split)
                    for split in ("train", "test", "official_test")}

        def _generate_examples(self, root, split):
            kwargs = dict(self.keras_mmvae_load_kwargs, progress=False)
            arrays, _, _ = celeba.read_split(root, split, **kwargs)
            ids = np.asarray(arrays["image_id"])
            for i in range(len(ids)):
                image_id = ids[i].decode()
                yield image_id, {
                    "image": common.uint8(arrays["image"][i]),
                    "text": np.asarray(arrays["text"][i], "int32"),
                    "labels": np.asarray(arrays["labels"][i], "int64"),
                    "image_id": image_id,
                }

    Builder.name = base.name
    return Builder


tfds_builder = common.builder_function(
    "celeba", builder_class, "bimodal CelebA",
    splits=("`train` (partition 0), `test` (partition 1, MoPoE's test set) "
            "and `official_test` (partition 2)"),
    example_args='"/data/celeba"',
)
"""`tfds_builder(manual_dir, data_dir=None, **load_kwargs)`: a
tensorflow-datasets builder that prepares CelebA from its files in
`manual_dir` (see "tensorflow-datasets builders" below; `help()` has the details)."""
keras_mmvae_export("keras_mmvae.datasets.celeba.tfds_builder")(tfds_builder)
