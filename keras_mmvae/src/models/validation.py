"""Checks on the batches a `MultimodalVAE` receives.

Static checks (keys, ranks, shapes, dtypes) run while the step is traced.
Value checks (non-finite entries, mask values) need concrete arrays, so they
run eagerly on NumPy batches before they reach the compiled step: for
in-memory arrays once, for `PyDataset`s and generators per batch through a
thin wrapper.
"""

import keras
import numpy as np

MASK_KEY = "mask"
# bfloat16: a mixed precision policy casts float masks before `call`.
_MASK_DTYPES = ("bool", "int", "uint", "float", "bfloat16")


def _shape_matches(shape, want):
    """Same rank and the same size on every known non-batch axis."""
    return len(shape) == len(want) and all(
        w is None or s is None or w == s
        for s, w in zip(shape[1:], want[1:])
    )


def _dtype_name(array):
    """Keras's name of the array's dtype, or NumPy's for non-numbers."""
    try:
        return keras.backend.standardize_dtype(array.dtype)
    except ValueError:
        return str(array.dtype)


def _is_array_like(value):
    """A value to turn into a NumPy array: nested lists / tuples, or an
    object that converts itself (`__array__`: pandas DataFrames and
    Series, xarray, ...) but is neither a NumPy array nor a tensor of the
    backend (which stay where they are, on the device)."""
    if isinstance(value, (list, tuple)):
        return True
    return (hasattr(value, "__array__") and not isinstance(value, np.ndarray)
            and not keras.ops.is_tensor(value))


def as_arrays(inputs):
    """`inputs` with nested Python lists / tuples and array-likes (pandas
    DataFrames, anything with `__array__`) turned into NumPy arrays."""
    return {
        key: np.asarray(value) if _is_array_like(value) else value
        for key, value in inputs.items()
    }


def check_network_shapes(name, shape, encoder_shape, decoder_shape):
    """Checks one modality's batch shape against its encoder and decoder.

    `encoder_shape` is the encoder's declared input shape (batch first,
    `None` when it declares none); `decoder_shape` the shape the decoder
    outputs, which the likelihood compares with the data: same rank, or
    one axis fewer (integer class ids for a categorical).
    """
    shape = tuple(shape)
    if encoder_shape is not None:
        want = tuple(encoder_shape)
        if not _shape_matches(shape, want):
            raise ValueError(
                f"Modality {name!r} has shape {shape}, but its encoder "
                f"expects {want} (batch first). Reshape the data to the "
                "encoder's input shape."
            )
    if decoder_shape is not None:
        want = tuple(decoder_shape)
        ids = len(shape) == len(want) - 1
        if not ids and (not _shape_matches(shape, want)):
            raise ValueError(
                f"Modality {name!r} has shape {shape}, but its decoder "
                f"outputs {want} (batch first) to score it against. Reshape "
                "the data (or the decoder) so that they match."
            )


def check_sample_weight(sample_weight):
    """Raises `ValueError` unless `sample_weight` is `(B,)` finite, >= 0."""
    if sample_weight is None:
        return
    weight = np.asarray(keras.ops.convert_to_numpy(sample_weight))
    if weight.ndim == 2 and weight.shape[1] == 1:
        weight = weight[:, 0]
    if weight.ndim != 1 or weight.dtype.kind not in "biuf":
        raise ValueError(
            "`sample_weight` must be one number per example, shape (batch,); "
            f"got shape {weight.shape} and dtype {weight.dtype}."
        )
    if not np.all(np.isfinite(weight) & (weight >= 0)):
        raise ValueError(
            "`sample_weight` must be finite and non-negative; got values "
            f"{np.unique(weight[~(np.isfinite(weight) & (weight >= 0))])[:5]}."
        )


