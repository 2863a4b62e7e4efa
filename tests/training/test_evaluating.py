"""What `python -m keras_mmvae evaluate` computes (`evaluate_model`): the
probe reads only its drawn training examples, and CelebA gets no
unconditional coherence."""

import numpy as np
from evaluation_toys import identity_classifier
from evaluation_toys import identity_model
from evaluation_toys import one_hot_data

from keras_mmvae.src.datasets.py_dataset import MultimodalDataset
from keras_mmvae.src.training import evaluating


class _CountingDataset(MultimodalDataset):
    """In-memory examples; counts the rows read."""

    def __init__(self, inputs, labels, **kwargs):
        super().__init__(list(inputs), len(labels), labels, **kwargs)
        self.inputs = inputs
        self.rows_read = 0

    def _fetch(self, indices):
        self.rows_read += len(indices)
        return {k: v[indices] for k, v in self.inputs.items()}


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
