"""Forward + backward time of the PolyMNIST decoder's transposed convolutions.

The three `ConvTranspose2d(k3, s2, p1)` layers of MoPoE's PolyMNIST decoder
(4×4×128 → 7×7×64 → 14×14×32 → 28×28×3, ReLU between) at batch 256, once
per implementation of `keras_mmvae`'s `Conv2DTranspose`. The two stacks
share weights and run interleaved in one process, so machine load affects
both alike; the ratio is what `AUTO_IMPLEMENTATION` is chosen from.

Usage (backend from the environment: jax, tensorflow or torch):

    KERAS_BACKEND=jax python -m benchmarks.conv_transpose --steps 10
    KERAS_BACKEND=tensorflow python -m benchmarks.conv_transpose \
        --precision mixed_bfloat16
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from keras_mmvae.src.layers.conv_transpose import Conv2DTranspose

IMPLEMENTATIONS = ("transpose", "subpixel", "gemm")
LAYERS = [(64, 0, "relu"), (32, 1, "relu"), (3, 1, None)]  # (C, op, act)


def stack(implementation):
    inputs = keras.Input((4, 4, 128))
    x = inputs
    for i, (filters, output_padding, activation) in enumerate(LAYERS):
        x = Conv2DTranspose(filters, 3, strides=2, padding=1,
                            output_padding=output_padding or None,
                            activation=activation, name=f"deconv_{i}",
                            implementation=implementation)(x)
    return keras.Model(inputs, x)


def step_function(model):
    """A compiled `x ↦ (Σ y², ∂/∂weights, ∂/∂x)` on the current backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def loss(weights, x):
            y, _ = model.stateless_call(weights, [], x)
            return keras.ops.sum(y ** 2)

        grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
        weights = [v.value for v in model.trainable_variables]
        return lambda x: jax.block_until_ready(grad(weights, x))
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=False)
        def grad(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(model(x) ** 2)
            return loss, tape.gradient(
                loss, model.trainable_variables + [x])

        return lambda x: [t.numpy() for t in tf.nest.flatten(grad(x))]
    if backend == "torch":
        import torch

        def grad(x):
            x = x.detach().requires_grad_(True)
            loss = torch.sum(model(x) ** 2)
            return torch.autograd.grad(
                loss, [v.value for v in model.trainable_variables] + [x])

        return grad
    raise SystemExit(f"Backend {backend!r} not benchmarked.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--precision", default="float32",
                        choices=("float32", "mixed_bfloat16"),
                        help="Keras dtype policy of the layers.")
    args = parser.parse_args()
    keras.mixed_precision.set_global_policy(args.precision)

    models = {name: stack(name) for name in IMPLEMENTATIONS}
    weights = models["transpose"].get_weights()
    for model in models.values():
        model.set_weights(weights)
    x = keras.ops.convert_to_tensor(np.random.default_rng(0).normal(
        size=(args.batch, 4, 4, 128)).astype("float32"))
    steps = {name: step_function(model) for name, model in models.items()}
    times = {name: [] for name in IMPLEMENTATIONS}
    for i in range(args.warmup + args.steps):
        for name in IMPLEMENTATIONS:  # interleaved: same machine load
            start = time.perf_counter()
            steps[name](x)
            if i >= args.warmup:
                times[name].append(time.perf_counter() - start)

    base = statistics.median(times["transpose"])
    print(f"backend={keras.backend.backend()} batch={args.batch} "
          f"precision={args.precision} steps={args.steps} "
          "(median forward+backward)")
    print(f"{'implementation':<15}{'ms':>10}{'vs transpose':>15}")
    for name in IMPLEMENTATIONS:
        median = statistics.median(times[name])
        print(f"{name:<15}{1e3 * median:>10.1f}{median / base:>15.2f}")


if __name__ == "__main__":
    main()
