"""Training-step throughput of the PolyMNIST reference model, side by side.

The model users build, `mm.models.polymnist(fusion=preset)` (MoPoE's
PolyMNIST networks: five 28×28×3 modalities, latent 512, Laplace(0.75),
β = 2.5), trained with Adam(5e-4) on random data in `model.fit`; the same
model that `benchmarks/multivae_baseline.py` measures in PyTorch.
Every (backend, preset) runs in its own process, so each reports its own
peak resident memory. Each times every step after the warm-up (which
includes compilation) and reports the median, the samples/s, the achieved
GFLOP/s (the model's training FLOPs per sample, counted from its layers,
× samples/s) and that as a share of the matmul peak measured in the same
run (NumPy float32; TensorFlow bfloat16 when `--precision mixed_bfloat16`),
and the page faults per step and the kernel's share of the CPU time
(glibc's allocator settings decide both on JAX and PyTorch: every
process of the run, MultiVae's included, inherits them from the
environment, and the table prints them).

Usage (`make bench` runs the first line):

    python -m benchmarks.train_step --backends tensorflow jax --versus-multivae
    python -m benchmarks.train_step --backends jax --presets mwb w2 \\
        --precision mixed_bfloat16 --steps 6
    python -m benchmarks.train_step --network generic   # mm.layers.Conv*

Prints one JSON line per measurement and a table with the ratio to
MultiVae's samples/s when `--versus-multivae` measured it: to MultiVae's
model of the same name (`mopoe`, `poe` = MVAE, `mmvae`, `mmvae+`,
`mvtcae`, `crmvae`, `jmvae`, each in its published setting: latent,
private latent, K importance samples), else to its MoPoE. A preset's
latent size is its published one unless `--latent-dim` is given.

    python -m benchmarks.train_step --backends tensorflow \
        --presets mmvae mmvae+ mvtcae jmvae crmvae --versus-multivae \
        --batch 64 --steps 3 --warmup 1
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ------------------------------------------------------------ one process
def build(preset, network, latent_dim, num_modalities, estimator=None):
    import keras

    import keras_mmvae as mm
    from keras_mmvae.src.presets import PRESETS

    extra = {}
    objective = PRESETS.get(preset, ({}, {}))[1].get("objective")
    if estimator and isinstance(objective, dict) and \
            objective["name"] in ("dreg", "iwae"):
        extra["objective"] = {**objective, "name": estimator}
    if network == "factory":
        return mm.models.polymnist(fusion=preset, latent_dim=latent_dim,
                                   **extra,
                                   num_modalities=num_modalities, seed=0)
    names = [f"m{i}" for i in range(num_modalities)]
    return mm.MultimodalVAE(
        encoders={n: mm.layers.ConvEncoder(latent_dim or 512,
                                           name=f"enc_{n}")
                  for n in names},
        decoders={n: mm.layers.ConvDecoder((28, 28, 3), name=f"dec_{n}")
                  for n in names},
        likelihoods={n: mm.likelihoods.Laplace(0.75) for n in names},
        fusion=preset, beta=2.5, seed=0,
        name=f"generic_{keras.config.backend()}", **extra)


def layer_flops(layer):
    """Forward multiply-adds × 2 of one conv/dense layer, per example."""
    import keras

    kernel = getattr(layer, "kernel", None)
    if kernel is None or not hasattr(layer, "output"):
        return 0
    try:
        out_shape = layer.output.shape
        in_shape = layer.input.shape
    except (AttributeError, ValueError):
        return 0
    size = int(np.prod(kernel.shape))
    if isinstance(layer, keras.layers.Dense):
        return 2 * size
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return 2 * size * int(np.prod(in_shape[1:-1]))
    if isinstance(layer, keras.layers.Conv1DTranspose):
        return 2 * size * int(np.prod(in_shape[1:-1]))
    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D)):
        return 2 * size * int(np.prod(out_shape[1:-1]))
    return 0


def training_flops_per_sample(model):
    """≈ 3 × forward FLOPs (forward, input and weight gradients)."""
    forward = sum(layer_flops(layer) for layer in model._flatten_layers())
    return 3 * forward


def step_timer():
    """A callback that records the wall time of every training step, and
    the page faults and kernel share of the CPU time it caused (a large
    kernel share is memory handed back to the OS and faulted in again
    every step: see "Memory allocation" on the Performance page)."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times, self.faults, self.cpu = [], [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.usage = resource.getrusage(resource.RUSAGE_SELF)
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            # Reading the loss waits for the step on async backends.
            float(logs["loss"])
            self.times.append(time.perf_counter() - self.start)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            self.faults.append(usage.ru_minflt - self.usage.ru_minflt)
            self.cpu.append((usage.ru_utime - self.usage.ru_utime,
                             usage.ru_stime - self.usage.ru_stime))

    return StepTimer()


