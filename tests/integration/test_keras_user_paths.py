"""A new Keras user's paths through keras_mmvae, on every backend they
apply to (issue 31): the keras.io distribution pattern, the serving
round trip by name, pandas inputs, a generator of dict batches, epoch
metrics that add up on a partial batch, the errors for `class_weight`
without labels and for data of the wrong feature size, and a `.keras`
file that resumes training on another backend.

The toy model (`tests/helpers/toy_vae.py`) has modalities `a` (5
features, Gaussian) and `b` (2 features, Bernoulli).
"""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
from toy_vae import toy_data
from toy_vae import toy_vae

BACKEND = keras.backend.backend()
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _env(**extra):
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "tests" / "helpers")]
        + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _compiled(fusion="mwb", **kwargs):
    keras.utils.set_random_seed(0)
    vae = toy_vae(fusion)
    for key, value in kwargs.items():
        setattr(vae, key, value)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    return vae


# -------------------------------------------------- 1. keras.io distribution
@pytest.mark.skipif(
    BACKEND == "torch",
    reason="Keras has no distribution engine on torch (one device).")
def test_keras_io_pattern_builds_and_compiles_in_scope_fits_outside(
        tmp_path):
    # tf.distribute.MirroredStrategy / keras.distribution.DataParallel
    # over two virtual CPU devices, in a subprocess (the devices must
    # exist before the backend starts): tests/distribution/worker.py.
    out = tmp_path / "keras_io.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "distribution" / "worker.py"),
         "keras-io", str(out)],
        env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False)
    # Before the fix, TF: "ValueError: colocate_vars_with must only be
    # passed a variable created in this tf.distribute.Strategy.scope()".
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert not report["built_in_scope"]  # so `fit` built it
    # Every variable lives on both devices from the first step on (JAX
    # before the fix: one device until the first step moved them).
    assert set(report["devices_at_train_begin"]) == {2}
    assert set(report["devices_at_end"]) == {2}
    assert np.all(np.isfinite(report["losses"]))


# -------------------------------------------------- 2. serving by name
@pytest.mark.skipif(
    BACKEND == "torch",
    reason="torch cannot export a SavedModel (save a .keras file and "
           "export it on TensorFlow or JAX).")
def test_serving_round_trip_by_name(tmp_path):
    import tensorflow as tf

    vae, batch = toy_vae("mopoe"), toy_data(4)
    vae(batch)
    path = str(tmp_path / "served")
    vae.export(path)
    loaded = tf.saved_model.load(path)
    mask = np.array([[1, 1], [1, 0], [0, 1], [1, 1]], "float32")
    # Before the fix: the signature took `batch, batch_1, batch_2`.
    encoded = loaded.signatures["encode"](
        a=tf.constant(batch["a"]), b=tf.constant(batch["b"]),
        mask=tf.constant(mask))
    mean, log_var = vae.encode(dict(batch, mask=mask))
    np.testing.assert_allclose(encoded["mean"].numpy(), _numpy(mean),
                               atol=1e-5)
    np.testing.assert_allclose(encoded["log_var"].numpy(), _numpy(log_var),
                               atol=1e-5)
    decoded = loaded.signatures["decode"](z=encoded["mean"])
    expected = vae.decode_means(mean)
    for name in ("a", "b"):
        np.testing.assert_allclose(decoded[name].numpy(),
                                   _numpy(expected[name]), atol=1e-5)


# -------------------------------------------------- 3. pandas
def test_pandas_dataframes_wherever_a_modality_array_goes():
    pd = pytest.importorskip("pandas")
    data = toy_data(16)
    frames = {name: pd.DataFrame(values) for name, values in data.items()}
    frames["mask"] = pd.DataFrame(np.ones((16, 2)), columns=["a", "b"])
    vae = _compiled()
    # Before the fix: AttributeError: 'DataFrame' object has no
    # attribute 'dtype' (models/validation.py).
    history = vae.fit(frames, batch_size=8, epochs=1, verbose=0,
                      sample_weight=pd.Series(np.ones(16)),
                      validation_data=frames).history
    assert np.isfinite(history["loss"][0])
    assert np.isfinite(history["val_loss"][0])
    from_frames = vae.evaluate(frames, batch_size=16, verbose=0,
                               return_dict=True)
    from_arrays = vae.evaluate(data, batch_size=16, verbose=0,
                               return_dict=True)
    assert set(from_frames) == set(from_arrays)
    assert vae.predict(frames, batch_size=8, verbose=0)["z"].shape == (16, 3)
    mean, _ = vae.encode({"a": frames["a"]})
    expected, _ = vae.encode({"a": data["a"]})
    np.testing.assert_allclose(_numpy(mean), _numpy(expected), atol=1e-6)
    generated = vae.conditional_generate({"a": frames["a"]},
                                         mask=frames["mask"])
    assert tuple(generated["b"].shape) == (16, 2)


