"""Where one training step of the PolyMNIST reference model spends its time.

One profiler for the jax and tensorflow backends (`--backend`), in two
modes:

* **trace** (the default): traces a few `fit` steps of
  `mm.models.polymnist(fusion=--preset)` (batch 256, random data) with the
  backend's profiler and attributes every executed op to the layer it
  belongs to, split into forward and backward, with its largest op kinds.
  On JAX (`jax.profiler`) the ops are XLA's (a fusion, a dot, a copy),
  matched to layers through the metadata of the optimised HLO of the step
  (dumped next to the trace); ops without metadata (XLA-created, e.g.
  weight-gradient convolutions and the layout copies around them) are
  listed under their shape. On TensorFlow (`tf.profiler`) they are
  TensorFlow's ops (`_MklNativeConv2DBackpropFilter`, `BiasAddGrad`, ...)
  matched through their names (`gradient_tape/` is the backward pass);
  ops outside the encoders and decoders (fusion, losses, optimizer) are
  listed together, the `tf.data` pipeline `fit` builds separately, and a
  second table gives the time per op type. Times are thread time: both
  run independent ops side by side, so the total exceeds the step's wall
  time. The last lines give the **kernel ceiling**: the fastest step the
  convolutions and matrix products, at the speed they ran, allow on this
  machine's cores, were everything else free.
* **layers** (`--layers`): times the forward and backward pass (input and
  weight gradients) of every layer of one modality's reference encoder
  and decoder (`mm.models.PolyMNISTEncoder/Decoder`) on its own,
  compiled, at the batch of the training step, and the whole `fit` step;
  the step's remainder (fusion, KL, likelihood, optimizer, `fit`
  overhead) is the difference between the step and five modalities'
  network time. Ends with one JSON line.

    python -m benchmarks.step_trace --backend jax [--preset mwb] [--top 25]
    python -m benchmarks.step_trace --backend tensorflow \\
        [--precision mixed_bfloat16]
    python -m benchmarks.step_trace --backend jax --layers
    python -m benchmarks.step_trace --backend tensorflow --layers [--xla]

`docs/benchmarks/performance.md` ("Where the time goes", "The ceiling")
summarises its output.
"""

import argparse
import collections
import glob
import gzip
import json
import os
import re
import tempfile
import time

BATCH = 256


# ----------------------------------------------------------------- shared
def warmed_up_model(preset, steps, batch=BATCH):
    """The compiled reference model after one untraced `fit` epoch, and
    the `steps` batches of random data to trace it on."""
    import keras
    import numpy as np

    from benchmarks.train_step import build

    model = build(preset, "factory", 512, 5)
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    rng = np.random.default_rng(0)
    data = {m: rng.random((batch * steps, 28, 28, 3), dtype="float32")
            for m in model.modality_names}
    fit(model, data)
    return model, data


def fit(model, data, callbacks=None):
    model.fit(data, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
              callbacks=callbacks)


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
    from benchmarks.train_step import training_flops_per_sample

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


# ------------------------------------------------------------ JAX trace
def jax_hlo_ops(work):
    """`{op name: (shape, op_name metadata or None, arithmetic)}` of the
    train step; `arithmetic` marks the convolutions and matrix products,
    alone or as the core of a fusion (YNNPACK's `ynn_fusion`s also wrap
    plain reductions)."""
    path = sorted(p for p in glob.glob(f"{work}/hlo/*after_optimizations.txt")
                  if "jit_train_step" in p)[-1]
    with open(path) as f:
        text = f.read()
    bodies = dict(re.findall(r"^%(\S+) \(.*?\{\n(.*?)\n\}", text,
                             re.M | re.S))
    ops = {}
    for match in re.finditer(r"^\s*(?:ROOT )?%(\S+) = (\S+) (.*)$", text,
                             re.M):
        meta = re.search(r'op_name="([^"]+)"', match.group(3))
        called = re.search(r"calls=%([\w.\-]+)", match.group(3))
        code = bodies.get(called.group(1), "") if called else match.group(3)
        ops[match.group(1)] = (
            match.group(2), meta.group(1) if meta else None,
            bool(re.search(r"(^|\s)(dot|convolution)\(", code)))
    return ops


def jax_layer_of(op_name, shape):
    """`"fwd decoder_m*/network/deconv_0"`-style key of one XLA op."""
    if op_name is None:
        return f"(no metadata) {shape}"
    name = op_name.removeprefix("jit(train_step)/")
    direction = "bwd" if "transpose(" in name else "fwd"
    name = re.sub(r"(?:transpose|jvp)\(([^()]*)\)", r"\1", name)
    name = re.sub(r"(?:transpose|jvp)\(([^()]*)\)", r"\1", name)
    name = re.sub(r"_m\d+", "_m*", "/".join(name.split("/")[:3]))
    return f"{direction} {name}"


