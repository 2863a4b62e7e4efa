"""Training, scoring, saving and loading of the evaluation classifiers."""

import json
import os

import keras
import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.classifiers import benchmark_classifiers
from keras_mmvae.src.evaluation import data as data_lib
from keras_mmvae.src.evaluation.data import EvaluationData
from keras_mmvae.src.evaluation.scores import Score
from keras_mmvae.src.models.validation import MASK_KEY


def _modality_rows(inputs, modality, modality_names):
    """Rows where `modality` is present (mask columns in `modality_names`
    order, as everywhere else; a dict's key order is not trusted: a
    `tf.data` round trip, for one, sorts the keys)."""
    if MASK_KEY not in inputs:
        return None
    if modality_names is None:
        raise ValueError(
            f"The data has a {MASK_KEY!r} but the order of its columns is "
            "unknown: pass `modality_names` (the model's order, e.g. "
            "`model.modality_names` or `dataset.modality_names`)."
        )
    names = list(modality_names)
    mask = np.asarray(inputs[MASK_KEY])
    if modality not in names or mask.ndim != 2 or mask.shape[1] != len(
        names
    ):
        raise ValueError(
            f"The {MASK_KEY!r} has shape {mask.shape}; with "
            f"`modality_names={names}` it needs one column per name, "
            f"including {modality!r}."
        )
    return mask[:, names.index(modality)] > 0


def _select(inputs, labels, modality, modality_names=None):
    if modality not in inputs:
        raise ValueError(
            f"The data has no modality {modality!r}; it has "
            f"{sorted(k for k in inputs if k != MASK_KEY)}."
        )
    data_lib.require_labels(labels, "Training a classifier")
    x = np.asarray(inputs[modality], dtype="float32")
    y = np.asarray(labels)
    rows = _modality_rows(inputs, modality, modality_names)
    if rows is not None:
        x, y = x[rows], y[rows]
    return x, y


def _resolve_names(data, modality_names):
    """`modality_names`, else the dataset's own (`MultimodalDataset`)."""
    if modality_names is not None:
        return list(modality_names)
    names = getattr(data, "modality_names", None)
    return None if names is None else list(names)


def _labels_for_loss(y, multilabel):
    return y.astype("float32") if multilabel else y.astype("int32")


class _ModalityDataset(keras.utils.PyDataset):
    """`(inputs, labels)` batches → `(inputs[modality], labels)` batches."""

    def __init__(self, dataset, modality, multilabel, modality_names):
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self.dataset = dataset
        self.modality = modality
        self.multilabel = multilabel
        self.modality_names = modality_names

    @property
    def num_batches(self):
        return self.dataset.num_batches

    def __len__(self):
        return self.dataset.num_batches

    def __getitem__(self, index):
        inputs, labels = data_lib._split(self.dataset[index])
        x, y = _select(inputs, labels, self.modality, self.modality_names)
        return x, _labels_for_loss(y, self.multilabel)

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


def _first_labels(data):
    for _, labels in data_lib.iterate_batches(data):
        return data_lib.require_labels(labels, "Training a classifier")
    raise ValueError("The training data is empty.")


def _fit_inputs(data, modality, multilabel, modality_names):
    """What `fit` takes: arrays, a wrapped PyDataset or arrays gathered."""
    names = _resolve_names(data, modality_names)
    if isinstance(data, keras.utils.PyDataset):
        return _ModalityDataset(data, modality, multilabel, names), None
    xs, ys = [], []
    for inputs, labels in data_lib.iterate_batches(data, batch_size=4096):
        x, y = _select(inputs, labels, modality, names)
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), _labels_for_loss(np.concatenate(ys),
                                                multilabel)


@keras_mmvae_export("keras_mmvae.models.train_classifier")
def train_classifier(
    classifier: keras.Model,
    data: EvaluationData,
    modality: str,
    epochs: int = 10,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    validation_data: EvaluationData | None = None,
    multilabel: bool | None = None,
    verbose: int | str = 0,
    modality_names: list[str] | None = None,
) -> keras.callbacks.History:
    """Trains one evaluation classifier on one modality of a dataset.

    Compiles `classifier` with Adam and a from-logits loss (sparse
    categorical cross-entropy for class ids, binary cross-entropy for 0/1
    attributes) and fits it on `inputs[modality]` against the labels. Rows
    where the modality is masked out are skipped; the `"mask"` columns
    follow `modality_names` (the model's order), never the dict's key order.

    Args:
        classifier: A Keras model returning logits (e.g.
            `mm.models.polymnist_classifier()`).
        data: `(inputs, labels)` arrays, a `keras.utils.PyDataset` or an
            iterable of `(inputs, labels)` batches (gathered into memory).
        modality: The modality key to classify.
        epochs: Training epochs.
        batch_size: Batch size for in-memory data.
        learning_rate: Adam learning rate.
        validation_data: Optional data of the same kinds for validation.
        multilabel: Attribute labels (`True`) or class ids (`False`);
            inferred from the label rank when `None`.
        verbose: Passed to `fit`.
        modality_names: The modality order of the `"mask"` columns (e.g.
            `model.modality_names`); default: the data's own
            `modality_names` (a `MultimodalDataset`). Needed only when the
            data has a mask.

    Returns:
        The `History` of `fit`.
    """
    if multilabel is None:
        multilabel = data_lib.is_multilabel(_first_labels(data))
    if multilabel:
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        metrics = [keras.metrics.BinaryAccuracy(threshold=0.0,
                                                name="accuracy")]
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    classifier.compile(optimizer=keras.optimizers.Adam(learning_rate),
                       loss=loss, metrics=metrics)
    x, y = _fit_inputs(data, modality, multilabel, modality_names)
    validation = None
    if validation_data is not None:
        vx, vy = _fit_inputs(validation_data, modality, multilabel,
                             modality_names)
        validation = vx if vy is None else (vx, vy)
    kwargs = {} if y is None else {"batch_size": batch_size, "shuffle": True}
    return classifier.fit(x, y, epochs=epochs, validation_data=validation,
                          verbose=verbose, **kwargs)