# -------------------------------------------------- 4. generators of dicts
def test_generator_of_bare_dict_batches():
    data = toy_data(24)

    def batches():
        for start in range(0, 24, 8):
            yield {name: values[start:start + 8]
                   for name, values in data.items()}

    vae = _compiled()  # unbuilt: fit builds it from the first batch
    # Before the fix: Keras's "the generator must return a tuple" error,
    # with the whole batch printed in it.
    history = vae.fit(batches(), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    logs = vae.evaluate(batches(), verbose=0, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert vae.predict(batches(), verbose=0)["z"].shape == (24, 3)


# -------------------------------------------------- 5. metrics that add up
@pytest.mark.parametrize("weighted", [False, True])
def test_epoch_metrics_add_up_with_a_partial_last_batch(weighted):
    # 20 examples in batches of 8: 8, 8 and a partial 4. Keras weighs
    # `loss` by batch size; before the fix the parts were plain means
    # over batches, so loss != reconstruction + beta * kl.
    data = toy_data(20)
    kwargs = {}
    if weighted:
        kwargs["sample_weight"] = np.linspace(0.0, 2.0, 20).astype("float32")
    vae = _compiled(beta=0.5)
    history = vae.fit(data, batch_size=8, epochs=1, verbose=0,
                      shuffle=False, **kwargs).history
    logs = vae.evaluate(data, batch_size=8, verbose=0, return_dict=True,
                        **kwargs)
    for result in ({k: v[0] for k, v in history.items()}, logs):
        np.testing.assert_allclose(
            result["loss"],
            result["reconstruction_loss"] + 0.5 * result["kl_loss"],
            rtol=1e-5)
        np.testing.assert_allclose(
            result["reconstruction_loss"],
            result["reconstruction_loss_a"] + result["reconstruction_loss_b"],
            rtol=1e-5)


# -------------------------------------------------- 7. clear errors
def test_class_weight_without_labels_names_sample_weight():
    vae = _compiled()
    # Before the fix: Keras's bare "IndexError: tuple index out of range".
    with pytest.raises(ValueError, match="sample_weight"):
        vae.fit(toy_data(16), batch_size=8, epochs=1, verbose=0,
                class_weight={0: 1.0, 1: 2.0})

    def batches():
        yield toy_data(8)

    with pytest.raises(ValueError, match="sample_weight"):
        vae.fit(batches(), epochs=1, verbose=0, class_weight={0: 1.0})


def test_wrong_feature_size_after_building_gives_the_clear_message():
    # TensorFlow reuses a traced step with relaxed shapes, so the trace-time
    # check did not run: a raw InvalidArgumentError (Matrix
    # size-incompatible) before the fix; now checked before the step.
    vae = _compiled()
    data = toy_data(16)
    vae.fit(data, batch_size=8, epochs=1, verbose=0)
    wrong = dict(data, a=np.zeros((16, 7), "float32"))
    message = r"Modality 'a' has shape \(16, 7\); the model was built"
    with pytest.raises(ValueError, match=message):
        vae.fit(wrong, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=message):
        vae.evaluate(wrong, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=message):
        vae.predict(wrong, batch_size=8, verbose=0)

    def batches():
        yield {"a": np.zeros((8, 7), "float32"), "b": data["b"][:8]}

    with pytest.raises(ValueError, match="the model was built for shape"):
        vae.fit(batches(), epochs=1, verbose=0)


# -------------------------------------------------- 6. cross-backend resume
RESUME = """
import json, sys
import keras
import numpy as np
from toy_vae import toy_data, toy_vae
mode, path, out = sys.argv[1:]
data = toy_data(16)
def state(vae):
    return {"iterations": int(keras.ops.convert_to_numpy(
                vae.optimizer.iterations)),
            "variables": [keras.ops.convert_to_numpy(v).tolist()
                          for v in vae.optimizer.variables],
            "jit_compile": vae.jit_compile,
            "learning_rate": float(keras.ops.convert_to_numpy(
                vae.optimizer.learning_rate))}
if mode == "save":
    keras.utils.set_random_seed(0)
    vae = toy_vae()
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    vae.fit(data, batch_size=8, epochs=1, verbose=0)
    vae.save(path)
    report = state(vae)
else:
    vae = keras.saving.load_model(path)
    report = {"loaded": state(vae)}
    fresh = toy_vae()
    fresh.compile(optimizer="adam")
    report["default_jit_compile"] = fresh.jit_compile
    losses = vae.fit(data, batch_size=8, epochs=1, verbose=0).history["loss"]
    report["losses"] = losses
    report["iterations_after"] = int(keras.ops.convert_to_numpy(
        vae.optimizer.iterations))
with open(out, "w") as f:
    json.dump(report, f)
"""


def _resume_step(backend, mode, path, out):
    env = _env(KERAS_BACKEND=backend)
    if backend == "jax":
        env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", RESUME, mode, str(path), str(out)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False)
    assert proc.returncode == 0, f"{backend} {mode}:\n{proc.stderr[-4000:]}"
    return json.loads(pathlib.Path(out).read_text())


@pytest.mark.one_backend  # each step runs in its own backend's process
@pytest.mark.parametrize("saved_on, loaded_on", [
    ("torch", "jax"), ("torch", "tensorflow"), ("jax", "torch")])
def test_keras_file_resumes_training_on_another_backend(
        tmp_path, saved_on, loaded_on):
    # torch saves its optimizer as keras.src.backend.torch.optimizers.
    # torch_adam.Adam, which failed on the other backends ("TypeError:
    # expected Tensor as element 0 ..."); a JAX file's jit_compile=True
    # turned on torch.compile on torch.
    path = tmp_path / "vae.keras"
    saved = _resume_step(saved_on, "save", path, tmp_path / "saved.json")
    resumed = _resume_step(loaded_on, "load", path,
                           tmp_path / "resumed.json")
    loaded = resumed["loaded"]
    assert loaded["iterations"] == saved["iterations"] == 2
    np.testing.assert_allclose(loaded["learning_rate"], 2e-3, rtol=1e-6)
    for got, want in zip(loaded["variables"], saved["variables"]):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # The loading backend's own default (XLA on JAX, no torch.compile).
    assert loaded["jit_compile"] == resumed["default_jit_compile"]
    if loaded_on == "torch":
        assert loaded["jit_compile"] is False
    assert resumed["iterations_after"] == 4
    assert np.isfinite(resumed["losses"][0])
