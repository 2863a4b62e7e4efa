"""Soak: many training steps from extreme log-variances, counting non-finite steps.

Builds `mm.models.polymnist(fusion=...)` (by default the reduced network the
demo trains, so that thousands of steps fit on a 2-core CPU; `--reference`
for MoPoE's full networks), sets the bias of every encoder's `log_var`
head to +15 for half of the modalities and -15 for the others (posterior
standard deviations of e^7.5 and e^-7.5), and trains on random
PolyMNIST-shaped data for `--steps` steps with `fit`. Reports the number of
steps whose loss or any weight is NaN/inf (target 0), the largest
|log_var| the encoders produce over the run, and the resident memory
every `--every` steps (it must not grow after the first few hundred).

Usage:

    KERAS_BACKEND=jax python benchmarks/soak.py --steps 2000
    KERAS_BACKEND=tensorflow python benchmarks/soak.py --reference --steps 10000
"""

import argparse
import json
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_mmvae as mm  # noqa: E402

REDUCED = {"latent_dim": 64, "encoder_filters": [16, 32, 64],
           "decoder_filters": [64, 32, 16], "hidden_dim": 128}


def rss_mb():
    """Current resident memory (Linux `/proc`), in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def extreme_log_var_biases(model, value=15.0):
    """Sets every encoder's `log_var` bias to ±`value` (alternating)."""
    for i, name in enumerate(model.modality_names):
        sign = 1.0 if i % 2 == 0 else -1.0
        for layer in model.encoders[name]._flatten_layers():
            if layer.name == "log_var" and getattr(layer, "bias", None) is not None:
                layer.bias.assign(np.full(layer.bias.shape, sign * value,
                                          "float32"))


class Soak(keras.callbacks.Callback):
    def __init__(self, probe, every):
        super().__init__()
        self.probe = probe
        self.every = every
        self.nonfinite_steps = 0
        self.max_abs_log_var = 0.0
        self.memory = []

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if not np.isfinite(float(logs["loss"])):
            self.nonfinite_steps += 1
        if step % self.every == 0:
            finite = all(np.all(np.isfinite(keras.ops.convert_to_numpy(v)))
                         for v in self.model.trainable_variables)
            self.nonfinite_steps += 0 if finite else 1
            _, log_var = self.model.encode(self.probe)
            self.max_abs_log_var = max(self.max_abs_log_var, float(np.max(
                np.abs(keras.ops.convert_to_numpy(log_var)))))
            self.memory.append((step, round(rss_mb())))
            print(json.dumps({"step": step, "loss": float(logs["loss"]),
                              "rss_mb": self.memory[-1][1]}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fusion", default="mwb")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--reference", action="store_true",
                        help="MoPoE's full PolyMNIST networks")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    kwargs = {} if args.reference else REDUCED
    model = mm.models.polymnist(fusion=args.fusion, seed=0, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(0)
    names = [f"m{i}" for i in range(5)]
    n = 2048
    data = {m: rng.random((n, 28, 28, 3), dtype="float32") for m in names}
    data["mask"] = (rng.random((n, 5)) > 0.2).astype("float32")
    data["mask"][np.arange(n), rng.integers(0, 5, n)] = 1.0
    model.build({m: (None, 28, 28, 3) for m in names})
    extreme_log_var_biases(model)
    probe = {m: data[m][:64] for m in names}
    soak = Soak(probe, args.every)
    epochs = -(-args.steps // (n // args.batch))
    start = time.monotonic()
    model.fit(data, batch_size=args.batch, epochs=epochs, verbose=0,
              steps_per_epoch=None, callbacks=[soak])
    memory = soak.memory
    settled = [m for s, m in memory if s >= min(400, args.steps // 2)]
    report = {
        "backend": keras.config.backend(), "fusion": args.fusion,
        "network": "reference" if args.reference else "reduced",
        "steps": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "nonfinite_steps": soak.nonfinite_steps,
        "max_abs_log_var": round(soak.max_abs_log_var, 2),
        "rss_mb_first_last": [memory[0][1], memory[-1][1]] if memory else None,
        "rss_growth_after_settling_mb": (settled[-1] - settled[0]
                                         if len(settled) > 1 else None),
        "peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "seconds": round(time.monotonic() - start),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
