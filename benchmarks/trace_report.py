"""What `jax_step_trace.py` and `tf_step_trace.py` share: the warmed-up
model they trace and the per-layer table they print."""

import keras
import numpy as np
from train_step import build

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
