"""Data-parallel throughput: 1 vs 2 (virtual) devices, same global batch.

The PolyMNIST-sized model of `benchmarks/train_step.py` (MWB by default) under
`keras.distribution.DataParallel` (JAX) or `tf.distribute.MirroredStrategy`
(TensorFlow), each device count in its own process (the devices must be
set up before the backend starts: `XLA_FLAGS` /
logical CPU devices). On a CPU-only machine the two "devices" share the
same cores, so expect at most 1x: the number shows the overhead. The
gradient all-reduce moves about `2 (R - 1) / R x` the parameter bytes per
replica and step (ring all-reduce); the script prints that volume.

Usage (backend from the environment; keep it short on shared machines):

    KERAS_BACKEND=jax python -m benchmarks.scaling --batch 64 --steps 4
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def child(devices, preset, batch, steps, warmup, latent_dim):
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "jax":
        os.environ["XLA_FLAGS"] = (
            f"--xla_force_host_platform_device_count={devices}")
        os.environ["JAX_PLATFORMS"] = "cpu"
    import keras

    from benchmarks import train_step

    if backend == "jax":
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(
                devices=keras.distribution.list_devices("cpu")))
        scope = keras.distribution.distribution().scope()
    elif backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        scope = tf.distribute.MirroredStrategy(
            [f"/cpu:{i}" for i in range(devices)]).scope()
    else:
        raise SystemExit("Keras has no data-parallel engine on " + backend)
    with scope:
        result = train_step.measure(preset, "factory", batch, steps, warmup,
                                    latent_dim, "float32", num_modalities=5)
    result["devices"] = devices
    result["allreduce_mb_per_replica_step"] = round(
        2 * (devices - 1) / devices * result["params"] * 4 / 2**20, 1)
    print(json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="mwb")
    parser.add_argument("--batch", type=int, default=256,
                        help="global batch")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--latent-dim", type=int, default=512)
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--child", type=int, default=None,
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.preset, args.batch, args.steps, args.warmup,
              args.latent_dim)
        return
    rows = []
    for devices in args.devices:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.scaling", "--child",
             str(devices),
             "--preset", args.preset, "--batch", str(args.batch),
             "--steps", str(args.steps), "--warmup", str(args.warmup),
             "--latent-dim", str(args.latent_dim)],
            capture_output=True, text=True, check=True, cwd=ROOT).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["samples_per_s"]
    print("| devices | samples/s | speed-up | all-reduce MB/replica/step |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['devices']} | {row['samples_per_s']} | "
              f"{row['samples_per_s'] / base:.2f}x | "
              f"{row['allreduce_mb_per_replica_step']} |")


if __name__ == "__main__":
    main()
