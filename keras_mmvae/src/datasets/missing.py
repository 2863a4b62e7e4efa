"""Availability masks for incomplete multimodal data.

A mask is a float32 `(N, M)` array of 0/1 (1 = modality present), drawn once
per data set from a seeded generator so that an example's missing modalities
stay the same across epochs (the data is missing, not dropped out).

- Missing completely at random (MCAR): `missing_rate` is a probability, or
  one probability per modality, independent of everything else.
- Missing not at random (MNAR), per class: `missing_per_class` maps a class
  to its missing probability (a float for all modalities or a sequence of
  `M` floats); classes not listed use `missing_rate`.

Rows where every modality was drawn missing get one modality back, chosen
uniformly at random, so no example is empty; the realised missing rates are
therefore slightly below the requested ones when rates are high (exactly one
modality per example remains at rate 1).
"""

from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.models.validation import MASK_KEY


def _rates(value, num_modalities, what):
    rates = np.asarray(value, dtype="float64")
    if rates.ndim == 0:
        rates = np.full(num_modalities, float(rates))
    if rates.shape != (num_modalities,):
        raise ValueError(
            f"{what} must be a probability or a sequence of {num_modalities} "
            f"probabilities (one per modality); got {value!r}."
        )
    if not np.all((rates >= 0) & (rates <= 1)):
        raise ValueError(f"{what} must lie in [0, 1]; got {value!r}.")
    return rates


def validate(missing_rate, missing_per_class, num_modalities):
    """Checks the arguments; returns `True` if any modality can be missing."""
    rates = _rates(missing_rate, num_modalities, "`missing_rate`")
    active = bool(np.any(rates > 0))
    if missing_per_class is not None:
        if not isinstance(missing_per_class, Mapping):
            raise ValueError(
                "`missing_per_class` must be a dict {class: probability or "
                f"per-modality probabilities}}; got {missing_per_class!r}."
            )
        for cls, value in missing_per_class.items():
            r = _rates(value, num_modalities,
                       f"`missing_per_class[{cls!r}]`")
            active = active or bool(np.any(r > 0))
    return active


def make_mask(
    num_examples: int,
    num_modalities: int,
    missing_rate: float | Sequence[float] = 0.0,
    missing_per_class: Mapping[int, float | Sequence[float]] | None = None,
    classes: np.ndarray | None = None,
    seed: int | None = None,
) -> np.ndarray | None:
    """Draws an availability mask; `None` when nothing can be missing.

    Args:
        num_examples: `N`.
        num_modalities: `M`.
        missing_rate: MCAR probability (scalar or per modality).
        missing_per_class: MNAR probabilities per class (see module doc).
        classes: Integer class of every example `(N,)`; needed with
            `missing_per_class`.
        seed: Seed of the NumPy generator.

    Returns:
        float32 `(N, M)` 0/1 mask with at least one 1 per row, or `None`.
    """
    if not validate(missing_rate, missing_per_class, num_modalities):
        return None
    rates = np.broadcast_to(
        _rates(missing_rate, num_modalities, "`missing_rate`"),
        (num_examples, num_modalities),
    ).copy()
    if missing_per_class:
        if classes is None:
            raise ValueError(
                "`missing_per_class` needs a class per example; this data "
                "set provides none."
            )
        classes = np.asarray(classes).reshape(-1)
        if len(classes) != num_examples:
            raise ValueError(
                f"Got {len(classes)} classes for {num_examples} examples."
            )
        known = set(np.unique(classes).tolist())
        for cls, value in missing_per_class.items():
            if cls not in known:
                raise ValueError(
                    f"`missing_per_class` has class {cls!r}, but the data's "
                    f"classes are {sorted(known)}."
                )
            rates[classes == cls] = _rates(
                value, num_modalities, f"`missing_per_class[{cls!r}]`"
            )
    rng = np.random.default_rng(seed)
    mask = rng.random((num_examples, num_modalities)) >= rates
    empty = ~mask.any(axis=1)
    if empty.any():
        keep = rng.integers(0, num_modalities, size=int(empty.sum()))
        mask[np.nonzero(empty)[0], keep] = True
    return mask.astype("float32")


@keras_mmvae_export("keras_mmvae.datasets.with_missing")
def with_missing(
    inputs: Mapping[str, np.ndarray],
    missing_rate: float | Sequence[float] = 0.0,
    missing_per_class: Mapping[int, float | Sequence[float]] | None = None,
    classes: np.ndarray | None = None,
    seed: int | None = None,
) -> dict:
    """Simulates missing modalities on your own arrays.

    Draws a mask as the benchmark loaders do (MCAR with `missing_rate`,
    per-class MNAR with `missing_per_class`; never an example without any
    modality; seeded) and returns a new dict: the arrays with absent
    entries set to zero, plus the float32 `(N, M)` 0/1 `"mask"` in the
    order of `inputs`' keys, ready for `fit`, `evaluate` and `encode`.

    Args:
        inputs: `{modality name: array (N, ...)}`.
        missing_rate: MCAR probability (scalar or one per modality).
        missing_per_class: `{class: probability or per-modality
            probabilities}`; needs `classes`.
        classes: Integer class of every example `(N,)`.
        seed: Seed of the NumPy generator.

    Example:
    ```python
    import numpy as np
    import keras_mmvae as mm

    x = {"image": np.ones((100, 4), "float32"),
         "label": np.ones((100, 2), "float32")}
    data = mm.datasets.with_missing(x, missing_rate=0.3, seed=0)
    assert data["mask"].shape == (100, 2) and data["mask"].sum(1).min() == 1
    assert np.all(data["image"][data["mask"][:, 0] == 0] == 0)
    ```
    """
    if not isinstance(inputs, Mapping) or not inputs:
        raise ValueError(
            "`inputs` must be a non-empty dict {modality name: array}; got "
            f"{type(inputs).__name__}.")
    if MASK_KEY in inputs:
        raise ValueError(
            f"`inputs` already has a {MASK_KEY!r}; pass the arrays alone.")
    names = list(inputs)
    arrays = {n: np.asarray(inputs[n]) for n in names}
    sizes = {n: len(a) for n, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(
            f"All modalities need one row per example; got sizes {sizes}.")
    num_examples = sizes[names[0]]
    mask = make_mask(num_examples, len(names), missing_rate=missing_rate,
                     missing_per_class=missing_per_class, classes=classes,
                     seed=seed)
    if mask is None:
        mask = np.ones((num_examples, len(names)), "float32")
    result = {}
    for i, name in enumerate(names):
        array = arrays[name].copy()
        array[mask[:, i] == 0] = 0
        result[name] = array
    result[MASK_KEY] = mask
    return result
