"""The tensorflow-datasets builder of MNIST-SVHN-Text."""

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.common import tfds as common
from keras_mmvae.src.benchmarks.mnist_svhn_text import data as mst
from keras_mmvae.src.datasets import alphabet


def builder_class():
    """The MNIST-SVHN-Text builder class (created on first use)."""
    return common.cached_class("mnist_svhn_text", _make_builder_class)


def _make_builder_class():
    tfds = common.import_tfds()
    base = common.base_class(
        tfds, "keras_mmvae_mnist_svhn_text",
        "MNIST-SVHN-Text: label-matched MNIST/SVHN pairs with data "
        "multiplication and the digit's word (Sutter et al., 2020).",
        "http://ufldl.stanford.edu/housenumbers/",
        f"Put MNIST and SVHN into the manual folder:\n{mst.LAYOUT}",
    )

    class Builder(base, skip_registration=True):
        def _info(self):
            return self._make_info({
                "mnist": tfds.features.Image(shape=(28, 28, 1)),
                "svhn": tfds.features.Image(shape=(32, 32, 3)),
                "text": tfds.features.Tensor(shape=(mst.TEXT_LENGTH,),
                                             dtype=np.int32),
                "label": tfds.features.ClassLabel(num_classes=10),
            })

        def _split_generators(self, dl_manager):
            root = self._manual(dl_manager)
            return {split: self._generate_examples(root, split)
                    for split in mst.SPLITS}

        def _generate_examples(self, root, split):
            kwargs = dict(self.keras_mmvae_load_kwargs)
            data = mst.load(root, split, shuffle=False, drop_last=False,
                            batch_size=1, **kwargs)
            texts = alphabet.text_to_indices(
                [mst.text_string(label, offset) for label, offset in
                 zip(data.labels, data.text_offset)], mst.TEXT_LENGTH,
            ).astype("int32")
            for i in range(data.num_examples):
                yield i, {
                    "mnist": common.uint8(
                        data.mnist_images[data.mnist_idx[i]])[..., None],
                    "svhn": common.uint8(data.svhn_images[data.svhn_idx[i]]),
                    "text": texts[i],
                    "label": int(data.labels[i]),
                }

    Builder.name = base.name
    return Builder


tfds_builder = common.builder_function(
    "mnist_svhn_text", builder_class, "MNIST-SVHN-Text",
    splits=("`train` and `test` (with `dm` as in `load`; pass e.g. `dm=1` "
            "for one pass over the matched pairs)"),
    example_args='\n            "/data/mnist_svhn", dm=20',
)
"""`tfds_builder(manual_dir, data_dir=None, **load_kwargs)`: a
tensorflow-datasets builder that prepares MNIST-SVHN-Text from its files in
`manual_dir` (see "tensorflow-datasets builders" below; `help()` has the details)."""
keras_mmvae_export("keras_mmvae.datasets.mnist_svhn_text.tfds_builder")(
    tfds_builder)