def trace_jax(args, work):
    import jax

    model, data = warmed_up_model(args.preset, args.steps)
    jax.profiler.start_trace(f"{work}/trace", create_perfetto_trace=True)
    fit(model, data)
    jax.profiler.stop_trace()

    [trace] = glob.glob(f"{work}/trace/**/*.trace.json.gz", recursive=True)
    with gzip.open(trace) as f:
        events = [e for e in json.load(f)["traceEvents"]
                  if e.get("ph") == "X" and e.get("args", {}).get(
                      "hlo_module") == "jit_train_step"]
    steps = len({e["args"].get("run_id") for e in events})
    ops = jax_hlo_ops(work)
    by_layer = collections.defaultdict(float)
    kinds = collections.defaultdict(collections.Counter)
    kernel_ms = 0.0
    for event in events:
        op = event["args"]["hlo_op"]
        shape, op_name, arithmetic = ops.get(op, ("?", None, False))
        key = jax_layer_of(op_name, shape)
        ms = event["dur"] / 1e3 / steps
        by_layer[key] += ms
        kinds[key][re.sub(r"\.\d+$", "", op)] += ms
        kernel_ms += ms if arithmetic else 0.0
    total = sum(by_layer.values())
    print(f"jax, {args.preset}, {args.precision}: {steps} traced steps, "
          f"{total:.0f} ms of XLA thread time per step (dumps in {work})")
    print_by_layer(by_layer, kinds, args.top, width=52)
    print_kernel_ceiling(model, kernel_ms, total)


# ----------------------------------------------------- TensorFlow trace
# Host events that are not one op's execution: the executor, the step
# function around all ops, and the creation of `fit`'s data iterator.
TF_NOT_OPS = ("Process", "Run", "__inference_", "MakeIterator", "Iterator")
# oneDNN's convolutions and matrix products (`_MklNativeConv2DBackpropInput`,
# `_MklMatMul`, `_MklEinsum`, ...).
TF_KERNELS = re.compile(r"Conv2D|MatMul|Einsum")


