"""JSON helpers, Fréchet distance / FID and the plots."""

import json
import math

import numpy as np
import pytest
from PIL import Image

import keras_mmvae.evaluation as ev


def test_results_round_trip_through_json(tmp_path):
    coherence = {(("m0",), "m1"): 0.5, (("m0", "m1"), "m2"): np.float32(0.75)}
    probe = {("m0",): 0.9, ("m0", "m1"): np.float64(0.95)}
    summary = {1: 0.5, 2: float("nan")}
    nested = {"mwb": {"coherence": coherence, "probe": probe,
                      "by_size": summary, "curve": np.array([1.0, 2.0])}}
    text = json.dumps(ev.serialize_results(nested))
    data = json.loads(text)
    assert data["mwb"]["coherence"] == {"m0->m1": 0.5, "m0+m1->m2": 0.75}
    assert data["mwb"]["probe"] == {"m0": 0.9, "m0+m1": 0.95}
    assert data["mwb"]["by_size"] == {"1": 0.5, "2": None}
    back = ev.deserialize_results(data, modality_names=["m0", "m1", "m2"])
    assert back["mwb"]["coherence"] == {(("m0",), "m1"): 0.5,
                                        (("m0", "m1"), "m2"): 0.75}
    assert back["mwb"]["probe"] == {("m0",): 0.9, ("m0", "m1"): 0.95}
    assert back["mwb"]["by_size"][1] == 0.5
    assert math.isnan(back["mwb"]["by_size"][2])
    assert back["mwb"]["curve"] == [1.0, 2.0]
    # Without names every non-numeric key is read as a subset.
    assert ev.deserialize_results({"a+b": 1.0}) == {("a", "b"): 1.0}
    path = tmp_path / "results.json"
    ev.save_results(nested, path)
    loaded = ev.load_results(path, ["m0", "m1", "m2"])
    assert loaded["mwb"]["probe"] == back["mwb"]["probe"]
    assert ev.key_to_string((("a",), "joint")) == "a->joint"
    assert ev.string_to_key("a->joint", ["a"]) == (("a",), "joint")


def test_results_reject_ambiguous_names():
    with pytest.raises(ValueError, match="Cannot serialise"):
        ev.serialize_results({("a+b",): 1.0})
    with pytest.raises(ValueError, match="Result keys"):
        ev.serialize_results({1.5: 1.0})
    with pytest.raises(ValueError, match="Two keys"):
        ev.serialize_results({("a",): 1.0, "a": 2.0})


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    mean1, mean2 = rng.normal(size=4), rng.normal(size=4)
    std1, std2 = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 2, 4)
    diagonal = ev.frechet_distance(mean1, np.diag(std1 ** 2), mean2,
                                   np.diag(std2 ** 2))
    np.testing.assert_allclose(
        diagonal, np.sum((mean1 - mean2) ** 2) + np.sum((std1 - std2) ** 2))
    a = rng.normal(size=(5, 5))
    b = rng.normal(size=(5, 5))
    cov1, cov2 = a @ a.T + np.eye(5), b @ b.T + np.eye(5)
    from scipy.linalg import sqrtm

    mean3, mean4 = rng.normal(size=5), rng.normal(size=5)
    expected = (np.sum((mean3 - mean4) ** 2) + np.trace(cov1)
                + np.trace(cov2) - 2 * np.trace(sqrtm(cov1 @ cov2)).real)
    np.testing.assert_allclose(
        ev.frechet_distance(mean3, cov1, mean4, cov2), expected, rtol=1e-8)
    assert ev.frechet_distance(mean1, cov1[:4, :4], mean1,
                               cov1[:4, :4]) == pytest.approx(0, abs=1e-8)


def test_fid_with_a_given_feature_extractor():
    rng = np.random.default_rng(0)
    images = rng.random((400, 4, 4, 1)).astype("float32")

    def flatten(batch):
        return np.asarray(batch).reshape(len(batch), -1)

    assert ev.fid(images, images, flatten, batch_size=64) == pytest.approx(
        0.0, abs=1e-6)
    shifted = ev.fid(images, images + 0.5, flatten)
    np.testing.assert_allclose(shifted, 16 * 0.25, rtol=1e-6)
    batches = [images[i:i + 100] for i in range(0, 400, 100)]
    assert ev.fid(batches, images + 0.5, flatten) == pytest.approx(shifted)


def test_inception_features_preprocess_images(tmp_path):
    """The wrapper replicates grey to RGB, resizes and scales to [−1, 1]
    (checked with a stand-in network; InceptionV3 itself is Keras's)."""
    import keras

    inputs = keras.Input((None, None, 3))
    stats = keras.layers.Concatenate()([
        keras.layers.GlobalAveragePooling2D()(inputs),
        keras.layers.GlobalMaxPooling2D()(inputs),
    ])
    network = keras.Model(inputs, stats)
    seen = []
    original = network.call

    def spy(x, *args, **kwargs):
        seen.append(tuple(x.shape))
        return original(x, *args, **kwargs)

    network.call = spy
    extractor = ev.InceptionFeatures(network, image_size=12)
    grey = np.full((2, 28, 28, 1), 0.75, "float32")
    features = extractor(grey)
    assert seen[-1] == (2, 12, 12, 3)
    np.testing.assert_allclose(features, 0.5, atol=1e-6)  # 2 · 0.75 − 1
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        ev.inception_feature_extractor(tmp_path / "missing.weights.h5")


def test_plots_write_pngs(tmp_path):
    rng = np.random.default_rng(0)
    text = np.eye(71, dtype="float32")[rng.integers(0, 71, (3, 8))]
    outputs = {"image": rng.random((3, 28, 28, 3)),
               "grey": rng.random((3, 28, 28, 1)),
               "text": text, "vector": rng.random((3, 5))}
    path = tmp_path / "grid.png"
    fig = ev.plot_generations(outputs, inputs={"image": outputs["image"]},
                              path=path, title="t")
    assert len(fig.axes) == 5 * 3
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 100
    results = {
        "mwb": {(("a",), "b"): 0.8, (("a",), "c"): 0.6,
                (("a", "b"), "c"): 0.9},
        "mopoe": [{1: 0.5, 2: 0.7}, {1: 0.6, 2: 0.8}],
    }
    path = tmp_path / "coherence.png"
    fig = ev.plot_coherence_by_size(results, path=path, title="PolyMNIST")
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["mwb", "mopoe"]
    np.testing.assert_allclose(lines[0].get_ydata(), [0.7, 0.9])
    np.testing.assert_allclose(lines[1].get_ydata(), [0.55, 0.75])
    with Image.open(path) as image:
        assert image.format == "PNG"
