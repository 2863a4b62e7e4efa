"""What `jax_step_trace.py` and `tf_step_trace.py` share: the warmed-up
model they trace, the per-layer table they print, and the ceiling that the
traced convolutions and matrix products put on the step."""

import os

import keras
import numpy as np
from train_step import build
from train_step import training_flops_per_sample

BATCH = 256


def warmed_up_model(preset, steps):
    """The compiled reference model after one untraced `fit` epoch, and
    the `steps` batches of random data to trace it on."""
    model = build(preset, "factory", 512, 5)
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    rng = np.random.default_rng(0)
    data = {m: rng.random((BATCH * steps, 28, 28, 3), dtype="float32")
            for m in model.modality_names}
    fit(model, data)
    return model, data


def fit(model, data):
    model.fit(data, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)


def print_by_layer(by_layer, kinds, top, width):
    """The `top` layers by time, each with its three largest op kinds."""
    total = sum(by_layer.values())
    print(f"{'ms':>7} {'share':>6}  {'layer':<{width}} largest ops (ms)")
    for key, ms in sorted(by_layer.items(), key=lambda kv: -kv[1])[:top]:
        largest = ", ".join(f"{kind} {t:.0f}"
                            for kind, t in kinds[key].most_common(3))
        print(f"{ms:7.1f} {ms / total:6.1%}  {key[:width]:<{width}} "
              f"{largest}")


def print_kernel_ceiling(model, kernel_ms, total_ms):
    """The fastest step the traced arithmetic kernels allow.

    `kernel_ms` is the thread time per step of the convolutions and matrix
    products. However the rest of the step were sped up, those kernels
    (at the speed they ran in the step) still need `kernel_ms / cores`
    of wall time, so no step can be faster than that, even with everything
    else free and no core ever idle."""
    cores = len(os.sched_getaffinity(0))
    floor_ms = kernel_ms / cores
    gflop = training_flops_per_sample(model) * BATCH / 1e9
    print(f"\nconvolutions and matrix products: {kernel_ms:.0f} of "
          f"{total_ms:.0f} ms thread time per step "
          f"({kernel_ms / total_ms:.0%}), {gflop / kernel_ms * 1e3:.0f} "
          f"GFLOP/s per thread ({gflop:.1f} GFLOP of training per step, "
          f"counted from the layers)")
    print(f"ceiling on {cores} cores: a step of at least {floor_ms:.0f} ms, "
          f"at most {BATCH / floor_ms * 1e3:.0f} samples/s (were everything "
          f"else free and no core ever idle)")
