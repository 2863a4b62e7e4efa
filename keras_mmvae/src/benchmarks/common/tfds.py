"""tensorflow-datasets builders that read a manual folder and never download.

The shared part; each benchmark's `tfds` module defines its builder class.

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
from typing import Any

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


def base_class(tfds, name, description, homepage, instructions):
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


def uint8(image):
    return np.ascontiguousarray(image, dtype="uint8")


def cached_class(key, make_class):
    """The builder class of `key`, made by `make_class()` on first use."""
    if key not in _CLASSES:
        _CLASSES[key] = make_class()
    return _CLASSES[key]


_DOC = """A tensorflow-datasets builder for {title} that never downloads.

    It reads the same layout as `load` from `manual_dir` (through the
    keras_mmvae readers, so pairing, preprocessing and error messages are
    identical) and writes TFDS records to `data_dir` (TFDS's default when
    `None`). Splits: {splits}. Feature layout:
    `keras_mmvae.src.benchmarks.common.tfds` (uint8 images; text as int32
    alphabet indices, `tf.one_hot(text, 71)` restores the one-hot).
    tensorflow-datasets is an optional extra (`pip install
    'keras_mmvae[tfds]'`); preparing the records needs TensorFlow. Users of
    other backends use `load` instead.

    Args:
        manual_dir: The data folder (as `data_dir` of `load`).
        data_dir: Where TFDS stores prepared data.
        **load_kwargs: Reader options (e.g. `cache_dir`, `dm`).

    Returns:
        A `tfds.core.GeneratorBasedBuilder` instance; call
        `download_and_prepare()` (offline: it only reads `manual_dir`), then
        `as_dataset(split=...)`.

    Raises:
        ImportError: tensorflow-datasets is not installed.

    Example:
    ```python
    import keras_mmvae as mm

    try:
        builder = mm.datasets.{name}.tfds_builder({example_args})
    except ImportError:
        builder = None  # tensorflow-datasets is not installed
    ```
    """


def builder_function(name, builder_class, title, splits, example_args):
    """The public `keras_mmvae.datasets.<name>.tfds_builder` function.

    Args:
        name: The benchmark's name.
        builder_class: Returns the builder class (made on first use).
        title: The data set's name in the docstring.
        splits: The splits, as the docstring lists them.
        example_args: The arguments of the docstring's example call.
    """

    def tfds_builder(
        manual_dir: str | os.PathLike,
        data_dir: str | os.PathLike | None = None,
        **load_kwargs: Any,
    ) -> Any:
        kwargs = {}
        if data_dir is not None:
            kwargs["data_dir"] = os.fspath(data_dir)
        return builder_class()(manual_dir=manual_dir, load_kwargs=load_kwargs,
                               **kwargs)

    tfds_builder.__doc__ = _DOC.format(title=title, splits=splits, name=name,
                                       example_args=example_args)
    return tfds_builder
