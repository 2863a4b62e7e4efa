"""Evaluation classifiers: architectures, training, scoring, saving."""

import json

import keras
import numpy as np
import pytest
from fast_init import NumpyGlorotUniform

from keras_mmvae import models
from keras_mmvae.src.testing.test_case import to_numpy

INIT = NumpyGlorotUniform()


def _out_shapes(model, names):
    return [tuple(model.get_layer(n).output.shape[1:]) for n in names]


def test_digit_classifier_architectures():
    poly = models.polymnist_classifier(kernel_initializer=INIT)
    assert _out_shapes(poly, ["conv_0", "conv_1", "flatten", "logits"]) == [
        (14, 14, 10), (7, 7, 20), (980,), (10,)]
    # 490 + 3,220 + 125,568 + 1,290 trainable parameters.
    assert poly.count_params() == 130_568
    mnist = models.mnist_classifier(kernel_initializer=INIT)
    assert _out_shapes(mnist, ["conv_0", "conv_1", "conv_2", "logits"]) == [
        (13, 13, 32), (5, 5, 64), (1, 1, 128), (10,)]
    assert mnist.count_params() == 544 + 32_832 + 131_200 + 1_290
    svhn = models.svhn_classifier(kernel_initializer=INIT)
    assert _out_shapes(svhn, ["conv_0", "conv_1", "conv_2", "conv_3",
                              "logits"]) == [
        (16, 16, 32), (8, 8, 64), (4, 4, 64), (1, 1, 128), (10,)]
    text = models.digit_text_classifier(kernel_initializer=INIT)
    assert _out_shapes(text, ["conv", "block_0", "block_1", "logits"]) == [
        (8, 128), (4, 192), (1, 128), (10,)]
    # The digit-text blocks: shortcut + 0.3 · branch (no shortcut scaling).
    assert text.get_layer("block_0_branch_scale").scale == 0.3
    names = [layer.name for layer in text.layers]
    assert "block_0_shortcut_scale" not in names
    assert not any("dropout" in n for n in names if n.startswith("block"))


def test_celeba_classifier_architectures():
    dim = 2
    image = models.celeba_image_classifier(dim=dim, kernel_initializer=INIT)
    assert _out_shapes(image, ["features_conv", "features_block_3",
                               "features_flatten", "logits"]) == [
        (33, 33, dim), (1, 1, 5 * dim), (5 * dim,), (40,)]
    text = models.celeba_text_classifier(dim=dim, kernel_initializer=INIT)
    assert _out_shapes(text, ["conv"] + [f"block_{i}" for i in range(6)]
                       + ["logits"]) == [
        (128, dim), (64, 2 * dim), (32, 3 * dim), (16, 4 * dim),
        (8, 5 * dim), (4, 6 * dim), (1, 7 * dim), (40,)]
    built = models.benchmark_classifiers("celeba", dim=dim,
                                         kernel_initializer=INIT)
    assert sorted(built) == ["image", "text"]
    poly = models.benchmark_classifiers("polymnist", num_modalities=3,
                                        kernel_initializer=INIT)
    assert sorted(poly) == ["m0", "m1", "m2"]
    with pytest.raises(ValueError, match="Unknown benchmark"):
        models.benchmark_classifiers("cifar")


