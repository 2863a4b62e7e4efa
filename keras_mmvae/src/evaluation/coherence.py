"""Conditional and unconditional coherence (MoPoE `eval_metrics/coherence`)."""

import numpy as np
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.evaluation import common
from keras_mmvae.src.evaluation import data as data_lib
from keras_mmvae.src.evaluation.data import EvaluationData
from keras_mmvae.src.evaluation.scores import Score
from keras_mmvae.src.evaluation.scores import check_average
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE


def _targets(model, classifiers):
    if not isinstance(classifiers, dict) or not classifiers:
        raise ValueError(
            "`classifiers` must be a non-empty dict {modality name: "
            f"classifier}}; got {classifiers!r}."
        )
    unknown = sorted(set(classifiers) - set(model.modality_names))
    if unknown:
        raise ValueError(
            f"Classifiers for unknown modalities {unknown}; the model has "
            f"{model.modality_names}."
        )
    return [n for n in model.modality_names if n in classifiers]


@keras_mmvae_export("keras_mmvae.evaluation.coherence")
def coherence(
    model: MultimodalVAE,
    data: EvaluationData,
    classifiers: dict,
    subsets: str | list[tuple[str, ...]] | None = None,
    batch_size: int = 256,
    seed: int | None = None,
    attribute_average: str = "batch",
) -> dict[tuple[tuple[str, ...], str], float]:
    """Conditional coherence of every (input subset, target modality) pair.

    Per test batch and input subset `A`: draw one `z ~ q_A` (style latents
    from their prior), decode **every** modality with its likelihood mean
    (`MultimodalVAE.conditional_decode_means`), classify each generated
    target with that modality's classifier and score against the true
    labels: accuracy for class ids; for 0/1 attributes the average
    precision of the classifier scores, averaged over attributes (and over
    batches with `attribute_average="batch"`, MoPoE; an attribute without
    positives in a batch scores 0). Targets
    inside `A` are included (the full matrix); `coherence_by_size` gives the
    headline that averages only targets outside `A`. Examples in which a
    modality of `A` is masked out are left out of `A`'s scores.

    Args:
        model: A built `mm.MultimodalVAE`.
        data: `(inputs, labels)` arrays, a `keras.utils.PyDataset` or an
            iterable of `(inputs, labels)` batches.
        classifiers: Dict modality name → Keras model (or callable)
            returning logits; targets are the modalities with a classifier.
        subsets: Input subsets: `None` (every non-empty proper subset),
            `"all"` (the full set too) or a list of tuples of names.
        batch_size: Batch size for in-memory data.
        seed: Seed of the evaluation's own `keras.random.SeedGenerator`.
        attribute_average: `"batch"` (MoPoE) or `"dataset"`.

    Returns:
        Dict `(subset, target)` → score, one entry per subset and target.
    """
    common.check_built(model)
    check_average(attribute_average)
    names = model.modality_names
    targets = _targets(model, classifiers)
    subsets = common.resolve_subsets(names, subsets, proper=True)
    if not subsets:
        raise ValueError(
            "No input subsets: a single-modality model has no proper subset; "
            "pass subsets='all'."
        )
    inside, outside = common.split_classifiers(classifiers)

    def step(runner, inputs):
        # Encoders run on every modality; the subset is the mask.
        generated = runner.vae.conditional_decode_means(
            inputs, inputs[common.SUBSET_MASK], seed=runner.seed_generator)
        layers = runner.extra_layers
        return {t: layers[t](generated[t], training=False)
                if t in layers else generated[t] for t in targets}

    runner = common.EvaluationRunner(model, step, inside, seed=seed)
    scores = {}
    for inputs, labels in data_lib.iterate_batches(data, batch_size):
        labels = data_lib.require_labels(labels, "Coherence")
        available = data_lib.batch_availability(inputs, names)
        for subset in subsets:
            rows = common.subset_rows(names, subset, available)
            if not rows.any():
                continue
            mask = common.subset_mask(names, subset, available)
            outputs = runner.run(common.runner_inputs(model, inputs, mask))
            for target in targets:
                key = (subset, target)
                if key not in scores:
                    scores[key] = Score(data_lib.is_multilabel(labels),
                                        attribute_average)
                logits = outputs[target]
                if target in outside:
                    logits = common.classify(outside[target], logits)
                scores[key].update(labels[rows], logits[rows])
    return {
        (s, t): float(scores[(s, t)].result()) if (s, t) in scores
        else float("nan")
        for s in subsets for t in targets
    }


@keras_mmvae_export("keras_mmvae.evaluation.coherence_by_size")
def coherence_by_size(
    results: dict[tuple[tuple[str, ...], str], float],
    include_inputs: bool = False,
) -> dict[int, float]:
    """Headline coherence: mean over pairs grouped by input-subset size.

    Args:
        results: Output of `coherence`.
        include_inputs: Also average targets inside the input subset
            (default: only targets not in the subset, the headline).

    Returns:
        Dict number of input modalities → mean coherence (PolyMNIST: four
        numbers for 1–4 inputs).
    """
    groups = {}
    for (subset, target), value in results.items():
        if target in subset and not include_inputs:
            continue
        groups.setdefault(len(subset), []).append(value)
    return {size: float(np.mean(values))
            for size, values in sorted(groups.items())}


@keras_mmvae_export("keras_mmvae.evaluation.unconditional_coherence")
def unconditional_coherence(
    model: MultimodalVAE,
    classifiers: dict,
    num_samples: int = 10000,
    batch_size: int = 256,
    seed: int | None = None,
) -> float:
    """Fraction of prior samples on which all classifiers agree.

    Draws `z` from the prior (and style latents from theirs), decodes every
    modality with its likelihood mean (`MultimodalVAE.prior_decode_means`)
    and counts the samples for which the classifiers of all target
    modalities predict the same class (agreement, not correctness). For
    digits only: agreement of 40-way attribute arg-maxes is not
    meaningful.

    Args:
        model: A built `mm.MultimodalVAE`.
        classifiers: Dict modality name → classifier returning logits (at
            least two).
        num_samples: Number of prior samples (10,000 as in MultiVae; MoPoE
            uses 256 per test batch).
        batch_size: Samples decoded at once.
        seed: Seed of the evaluation's own `keras.random.SeedGenerator`.

    Returns:
        The agreement fraction in [0, 1].
    """
    common.check_built(model)
    targets = _targets(model, classifiers)
    if len(targets) < 2:
        raise ValueError(
            "Unconditional coherence needs classifiers for at least two "
            f"modalities; got {targets}."
        )
    inside, outside = common.split_classifiers(classifiers)

    def step(runner, inputs):
        generated = runner.vae.prior_decode_means(
            ops.shape(inputs["rows"])[0], seed=runner.seed_generator)
        layers = runner.extra_layers
        return {t: layers[t](generated[t], training=False)
                if t in layers else generated[t] for t in targets}

    runner = common.EvaluationRunner(model, step, inside, seed=seed)
    agree, total = 0, 0
    while total < num_samples:
        size = min(int(batch_size), int(num_samples) - total)
        outputs = runner.run({"rows": np.zeros((size, 1), "float32")})
        predictions = []
        for t in targets:
            logits = outputs[t]
            if t in outside:
                logits = common.classify(outside[t], logits)
            predictions.append(np.argmax(logits, axis=-1))
        predictions = np.stack(predictions, axis=1)
        agree += int(np.sum(np.all(predictions == predictions[:, :1],
                                   axis=1)))
        total += size
    return agree / total
