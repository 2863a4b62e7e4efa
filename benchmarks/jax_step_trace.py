"""Where XLA spends one JAX training step, per layer and per kind of op.

Traces a few `fit` steps of the PolyMNIST reference model
(`mm.models.polymnist(fusion=...)`, batch 256, random data) with
`jax.profiler`, dumps the optimised HLO of the step, and attributes every
executed XLA op (a fusion, a dot, a copy) to the layer its metadata names,
split into forward and backward (`transpose(jvp(...))`). Ops without
metadata (XLA-created, e.g. weight-gradient convolutions and the layout
copies around them) are listed under their shape. Times are thread time:
XLA on CPU runs independent ops side by side, so the total exceeds the
step's wall time. The last lines give the ceiling that XLA's convolutions
and matrix products, at the speed they ran, put on the step.

    python benchmarks/jax_step_trace.py [--preset mwb] [--steps 4] [--top 25]
"""

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile

WORK = tempfile.mkdtemp(prefix="jax_step_trace_")
os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + f" --xla_dump_to={WORK}/hlo"
                           " --xla_dump_hlo_as_text").strip()

import jax  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trace_report import fit  # noqa: E402
from trace_report import print_by_layer  # noqa: E402
from trace_report import print_kernel_ceiling  # noqa: E402
from trace_report import warmed_up_model  # noqa: E402


def hlo_ops():
    """`{op name: (shape, op_name metadata or None, arithmetic)}` of the
    train step; `arithmetic` marks the convolutions and matrix products,
    alone or as the core of a fusion (YNNPACK's `ynn_fusion`s also wrap
    plain reductions)."""
    path = sorted(p for p in glob.glob(f"{WORK}/hlo/*after_optimizations.txt")
                  if "jit_train_step" in p)[-1]
    text = open(path).read()
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


def layer_of(op_name, shape):
    """`"fwd decoder_m*/network/deconv_0"`-style key of one op."""
    if op_name is None:
        return f"(no metadata) {shape}"
    name = op_name.removeprefix("jit(train_step)/")
    direction = "bwd" if "transpose(" in name else "fwd"
    name = re.sub(r"(?:transpose|jvp)\(([^()]*)\)", r"\1", name)
    name = re.sub(r"(?:transpose|jvp)\(([^()]*)\)", r"\1", name)
    name = re.sub(r"_m\d+", "_m*", "/".join(name.split("/")[:3]))
    return f"{direction} {name}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mwb")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    model, data = warmed_up_model(args.preset, args.steps)
    jax.profiler.start_trace(f"{WORK}/trace", create_perfetto_trace=True)
    fit(model, data)
    jax.profiler.stop_trace()

    [trace] = glob.glob(f"{WORK}/trace/**/*.trace.json.gz", recursive=True)
    events = [e for e in json.load(gzip.open(trace))["traceEvents"]
              if e.get("ph") == "X"
              and e.get("args", {}).get("hlo_module") == "jit_train_step"]
    steps = len({e["args"].get("run_id") for e in events})
    ops = hlo_ops()
    by_layer = collections.defaultdict(float)
    kinds = collections.defaultdict(collections.Counter)
    kernel_ms = 0.0
    for event in events:
        op = event["args"]["hlo_op"]
        shape, op_name, arithmetic = ops.get(op, ("?", None, False))
        key = layer_of(op_name, shape)
        ms = event["dur"] / 1e3 / steps
        by_layer[key] += ms
        kinds[key][re.sub(r"\.\d+$", "", op)] += ms
        kernel_ms += ms if arithmetic else 0.0
    total = sum(by_layer.values())
    print(f"{args.preset}: {steps} traced steps, {total:.0f} ms of XLA "
          f"thread time per step (dumps in {WORK})")
    print_by_layer(by_layer, kinds, args.top, width=52)
    print_kernel_ceiling(model, kernel_ms, total)


if __name__ == "__main__":
    main()