def check_structure(inputs, names, expected_shapes=None):
    """Raises `ValueError` if `inputs` is not a dict of the right arrays."""
    if not isinstance(inputs, dict):
        raise ValueError(
            "A MultimodalVAE takes a dict {modality name: array} (plus an "
            f"optional {MASK_KEY!r} key); got {type(inputs).__name__}. Pass "
            f"e.g. {{{', '.join(repr(n) + ': ...' for n in names)}}}."
        )
    unknown = sorted(set(inputs) - set(names) - {MASK_KEY})
    if unknown:
        raise ValueError(
            f"Unknown modality key(s) {unknown}; this model's modalities are "
            f"{list(names)} (and the optional {MASK_KEY!r}). Rename the keys "
            "or add encoders/decoders for them."
        )
    missing = [n for n in names if n not in inputs]
    if missing:
        raise ValueError(
            f"Missing modality key(s) {missing}. Every batch must hold all of "
            f"{list(names)}; for an absent modality pass placeholder values "
            f"and a 0 in the {MASK_KEY!r} column of that modality."
        )
    batch = None
    for name in names:
        shape = tuple(inputs[name].shape)
        dtype = _dtype_name(inputs[name])
        if not dtype.startswith(_MASK_DTYPES):
            raise ValueError(
                f"Modality {name!r} has dtype {dtype}; a MultimodalVAE takes "
                "numeric arrays (float, or integer ids for an embedding "
                "encoder). Encode the data as numbers first."
            )
        if shape and shape[0] == 0:
            raise ValueError(
                f"Modality {name!r} has an empty batch (shape {shape}); give "
                "at least one example."
            )
        if expected_shapes is not None and name in expected_shapes:
            want = tuple(expected_shapes[name])
            if not _shape_matches(shape, want):
                raise ValueError(
                    f"Modality {name!r} has shape {shape}; the model was "
                    f"built for shape {want} (batch first). Reshape the data "
                    "or build a model for this shape."
                )
        if batch is None:
            batch = shape[0]
        elif shape[0] is not None and batch is not None and shape[0] != batch:
            raise ValueError(
                f"Modality {name!r} has batch size {shape[0]} but "
                f"{names[0]!r} has {batch}; all modalities need one row per "
                "example."
            )
    if MASK_KEY in inputs:
        mask = inputs[MASK_KEY]
        shape = tuple(mask.shape)
        if len(shape) != 2 or (
            shape[1] is not None and shape[1] != len(names)
        ):
            raise ValueError(
                f"The {MASK_KEY!r} must have shape (batch, {len(names)}), one "
                f"0/1 column per modality in the order {list(names)}; got "
                f"shape {shape}."
            )
        dtype = _dtype_name(mask)
        if not dtype.startswith(_MASK_DTYPES):
            raise ValueError(
                f"The {MASK_KEY!r} must be bool, integer or float 0/1; got "
                f"dtype {dtype}. Convert it, e.g. `mask.astype('float32')`."
            )


def check_values(inputs, names):
    """Raises `ValueError` on non-finite data or a mask that is not 0/1."""
    for name in names:
        if name not in inputs:
            continue
        values = np.asarray(keras.ops.convert_to_numpy(inputs[name]))
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            rows = np.unique(
                np.nonzero(~np.isfinite(values.reshape(len(values), -1)))[0]
            )
            raise ValueError(
                f"Modality {name!r} contains NaN or infinite values (rows "
                f"{rows[:10].tolist()} of this batch). Clean the data; for an "
                f"absent modality use finite placeholders and the "
                f"{MASK_KEY!r}."
            )
    if MASK_KEY in inputs:
        mask = np.asarray(keras.ops.convert_to_numpy(inputs[MASK_KEY]))
        if not np.all((mask == 0) | (mask == 1)):
            raise ValueError(
                f"The {MASK_KEY!r} may hold only 0 and 1 (1 = modality "
                f"present); got values {np.unique(mask)[:10].tolist()}."
            )


def _inputs_of(batch):
    if isinstance(batch, (tuple, list)) and batch:
        return batch[0]
    return batch


CLASS_WEIGHT_ADVICE = (
    "`class_weight` weighs examples by their label `y`, and this data has "
    "none (a MultimodalVAE trains without targets). Pass "
    "`sample_weight` instead, one weight per example, e.g. "
    "`sample_weight=np.vectorize(class_weight.get)(labels)`.")


