"""`reconstruction_weights="balanced"`: MoPoE's `max_k n_k / n_m`, resolved
from the input shapes at build time (characters, not characters ×
alphabet, for a categorical)."""

import keras
import numpy as np
import pytest

import keras_mmvae as mm


def _model(text_shape):
    return mm.MultimodalVAE(
        encoders={"image": mm.layers.MLPEncoder(2, hidden_dims=(16,)),
                  "label": mm.layers.MLPEncoder(2, hidden_dims=(16,)),
                  "text": mm.layers.MLPEncoder(2, hidden_dims=(16,))},
        decoders={"image": mm.layers.MLPDecoder((24,), hidden_dims=(16,)),
                  "label": mm.layers.MLPDecoder((2,), hidden_dims=(16,)),
                  "text": mm.layers.MLPDecoder(text_shape, hidden_dims=(16,))},
        likelihoods={"image": "gaussian", "label": "gaussian",
                     "text": "categorical"},
        reconstruction_weights="balanced", seed=0)


def _data(n, one_hot=True):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    image = np.repeat(np.eye(2, dtype="float32")[labels], 12, axis=1)
    ids = np.stack([labels, 1 - labels, labels], axis=1)  # 3 characters
    text = np.eye(4, dtype="float32")[ids] if one_hot else ids
    return {"image": image + 0.05 * rng.normal(size=image.shape).astype(
                "float32"),
            "label": np.eye(2, dtype="float32")[labels],
            "text": text.astype("float32")}


@pytest.mark.parametrize("one_hot", [True, False])
def test_weights_are_the_largest_size_over_each_size(one_hot):
    vae = _model((3, 4))
    assert vae.reconstruction_weights is None  # resolved at build time
    vae(_data(4, one_hot))
    # image 24 elements, label 2, text 3 characters (not 3 × 4).
    assert vae.reconstruction_weights == {"image": 1.0, "label": 12.0,
                                          "text": 8.0}
    config = vae.get_config()
    assert config["reconstruction_weights"] == "balanced"
    rebuilt = mm.MultimodalVAE.from_config(config)
    rebuilt(_data(4, one_hot))
    assert rebuilt.reconstruction_weights == vae.reconstruction_weights


def test_a_mixed_size_toy_learns_every_modality():
    """Every modality's reconstruction (from the joint posterior mean)
    carries the shared label, the 2-element one included."""
    vae = _model((3, 4))
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    data = _data(128)
    vae.fit(data, batch_size=32, epochs=10, verbose=0)
    mean, _ = vae.encode(data)
    decoded = {n: keras.ops.convert_to_numpy(v)
               for n, v in vae.decode_means(mean).items()}
    labels = data["label"].argmax(-1)
    image_label = (decoded["image"][:, 12:].mean(-1)
                   > decoded["image"][:, :12].mean(-1))
    accuracy = {
        "image": np.mean(image_label == labels),
        "label": np.mean(decoded["label"].argmax(-1) == labels),
        "text": np.mean(decoded["text"].argmax(-1)
                        == data["text"].argmax(-1)),
    }
    assert min(accuracy.values()) > 0.9, accuracy
