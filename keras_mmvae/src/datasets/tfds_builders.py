"""tensorflow-datasets builders that read a manual folder and never download.

`tensorflow_datasets` is an optional extra, imported only when a builder is
requested. Builders reuse the keras_mmvae loaders (same layouts, pairing,
preprocessing and error messages) and store:

- `keras_mmvae_polymnist`: `m0` … `m4` uint8 images `(28, 28, 3)`, `label`;
- `keras_mmvae_mnist_svhn_text`: `mnist` `(28, 28, 1)`, `svhn`
  `(32, 32, 3)`, `text` int32 `(8,)`, `label`;
- `keras_mmvae_celeba`: `image` `(64, 64, 3)`, `text` int32 `(256,)`,
  `labels` int64 `(40,)`, `image_id`.

Text is stored as alphabet indices (`-1` = not in the alphabet);
`tf.one_hot(text, 71)` gives the one-hot `(L, 71)` the models use (index
`-1` becomes an all-zero row, exactly like the loaders). Images are uint8;
divide by 255 for the [0, 1] inputs.
"""

import os

import numpy as np

_CLASSES = {}
_INSTALL = (
    "tensorflow-datasets is not installed. The TFDS builders are an optional "
    "extra: `pip install 'keras_mmvae[tfds]'` (tensorflow-datasets, "
    "importlib_resources, pillow; preparing data also needs TensorFlow). "
    "Without TFDS use the loaders (`keras_mmvae.datasets.<benchmark>.load`), "
    "which need no TensorFlow."
)


def import_tfds():
    """Imports `tensorflow_datasets` or raises an actionable `ImportError`."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise ImportError(_INSTALL) from e
    return tfds


def _base(tfds, name, description, homepage, instructions):
    class Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
        VERSION = tfds.core.Version("1.0.0")
        RELEASE_NOTES = {"1.0.0": "Initial release (keras_mmvae)."}
        MANUAL_DOWNLOAD_INSTRUCTIONS = instructions

        def __init__(self, *, manual_dir=None, load_kwargs=None, **kwargs):
            self.keras_mmvae_manual_dir = (
                None if manual_dir is None else os.fspath(manual_dir)
            )
            self.keras_mmvae_load_kwargs = dict(load_kwargs or {})
            super().__init__(**kwargs)

        def download_and_prepare(self, *, download_dir=None,
                                 download_config=None, **kwargs):
            if download_config is None:
                download_config = tfds.download.DownloadConfig(
                    manual_dir=self.keras_mmvae_manual_dir
                )
            return super().download_and_prepare(
                download_dir=download_dir, download_config=download_config,
                **kwargs,
            )

        def _manual(self, dl_manager):
            if self.keras_mmvae_manual_dir is not None:
                return self.keras_mmvae_manual_dir
            return os.fspath(dl_manager.manual_dir)

        def _make_info(self, features):
            return tfds.core.DatasetInfo(
                builder=self,
                description=description,
                features=tfds.features.FeaturesDict(features),
                homepage=homepage,
            )

    Builder.name = name
    Builder.__name__ = Builder.__qualname__ = "".join(
        part.capitalize() for part in name.split("_")
    )
    return Builder


def polymnist_builder_class():
    """The PolyMNIST builder class (created on first use)."""
    if "polymnist" in _CLASSES:
        return _CLASSES["polymnist"]
    tfds = import_tfds()
    from keras_mmvae.src.datasets import polymnist
    from keras_mmvae.src.datasets.formats import polymnist_files

    base = _base(
        tfds, "keras_mmvae_polymnist",
        "PolyMNIST: five MNIST modalities on different backgrounds; a tuple "
        "shares only the digit (Sutter et al., ICLR 2021).",
        "https://zenodo.org/record/4899160",
        f"Extract PolyMNIST into the manual folder:\n{polymnist_files.LAYOUT}",
    )

    class Builder(base, skip_registration=True):
        def _info(self):
            features = {
                f"m{k}": tfds.features.Image(shape=(28, 28, 3))
                for k in range(polymnist.NUM_MODALITIES)
            }
            features["label"] = tfds.features.ClassLabel(num_classes=10)
            return self._make_info(features)

        def _split_generators(self, dl_manager):
            root = self._manual(dl_manager)
            return {split: self._generate_examples(root, split)
                    for split in polymnist.SPLITS}

        def _generate_examples(self, root, split):
            kwargs = dict(self.keras_mmvae_load_kwargs, progress=False)
            images, labels, _ = polymnist.read_split(root, split, **kwargs)
            for i in range(len(labels)):
                example = {m: _uint8(images[m][i]) for m in images}
                example["label"] = int(labels[i])
                yield i, example

    Builder.name = base.name
    _CLASSES["polymnist"] = Builder
    return Builder


def mnist_svhn_text_builder_class():
    """The MNIST-SVHN-Text builder class (created on first use)."""
    if "mnist_svhn_text" in _CLASSES:
        return _CLASSES["mnist_svhn_text"]
    tfds = import_tfds()
    from keras_mmvae.src.datasets import alphabet
    from keras_mmvae.src.datasets import mnist_svhn_text as mst

    base = _base(
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
                    "mnist": _uint8(
                        data.mnist_images[data.mnist_idx[i]])[..., None],
                    "svhn": _uint8(data.svhn_images[data.svhn_idx[i]]),
                    "text": texts[i],
                    "label": int(data.labels[i]),
                }

    Builder.name = base.name
    _CLASSES["mnist_svhn_text"] = Builder
    return Builder


def celeba_builder_class():
    """The bimodal CelebA builder class (created on first use)."""
    if "celeba" in _CLASSES:
        return _CLASSES["celeba"]
    tfds = import_tfds()
    from keras_mmvae.src.datasets import celeba

    base = _base(
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
                    "image": _uint8(arrays["image"][i]),
                    "text": np.asarray(arrays["text"][i], "int32"),
                    "labels": np.asarray(arrays["labels"][i], "int64"),
                    "image_id": image_id,
                }

    Builder.name = base.name
    _CLASSES["celeba"] = Builder
    return Builder


def _uint8(image):
    return np.ascontiguousarray(image, dtype="uint8")


def make_builder(kind, manual_dir, data_dir=None, **load_kwargs):
    """Instantiates the builder of `kind` for `manual_dir`."""
    classes = {
        "polymnist": polymnist_builder_class,
        "mnist_svhn_text": mnist_svhn_text_builder_class,
        "celeba": celeba_builder_class,
    }
    cls = classes[kind]()
    kwargs = {}
    if data_dir is not None:
        kwargs["data_dir"] = os.fspath(data_dir)
    return cls(manual_dir=manual_dir, load_kwargs=load_kwargs, **kwargs)
