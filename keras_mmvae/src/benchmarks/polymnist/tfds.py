"""The tensorflow-datasets builder of PolyMNIST."""

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.common import tfds as common
from keras_mmvae.src.benchmarks.polymnist import data
from keras_mmvae.src.benchmarks.polymnist import files
from keras_mmvae.src.benchmarks.polymnist.spec import SPEC


def builder_class():
    """The PolyMNIST builder class (created on first use)."""
    return common.cached_class("polymnist", _make_builder_class)


def _make_builder_class():
    tfds = common.import_tfds()
    base = common.base_class(
        tfds, "keras_mmvae_polymnist",
        "PolyMNIST: five MNIST modalities on different backgrounds; a tuple "
        "shares only the digit (Sutter et al., ICLR 2021).",
        "https://zenodo.org/record/4899160",
        f"Extract PolyMNIST into the manual folder:\n{files.LAYOUT}",
    )

    class Builder(base, skip_registration=True):
        def _info(self):
            features = {m: tfds.features.Image(shape=shape)
                        for m, shape in SPEC.modalities.items()}
            features["label"] = tfds.features.ClassLabel(num_classes=10)
            return self._make_info(features)

        def _split_generators(self, dl_manager):
            root = self._manual(dl_manager)
            return {split: self._generate_examples(root, split)
                    for split in SPEC.splits}

        def _generate_examples(self, root, split):
            kwargs = dict(self.keras_mmvae_load_kwargs, progress=False)
            images, labels, _ = data.read_split(root, split, **kwargs)
            for i in range(len(labels)):
                example = {m: common.uint8(images[m][i]) for m in images}
                example["label"] = int(labels[i])
                yield i, example

    Builder.name = base.name
    return Builder


tfds_builder = common.builder_function(
    "polymnist", builder_class, "PolyMNIST",
    splits="`train` and `test`",
    example_args='"/data/PolyMNIST"',
)
"""`tfds_builder(manual_dir, data_dir=None, **load_kwargs)`: a
tensorflow-datasets builder that prepares PolyMNIST from its files in
`manual_dir` (see "tensorflow-datasets builders" below; `help()` has the details)."""
keras_mmvae_export("keras_mmvae.datasets.polymnist.tfds_builder")(
    tfds_builder)
