"""Helpers shared by the evaluation metrics."""

import keras
import numpy as np
from keras import ops

from keras_mmvae.src.ops.subsets import modality_subsets


def all_subsets(names, proper=False):
    """Non-empty subsets of `names` as tuples of names, in
    `modality_subsets` order (MoPoE's); `proper=True` drops the full set."""
    if not names:
        return []
    return [
        tuple(names[i] for i in subset)
        for subset in modality_subsets(len(names))
        if not proper or len(subset) < len(names)
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


SUBSET_MASK = "subset_mask"


class EvaluationRunner(keras.Model):
    """Runs one evaluation step per batch as a compiled Keras function.

    `step(runner, inputs)` is written with `keras.ops` and reads the model
    as `runner.vae`, extra Keras layers (e.g. classifiers) as
    `runner.extra_layers`, and draws randomness from
    `runner.seed_generator`.
    `run` calls it through `predict_on_batch`, so it is traced once per
    batch shape (`jax.jit`, `tf.function`; eager on torch) instead of
    dispatching every operation eagerly, and Keras threads the variables
    and the seed state. Smaller batches are padded to the first batch's
    size so the compiled function is reused. A model compiled with
    `run_eagerly=True` is evaluated eagerly too (cheaper for tiny models,
    whose many small compilations cost more than they save).
    """

    def __init__(self, vae, step, extra_layers=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.run_eagerly = bool(getattr(vae, "run_eagerly", False))
        self.vae = vae
        self.extra_layers = dict(extra_layers or {})
        self.step_fn = step
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.padded_size = None

    def call(self, inputs, training=False):
        return self.step_fn(self, inputs)

    def seed_state(self):
        """The seed generator's state (NumPy), e.g. to replay draws."""
        return np.asarray(ops.convert_to_numpy(self.seed_generator.state))

    def set_seed_state(self, state):
        self.seed_generator.state.assign(state)

    def run(self, inputs):
        """`step` on a dict of NumPy arrays; NumPy outputs, batch first."""
        rows = len(next(iter(inputs.values())))
        size = max(rows, self.padded_size or 0)
        self.padded_size = size
        if rows < size:
            inputs = {
                k: np.concatenate([v, np.repeat(v[-1:], size - rows, 0)])
                for k, v in inputs.items()
            }
        outputs = self.predict_on_batch(inputs)
        return {k: np.asarray(v)[:rows] for k, v in outputs.items()}


def runner_inputs(model, inputs, mask=None):
    """The modality arrays (float32) plus an optional subset mask."""
    out = {n: np.asarray(inputs[n], dtype="float32")
           for n in model.modality_names}
    if mask is not None:
        out[SUBSET_MASK] = np.asarray(mask, dtype="float32")
    return out


def model_inputs(model, inputs):
    """The modality tensors of a runner's inputs."""
    return {n: inputs[n] for n in model.modality_names}


def split_classifiers(classifiers):
    """Keras layers (run inside the compiled step) and other callables."""
    inside = {n: c for n, c in classifiers.items()
              if isinstance(c, keras.layers.Layer)}
    outside = {n: c for n, c in classifiers.items() if n not in inside}
    return inside, outside