def tf_op_events(path):
    """`(op name, op type, ms)` of every op execution in an XSpace file."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name:
                    continue
                op, kind = name.rsplit(":", 1)
                kind = kind.strip()
                if kind.startswith(TF_NOT_OPS) or op.startswith(TF_NOT_OPS):
                    continue
                yield op, kind, event.duration_ps / 1e9


def tf_layer_of(op, kind):
    """`"bwd decoder_m*/network/deconv_1"`-style key of one TF op."""
    if kind.endswith("Dataset"):
        return "tf.data input pipeline"
    name = op.removeprefix("StatefulPartitionedCall/")
    direction = "bwd" if name.startswith("gradient_tape/") else "fwd"
    parts = [re.sub(r"_\d+$", "", p)
             for p in name.removeprefix("gradient_tape/").split("/")[1:4]]
    if not parts or not re.match(r"(en|de)coder_m\d+$", parts[0]):
        return f"{direction} outside the networks"
    return f"{direction} " + re.sub(r"_m\d+", "_m*", "/".join(parts))


def trace_tensorflow(args, work):
    import tensorflow as tf

    model, data = warmed_up_model(args.preset, args.steps)
    tf.profiler.experimental.start(work)
    fit(model, data)
    tf.profiler.experimental.stop()

    [path] = glob.glob(f"{work}/plugins/profile/*/*.xplane.pb")
    by_layer = collections.defaultdict(float)
    kinds = collections.defaultdict(collections.Counter)
    by_kind = collections.Counter()
    for op, kind, ms in tf_op_events(path):
        key = tf_layer_of(op, kind)
        by_layer[key] += ms / args.steps
        kinds[key][kind] += ms / args.steps
        by_kind[kind] += ms / args.steps
    total = sum(by_layer.values())
    print(f"tensorflow, {args.preset}, {args.precision}: {args.steps} "
          f"traced steps, {total:.0f} ms of op thread time per step "
          f"(trace in {work})")
    print_by_layer(by_layer, kinds, args.top, width=44)
    print(f"\n{'ms':>7} {'share':>6}  op type")
    for kind, ms in by_kind.most_common(args.top):
        print(f"{ms:7.1f} {ms / total:6.1%}  {kind}")
    kernel_ms = sum(ms for kind, ms in by_kind.items()
                    if TF_KERNELS.search(kind))
    print_kernel_ceiling(model, kernel_ms, total)


# ---------------------------------------------------- each layer alone
def grad_fn(layer, jit=True):
    """A compiled `x ↦ ∂ sum(layer(x)) / ∂(x, weights)`."""
    import keras

    if keras.config.backend() == "jax":
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in layer.trainable_variables]
        fixed = [v.value for v in layer.non_trainable_variables]

        def loss(weights, x):
            y, _ = layer.stateless_call(weights, fixed, x)
            return jnp.sum(y)

        grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
        return lambda x: jax.block_until_ready(grad(trainable, x))
    import tensorflow as tf

    @tf.function(jit_compile=jit)
    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(layer(x))
        return tape.gradient(y, [x] + layer.trainable_variables)

    return lambda x: [g.numpy() for g in grad(x)]


def median_time(fn, x, repeats):
    import numpy as np

    fn(x)  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def layer_times(network, batch, repeats, jit):
    """`(name, type, input shape, ms)` for every layer of a functional
    network."""
    import keras
    import numpy as np

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


def step_time(preset, steps, jit):
    """Median wall time (ms) of a `fit` step after two warm-up steps, and
    the model."""
    import keras
    import numpy as np

    from benchmarks.train_step import build

    model = build(preset, "factory", 512, 5)
    model.compile(optimizer=keras.optimizers.Adam(5e-4),
                  jit_compile=jit if keras.config.backend() == "tensorflow"
                  else "auto")
    rng = np.random.default_rng(0)
    data = {m: rng.random((BATCH * (steps + 2), 28, 28, 3), dtype="float32")
            for m in model.modality_names}
    times = []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            float(logs["loss"])  # waits for the step on async backends
            times.append(time.perf_counter() - self.start)

    fit(model, data, callbacks=[Timer()])
    return 1e3 * float(np.median(times[2:])), model


def profile_layers(args):
    backend = args.backend
    jit = args.xla or backend == "jax"
    step_ms, model = step_time(args.preset, args.steps, jit)
    rows = []
    for part in ("encoder", "decoder"):
        network = getattr(model, f"{part}s")["m0"].network
        for name, kind, shape, ms in layer_times(network, BATCH,
                                                 args.repeats, jit):
            rows.append({"part": part, "layer": name, "type": kind,
                         "input": list(shape), "ms": round(ms, 2)})
    modalities = len(model.modality_names)
    networks_ms = modalities * sum(r["ms"] for r in rows)
    print(f"{backend}{' (XLA)' if args.xla else ''}, {args.preset}, "
          f"{args.precision}: training step {step_ms:.0f} ms at batch "
          f"{BATCH} ({BATCH / step_ms * 1e3:.0f} samples/s)")
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
    print(json.dumps({"backend": backend, "xla": args.xla,
                      "preset": args.preset, "precision": args.precision,
                      "batch": BATCH, "step_ms": round(step_ms, 1),
                      "layers": rows}))


# ------------------------------------------------------------------ main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from_env = os.environ.get("KERAS_BACKEND")
    parser.add_argument("--backend", choices=("jax", "tensorflow"),
                        default=from_env if from_env == "tensorflow"
                        else "jax",
                        help="default: $KERAS_BACKEND if jax or "
                        "tensorflow, else jax")
    parser.add_argument("--layers", action="store_true",
                        help="time every layer alone instead of tracing "
                        "the step")
    parser.add_argument("--preset", default="mwb")
    parser.add_argument("--steps", type=int, default=4,
                        help="traced (or timed) steps")
    parser.add_argument("--top", type=int, default=25,
                        help="trace: rows of each table")
    parser.add_argument("--precision", default="float32",
                        choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--repeats", type=int, default=7,
                        help="--layers: timed runs of each layer")
    parser.add_argument("--xla", action="store_true",
                        help="--layers on TensorFlow: compile with XLA "
                        "(jit_compile=True)")
    args = parser.parse_args()

    # The backend, and XLA's HLO dump, must be set before Keras starts.
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    work = None if args.layers else tempfile.mkdtemp(
        prefix=f"step_trace_{args.backend}_")
    if args.backend == "jax" and not args.layers:
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + f" --xla_dump_to={work}/hlo"
            " --xla_dump_hlo_as_text").strip()
    import keras

    keras.mixed_precision.set_global_policy(args.precision)
    if args.layers:
        profile_layers(args)
    elif args.backend == "jax":
        trace_jax(args, work)
    else:
        trace_tensorflow(args, work)


if __name__ == "__main__":
    main()