def measure(preset, network, batch, steps, warmup, latent_dim, precision,
            num_modalities, estimator=None):
    import keras

    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(0)
    model = build(preset, network, latent_dim, num_modalities, estimator)
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    rng = np.random.default_rng(0)
    n = batch * (steps + warmup)
    data = {m: rng.random((n, 28, 28, 3), dtype="float32")
            for m in model.modality_names}
    timer = step_timer()
    model.fit(data, batch_size=batch, epochs=1, shuffle=False, verbose=0,
              callbacks=[timer])
    steady = sorted(timer.times[warmup:])
    median = steady[len(steady) // 2]
    faults = sorted(timer.faults[warmup:])
    user, system = (sum(t) for t in zip(*timer.cpu[warmup:]))
    flops = training_flops_per_sample(model)
    samples_per_s = batch / median
    return {
        "library": "keras_mmvae", "backend": keras.config.backend(),
        "preset": preset, "network": network, "precision": precision,
        "latent_dim": model.latent_dim,
        "style_dim": getattr(model.encoders["m0"], "style_dim", 0),
        "K": getattr(model.objective, "num_samples", None),
        "estimator": getattr(model.objective, "estimator", None),
        "num_modalities": num_modalities,
        "batch": batch, "params": model.count_params(),
        "first_step_s": round(timer.times[0], 3),
        "median_step_s": round(median, 4),
        "samples_per_s": round(samples_per_s, 1),
        "train_mflop_per_sample": round(flops / 1e6, 1),
        "gflop_per_s": round(flops * samples_per_s / 1e9, 1),
        "page_faults_per_step": faults[len(faults) // 2],
        "kernel_cpu_share": round(system / (user + system), 3),
        "peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def matmul_peak(precision, size=4096, repeats=5):
    """Best-of-`repeats` GFLOP/s of one `size`² matmul on this machine."""
    if precision == "mixed_bfloat16":
        import tensorflow as tf

        a = tf.random.uniform((size, size), dtype=tf.bfloat16)
        matmul = tf.function(lambda x: tf.matmul(x, x))
        run = lambda: matmul(a).numpy()  # noqa: E731
    else:
        a = np.random.default_rng(0).random((size, size), dtype="float32")
        run = lambda: a @ a  # noqa: E731
    run()
    best = min(_time(run) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _time(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---------------------------------------------------------------- driver
def run_child(backend, preset, args):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "benchmarks.train_step", "--child",
               preset,
               "--network", args.network, "--batch", str(args.batch),
               "--steps", str(args.steps), "--warmup", str(args.warmup),
               *(["--latent-dim", str(args.latent_dim)]
                 if args.latent_dim else []),
               "--precision", args.precision,
               "--num-modalities", str(args.num_modalities),
               *(["--estimator", args.estimator] if args.estimator else [])]
    result = subprocess.run(command, env=env, capture_output=True,
                            text=True, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{backend}/{preset} failed:\n"
                         f"{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# Our presets that MultiVae has, by MultiVae's class name.
MULTIVAE_MODEL = {"mopoe": "MoPoE", "poe": "MVAE", "mmvae": "MMVAE",
                  "mmvae+": "MMVAEPlus", "mvtcae": "MVTCAE",
                  "crmvae": "CRMVAE", "jmvae": "JMVAE"}


def multivae_setting(row):
    """`(model, latent_dim, style_dim, K, loss)` of MultiVae's model to
    compare our measurement `row` with: the same model in the same setting,
    else MoPoE in the reference one."""
    name = MULTIVAE_MODEL.get(row["preset"])
    if name is None:
        return ("MoPoE", 512, 0, None, None)
    if name not in ("MMVAE", "MMVAEPlus"):
        return (name, row["latent_dim"], row["style_dim"], None, None)
    return (name, row["latent_dim"], row["style_dim"], row["K"],
            f"{row['estimator']}_looser")


def run_multivae(args, setting):
    from benchmarks import multivae_baseline

    name, latent_dim, style_dim, k, loss = setting
    [theirs] = multivae_baseline.run(
        [name], args.batch, args.steps + args.warmup,
        latent_dim=latent_dim, style_dim=style_dim, k=k or 10,
        loss=loss or "dreg_looser")
    return theirs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+",
                        default=[os.environ.get("KERAS_BACKEND",
                                                "tensorflow")])
    parser.add_argument("--presets", nargs="+", default=["mwb"])
    parser.add_argument("--network", choices=("factory", "generic"),
                        default="factory")
    parser.add_argument("--precision", default="float32",
                        choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=8,
                        help="timed steps after the warm-up")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--latent-dim", type=int, default=None,
                        help="latent size (default: the preset's published "
                        "one, 512 for most)")
    parser.add_argument("--num-modalities", type=int, default=5,
                        help="modalities of the model (MultiVae: always 5)")
    parser.add_argument("--versus-multivae", action="store_true",
                        help="also measure MultiVae's model of each preset "
                        "(else its MoPoE; benchmarks/multivae_baseline.py, "
                        "in its own virtualenv, set up on first use) and "
                        "print ratios")
    parser.add_argument("--estimator", choices=("dreg", "iwae"), default=None,
                        help="the importance-weighted presets (mmvae, "
                        "mmvae+, mopoe+, mwb+) with this estimator instead "
                        "of their DReG (MultiVae: iwae_looser)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.network, args.batch,
                                 args.steps, args.warmup, args.latent_dim,
                                 args.precision, args.num_modalities,
                                 args.estimator)),
              flush=True)
        return

    load = os.getloadavg()[0]
    peak = matmul_peak(args.precision)
    malloc = {k: v for k, v in os.environ.items()
              if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"}
    print(json.dumps({"matmul_peak_gflop_per_s": round(peak, 1),
                      "precision": args.precision,
                      "load_average_1min": load, "malloc_env": malloc}),
          flush=True)
    rows = []
    for backend in args.backends:
        for preset in args.presets:
            row = run_child(backend, preset, args)
            rows.append(row)
            print(json.dumps(row), flush=True)
    baselines = {}  # MultiVae's measurements, one per (model, setting)
    if args.versus_multivae:
        for row in rows:
            row["versus"] = setting = multivae_setting(row)
            if setting not in baselines:
                baselines[setting] = run_multivae(args, setting)
                print(json.dumps(baselines[setting]), flush=True)

    print(f"\nbatch {args.batch}, {args.precision}, network={args.network}, "
          f"matmul peak {peak:.0f} GFLOP/s, load average before the run "
          f"{load:.2f}, allocator environment "
          f"{' '.join(f'{k}={v}' for k, v in malloc.items()) or 'default'}")
    header = (f"{'backend':11} {'preset':7} {'samples/s':>10} "
              f"{'GFLOP/s':>8} {'% peak':>7} {'peak RSS MB':>12} "
              f"{'kernel CPU':>11}")
    if baselines:
        header += f" {'÷ MultiVae':>11} {'(its model)':>11}"
    print(header)
    for theirs in baselines.values():
        print(f"{'MultiVae':11} {theirs['model']:7} "
              f"{theirs['samples_per_s']:>10} {'':>8} {'':>7} {'':>12} "
              f"{'':>11}")
    for r in rows:
        line = (f"{r['backend']:11} {r['preset']:7} "
                f"{r['samples_per_s']:>10} {r['gflop_per_s']:>8} "
                f"{100 * r['gflop_per_s'] / peak:>6.0f}% "
                f"{r['peak_rss_mb']:>12} "
                f"{100 * r['kernel_cpu_share']:>10.0f}%")
        if baselines:
            theirs = baselines[r["versus"]]
            line += (f" {r['samples_per_s'] / theirs['samples_per_s']:>11.2f}"
                     f" {theirs['model']:>11}")
        print(line)


if __name__ == "__main__":
    main()