@keras_mmvae_export("keras_mmvae.models.evaluate_classifier")
def evaluate_classifier(
    classifier: keras.Model,
    data: EvaluationData,
    modality: str,
    batch_size: int = 256,
    attribute_average: str = "dataset",
    modality_names: list[str] | None = None,
) -> float:
    """Test score of a classifier: accuracy, or mean AP for attributes.

    Args:
        classifier: A Keras model returning logits.
        data: `(inputs, labels)` arrays, a `PyDataset` or an iterable of
            batches.
        modality: The modality key to classify.
        batch_size: Batch size for in-memory data.
        attribute_average: For attributes: `"dataset"` (AP over the whole
            data) or `"batch"` (per-batch AP averaged over batches, MoPoE).
        modality_names: The modality order of the `"mask"` columns (e.g.
            `model.modality_names`); default: the data's own
            `modality_names` (a `MultimodalDataset`). Needed only when the
            data has a mask.

    Returns:
        Accuracy in [0, 1] for class ids; mean average precision over the
        attributes for 0/1 attribute labels.
    """
    names = _resolve_names(data, modality_names)
    score = None
    for inputs, labels in data_lib.iterate_batches(data, batch_size):
        x, y = _select(inputs, labels, modality, names)
        if score is None:
            score = Score(data_lib.is_multilabel(y), attribute_average)
        logits = keras.ops.convert_to_numpy(classifier(x, training=False))
        score.update(y, logits)
    if score is None:
        raise ValueError("The evaluation data is empty.")
    return float(score.result())


@keras_mmvae_export("keras_mmvae.models.train_classifiers")
def train_classifiers(
    classifiers: dict[str, keras.Model] | str,
    train_data: EvaluationData,
    test_data: EvaluationData | None = None,
    directory: str | os.PathLike | None = None,
    epochs: int = 10,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    verbose: int | str = 0,
    modality_names: list[str] | None = None,
    **builder_kwargs,
) -> tuple[dict[str, keras.Model], dict[str, float]]:
    """Trains (and saves) the evaluation classifiers of every modality.

    Args:
        classifiers: Dict modality name → classifier, or a benchmark name
            (`"polymnist"`, `"mnist_svhn_text"`, `"celeba"`) for fresh
            reference classifiers (see `benchmark_classifiers`).
        train_data: Training data (any kind `train_classifier` takes).
        test_data: Optional test data; each classifier's test score
            (accuracy or mean AP) is returned and saved.
        directory: If given, each classifier is saved as
            `{directory}/{modality}.keras` and the scores as
            `{directory}/scores.json`.
        epochs: Training epochs per classifier.
        batch_size: Batch size for in-memory data.
        learning_rate: Adam learning rate.
        verbose: Passed to `fit`.
        modality_names: The modality order of the `"mask"` columns (e.g.
            `model.modality_names`); default: the data's own
            `modality_names` (a `MultimodalDataset`). Needed only when the
            data has a mask.
        **builder_kwargs: Passed to `benchmark_classifiers` when
            `classifiers` is a benchmark name (e.g. `num_modalities`).

    Returns:
        `(classifiers, scores)`: dict modality → trained model, and dict
        modality → test score (empty without `test_data`).
    """
    if isinstance(classifiers, str):
        classifiers = benchmark_classifiers(classifiers, **builder_kwargs)
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
    scores = {}
    for name, classifier in classifiers.items():
        train_classifier(classifier, train_data, name, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate,
                         verbose=verbose, modality_names=modality_names)
        if test_data is not None:
            scores[name] = evaluate_classifier(
                classifier, test_data, name, batch_size=batch_size,
                modality_names=modality_names)
        if directory is not None:
            classifier.save(os.path.join(directory, f"{name}.keras"))
    if directory is not None and scores:
        with open(os.path.join(directory, "scores.json"), "w") as f:
            json.dump(scores, f, indent=2, sort_keys=True)
    return classifiers, scores


@keras_mmvae_export("keras_mmvae.models.load_classifiers")
def load_classifiers(
    directory: str | os.PathLike,
    modalities: list[str] | None = None,
) -> dict[str, keras.Model]:
    """Loads classifiers saved by `train_classifiers`.

    Args:
        directory: Folder with `{modality}.keras` files.
        modalities: Names to load; all `.keras` files when `None`.

    Returns:
        Dict modality name → Keras model (uncompiled).
    """
    if modalities is None:
        modalities = sorted(
            f[:-len(".keras")] for f in os.listdir(directory)
            if f.endswith(".keras")
        )
    result = {}
    for name in modalities:
        path = os.path.join(directory, f"{name}.keras")
        if not os.path.exists(path):
            raise FileNotFoundError(f"No classifier file {path}.")
        result[name] = keras.saving.load_model(path, compile=False)
    return result
