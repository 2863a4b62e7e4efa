"""Latent linear probe (MoPoE `eval_metrics/representation.py`)."""

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.datasets.py_dataset import MultimodalDataset
from keras_mmvae.src.evaluation import common
from keras_mmvae.src.evaluation import data as data_lib
from keras_mmvae.src.evaluation.data import EvaluationData
from keras_mmvae.src.evaluation.scores import Score
from keras_mmvae.src.evaluation.scores import check_average
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE


def _smallest_keys(keys, num):
    """Indices of the `num` smallest keys, in ascending index order."""
    order = np.argsort(keys, kind="stable")[:num]
    order.sort()
    return order


def sample_examples(data, num, seed=0, batch_size=256):
    """A uniform random sample of `num` examples, without replacement.

    Every example gets a key from a seeded NumPy generator and the `num`
    smallest keys are kept (so the sample does not depend on how the data
    is batched for in-memory arrays). A `MultimodalDataset` is not
    iterated: the keys are drawn for its `num_examples` indices and only
    the kept examples are read with `get` (the same examples as its
    `arrays()` would give, without materialising the split). Other data
    take one pass.

    Returns:
        `(inputs, labels)` NumPy arrays with `min(num, N)` rows.
    """
    rng = np.random.default_rng(seed)
    if isinstance(data, MultimodalDataset):
        inputs, labels = data.get(
            _smallest_keys(rng.random(data.num_examples), num))
        return inputs, data_lib.require_labels(labels, "The linear probe")
    kept_keys, kept_inputs, kept_labels = None, None, None
    for inputs, labels in data_lib.iterate_batches(data, batch_size):
        labels = data_lib.require_labels(labels, "The linear probe")
        keys = rng.random(len(labels))
        if kept_keys is None:
            kept_keys, kept_inputs, kept_labels = keys, inputs, labels
        else:
            kept_keys = np.concatenate([kept_keys, keys])
            kept_inputs = {k: np.concatenate([kept_inputs[k], v])
                           for k, v in inputs.items()}
            kept_labels = np.concatenate([kept_labels, labels])
        if len(kept_keys) > num:
            order = _smallest_keys(kept_keys, num)
            kept_keys = kept_keys[order]
            kept_inputs = {k: v[order] for k, v in kept_inputs.items()}
            kept_labels = kept_labels[order]
    if kept_keys is None:
        raise ValueError("The training data is empty.")
    return kept_inputs, kept_labels


def _posterior_mean_step(moe_posterior):
    def step(runner, inputs):
        vae = runner.vae
        mean, log_var, _ = vae.encode_experts(common.model_inputs(vae, inputs))
        q_mean, _ = vae.fusion.posterior(mean, log_var,
                                         mask=inputs[common.SUBSET_MASK],
                                         moe_posterior=moe_posterior)
        return {"mean": q_mean}

    return step


def subset_posterior_means(runner, inputs, subsets):
    """Means of `q_A` for every subset: dict subset → `(NumPy (B, D), rows)`.

    `rows` marks the examples in which all of `A` is available. `q_A` is
    `model.fusion.posterior` (what `model.encode` returns: the subset's own
    fused component, or for `"moe"` one expert per example or the
    moment-matched mixture, as the runner's step was made).
    """
    model = runner.vae
    names = model.modality_names
    available = data_lib.batch_availability(inputs, names)
    result = {}
    for subset in subsets:
        mask = common.subset_mask(names, subset, available)
        outputs = runner.run(common.runner_inputs(model, inputs, mask))
        result[subset] = (outputs["mean"],
                          common.subset_rows(names, subset, available))
    return result


class _Constant:
    """Stands in for a probe whose training labels hold a single class."""

    def __init__(self, value):
        self.value = value

    def predict(self, x):
        return np.full(len(x), self.value)


def _fit(features, targets):
    from sklearn.linear_model import LogisticRegression

    classes = np.unique(targets)
    if len(classes) < 2:
        return _Constant(classes[0] if len(classes) else 0)
    probe = LogisticRegression(random_state=0, solver="lbfgs", max_iter=1000)
    return probe.fit(features, targets)


def _predict(probes, features, multilabel):
    if not multilabel:
        return probes.predict(features)
    return np.stack([p.predict(features) for p in probes], axis=1)