class BatchCheck:
    """What `fit`/`evaluate`/`predict` do to every batch of a dataset
    before Keras sees it: array-likes (pandas) become NumPy arrays, keys,
    shapes (against the built model's) and values are checked, and a bare
    dict batch becomes the `(inputs,)` tuple Keras's generator adapter
    wants.

    `expected_shapes` is a callable returning the model's built input
    shapes (or `None` before it is built), so that a model built from the
    first batch checks the later ones.
    """

    def __init__(self, names, expected_shapes=None, needs_labels=False):
        self.names = names
        self.expected_shapes = expected_shapes or (lambda: None)
        self.needs_labels = needs_labels

    def __call__(self, batch, as_tuple=False):
        inputs = _inputs_of(batch)
        if isinstance(inputs, dict):
            inputs = as_arrays(inputs)
            check_structure(inputs, self.names, self.expected_shapes())
            check_values(inputs, self.names)
            if isinstance(batch, dict):
                batch = (inputs,) if as_tuple else inputs
            else:
                batch = (inputs, *batch[1:])
        if self.needs_labels and (
                not isinstance(batch, (tuple, list)) or len(batch) < 2
                or batch[1] is None):
            raise ValueError(CLASS_WEIGHT_ADVICE)
        return batch


class CheckedPyDataset(keras.utils.PyDataset):
    """Wraps a `PyDataset` so each batch is checked before training."""

    def __init__(self, dataset, check):
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self.dataset = dataset
        self.check = check

    def __len__(self):
        return len(self.dataset)

    @property
    def num_batches(self):
        return self.dataset.num_batches

    def __getitem__(self, index):
        return self.check(self.dataset[index])

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


def _checked_generator(generator, check):
    # Keras's generator adapter wants tuples: a bare dict `b` is `(b,)`.
    for batch in generator:
        yield check(batch, as_tuple=True)


def _check_element_spec(data, check):
    """Static checks of a `tf.data.Dataset`'s batches (no values)."""
    spec = data.element_spec
    inputs = _inputs_of(spec)
    if isinstance(inputs, dict):
        check_structure(inputs, check.names, check.expected_shapes())
    if check.needs_labels and (not isinstance(spec, tuple) or len(spec) < 2):
        raise ValueError(CLASS_WEIGHT_ADVICE)


def checked_data(data, names, expected_shapes=None, needs_labels=False):
    """Checks in-memory data now, or wraps a dataset to check each batch.

    `expected_shapes`: a callable giving the built model's input shapes
    (`None` while unbuilt). The check runs eagerly, before the compiled
    step: a traced step with relaxed shapes (TensorFlow reuses one for
    every feature size) would otherwise fail inside a matrix product.
    `needs_labels`: `class_weight` was given, so every batch needs a `y`.
    """
    check = BatchCheck(names, expected_shapes, needs_labels)
    if isinstance(data, dict):
        if needs_labels:
            raise ValueError(CLASS_WEIGHT_ADVICE)
        data = as_arrays(data)
        check_structure(data, names, check.expected_shapes())
        check_values(data, names)
        if MASK_KEY in data and isinstance(data[MASK_KEY], np.ndarray):
            # One dtype for every mask form: one compiled step.
            data[MASK_KEY] = data[MASK_KEY].astype("float32")
        return data
    if isinstance(data, keras.utils.PyDataset):
        return CheckedPyDataset(data, check)
    if hasattr(data, "element_spec"):  # tf.data.Dataset
        _check_element_spec(data, check)
        return data
    if hasattr(data, "__next__"):
        return _checked_generator(data, check)
    return data


# ---------------------------------------------- building from data, inference
def declared_input_shape(layer):
    """The batch-first input shape a layer declares, or `None`.

    A functional `keras.Model` with one input declares it; so does a layer
    given `input_shape=...`.
    """
    inputs = getattr(layer, "inputs", None)
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        return tuple(inputs[0].shape)
    shape = getattr(layer, "_input_shape_arg", None)
    if shape is not None:
        return (None, *shape)
    return None


