"""Conditional and unconditional coherence: known answers and structure."""

import keras
import numpy as np
import pytest
from evaluation_toys import AffineEncoder
from evaluation_toys import LinearGaussian
from evaluation_toys import NoiseDecoder
from evaluation_toys import identity_classifier
from evaluation_toys import identity_model
from evaluation_toys import one_hot_data
from keras import ops

import keras_mmvae as mm
import keras_mmvae.evaluation as ev
from keras_mmvae.src.testing.test_case import to_numpy

NAMES = ["a", "b", "c"]
PROPER = [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c")]


def _digits(n, seed=0):
    return np.random.default_rng(seed).integers(0, 10, n)


@pytest.mark.parametrize("fusion", ["mwb", "moe", "poe"])
def test_perfect_decoder_is_fully_coherent(fusion):
    """Identity encoders/decoders on one-hot labels reproduce the label."""
    labels = _digits(128)
    data = one_hot_data(NAMES, labels, 10)
    model = identity_model(NAMES, 10, fusion)
    classifiers = {n: identity_classifier(10) for n in NAMES}
    result = ev.coherence(model, (data, labels), classifiers, seed=0,
                          batch_size=64)
    assert set(result) == {(s, t) for s in PROPER for t in NAMES}
    assert all(v == 1.0 for v in result.values())
    assert ev.coherence_by_size(result) == {1: 1.0, 2: 1.0}
    assert ev.unconditional_coherence(model, classifiers, num_samples=128,
                                      batch_size=64, seed=0) == 1.0


def _noise_model(dim=10):
    eye, zero = np.eye(dim, dtype="float32"), np.zeros(dim, "float32")
    model = mm.MultimodalVAE(
        encoders={n: AffineEncoder(eye, zero, np.zeros(dim))
                  for n in NAMES[:2]},
        decoders={n: NoiseDecoder(dim, seed=i)
                  for i, n in enumerate(NAMES[:2])},
        likelihoods={n: "gaussian" for n in NAMES[:2]},
        seed=0,
    )
    model.build({n: (None, dim) for n in NAMES[:2]})
    model.run_eagerly = True
    return model


def test_random_decoder_is_at_chance():
    """Decoders that ignore `z`: 10 balanced classes → 0.1 ± 4σ."""
    n = 1024
    labels = np.arange(n) % 10
    data = one_hot_data(NAMES[:2], labels, 10)
    model = _noise_model()
    classifiers = {n: identity_classifier(10) for n in NAMES[:2]}
    result = ev.coherence(model, (data, labels), classifiers, seed=0)
    assert set(result) == {(s, t) for s in [("a",), ("b",)]
                           for t in NAMES[:2]}
    tolerance = 4 * np.sqrt(0.1 * 0.9 / n)
    for value in result.values():
        assert abs(value - 0.1) < tolerance
    # Two independent uniform arg-maxes agree with probability 0.1.
    agreement = ev.unconditional_coherence(model, classifiers,
                                           num_samples=n, seed=0)
    assert abs(agreement - 0.1) < tolerance


def test_attribute_coherence_is_average_precision():
    rng = np.random.default_rng(0)
    labels = (rng.random((512, 6)) < 0.5).astype("float32")
    data = {n: labels.copy() for n in NAMES[:2]}
    model = identity_model(NAMES[:2], 6)
    perfect = {n: identity_classifier(6, scale=10.0) for n in NAMES[:2]}
    for average in ("batch", "dataset"):
        result = ev.coherence(model, (data, labels), perfect,
                              attribute_average=average, seed=0)
        assert set(result) == {(s, t) for s in [("a",), ("b",)]
                               for t in NAMES[:2]}
        np.testing.assert_allclose(list(result.values()), 1.0)
    # A classifier scoring the complement ranks every positive after every
    # negative: AP = (1/P) Σ_{i=1..P} i / (N_neg + i) per attribute.
    inverted = {n: identity_classifier(6, scale=-10.0) for n in NAMES[:2]}
    result = ev.coherence(model, (data, labels), inverted,
                          attribute_average="dataset", seed=0)
    expected = []
    for k in range(6):
        pos = int(labels[:, k].sum())
        i = np.arange(1, pos + 1)
        expected.append(np.mean(i / (len(labels) - pos + i)))
    np.testing.assert_allclose(list(result.values()), np.mean(expected),
                               atol=1e-4)


def test_full_set_masks_and_datasets():
    labels = _digits(64)
    data = one_hot_data(NAMES, labels, 10)
    model = identity_model(NAMES, 10)
    # A Keras model and a plain NumPy callable as classifiers.
    classifiers = {"a": identity_classifier(10),
                   "c": lambda x: np.asarray(x) - 0.5}
    result = ev.coherence(model, (data, labels), classifiers, subsets="all")
    assert len(result) == 7 * 2  # every subset × the two targets
    # Mask "b" out of half the rows: subsets with "b" use the other half.
    mask = np.ones((64, 3), "float32")
    mask[:32, 1] = 0.0
    corrupted = dict(data, b=np.zeros_like(data["b"]), mask=mask)
    corrupted["b"][32:] = data["b"][32:]
    result = ev.coherence(model, (corrupted, labels), classifiers)
    assert all(v == 1.0 for v in result.values())

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            rows = slice(16 * i, 16 * (i + 1))
            return {k: v[rows] for k, v in data.items()}, labels[rows]

    from_dataset = ev.coherence(model, Batches(), classifiers)
    from_list = ev.coherence(model, list(Batches()), classifiers)
    assert from_dataset == from_list == {
        k: 1.0 for k in ev.coherence(model, (data, labels), classifiers)
    }


def test_coherence_by_size_headline():
    result = {
        (("a",), "a"): 1.0, (("a",), "b"): 0.5, (("a",), "c"): 0.3,
        (("b",), "a"): 0.7, (("a", "b"), "c"): 0.9, (("a", "b"), "a"): 1.0,
    }
    assert ev.coherence_by_size(result) == {1: pytest.approx(0.5),
                                            2: pytest.approx(0.9)}
    assert ev.coherence_by_size(result, include_inputs=True)[1] == (
        pytest.approx(0.625))


def test_rejects_bad_classifiers():
    model = identity_model(NAMES, 10)
    labels = _digits(8)
    data = one_hot_data(NAMES, labels, 10)
    with pytest.raises(ValueError, match="unknown modalities"):
        ev.coherence(model, (data, labels), {"z": identity_classifier(10)})
    with pytest.raises(ValueError, match="at least two"):
        ev.unconditional_coherence(model, {"a": identity_classifier(10)})
    with pytest.raises(ValueError, match="needs labels"):
        ev.coherence(model, data, {"a": identity_classifier(10)})


def _style_model_and_data(n=32):
    lg = LinearGaussian({"a": 3, "b": 2}, latent_dim=2, scale=1.0,
                        style_dim=2, seed=5)
    data = lg.sample(n, seed=6)
    mask = np.ones((n, 2), "float32")
    mask[::3, 1] = 0.0
    data["mask"] = mask
    return lg.model("mwb"), data


def test_model_generation_takes_a_seed_and_checks_only_outside():
    """`generate` / `conditional_generate` are the traceable
    `prior_decode_means` / `conditional_decode_means` plus checks; a given
    seed leaves the model's own generator alone."""
    model, data = _style_model_and_data()
    state = to_numpy(model.seed_generator.state)
    inputs = {n: data[n] for n in ("a", "b")}

    def same(x, y):
        for name in ("a", "b"):
            np.testing.assert_array_equal(to_numpy(x[name]),
                                          to_numpy(y[name]))

    same(model.generate(5, seed=keras.random.SeedGenerator(1)),
         model.prior_decode_means(5, seed=keras.random.SeedGenerator(1)))
    same(model.conditional_generate(inputs, mask=data["mask"],
                                    seed=keras.random.SeedGenerator(2)),
         model.conditional_decode_means(
             {n: ops.convert_to_tensor(v) for n, v in inputs.items()},
             ops.convert_to_tensor(data["mask"]),
             seed=keras.random.SeedGenerator(2)))
    np.testing.assert_array_equal(to_numpy(model.seed_generator.state),
                                  state)
    # Without a seed the model's generator draws (and advances).
    model.generate(2)
    assert not np.array_equal(to_numpy(model.seed_generator.state), state)


def test_compiled_evaluation_decodes_through_the_model():
    """Compiled coherence steps call the model's generation with the
    evaluation's generator (style latents, a mask): seeded results
    repeat, and the model's own generator is not touched."""
    model, data = _style_model_and_data()
    model.run_eagerly = False
    labels = np.arange(32) % 3
    classifiers = {n: identity_classifier(d)
                   for n, d in (("a", 3), ("b", 2))}
    state = to_numpy(model.seed_generator.state)
    runs = [(ev.coherence(model, (data, labels), classifiers, subsets="all",
                          batch_size=16, seed=3),
             ev.unconditional_coherence(model, classifiers, num_samples=40,
                                        batch_size=16, seed=3))
            for _ in range(2)]
    assert runs[0] == runs[1]
    np.testing.assert_array_equal(to_numpy(model.seed_generator.state),
                                  state)