@keras_mmvae_export("keras_mmvae.evaluation.linear_probe")
def linear_probe(
    model: MultimodalVAE,
    train_data: EvaluationData,
    test_data: EvaluationData,
    num_train: int = 500,
    subsets: str | list[tuple[str, ...]] | None = None,
    batch_size: int = 256,
    seed: int = 0,
    attribute_average: str = "batch",
    moe_posterior: str = "component",
) -> dict[tuple[str, ...], float]:
    """Linear probe on the posterior means of every modality subset.

    For each non-empty subset `A`, encodes examples with the mean of `q_A`
    (`model.encode`'s posterior given exactly `A`), fits a logistic
    regression (`LogisticRegression(random_state=0, solver="lbfgs",
    max_iter=1000)`, one per attribute for 0/1 attribute labels) on
    `num_train` training examples drawn uniformly **without replacement**
    with a seeded generator (MoPoE draws with replacement, unseeded), and
    scores the test data: accuracy for class ids; for attributes the average
    precision of the probes' hard `predict` outputs, averaged over
    attributes (and over test batches with `attribute_average="batch"`, as
    MoPoE does; an attribute without positives in a batch scores 0).
    Examples in which a modality of `A` is masked out are left out of `A`'s
    fit and score.

    Args:
        model: A built `mm.MultimodalVAE`.
        train_data: `(inputs, labels)` arrays, a `keras.utils.PyDataset` or
            an iterable of `(inputs, labels)` batches; a `MultimodalDataset`
            (any `mm.datasets.<benchmark>.load`) is read only at the
            `num_train` drawn examples.
        test_data: Test data of the same kinds.
        num_train: Number of training examples for the probes (500).
        subsets: `None`/`"all"` (every non-empty subset) or a list of tuples
            of modality names.
        batch_size: Batch size for in-memory data (and the test batches
            of the per-batch attribute average).
        seed: Seed of the training-example draw.
        attribute_average: `"batch"` (MoPoE) or `"dataset"`.
        moe_posterior: How a `"moe"` model represents an example given a
            subset: `"component"` (default, MoPoE's protocol: one expert of
            the subset per example, by its position in the batch) or
            `"moment_matched"` (the mixture's moment-matched mean).

    Returns:
        Dict subset (tuple of names) → accuracy or mean average precision.

    Example:
    ```python
    import numpy as np
    import keras_mmvae as mm
    import keras_mmvae.evaluation as ev

    vae = mm.MultimodalVAE(
        encoders={"a": mm.layers.MLPEncoder(2, hidden_dims=()),
                  "b": mm.layers.MLPEncoder(2, hidden_dims=())},
        decoders={"a": mm.layers.MLPDecoder((2,), hidden_dims=()),
                  "b": mm.layers.MLPDecoder((2,), hidden_dims=())},
        likelihoods={"a": "gaussian", "b": "gaussian"}, seed=0)
    labels = np.arange(40) % 2
    x = np.stack([labels, 1 - labels], axis=1).astype("float32")
    vae({"a": x, "b": x})
    scores = ev.linear_probe(vae, ({"a": x, "b": x}, labels),
                             ({"a": x, "b": x}, labels), num_train=20)
    assert set(scores) == {("a",), ("b",), ("a", "b")}
    ```
    """
    common.check_built(model)
    check_average(attribute_average)
    names = model.modality_names
    subsets = common.resolve_subsets(names, subsets)
    train_inputs, train_labels = sample_examples(train_data, int(num_train),
                                                 seed, batch_size)
    multilabel = data_lib.is_multilabel(train_labels)
    runner = common.EvaluationRunner(model,
                                     _posterior_mean_step(moe_posterior))
    features = {s: [] for s in subsets}
    rows = {s: [] for s in subsets}
    for inputs, _ in data_lib.iterate_batches((train_inputs, train_labels),
                                              batch_size):
        for subset, (mean, valid) in subset_posterior_means(
            runner, inputs, subsets
        ).items():
            features[subset].append(mean)
            rows[subset].append(valid)
    probes = {}
    for subset in subsets:
        valid = np.concatenate(rows[subset])
        x = np.concatenate(features[subset])[valid]
        y = train_labels[valid]
        if not len(y):
            raise ValueError(
                f"No training example has all of {subset} available."
            )
        if multilabel:
            probes[subset] = [_fit(x, y[:, k]) for k in range(y.shape[1])]
        else:
            probes[subset] = _fit(x, y)
    scores = {s: Score(multilabel, attribute_average) for s in subsets}
    for inputs, labels in data_lib.iterate_batches(test_data, batch_size):
        labels = data_lib.require_labels(labels, "The linear probe")
        for subset, (mean, valid) in subset_posterior_means(
            runner, inputs, subsets
        ).items():
            if valid.any():
                predictions = _predict(probes[subset], mean[valid],
                                       multilabel)
                scores[subset].update(labels[valid], predictions)
    return {s: float(scores[s].result()) for s in subsets}
