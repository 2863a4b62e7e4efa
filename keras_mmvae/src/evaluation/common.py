"""Helpers shared by the evaluation metrics."""

import itertools

import keras
import numpy as np
from keras import ops


def all_subsets(names, proper=False):
    """Non-empty subsets of `names` as tuples, MoPoE order (size, then
    `itertools.combinations` order); `proper=True` drops the full set."""
    last = len(names) - 1 if proper else len(names)
    return [
        subset
        for size in range(1, last + 1)
        for subset in itertools.combinations(names, size)
    ]


def resolve_subsets(names, subsets, proper=False):
    """Subsets as tuples of names in the model's modality order.

    `None` → every non-empty subset (without the full set if `proper`);
    `"all"` → every non-empty subset; otherwise a list of tuples of names.
    """
    if subsets is None:
        return all_subsets(names, proper=proper)
    if isinstance(subsets, str):
        if subsets != "all":
            raise ValueError(
                "`subsets` must be None, 'all' or a list of tuples of "
                f"modality names; got {subsets!r}."
            )
        return all_subsets(names)
    resolved = []
    for subset in subsets:
        if isinstance(subset, str):
            subset = (subset,)
        subset = tuple(subset)
        unknown = [n for n in subset if n not in names]
        if not subset or unknown or len(set(subset)) != len(subset):
            raise ValueError(
                f"Invalid subset {subset!r}: give non-empty tuples of "
                f"distinct modality names from {list(names)}."
            )
        resolved.append(tuple(n for n in names if n in subset))
    return resolved


def subset_mask(names, subset, available):
    """`(B, M)` float32 mask: modalities of `subset` that are available."""
    indicator = np.array([n in subset for n in names], dtype="float32")
    return available * indicator[None, :]


def subset_rows(names, subset, available):
    """`(B,)` bool: rows where every modality of `subset` is available."""
    idx = [names.index(n) for n in subset]
    return np.all(available[:, idx] > 0, axis=1)


def full_inputs(model, inputs):
    """Every modality of `inputs` as float tensors (no mask)."""
    return {n: ops.convert_to_tensor(inputs[n]) for n in model.modality_names}


def style_prior_samples(model, batch, seed_generator, dtype="float32"):
    """Styles drawn from `N(0, I)` for every modality with a style latent."""
    styles = {}
    for name in model.modality_names:
        dim = (model.style_dims or {}).get(name, 0)
        if dim:
            styles[name] = keras.random.normal((batch, dim), dtype=dtype,
                                               seed=seed_generator)
    return styles


def check_built(model):
    if not model.built:
        raise ValueError(
            "Build or train the model before evaluating it (call it once on "
            "a batch with every modality)."
        )


def classify(classifier, x):
    """Logits of a classifier (Keras model or callable) as NumPy."""
    if isinstance(classifier, keras.Model):
        logits = classifier(x, training=False)
    else:
        logits = classifier(x)
    return np.asarray(ops.convert_to_numpy(logits))
