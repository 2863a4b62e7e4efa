"""Data-parallel training on the engines Keras has: JAX and TensorFlow.

Each backend's checks run in one subprocess (`worker.py`), because the two
virtual devices must exist before the backend starts: JAX gets them from
`XLA_FLAGS=--xla_force_host_platform_device_count=2`, TF from two logical
CPUs. The JAX run uses `keras.distribution.DataParallel`, the TF run
`tf.distribute.MirroredStrategy`; the tests below assert on what the
worker measured. Torch has no Keras distribution engine (one device).
"""

import json
import os
import pathlib
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_mmvae.src.ops.subsets import stratified_components

HERE = pathlib.Path(__file__).resolve().parent
REPLICAS = 2
COMPONENTS = 3  # MWB over two modalities: {a}, {b}, {a, b}
# One data-parallel step against one single-device step: the same float32
# math summed in another order (the replicas' gradients are all-reduced).
STEP_RTOL, STEP_ATOL = 1e-5, 1e-6

pytestmark = pytest.mark.skipif(
    keras.backend.backend() not in ("jax", "tensorflow"),
    reason="Keras offers data parallelism on JAX (keras.distribution) and "
           "TensorFlow (tf.distribute) only; torch trains on one device.")


def run_worker(scenario, out_dir, timeout=240, env=None):
    out = pathlib.Path(out_dir) / f"{scenario}.json"
    root = str(HERE.parents[1])
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join(
        [root] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    proc = subprocess.run(
        [sys.executable, str(HERE / "worker.py"), scenario, str(out)],
        env=env, cwd=root, capture_output=True, text=True, timeout=timeout,
        check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return run_worker("single-host", tmp_path_factory.mktemp("dist"))


def test_one_data_parallel_step_equals_one_single_device_step(report):
    # Joint W2 with every mask pattern: no subset draw, noise below float32
    # resolution, so the step is deterministic. Before the fix, tf.distribute
    # summed two per-replica means: twice the loss and twice the step.
    np.testing.assert_allclose(report["distributed_loss"],
                               report["single_loss"], rtol=STEP_RTOL)
    assert report["weight_change"] > 1e-3  # the step did move the weights
    assert report["weight_error"] <= STEP_ATOL + STEP_RTOL * report[
        "weight_change"]


@pytest.mark.one_backend("jax")  # ModelParallel is JAX's
def test_model_parallel_step_equals_one_single_device_step(report):
    result = report["model_parallel"]
    # Every hidden Dense kernel is split over the two devices.
    assert result["kernel_specs"] == [[None, "model"]]
    np.testing.assert_allclose(result["loss"], result["single_loss"],
                               rtol=STEP_RTOL)
    assert result["weight_change"] > 1e-3
    assert result["weight_error"] <= STEP_ATOL + STEP_RTOL * result[
        "weight_change"]


def test_masked_modality_encoder_gets_zero_gradient(report):
    assert report["masked_encoder_change"] == 0.0
    assert report["present_encoder_change"] > 1e-3


def test_distributed_fit_lowers_the_loss(report):
    losses = report["losses"]
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.9 * losses[0]


def test_distributed_model_reloads_outside_the_distribution(report):
    assert report["reload_error"] == 0.0


def test_replicas_draw_different_subsets_and_noise(report):
    # Both replicas get the same rows: equal draws would mean one seed.
    first, second = report["random_first_step"]
    assert first != second
    assert (np.bincount(first, minlength=COMPONENTS).tolist()
            != np.bincount(second, minlength=COMPONENTS).tolist())
    assert report["z_replica_gap"] > 0.1


def test_component_frequencies_match_the_mixture_weights(report):
    # Complete data: MWB's weights are uniform over its three components.
    # 4 steps x 150 rows per replica: a standard error of 0.019.
    weight = np.full(COMPONENTS, 1 / COMPONENTS)
    for counts in report["random_counts"]:
        counts = np.asarray(counts)
        np.testing.assert_allclose(counts / counts.sum(), weight, atol=0.06)


def test_stratified_blocks(report):
    # JAX runs one program over the global batch: blocks over all 300 rows.
    # tf.distribute runs the step per replica: blocks over its 150 rows.
    replicas = report["stratified"]
    local = len(replicas[0])
    if keras.backend.backend() == "jax":
        expected = np.asarray(stratified_components(REPLICAS * local,
                                                    COMPONENTS))
        np.testing.assert_array_equal(np.concatenate(replicas), expected)
    else:
        expected = np.asarray(stratified_components(local, COMPONENTS))
        for components in replicas:
            np.testing.assert_array_equal(components, expected)
    # Either way the global batch uses every component equally often.
    counts = np.bincount(np.concatenate(replicas), minlength=COMPONENTS)
    np.testing.assert_array_equal(counts, REPLICAS * local // COMPONENTS)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="end-to-end CLI runs use the tensorflow backend "
                           "(make demo's); the engine is tested above")
def test_cli_trains_data_parallel(tmp_path):
    from keras_mmvae import datasets
    from keras_mmvae.src.cli.main import main

    rng = np.random.default_rng(0)
    digits = (rng.random((60, 28, 28)) > 0.7).astype("uint8") * 255
    labels = np.arange(60) % 10
    data_dir = tmp_path / "polymnist"
    datasets.polymnist.make(((digits[:40], labels[:40]),
                             (digits[40:], labels[40:])),
                            data_dir, seed=0, progress=False)
    small = {"latent_dim": 8, "hidden_dim": 32,
             "encoder_filters": [4, 8, 8], "decoder_filters": [8, 8, 4]}
    out = tmp_path / "run"
    assert main(["train", "--benchmark", "polymnist", "--data-dir",
                 str(data_dir), "--out", str(out), "--batch-size", "20",
                 "--epochs", "1", "--eval-every", "0",
                 "--model-kwargs", json.dumps(small),
                 "--distribute", "data-parallel"]) == 0
    state = json.loads((out / "train_state.json").read_text())
    assert state["epochs_completed"] == 1
    assert np.isfinite(state["history"]["loss"]).all()


@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="two-process training is tested on JAX "
                           "(keras.distribution.initialize)")
def test_two_processes_on_loopback_end_with_identical_weights(tmp_path):
    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = str(HERE.parents[1])
    procs = []
    for index in range(2):
        env = dict(os.environ, WORKER_INDEX=str(index),
                   COORDINATOR_PORT=str(port), TF_CPP_MIN_LOG_LEVEL="2")
        env["PYTHONPATH"] = os.pathsep.join(
            [root] + [p for p in [env.get("PYTHONPATH")] if p])
        procs.append(subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), "multi-process",
             str(tmp_path / f"worker{index}.json")],
            env=env, cwd=root, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True))
    try:
        errors = [proc.communicate(timeout=180)[1] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, err in zip(procs, errors):
        assert proc.returncode == 0, err[-4000:]
    reports = [json.loads((tmp_path / f"worker{i}.json").read_text())
               for i in range(2)]
    assert all(r["processes"] == 2 for r in reports)
    assert reports[0]["losses"] == reports[1]["losses"]
    assert np.isfinite(reports[0]["losses"]).all()
    for a, b in zip(reports[0]["weights"], reports[1]["weights"]):
        np.testing.assert_array_equal(a, b)
