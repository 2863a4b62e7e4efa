"""Soak: training from extreme log-variances stays finite, memory flat.

Builds `mm.models.polymnist(fusion="mwb")` with the reduced network the
demo trains, sets the bias of every encoder's `log_var` head to +15 for
half of the modalities and -15 for the others (posterior standard
deviations of e^7.5 and e^-7.5), and trains with `fit` on random
PolyMNIST-shaped data with random modality masks. No step may produce a
non-finite loss or weight, the encoders' log-variances must stay finite,
and the resident memory must not grow once the run has settled.

The default run is short (`SOAK_STEPS`, 150 steps of batch 32); a real soak
sets more, e.g. `SOAK_STEPS=2000 KERAS_BACKEND=jax python -m pytest
tests/integration/test_soak.py --run-large -s` (the JSON lines it prints
show the loss and memory as it goes).
"""

import json
import os

import keras
import numpy as np
import pytest

import keras_mmvae as mm

# Memory growth of a long run: one backend is enough.
pytestmark = [pytest.mark.large, pytest.mark.one_backend]

STEPS = int(os.environ.get("SOAK_STEPS", 150))
BATCH = 32
REDUCED = {"latent_dim": 32, "encoder_filters": [8, 16, 32],
           "decoder_filters": [32, 16, 8], "hidden_dim": 64}
# Resident memory moves by allocator noise (tens of MB over a short run on
# JAX); a leak of a few MB per step exceeds this over a long soak.
MAX_GROWTH_MB = 128


def rss_mb():
    """Current resident memory (Linux `/proc`), in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def extreme_log_var_biases(model, value=15.0):
    """Sets every encoder's `log_var` bias to ±`value` (alternating)."""
    found = 0
    for i, name in enumerate(model.modality_names):
        sign = 1.0 if i % 2 == 0 else -1.0
        for layer in model.encoders[name]._flatten_layers():
            if layer.name == "log_var" and getattr(layer, "bias",
                                                   None) is not None:
                layer.bias.assign(np.full(layer.bias.shape, sign * value,
                                          "float32"))
                found += 1
    return found


class Soak(keras.callbacks.Callback):
    """Counts non-finite steps; every `every` steps checks the weights,
    the largest |log_var| on `probe` and the resident memory."""

    def __init__(self, probe, every):
        super().__init__()
        self.probe, self.every = probe, every
        self.nonfinite_steps = 0
        self.max_abs_log_var = 0.0
        self.memory = []

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(
            self.model.optimizer.iterations))
        if not np.isfinite(float(logs["loss"])):
            self.nonfinite_steps += 1
        if step % self.every:
            return
        if not all(np.all(np.isfinite(keras.ops.convert_to_numpy(v)))
                   for v in self.model.trainable_variables):
            self.nonfinite_steps += 1
        _, log_var = self.model.encode(self.probe)
        self.max_abs_log_var = max(self.max_abs_log_var, float(np.max(
            np.abs(keras.ops.convert_to_numpy(log_var)))))
        self.memory.append((step, rss_mb()))
        print(json.dumps({"step": step, "loss": float(logs["loss"]),
                          "rss_mb": round(self.memory[-1][1])}), flush=True)


def test_soak_from_extreme_log_variances():
    keras.utils.set_random_seed(0)
    model = mm.models.polymnist(fusion="mwb", seed=0, **REDUCED)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    names = [f"m{i}" for i in range(5)]
    rng = np.random.default_rng(0)
    n = 16 * BATCH
    data = {m: rng.random((n, 28, 28, 3), dtype="float32") for m in names}
    data["mask"] = (rng.random((n, 5)) > 0.2).astype("float32")
    data["mask"][np.arange(n), rng.integers(0, 5, n)] = 1.0
    model.build({m: (None, 28, 28, 3) for m in names})
    assert extreme_log_var_biases(model) == len(names)

    every = max(STEPS // 10, 1)
    soak = Soak({m: data[m][:BATCH] for m in names}, every)
    model.fit(data, batch_size=BATCH, epochs=-(-STEPS // (n // BATCH)),
              verbose=0, callbacks=[soak])

    assert int(keras.ops.convert_to_numpy(
        model.optimizer.iterations)) >= STEPS
    assert soak.nonfinite_steps == 0
    assert np.isfinite(soak.max_abs_log_var)
    # Settled: the second half of the run (compilation and the first
    # allocations are over).
    settled = [mb for step, mb in soak.memory if step > STEPS // 2]
    assert max(settled) - settled[0] < MAX_GROWTH_MB, soak.memory
