"""What `python -m keras_mmvae evaluate` computes: the probe reads only its
drawn training examples, and CelebA gets no unconditional coherence."""

import numpy as np
from evaluation_toys import identity_classifier
from evaluation_toys import identity_model
from evaluation_toys import one_hot_data

from keras_mmvae.src.cli import evaluating
from keras_mmvae.src.datasets.py_dataset import MultimodalDataset
from keras_mmvae.src.evaluation.linear_probe import sample_examples


class _CountingDataset(MultimodalDataset):
    """In-memory examples; counts the rows read."""

    def __init__(self, inputs, labels, **kwargs):
        super().__init__(list(inputs), len(labels), labels, **kwargs)
        self.inputs = inputs
        self.rows_read = 0

    def _fetch(self, indices):
        self.rows_read += len(indices)
        return {k: v[indices] for k, v in self.inputs.items()}


def test_probe_sample_reads_only_the_drawn_examples():
    n = 1000
    labels = np.arange(n) % 10
    inputs = {"a": np.arange(n, dtype="float32")[:, None]}
    dataset = _CountingDataset(inputs, labels, batch_size=64, shuffle=True,
                               seed=0)
    drawn, drawn_labels = sample_examples(dataset, 50, seed=3)
    assert dataset.rows_read == 50
    # The same examples as the one-pass draw over the arrays.
    expected, expected_labels = sample_examples((inputs, labels), 50, seed=3)
    np.testing.assert_array_equal(drawn["a"], expected["a"])
    np.testing.assert_array_equal(drawn_labels, expected_labels)
    everything, _ = sample_examples(dataset, 5000, seed=0)
    np.testing.assert_array_equal(everything["a"], inputs["a"])


def _evaluate(labels, data, num_classes):
    names = ["a", "b"]
    model = identity_model(names, num_classes)
    classifiers = {n: identity_classifier(num_classes, scale=10.0)
                   for n in names}
    train = _CountingDataset(data, labels, batch_size=16)
    results = evaluating.evaluate_model(
        model, train, (data, labels), classifiers, num_probe=24,
        unconditional_samples=32, verbose=False)
    assert train.rows_read == 24
    return results


def test_unconditional_coherence_only_for_class_labels():
    digits = np.arange(40) % 4
    results = _evaluate(digits, one_hot_data(["a", "b"], digits, 4), 4)
    # Identity decoders of one shared z: both arg-maxes are argmax(z).
    assert results["unconditional_coherence"] == 1.0
    assert "unconditional_coherence_note" not in results
    rng = np.random.default_rng(0)
    attributes = (rng.random((40, 4)) < 0.5).astype("float32")
    results = _evaluate(attributes, {n: attributes.copy() for n in "ab"}, 4)
    assert "unconditional_coherence" not in results
    assert "multi-label" in results["unconditional_coherence_note"]
    np.testing.assert_allclose(list(results["coherence"].values()), 1.0)
