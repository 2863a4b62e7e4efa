"""Where TensorFlow spends one training step, per layer and per kind of op.

Traces a few `fit` steps of the PolyMNIST reference model
(`mm.models.polymnist(fusion=...)`, batch 256, random data) with
`tf.profiler` and attributes every executed TensorFlow op to the layer its
name carries, split into forward and backward (`gradient_tape/`), and to
its op type (`_MklNativeConv2DBackpropFilter`, `BiasAddGrad`, ...). Ops
outside the encoders and decoders (fusion, losses, optimizer) are listed
together. Times are thread time: TensorFlow runs independent ops side by
side, so the total exceeds the step's wall time. The `tf.data` pipeline
that `fit` builds for NumPy inputs is listed separately. The last lines
give the ceiling that oneDNN's convolutions and matrix products, at the
speed they ran, put on the step.

    python benchmarks/tf_step_trace.py [--preset mwb] [--steps 4] [--top 25]
        [--precision mixed_bfloat16]
"""

import argparse
import collections
import glob
import os
import re
import sys
import tempfile

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trace_report import fit  # noqa: E402
from trace_report import print_by_layer  # noqa: E402
from trace_report import print_kernel_ceiling  # noqa: E402
from trace_report import warmed_up_model  # noqa: E402

# Host events that are not one op's execution: the executor, the step
# function around all ops, and the creation of `fit`'s data iterator.
NOT_OPS = ("Process", "Run", "__inference_", "MakeIterator", "Iterator")
# oneDNN's convolutions and matrix products (`_MklNativeConv2DBackpropInput`,
# `_MklMatMul`, `_MklEinsum`, ...).
KERNELS = re.compile(r"Conv2D|MatMul|Einsum")


def op_events(path):
    """`(op name, op type, ms)` of every op execution in an XSpace file."""
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
                if kind.startswith(NOT_OPS) or op.startswith(NOT_OPS):
                    continue
                yield op, kind, event.duration_ps / 1e9


def layer_of(op, kind):
    """`"bwd decoder_m*/network/deconv_1"`-style key of one op."""
    if kind.endswith("Dataset"):
        return "tf.data input pipeline"
    name = op.removeprefix("StatefulPartitionedCall/")
    direction = "bwd" if name.startswith("gradient_tape/") else "fwd"
    parts = [re.sub(r"_\d+$", "", p)
             for p in name.removeprefix("gradient_tape/").split("/")[1:4]]
    if not parts or not re.match(r"(en|de)coder_m\d+$", parts[0]):
        return f"{direction} outside the networks"
    return f"{direction} " + re.sub(r"_m\d+", "_m*", "/".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mwb")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--precision", default="float32",
                        choices=("float32", "mixed_bfloat16"))
    args = parser.parse_args()
    keras.mixed_precision.set_global_policy(args.precision)

    model, data = warmed_up_model(args.preset, args.steps)
    work = tempfile.mkdtemp(prefix="tf_step_trace_")
    tf.profiler.experimental.start(work)
    fit(model, data)
    tf.profiler.experimental.stop()

    [path] = glob.glob(f"{work}/plugins/profile/*/*.xplane.pb")
    by_layer = collections.defaultdict(float)
    kinds = collections.defaultdict(collections.Counter)
    by_kind = collections.Counter()
    for op, kind, ms in op_events(path):
        key = layer_of(op, kind)
        by_layer[key] += ms / args.steps
        kinds[key][kind] += ms / args.steps
        by_kind[kind] += ms / args.steps
    total = sum(by_layer.values())
    print(f"{args.preset}, {args.precision}: {args.steps} traced steps, "
          f"{total:.0f} ms of op thread time per step (trace in {work})")
    print_by_layer(by_layer, kinds, args.top, width=44)
    print(f"\n{'ms':>7} {'share':>6}  op type")
    for kind, ms in by_kind.most_common(args.top):
        print(f"{ms:7.1f} {ms / total:6.1%}  {kind}")
    kernel_ms = sum(ms for kind, ms in by_kind.items()
                    if KERNELS.search(kind))
    print_kernel_ceiling(model, kernel_ms, total)


if __name__ == "__main__":
    main()
