"""Where one training step of the PolyMNIST reference model spends its time.

Times the forward and backward pass (input and weight gradients) of every
layer of one modality's reference encoder and decoder
(`mm.models.PolyMNISTEncoder/Decoder`) on its own, compiled, at the batch of
the training step, and the whole `fit` step of `mm.models.polymnist()`; the
step's remainder (fusion, KL, likelihood, optimizer, `fit` overhead) is the
difference between the step and five modalities' network time.

    KERAS_BACKEND=jax python benchmarks/step_profile.py
    KERAS_BACKEND=tensorflow python benchmarks/step_profile.py [--xla]
    KERAS_BACKEND=tensorflow python benchmarks/step_profile.py \
        --precision mixed_bfloat16

Prints a table (ms per step, share of the step) and one JSON line.
`docs/benchmarks/performance.md` summarises its output.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import keras_mmvae as mm

BACKEND = keras.config.backend()


def grad_fn(layer, jit=True):
    """A compiled `x ↦ ∂ sum(layer(x)) / ∂(x, weights)`."""
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in layer.trainable_variables]
        fixed = [v.value for v in layer.non_trainable_variables]

        def loss(weights, x):
            y, _ = layer.stateless_call(weights, fixed, x)
            return jnp.sum(y)

        grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
        return lambda x: jax.block_until_ready(grad(trainable, x))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=jit)
        def grad(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(layer(x))
            return tape.gradient(y, [x] + layer.trainable_variables)

        def run(x):
            return [g.numpy() for g in grad(x)]

        return run
    raise SystemExit("step_profile.py measures the jax and tensorflow "
                     "backends.")


def median_time(fn, x, repeats):
    fn(x)  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def layer_times(network, batch, repeats, jit):
    """`(name, ms)` for every layer of a functional network."""
    rows = []
    rng = np.random.default_rng(0)
    for layer in network.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = (batch,) + tuple(layer.input.shape[1:])
        x = keras.ops.convert_to_tensor(rng.random(shape, dtype="float32"))
        ms = 1e3 * median_time(grad_fn(layer, jit), x, repeats)
        rows.append((layer.name, type(layer).__name__, shape[1:], ms))
    return rows


def step_time(batch, steps, jit):
    model = mm.models.polymnist(fusion="mwb", seed=0)
    model.compile(optimizer=keras.optimizers.Adam(5e-4),
                  jit_compile=jit if BACKEND == "tensorflow" else "auto")
    rng = np.random.default_rng(0)
    data = {f"m{i}": rng.random((batch * (steps + 2), 28, 28, 3),
                                dtype="float32") for i in range(5)}
    times = []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            float(logs["loss"])
            times.append(time.perf_counter() - self.start)

    model.fit(data, batch_size=batch, shuffle=False, verbose=0,
              callbacks=[Timer()])
    return 1e3 * float(np.median(times[2:])), model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--xla", action="store_true",
                   help="TensorFlow: compile with XLA (jit_compile=True)")
    p.add_argument("--precision", default="float32",
                   choices=("float32", "mixed_bfloat16"))
    args = p.parse_args()
    keras.mixed_precision.set_global_policy(args.precision)
    jit = args.xla or BACKEND == "jax"
    step_ms, model = step_time(args.batch, args.steps, jit)
    rows = []
    for part in ("encoder", "decoder"):
        network = getattr(model, f"{part}s")["m0"].network
        for name, kind, shape, ms in layer_times(network, args.batch,
                                                 args.repeats, jit):
            rows.append({"part": part, "layer": name, "type": kind,
                         "input": list(shape), "ms": round(ms, 2)})
    modalities = len(model.modality_names)
    networks_ms = modalities * sum(r["ms"] for r in rows)
    print(f"{BACKEND}{' (XLA)' if args.xla else ''}, {args.precision}: "
          f"training step "
          f"{step_ms:.0f} ms at batch {args.batch} "
          f"({args.batch / step_ms * 1e3:.0f} samples/s)")
    print(f"{'part':8} {'layer':22} {'type':18} {'input':14} "
          f"{'ms ×' + str(modalities):>8} {'share':>6}")
    for r in rows:
        total = modalities * r["ms"]
        print(f"{r['part']:8} {r['layer']:22} {r['type']:18} "
              f"{str(tuple(r['input'])):14} {total:8.1f} "
              f"{total / step_ms:6.1%}")
    rest = step_ms - networks_ms
    print(f"{'rest: fusion, losses, optimizer, fit (by difference)':64} "
          f"{rest:8.1f} {rest / step_ms:6.1%}")
    print(json.dumps({"backend": BACKEND, "xla": args.xla,
                      "precision": args.precision,
                      "batch": args.batch, "step_ms": round(step_ms, 1),
                      "layers": rows}))


if __name__ == "__main__":
    main()