def _prepended(first, iterator):
    """A generator (which `fit` accepts) of `first`, then `iterator`."""
    yield first
    yield from iterator


def build_from_data(model, x):
    """Builds `model` from the shapes of the first batch of `x`.

    So that callbacks that need the variables before the first step
    (`BackupAndRestore` restoring a backup, on every backend) work from
    an unbuilt model. Returns `x`, re-chained if a batch was taken from
    an iterator. Unknown data types are left to the first step.
    """
    first, rest = None, x
    if isinstance(x, dict):
        first = x
    elif isinstance(x, keras.utils.PyDataset) and len(x):
        first = x[0]
    elif hasattr(x, "element_spec"):  # tf.data.Dataset
        first = x.element_spec
    elif hasattr(x, "__next__"):
        try:
            first = next(x)
        except StopIteration:
            return x
        rest = _prepended(first, x)
    inputs = first[0] if isinstance(first, (tuple, list)) else first
    if isinstance(inputs, dict) and all(
            n in inputs for n in model.modality_names):
        model.build({n: tuple(inputs[n].shape)
                    for n in model.modality_names})
    return rest


def batch_size_of(x):
    """The batch size Keras's trainer weighs `loss` by: the first axis of
    the first non-`None` leaf of `x` (static where known, else a tensor
    on TensorFlow)."""
    leaf = next((i for i in keras.tree.flatten(x) if i is not None), None)
    if leaf is None:
        return None
    return keras.ops.shape(leaf)[0]


def target_for_sample_weight(x, y, kwargs):
    """A placeholder `y` so that Keras keeps `sample_weight`.

    Keras's array adapter replicates `sample_weight` over the structure
    of `y` and so drops it when `y` is `None`; the model ignores `y`.
    """
    weight = kwargs.get("sample_weight")
    if _is_array_like(weight):  # a pandas Series, a list
        weight = kwargs["sample_weight"] = np.asarray(weight)
    check_sample_weight(weight)
    if weight is None or y is not None or not isinstance(x, dict):
        return y
    return np.zeros((len(weight),), dtype="float32")


def checked_validation_data(data, names, expected_shapes=None):
    """`fit`'s `validation_data`, checked as the training data are."""
    if isinstance(data, tuple):
        return (checked_data(data[0], names, expected_shapes), *data[1:])
    return checked_data(data, names, expected_shapes)


def completed_inputs(model, inputs, mask):
    """The inference batch of `model` with omitted modalities filled with
    zeros (marked absent), checked."""
    if not isinstance(inputs, dict):
        check_structure(inputs, model.modality_names)
    inputs = as_arrays(inputs)
    if mask is not None:
        mask = as_arrays({MASK_KEY: mask})[MASK_KEY]
    unknown = sorted(set(inputs) - set(model.modality_names) - {MASK_KEY})
    if unknown:
        check_structure(inputs, model.modality_names)
    present = [n for n in model.modality_names if n in inputs]
    if not present:
        raise ValueError(
            "Give at least one modality of "
            f"{model.modality_names}; got keys {sorted(inputs)}."
        )
    batch = int(keras.ops.shape(inputs[present[0]])[0])
    if mask is None:
        mask = inputs.get(MASK_KEY)
    if mask is None:
        mask = np.array(
            [[n in inputs for n in model.modality_names]] * batch,
            dtype="float32",
        )
    if not model.built:
        if len(present) < model.num_modalities:
            raise ValueError(
                "The model is not built yet: call it (or `fit`) once on "
                "a batch with every modality first."
            )
        model._ensure_built({n: inputs[n] for n in present})
    full = {}
    for name in model.modality_names:
        if name in inputs:
            full[name] = inputs[name]
        else:
            shape = [batch] + list(model.input_shapes[name][1:])
            full[name] = np.zeros(shape, dtype="float32")
    full[MASK_KEY] = mask
    check_structure(full, model.modality_names,
                               model.input_shapes)
    check_values(full, model.modality_names)
    return full
