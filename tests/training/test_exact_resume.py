"""`python -m keras_mmvae train` killed by SIGKILL mid-epoch resumes exactly.

The rerun of the same command must end with the weights, optimizer state
and seed state of a run that was never interrupted, bit for bit: the
checkpoint holds the model's random state, and the resumed epoch reads the
batches it had not trained yet, in the uninterrupted epoch's order.
"""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

SMALL = {"latent_dim": 4, "hidden_dim": 16, "encoder_filters": [4, 4, 4],
         "decoder_filters": [4, 4, 4]}


def command(data_dir, out):
    # 60 tuples in batches of 4: 15 steps per epoch, a checkpoint every 2.
    return [sys.executable, "-m", "keras_mmvae", "train",
            "--benchmark", "polymnist", "--fusion", "mwb", "--epochs", "2",
            "--batch-size", "4", "--save-every", "2", "--eval-every", "0",
            "--missing-rate", "0.3", "--seed", "5",
            "--model-kwargs", json.dumps(SMALL),
            "--data-dir", str(data_dir), "--out", str(out)]


def run(args):
    env = {**os.environ, "KERAS_BACKEND": keras.config.backend()}
    result = subprocess.run(args, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def kill_mid_epoch(args, out):
    """Starts `args`, SIGKILLs it after its first mid-epoch checkpoint."""
    env = {**os.environ, "KERAS_BACKEND": keras.config.backend()}
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    state = out / "train_state.json"
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if json.loads(state.read_text())["batches_done"] > 0:
                    process.send_signal(signal.SIGKILL)
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.005)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL, (
        "the run ended before its first mid-epoch checkpoint")


def final_state(out):
    model = keras.saving.load_model(out / "checkpoint.keras")
    return ([keras.ops.convert_to_numpy(v) for v in model.variables],
            [keras.ops.convert_to_numpy(v)
             for v in model.optimizer.variables],
            keras.ops.convert_to_numpy(model.seed_generator.state))


@pytest.mark.large
def test_sigkill_mid_epoch_then_rerun_is_bit_identical(data_dir, tmp_path):
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    run(command(data_dir, reference))
    kill_mid_epoch(command(data_dir, crashed), crashed)
    killed_at = json.loads((crashed / "train_state.json").read_text())
    assert 0 < killed_at["batches_done"] < 15, killed_at
    output = run(command(data_dir, crashed))
    assert f"and {killed_at['batches_done']} batch(es)" in output, output
    weights, slots, seed_state = final_state(reference)
    weights_2, slots_2, seed_state_2 = final_state(crashed)
    assert len(weights) == len(weights_2) and len(slots) == len(slots_2)
    for a, b in zip(weights + slots, weights_2 + slots_2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(seed_state, seed_state_2)
    state = json.loads((crashed / "train_state.json").read_text())
    assert (state["epochs_completed"], state["batches_done"],
            state["steps_completed"]) == (2, 0, 30)
