"""`mm.models.export_for_serving`: a SavedModel whose endpoints, reloaded
with `tf.saved_model.load` in a fresh process (no Keras model), give the
Keras model's own `encode` and decoded means."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from toy_vae import toy_data
from toy_vae import toy_vae

import keras_mmvae as mm

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="SavedModel export is a TensorFlow-backend feature (JAX goes "
    "through jax2tf, which works but triples the test's time); torch has "
    "none.",
)

RELOAD = """
import json, sys
import numpy as np
import tensorflow as tf
path, batch_file, out_file = sys.argv[1:]
loaded = tf.saved_model.load(path)
batch = dict(np.load(batch_file))
z = batch.pop("z")
tensors = {k: tf.constant(v) for k, v in batch.items()}
encoded = loaded.encode(tensors)
decoded = loaded.decode(tf.constant(z))
generated = loaded.conditional_generate(tensors)
np.savez(out_file,
         mean=encoded["mean"].numpy(), log_var=encoded["log_var"].numpy(),
         **{"decoded_" + k: v.numpy() for k, v in decoded.items()},
         **{"generated_" + k: v.numpy() for k, v in generated.items()})
"""


def _model():
    vae, batch = toy_vae("mopoe"), toy_data(4)
    vae(batch)
    return vae, batch


def test_reloaded_endpoints_match_the_keras_model(tmp_path):
    vae, batch = _model()
    path = str(tmp_path / "served")
    vae.export(path)  # = mm.models.export_for_serving(vae, path)

    # "b" absent in the last two rows: placeholder zeros, mask 0.
    mask = np.array([[1, 1], [1, 1], [1, 0], [1, 0]], "float32")
    served = dict(batch, mask=mask)
    served["b"] = np.where(mask[:, 1:] > 0, batch["b"], 0.0).astype("float32")
    z = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    np.savez(tmp_path / "batch.npz", z=z, **served)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(
        [sys.executable, "-c", RELOAD, path, str(tmp_path / "batch.npz"),
         str(tmp_path / "out.npz")],
        check=True, env=env, timeout=300,
    )
    out = np.load(tmp_path / "out.npz")

    mean, log_var = vae.encode(served)
    np.testing.assert_allclose(out["mean"], keras.ops.convert_to_numpy(mean),
                               atol=1e-5)
    np.testing.assert_allclose(out["log_var"],
                               keras.ops.convert_to_numpy(log_var), atol=1e-5)
    decoded = vae.decode_means(keras.ops.convert_to_tensor(z))
    for name in ("a", "b"):
        np.testing.assert_allclose(
            out["decoded_" + name],
            keras.ops.convert_to_numpy(decoded[name]), atol=1e-5)
        assert out["generated_" + name].shape == batch[name].shape
        assert np.isfinite(out["generated_" + name]).all()
    # Bernoulli means are probabilities.
    assert ((out["generated_b"] >= 0) & (out["generated_b"] <= 1)).all()


def test_other_export_formats_point_to_the_serving_export(tmp_path):
    vae, _ = _model()
    with pytest.raises(ValueError, match="export_for_serving"):
        vae.export(str(tmp_path / "other"), format="onnx")


def test_unbuilt_model_is_refused(tmp_path):
    vae = mm.MultimodalVAE(
        encoders={"a": mm.layers.MLPEncoder(3)},
        decoders={"a": mm.layers.MLPDecoder((5,))},
        likelihoods={"a": "gaussian"},
    )
    with pytest.raises(ValueError, match="Build or train"):
        mm.models.export_for_serving(vae, str(tmp_path / "x"))



def test_signatures_take_the_modalities_and_mask_by_name(tmp_path):
    # TF Serving and `saved_model_cli` clients address inputs by name:
    # before, the signatures took `batch, batch_1, batch_2`.
    import tensorflow as tf
    from tensorflow.python.tools import saved_model_utils

    vae, batch = _model()
    path = str(tmp_path / "served")
    vae.export(path)
    inputs = {"encode": ["a", "b", "mask"], "decode": ["z"],
              "conditional_generate": ["a", "b", "mask"]}

    # What `saved_model_cli show --all` prints: each SignatureDef's inputs.
    meta_graph = saved_model_utils.get_meta_graph_def(path, "serve")
    for endpoint, names in inputs.items():
        assert sorted(meta_graph.signature_def[endpoint].inputs) == names

    loaded = tf.saved_model.load(path)
    for endpoint, names in inputs.items():
        _, specs = loaded.signatures[endpoint].structured_input_signature
        assert sorted(specs) == names
        assert all(spec.name == name for name, spec in specs.items())

    mask = np.array([[1, 1], [1, 0], [0, 1], [1, 1]], "float32")
    encoded = loaded.signatures["encode"](
        a=tf.constant(batch["a"]), b=tf.constant(batch["b"]),
        mask=tf.constant(mask))
    mean, log_var = vae.encode(dict(batch, mask=mask))
    np.testing.assert_allclose(encoded["mean"].numpy(),
                               keras.ops.convert_to_numpy(mean), atol=1e-5)
    np.testing.assert_allclose(encoded["log_var"].numpy(),
                               keras.ops.convert_to_numpy(log_var),
                               atol=1e-5)
    z = np.random.default_rng(2).normal(size=(4, 3)).astype("float32")
    decoded = loaded.signatures["decode"](z=tf.constant(z))
    expected = vae.decode_means(keras.ops.convert_to_tensor(z))
    for name in ("a", "b"):
        np.testing.assert_allclose(
            decoded[name].numpy(),
            keras.ops.convert_to_numpy(expected[name]), atol=1e-5)
    generated = loaded.signatures["conditional_generate"](
        a=tf.constant(batch["a"]), b=tf.constant(batch["b"]),
        mask=tf.constant(mask))
    assert generated["a"].shape == batch["a"].shape
