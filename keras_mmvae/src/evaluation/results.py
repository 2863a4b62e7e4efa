"""JSON round trips of metric dicts keyed by subsets.

Metric dicts use tuple keys: a subset `("m0", "m1")`, or a pair
`(subset, target)` such as `(("m0", "m1"), "m2")`. JSON needs string keys,
so `serialize_results` writes a subset as `"m0+m1"` and a pair as
`"m0+m1->m2"`; integer keys (subset sizes) become `"1"`, `"2"`, ...
`deserialize_results` reverses this. NumPy scalars and arrays become plain
numbers and lists; NaN is written as `null`.
"""

import json
import math
import os

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export

SUBSET_SEPARATOR = "+"
TARGET_SEPARATOR = "->"


def _check_name(name):
    if not isinstance(name, str):
        raise ValueError(f"Modality names must be strings; got {name!r}.")
    if SUBSET_SEPARATOR in name or TARGET_SEPARATOR in name or not name:
        raise ValueError(
            f"Cannot serialise modality name {name!r}: it is empty or holds "
            f"{SUBSET_SEPARATOR!r} or {TARGET_SEPARATOR!r}."
        )
    return name


def _is_subset(key):
    return (isinstance(key, tuple) and key
            and all(isinstance(n, str) for n in key))


@keras_mmvae_export("keras_mmvae.evaluation.key_to_string")
def key_to_string(key: str | int | tuple) -> str:
    """`("m0", "m1")` → `"m0+m1"`; `(("m0",), "m1")` → `"m0->m1"`.

    Strings pass through; integers become their decimal string.

    Args:
        key: A subset tuple, a `(subset, target)` pair, a string or an int.

    Returns:
        The string form.
    """
    if isinstance(key, str):
        return key
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return str(int(key))
    if _is_subset(key):
        return SUBSET_SEPARATOR.join(_check_name(n) for n in key)
    if (isinstance(key, tuple) and len(key) == 2 and _is_subset(key[0])
            and isinstance(key[1], str)):
        return key_to_string(key[0]) + TARGET_SEPARATOR + _check_name(key[1])
    raise ValueError(
        "Result keys must be strings, ints, subsets (tuples of names) or "
        f"(subset, target) pairs; got {key!r}."
    )


@keras_mmvae_export("keras_mmvae.evaluation.string_to_key")
def string_to_key(
    text: str, modality_names: list[str] | None = None
) -> str | int | tuple:
    """Inverse of `key_to_string`.

    Args:
        text: A string key.
        modality_names: If given, only strings whose parts are all modality
            names become subsets; other strings stay strings (e.g. model
            names in a dict of results). Without it every non-numeric string
            becomes a subset.

    Returns:
        A subset tuple, a `(subset, target)` pair, an int or the string.
    """
    if text.lstrip("-").isdigit():
        return int(text)

    def subset(part):
        names = tuple(part.split(SUBSET_SEPARATOR))
        if modality_names is not None and not all(
            n in modality_names for n in names
        ):
            return None
        return names

    if TARGET_SEPARATOR in text:
        head, _, target = text.partition(TARGET_SEPARATOR)
        inputs = subset(head)
        if inputs is not None and (
            modality_names is None or target in modality_names
            or target == "joint"
        ):
            return (inputs, target)
        return text
    result = subset(text)
    return text if result is None else result


def _value(value):
    if isinstance(value, dict):
        return serialize_results(value)
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return _value(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) else value
    return value


@keras_mmvae_export("keras_mmvae.evaluation.serialize_results")
def serialize_results(results: dict) -> dict:
    """A metric dict (possibly nested) with JSON-compatible keys and values.

    Args:
        results: Dict with subset / `(subset, target)` / int / str keys.

    Returns:
        A new dict with string keys (`"m0+m1"`, `"m0+m1->m2"`, `"1"`) and
        plain Python numbers, ready for `json.dump`.
    """
    out = {}
    for key, value in results.items():
        text = key_to_string(key)
        if text in out:
            raise ValueError(f"Two keys serialise to {text!r}.")
        out[text] = _value(value)
    return out


@keras_mmvae_export("keras_mmvae.evaluation.deserialize_results")
def deserialize_results(
    data: dict, modality_names: list[str] | None = None
) -> dict:
    """Inverse of `serialize_results` (tuple and int keys restored).

    Args:
        data: A dict as written by `serialize_results` (or read from JSON).
        modality_names: Optional modality names; see `string_to_key`.

    Returns:
        The dict with tuple/int keys; `None` values become NaN.
    """
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = deserialize_results(value, modality_names)
        elif value is None:
            value = float("nan")
        out[string_to_key(key, modality_names)] = value
    return out


@keras_mmvae_export("keras_mmvae.evaluation.save_results")
def save_results(results: dict, path: str | os.PathLike) -> None:
    """Writes a metric dict as JSON (see `serialize_results`).

    Args:
        results: The metric dict (nested dicts allowed).
        path: Output file.
    """
    with open(path, "w") as f:
        json.dump(serialize_results(results), f, indent=2)


@keras_mmvae_export("keras_mmvae.evaluation.load_results")
def load_results(
    path: str | os.PathLike, modality_names: list[str] | None = None
) -> dict:
    """Reads a JSON file written by `save_results`.

    Args:
        path: The JSON file.
        modality_names: Optional modality names; see `string_to_key`.

    Returns:
        The metric dict with tuple/int keys.
    """
    with open(path) as f:
        return deserialize_results(json.load(f), modality_names)
