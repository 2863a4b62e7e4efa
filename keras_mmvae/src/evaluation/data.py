"""Iterating evaluation data: in-memory tuples, `PyDataset`s, iterables.

Evaluation functions accept

* an in-memory tuple `(inputs, labels)` with `inputs` a dict
  `{name: array}` (plus an optional `"mask"`) and `labels` an array, or just
  the `inputs` dict when labels are not needed;
* a `keras.utils.PyDataset` (e.g. from `mm.datasets.<benchmark>.load`)
  yielding `(inputs, labels)` batches;
* any other iterable of `(inputs, labels)` batches (a list, a generator, a
  `tf.data.Dataset`).

Batches come out as NumPy: `(inputs dict, labels or None)`.
"""

from collections.abc import Iterable

import keras
import numpy as np

from keras_mmvae.src.models.validation import MASK_KEY

EvaluationData = tuple | dict | keras.utils.PyDataset | Iterable
"""`(inputs, labels)` arrays, an inputs dict, a `PyDataset` or batches."""


def _to_numpy(x):
    if x is None:
        return None
    return np.asarray(keras.ops.convert_to_numpy(x))


def _split(batch):
    if isinstance(batch, dict):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch and isinstance(
        batch[0], dict
    ):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    raise ValueError(
        "Evaluation data must yield `(inputs, labels)` batches with `inputs` "
        f"a dict {{modality name: array}}; got a {type(batch).__name__}."
    )


def is_in_memory(data):
    """True for a dict or an `(inputs dict, labels)` tuple of arrays."""
    if isinstance(data, dict):
        return True
    return (isinstance(data, tuple) and len(data) in (1, 2)
            and isinstance(data[0], dict)
            and not isinstance(data, keras.utils.PyDataset))


def iterate_batches(data, batch_size=256):
    """Yields `(inputs, labels)` NumPy batches from any supported data.

    In-memory data is cut into batches of `batch_size` (the last one may be
    smaller); datasets are iterated as they are.
    """
    if is_in_memory(data):
        inputs, labels = _split(data)
        inputs = {k: _to_numpy(v) for k, v in inputs.items()}
        labels = _to_numpy(labels)
        sizes = {len(v) for v in inputs.values()}
        if labels is not None:
            sizes.add(len(labels))
        if len(sizes) != 1:
            raise ValueError(
                "All arrays of in-memory data need the same number of rows; "
                f"got sizes {sorted(sizes)}."
            )
        total = sizes.pop()
        for start in range(0, total, int(batch_size)):
            stop = start + int(batch_size)
            yield ({k: v[start:stop] for k, v in inputs.items()},
                   None if labels is None else labels[start:stop])
        return
    if isinstance(data, keras.utils.PyDataset):
        num = data.num_batches
        if num is None:
            raise ValueError(
                "Cannot evaluate on an infinite PyDataset (num_batches is "
                "None); pass a finite one."
            )
        batches = (data[i] for i in range(num))
    else:
        try:
            batches = iter(data)
        except TypeError:
            raise ValueError(
                "Evaluation data must be an `(inputs, labels)` tuple, a "
                "`keras.utils.PyDataset` or an iterable of batches; got "
                f"{type(data).__name__}."
            ) from None
    for batch in batches:
        inputs, labels = _split(batch)
        yield ({k: _to_numpy(v) for k, v in inputs.items()},
               _to_numpy(labels))


def require_labels(labels, what):
    if labels is None:
        raise ValueError(
            f"{what} needs labels: pass `(inputs, labels)` data."
        )
    return labels


def is_multilabel(labels):
    """`(B, K)` 0/1 attribute labels (True) or `(B,)` class ids (False)."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        return False
    if labels.ndim == 2:
        return True
    raise ValueError(
        "Labels must be `(B,)` class ids or `(B, K)` 0/1 attributes; got "
        f"shape {labels.shape}."
    )


def batch_availability(inputs, names):
    """`(B, M)` 0/1 availability of the modalities of a NumPy batch.

    Read from the batch's `"mask"`, all ones without one (then every
    modality must be in the batch). The model's own `ops.dtypes.availability`
    casts a mask tensor inside the compiled step instead.
    """
    batch = len(next(iter(v for k, v in inputs.items() if k != MASK_KEY)))
    if MASK_KEY in inputs:
        mask = np.asarray(inputs[MASK_KEY], dtype="float32")
        if mask.shape != (batch, len(names)):
            raise ValueError(
                f"The {MASK_KEY!r} must have shape (batch, {len(names)}); got "
                f"{mask.shape}."
            )
        return (mask > 0).astype("float32")
    missing = [n for n in names if n not in inputs]
    if missing:
        raise ValueError(
            f"Evaluation data lacks modalities {missing}; every batch must "
            f"hold all of {list(names)} (mark absent values in "
            f"{MASK_KEY!r})."
        )
    return np.ones((batch, len(names)), dtype="float32")
