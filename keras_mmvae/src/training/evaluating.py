"""Evaluation of a trained model into a JSON-ready dict."""

import time

from keras_mmvae import evaluation
from keras_mmvae.src.evaluation import data as data_lib

UNCONDITIONAL_COHERENCE_UNDEFINED = (
    "not computed: agreement of the classifiers' arg-max class is defined "
    "for class labels (digits), not for multi-label attributes (CelebA)")


def evaluate_model(model, train_data, test_data, classifiers=None,
                   num_probe=500, unconditional_samples=10000,
                   log_likelihood_samples=0, seed=0, verbose=True):
    """Latent probe, coherence (full matrix and by size), unconditional
    coherence and optionally the IWAE log-likelihood.

    `train_data` may be a `MultimodalDataset`: the probe reads only its
    `num_probe` drawn examples. Unconditional coherence is left out for
    multi-label attributes (CelebA), where agreement of arg-max classes
    means nothing; `results["unconditional_coherence_note"]` says so.

    Returns:
        A dict ready for `json.dump` (subset keys as strings, `"m0+m1"`).
    """
    timings = {}
    results = {}

    def timed(name, fn):
        start = time.monotonic()
        value = fn()
        timings[name] = round(time.monotonic() - start, 1)
        if verbose:
            print(f"  {name}: {timings[name]} s", flush=True)
        return value

    probe = timed("linear_probe", lambda: evaluation.linear_probe(
        model, train_data, test_data, num_train=num_probe, seed=seed))
    results["linear_probe"] = evaluation.serialize_results(probe)
    if classifiers:
        matrix = timed("coherence", lambda: evaluation.coherence(
            model, test_data, classifiers, seed=seed))
        results["coherence"] = evaluation.serialize_results(matrix)
        by_size = evaluation.coherence_by_size(matrix)
        results["coherence_by_size"] = {str(k): v for k, v in by_size.items()}
        if _multilabel(test_data):
            results["unconditional_coherence_note"] = (
                UNCONDITIONAL_COHERENCE_UNDEFINED)
            if verbose:
                print(f"  unconditional_coherence: "
                      f"{UNCONDITIONAL_COHERENCE_UNDEFINED}", flush=True)
        else:
            results["unconditional_coherence"] = timed(
                "unconditional_coherence",
                lambda: evaluation.unconditional_coherence(
                    model, classifiers, num_samples=unconditional_samples,
                    seed=seed))
    if log_likelihood_samples:
        ll = timed("log_likelihood", lambda: evaluation.log_likelihood(
            model, test_data, num_samples=log_likelihood_samples, seed=seed))
        results["log_likelihood"] = evaluation.serialize_results(ll)
    results["eval_seconds"] = timings
    # What decided the numbers: the training objective's subset sampling
    # and how a "moe" model represents a subset (the probe's default).
    results["subset_sampling"] = model.subset_sampling
    results["moe_posterior"] = "component"
    return results


def _multilabel(data):
    """Whether the labels are 0/1 attributes (from the first batch)."""
    for _, labels in data_lib.iterate_batches(data):
        return data_lib.is_multilabel(
            data_lib.require_labels(labels, "Evaluation"))
    raise ValueError("The test data is empty.")


def probe_by_size(probe):
    """Mean latent-probe score by number of input modalities."""
    sizes = {}
    for key, value in probe.items():
        size = len(key.split("+"))
        sizes.setdefault(size, []).append(value)
    return {size: sum(v) / len(v) for size, v in sorted(sizes.items())}
