"""Latent linear probe: known answers, sampling and data kinds."""

import keras
import numpy as np
import pytest
from evaluation_toys import identity_model
from evaluation_toys import one_hot_data

import keras_mmvae.evaluation as ev
from keras_mmvae.src.datasets.py_dataset import MultimodalDataset
from keras_mmvae.src.evaluation.linear_probe import sample_examples

NAMES = ["a", "b", "c"]
SUBSETS = [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c"),
           ("a", "b", "c")]


def test_separable_latents_score_one():
    rng = np.random.default_rng(0)
    train_labels, test_labels = rng.integers(0, 10, 700), rng.integers(
        0, 10, 300)
    model = identity_model(NAMES, 10, fusion="mopoe")
    train = (one_hot_data(NAMES, train_labels, 10, noise=0.05, seed=1),
             train_labels)
    test = (one_hot_data(NAMES, test_labels, 10, noise=0.05, seed=2),
            test_labels)
    scores = ev.linear_probe(model, train, test)
    assert list(scores) == SUBSETS
    assert all(v == 1.0 for v in scores.values())


def test_uninformative_latents_score_chance():
    rng = np.random.default_rng(0)
    model = identity_model(NAMES[:2], 4)
    labels = rng.integers(0, 2, 1200)
    train = ({n: rng.normal(size=(600, 4)).astype("float32")
              for n in NAMES[:2]}, labels[:600])
    test = ({n: rng.normal(size=(600, 4)).astype("float32")
             for n in NAMES[:2]}, labels[600:])
    scores = ev.linear_probe(model, train, test, num_train=500)
    for value in scores.values():
        assert abs(value - 0.5) < 4 * np.sqrt(0.25 / 600)


def test_attributes_use_mean_average_precision():
    rng = np.random.default_rng(0)
    labels = (rng.random((600, 5)) < 0.4).astype("float32")
    model = identity_model(NAMES[:2], 5)
    data = {n: labels + 0.05 * rng.normal(size=labels.shape).astype(
        "float32") for n in NAMES[:2]}
    train = ({k: v[:400] for k, v in data.items()}, labels[:400])
    test = ({k: v[400:] for k, v in data.items()}, labels[400:])
    for average in ("batch", "dataset"):
        scores = ev.linear_probe(model, train, test, num_train=300,
                                 attribute_average=average, batch_size=100)
        assert set(scores) == {("a",), ("b",), ("a", "b")}
        np.testing.assert_allclose(list(scores.values()), 1.0)
    # Random scores: mean AP of hard predictions ≈ positive rate (0.4).
    noise = ({k: rng.normal(size=v.shape).astype("float32")
              for k, v in test[0].items()}, test[1])
    scores = ev.linear_probe(model, train, noise, num_train=300,
                             attribute_average="dataset")
    for value in scores.values():
        assert 0.3 < value < 0.5


def test_sampling_is_seeded_without_replacement_and_batch_independent():
    n = 1000
    inputs = {"a": np.arange(n, dtype="float32")[:, None]}
    labels = np.arange(n)
    first, first_labels = sample_examples((inputs, labels), 500, seed=3)
    ids = first["a"][:, 0].astype(int)
    assert len(np.unique(ids)) == 500
    np.testing.assert_array_equal(ids, first_labels)
    again, _ = sample_examples((inputs, labels), 500, seed=3,
                               batch_size=77)
    np.testing.assert_array_equal(again["a"], first["a"])
    other, _ = sample_examples((inputs, labels), 500, seed=4)
    assert not np.array_equal(other["a"], first["a"])
    small, _ = sample_examples((inputs, labels), 5000, seed=0)
    assert len(small["a"]) == n


def test_datasets_and_masks():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 256)
    data = one_hot_data(NAMES[:2], labels, 10, noise=0.05)
    model = identity_model(NAMES[:2], 10)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            rows = slice(64 * i, 64 * (i + 1))
            return {k: v[rows] for k, v in data.items()}, labels[rows]

    in_memory = ev.linear_probe(model, (data, labels), (data, labels),
                                num_train=200, batch_size=64)
    from_dataset = ev.linear_probe(model, Batches(), Batches(),
                                   num_train=200)
    assert in_memory == from_dataset
    # "b" masked (and garbage) in half the rows: probes of subsets with "b"
    # never see those rows, so the latents stay separable.
    mask = np.ones((256, 2), "float32")
    mask[::2, 1] = 0.0
    masked = dict(data, mask=mask)
    masked["b"] = np.where(mask[:, 1:] > 0, data["b"], 100.0)
    scores = ev.linear_probe(model, (masked, labels), (masked, labels),
                             num_train=200)
    assert all(v == 1.0 for v in scores.values())
    with pytest.raises(ValueError, match="needs labels"):
        ev.linear_probe(model, data, (data, labels))


def test_moe_probe_represents_each_example_by_one_expert():
    """MoPoE's protocol: one expert of the subset per example, by position.

    Expert `a` knows the label, expert `b` is noise. A probe of `{a, b}`
    sees `a` in the first half of every batch and `b` in the second, so it
    scores about halfway between `a` alone and chance; the moment-matched
    mean `(a + b) / 2` still carries the label everywhere.
    """
    rng = np.random.default_rng(0)
    model = identity_model(["a", "b"], 10, fusion="moe")
    data = {}
    for split, n in (("train", 1000), ("test", 512)):
        labels = rng.integers(0, 10, n)
        x = {"a": 4.0 * np.eye(10, dtype="float32")[labels],
             "b": np.eye(10, dtype="float32")[rng.integers(0, 10, n)]}
        data[split] = (x, labels)
    mean, _ = model.encode({k: v[:8] for k, v in data["test"][0].items()})
    expected = np.concatenate([data["test"][0]["a"][:4],
                               data["test"][0]["b"][4:8]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(mean), expected)
    matched, _ = model.encode({k: v[:8] for k, v in data["test"][0].items()},
                              moe_posterior="moment_matched")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(matched),
                               0.5 * (data["test"][0]["a"][:8]
                                      + data["test"][0]["b"][:8]),
                               rtol=1e-6)
    subsets = [("a",), ("b",), ("a", "b")]
    component = ev.linear_probe(model, data["train"], data["test"],
                                num_train=1000, subsets=subsets)
    matched = ev.linear_probe(model, data["train"], data["test"],
                              num_train=1000, subsets=subsets,
                              moe_posterior="moment_matched")
    assert component[("a",)] == 1.0 and component[("b",)] < 0.2
    assert 0.45 < component[("a", "b")] < 0.7
    assert matched[("a", "b")] > 0.95
    with pytest.raises(ValueError, match="moe_posterior"):
        model.encode(data["test"][0], moe_posterior="mean")


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
