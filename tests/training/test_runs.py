"""`runs.train`: resumable runs, interrupted or cut by a time budget."""

import keras
import numpy as np
import pytest

from keras_mmvae.src.training import checkpoint
from keras_mmvae.src.training import runs

# Backend-agnostic glue over code that the rest of the suite tests on every
# backend (as tests/cli): it runs under one backend.
pytestmark = pytest.mark.one_backend

SMALL = {"latent_dim": 8, "hidden_dim": 32, "encoder_filters": [4, 8, 8],
         "decoder_filters": [8, 8, 4]}


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_to_the_same_epoch_count(data_dir, tmp_path):
    kwargs = dict(batch_size=20, model_kwargs=SMALL, verbose=0)
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        runs.train("polymnist", "moe", data_dir, 3, out,
                   callbacks=[Interrupt()], **kwargs)
    assert checkpoint.read_state(out)["epochs_completed"] == 2
    weights = keras.saving.load_model(out / "checkpoint.keras").get_weights()
    model, state = runs.train("polymnist", "moe", data_dir, 3, out,
                              **kwargs)
    assert state["epochs_completed"] == 3
    assert len(state["history"]["loss"]) == 3
    assert any(not np.array_equal(a, b)
               for a, b in zip(weights, model.get_weights()))
    _, fresh = runs.train("polymnist", "moe", data_dir, 3,
                          tmp_path / "fresh", **kwargs)
    assert fresh["epochs_completed"] == state["epochs_completed"]


def test_epoch_cut_by_time_budget_resumes_inside_the_epoch(data_dir,
                                                           tmp_path):
    kwargs = dict(batch_size=20, model_kwargs=SMALL, verbose=0)
    out = tmp_path / "budget"
    _, state = runs.train("polymnist", "mwb", data_dir, 2, out,
                          seconds=0, **kwargs)
    assert (state["epochs_completed"], state["batches_done"],
            state["steps_completed"]) == (0, 1, 1)
    _, state = runs.train("polymnist", "mwb", data_dir, 2, out,
                          **kwargs)
    steps_per_epoch = 3  # 60 training tuples in batches of 20
    assert (state["epochs_completed"], state["batches_done"]) == (2, 0)
    assert state["steps_completed"] == 2 * steps_per_epoch
