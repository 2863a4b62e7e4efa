"""Training-step throughput of every fusion preset on a PolyMNIST-sized model.

Five modalities of 28×28×3 images, MoPoE's PolyMNIST encoder/decoder
(`ConvEncoder(512)` / `ConvDecoder((28, 28, 3))`: 2,811,395 parameters per
modality), latent 512, Laplace(0.75), β = 2.5, Adam(5e-4), batch 256,
random data; the same model that `../shared/bench/multivae_baseline.sh`
measures in PyTorch. Runs `model.fit` and times every step after the
warm-up (which includes compilation); reports the median.

Usage (backend from the environment):

    KERAS_BACKEND=tensorflow python benchmarks/train_step.py
    KERAS_BACKEND=jax python benchmarks/train_step.py --presets mopoe mwb

Prints a table and one JSON line per preset.
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

NAMES = [f"m{i}" for i in range(5)]


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # Reading the loss waits for the step to finish on async backends.
        float(logs["loss"])
        self.times.append(time.perf_counter() - self.start)


def build(preset, latent_dim, seed=0):
    return mm.MultimodalVAE(
        encoders={n: mm.layers.ConvEncoder(latent_dim, name=f"enc_{n}")
                  for n in NAMES},
        decoders={n: mm.layers.ConvDecoder((28, 28, 3), name=f"dec_{n}")
                  for n in NAMES},
        likelihoods={n: mm.likelihoods.Laplace(0.75) for n in NAMES},
        fusion=preset,
        beta=2.5,
        seed=seed,
    )


def measure(preset, batch, steps, warmup, latent_dim):
    keras.utils.set_random_seed(0)
    model = build(preset, latent_dim)
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    rng = np.random.default_rng(0)
    n = batch * (steps + warmup)
    data = {m: rng.random((n, 28, 28, 3), dtype="float32") for m in NAMES}
    timer = StepTimer()
    model.fit(data, batch_size=batch, epochs=1, shuffle=False, verbose=0,
              callbacks=[timer])
    steady = sorted(timer.times[warmup:])
    median = steady[len(steady) // 2]
    return {
        "library": "keras_mmvae",
        "backend": keras.config.backend(),
        "preset": preset,
        "batch": batch,
        "params": model.count_params(),
        "first_step_s": round(timer.times[0], 3),
        "median_step_s": round(median, 4),
        "samples_per_s": round(batch / median, 1),
        "peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+",
                        default=["poe", "moe", "w2", "mopoe", "mwb"])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=8,
                        help="timed steps after the warm-up")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--latent-dim", type=int, default=512)
    args = parser.parse_args()
    rows = []
    for preset in args.presets:
        row = measure(preset, args.batch, args.steps, args.warmup,
                      args.latent_dim)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\nbackend={keras.config.backend()}  batch={args.batch}  "
          f"latent={args.latent_dim}  (peak RSS is the process maximum so "
          "far)")
    print(f"{'preset':8} {'samples/s':>10} {'median step s':>14} "
          f"{'first step s':>13} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['preset']:8} {r['samples_per_s']:>10} "
              f"{r['median_step_s']:>14} {r['first_step_s']:>13} "
              f"{r['peak_rss_mb']:>12}")


if __name__ == "__main__":
    main()