def _digit_data(n, seed):
    """Separable toy digits: class c lights up column block c."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = 0.1 * rng.random((n, 28, 28, 1)).astype("float32")
    for i, c in enumerate(labels):
        images[i, :, 2 * c:2 * c + 3, 0] += 0.9
    return {"mnist": images}, labels


def test_train_evaluate_save_and_load(tmp_path):
    keras.utils.set_random_seed(0)
    train, test = _digit_data(512, 0), _digit_data(256, 1)
    classifiers = {
        "mnist": models.mnist_classifier(kernel_initializer=INIT),
    }
    trained, scores = models.train_classifiers(
        classifiers, train, test, directory=tmp_path, epochs=3,
        batch_size=128, learning_rate=3e-3,
    )
    assert trained is classifiers
    assert set(scores) == {"mnist"}
    for name, model in trained.items():
        logits = to_numpy(model(test[0][name], training=False))
        accuracy = float(np.mean(np.argmax(logits, -1) == test[1]))
        assert scores[name] == pytest.approx(accuracy)
        assert scores[name] > 0.5  # chance is 0.1
    assert json.loads((tmp_path / "scores.json").read_text()) == (
        pytest.approx(scores))
    loaded = models.load_classifiers(tmp_path)
    assert sorted(loaded) == ["mnist"]
    for name, model in loaded.items():
        np.testing.assert_allclose(
            to_numpy(model(test[0][name], training=False)),
            to_numpy(trained[name](test[0][name], training=False)),
            atol=1e-5,
        )
    # Plain Keras models: no keras_mmvae objects in the saved config (the
    # only custom object is this test's initializer).
    import zipfile

    with zipfile.ZipFile(tmp_path / "mnist.keras") as archive:
        config = archive.read("config.json").decode()
    assert "keras_mmvae>" not in config
    assert '"class_name": "Functional"' in config
    with pytest.raises(FileNotFoundError):
        models.load_classifiers(tmp_path, ["svhn"])


def test_attribute_classifier_and_datasets():
    """Multi-label training and mean-AP scoring from a masked PyDataset
    (a small stand-in classifier keeps the compile cheap; the CelebA
    architectures are checked above)."""
    rng = np.random.default_rng(0)
    n = 64
    labels = (rng.random((n, 6)) < 0.5).astype("float32")
    labels[:, 0] = 1.0  # one attribute always on
    text = rng.normal(size=(n, 8)).astype("float32")
    mask = np.ones((n, 2), "float32")
    mask[:8, 1] = 0.0  # "text" absent in 8 rows

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            rows = slice(32 * i, 32 * (i + 1))
            inputs = {"image": np.zeros((32, 1), "float32"),
                      "text": text[rows], "mask": mask[rows]}
            return inputs, labels[rows]

    classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6)])
    names = ["image", "text"]
    history = models.train_classifier(classifier, Batches(), "text",
                                      epochs=2, modality_names=names)
    assert np.all(np.isfinite(history.history["loss"]))
    assert classifier.loss.name == "binary_crossentropy"
    score = models.evaluate_classifier(classifier, Batches(), "text",
                                       modality_names=names)
    from sklearn.metrics import average_precision_score

    kept = mask[:, 1] > 0
    scores = to_numpy(classifier(text[kept], training=False))
    expected = np.mean([average_precision_score(labels[kept, k],
                                                scores[:, k])
                        for k in range(6)])
    assert score == pytest.approx(expected, abs=1e-6)
    per_batch = models.evaluate_classifier(classifier, Batches(), "text",
                                           attribute_average="batch",
                                           modality_names=names)
    first = scores[:24]  # batch 0 keeps its last 24 rows
    batch_scores = [
        np.mean([average_precision_score(labels[8:32, k], first[:, k])
                 for k in range(6)]),
        np.mean([average_precision_score(labels[32:, k], scores[24:, k])
                 for k in range(6)]),
    ]
    assert per_batch == pytest.approx(np.mean(batch_scores), abs=1e-6)
    with pytest.raises(ValueError, match="no modality"):
        models.evaluate_classifier(classifier, Batches(), "audio")


def test_mask_columns_follow_modality_names_not_key_order():
    """A masked dict whose keys are in another order than the mask columns
    (as after a `tf.data` round trip, which sorts keys) selects the rows of
    the named column; without the order it refuses to guess."""
    from keras_mmvae.src.evaluation.classifiers import _fit_inputs

    n = 8
    labels = np.arange(n) % 2
    mask = np.ones((n, 2), "float32")
    mask[:5, 1] = 0.0  # "text" (column 1) absent in rows 0-4
    text = np.zeros((n, 2), "float32")
    text[np.arange(n), labels] = 1.0  # one-hot: an identity classifier
    text[:5] = 0.0  # absent rows hold zeros
    inputs = {"text": text, "image": np.ones((n, 3), "float32"),
              "mask": mask}
    names = ["image", "text"]
    x, y = _fit_inputs((inputs, labels), "text", False, names)
    np.testing.assert_array_equal(x, text[5:])
    np.testing.assert_array_equal(y, labels[5:])
    identity = keras.Sequential([
        keras.Input((2,)),
        keras.layers.Dense(2, use_bias=False, kernel_initializer="identity"),
    ])
    # Zeros give tied logits (argmax 0): 3 of the 5 absent rows (labels
    # 1, 0, 1, 0, 1) would be wrong if they were kept.
    assert models.evaluate_classifier(identity, (inputs, labels), "text",
                                      modality_names=names) == 1.0
    with pytest.raises(ValueError, match="modality_names"):
        models.evaluate_classifier(identity, (inputs, labels), "text")
    with pytest.raises(ValueError, match="modality_names"):
        models.train_classifier(identity, (inputs, labels), "text",
                                epochs=1)
    with pytest.raises(ValueError, match="one column per name"):
        models.evaluate_classifier(identity, (inputs, labels), "text",
                                   modality_names=["text"])
