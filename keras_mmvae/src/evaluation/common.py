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


def style_prior_samples(model, batch, seed_generator, dtype="float32"):
    """Styles drawn from `N(0, I)` for every modality with a style latent.

    The draws `MultimodalVAE.decode(z, styles=None)` makes, in the same
    order, but from the evaluation's own `seed_generator` instead of the
    model's (which `decode` cannot be given yet).
    """
    styles = {}
    for name in model.modality_names:
        dim = (model.style_dims or {}).get(name, 0)
        if dim:
            styles[name] = keras.random.normal((batch, dim), dtype=dtype,
                                               seed=seed_generator)
    return styles


def decoded_means(model, z, seed_generator):
    """Likelihood means of every modality for codes `z` (styles ~ prior).

    What `MultimodalVAE.generate` and `conditional_generate` return for
    their `z`, with the style draws from `seed_generator`.
    """
    styles = style_prior_samples(model, ops.shape(z)[0], seed_generator,
                                 z.dtype)
    params = model.decode(z, styles=styles)
    return {n: model.likelihoods[n].mean(params[n])
            for n in model.modality_names}


def prior_decoded_means(model, inputs, seed_generator):
    """Decoded means of `z ~ N(0, I)`, one per row of `inputs["rows"]`.

    The computation of `MultimodalVAE.generate`, traceable inside a
    runner's compiled step and drawing from `seed_generator`.
    """
    z = keras.random.normal((ops.shape(inputs["rows"])[0], model.latent_dim),
                            seed=seed_generator)
    return decoded_means(model, z, seed_generator)


def conditional_decoded_means(model, inputs, seed_generator):
    """Decoded means from one posterior sample of the masked subset.

    `inputs` are a runner's inputs (the modalities and `SUBSET_MASK`): the
    computation of `MultimodalVAE.conditional_generate` for that mask,
    traceable inside the runner's compiled step and drawing from
    `seed_generator`. The encoders run on every modality; the mask selects
    the subset.
    """
    mean, log_var, _ = model.encode_experts(model_inputs(model, inputs))
    z, _ = model.fusion.posterior_sample(
        mean, log_var, mask=inputs[SUBSET_MASK], seed=seed_generator)
    return decoded_means(model, z, seed_generator)


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
