"""`Conv2DTranspose` with PyTorch padding and two faster formulations.

XLA on CPU runs a stride-`s` transposed convolution as a convolution over
a zero-dilated input, several times the work. Both formulations here give
the same numbers (up to float rounding) without it:

* sub-pixel: `s²` stride-1 convolutions, one per output parity `(qh, qw)`,
  each with the sub-kernel of the taps that land on that parity (one
  convolution with concatenated output channels, then a depth-to-space);
* GEMM: one matrix product of every input pixel with every kernel tap,
  then each output parity sums the products of its taps (overlap-add):
  exactly the transposed convolution's multiply-adds and no convolution
  kernel at all.
"""

import itertools
import math

import keras
from keras import ops

IMPLEMENTATIONS = ("auto", "transpose", "subpixel", "gemm")

# Fastest implementation per backend, chosen with
# `python -m benchmarks.conv_transpose` (the PolyMNIST decoder stack,
# forward + backward, every implementation side by side; the measurements
# are in docs/benchmarks/performance.md); a backend not listed uses
# "transpose".
AUTO_IMPLEMENTATION = {"jax": "gemm"}


def _same_crop(kernel, stride, output_padding):
    """Outputs Keras `"same"` drops at the start on jax and tensorflow
    (Keras' jax padding rule; the torch backend places them differently,
    so there it keeps "transpose")."""
    if output_padding is None:
        pad_len = stride + kernel - 2
    else:
        pad_len = kernel + kernel % 2 - 2 + output_padding
    return kernel - 1 - min(pad_len // 2 + pad_len % 2, kernel - 1)


def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"`{name}` needs 2 entries; got {value!r}.")
    return value


def _parity_taps(kernel, stride, crop):
    """Per output parity `q`: the kernel taps landing on it (reversed, so
    the stride-1 convolution correlates) and the input offset of the first.

    Output `o` of the uncropped transposed convolution sums `x[i]·w[t]`
    over `o = s·i + t`; output `s·m + q` is uncropped `s·m + q + crop`, so
    it uses taps `t ≡ q + crop (mod s)` on inputs `m + c - j`, where
    `c = (q + crop) // s` and `t = (q + crop) % s + s·j`.
    """
    plans = []
    for q in range(stride):
        residue, carry = (q + crop) % stride, (q + crop) // stride
        taps = list(range(residue, kernel, stride))[::-1]
        plans.append((taps, carry - len(taps) + 1))
    return plans


def subpixel_conv_transpose(inputs, kernel, strides, crops, output_size):
    """Transposed convolution as one stride-1 convolution + depth-to-space.

    Each output parity (one per `strides` combination) is a stride-1
    convolution with the sub-kernel of the taps that land on it. The
    sub-kernels are zero-padded to a common window and concatenated along
    the output channels, so one convolution computes every parity; the
    parities are then interleaved into the output grid.

    Args:
        inputs: `(B, *spatial, C_in)` channels-last tensor (static spatial
            sizes).
        kernel: `(*kernel_size, C_out, C_in)`, as Keras stores it.
        strides: Stride per spatial axis.
        crops: Outputs dropped at the start of each axis (PyTorch
            `padding`).
        output_size: Output size per spatial axis.

    Returns:
        `(B, *output_size, C_out)`, no bias.
    """
    rank = len(strides)
    sizes = inputs.shape[1:-1]
    filters = kernel.shape[rank]
    kernel = ops.transpose(kernel, tuple(range(rank)) + (rank + 1, rank))
    plans = [_parity_taps(kernel.shape[d], strides[d], crops[d])
             for d in range(rank)]
    steps = [math.ceil(n / s) for n, s in zip(output_size, strides)]
    # The window every parity reads: input offsets `first .. last`.
    first = [min(start for _, start in plan) for plan in plans]
    last = [max(start + max(len(taps), 1) - 1 for taps, start in plan)
            for plan in plans]
    width = [b - a + 1 for a, b in zip(first, last)]
    pads = [(max(0, -a), max(0, b + m - sizes[d]))
            for d, (a, b, m) in enumerate(zip(first, last, steps))]
    inputs = ops.pad(inputs, [(0, 0)] + pads + [(0, 0)])
    window = [slice(a + pad, a + pad + m + w - 1) for a, (pad, _), m, w
              in zip(first, pads, steps, width)]
    inputs = inputs[tuple([slice(None)] + window)]

    sub_kernels = []
    for parity in itertools.product(*[range(s) for s in strides]):
        sub_kernel, placement = kernel, []
        for d, q in enumerate(parity):
            taps, start = plans[d][q]
            sub_kernel = ops.take(sub_kernel, taps or [0], axis=d)
            if not taps:  # no tap lands on this parity: zeros
                sub_kernel = ops.zeros_like(sub_kernel)
            offset = start - first[d]
            placement.append((offset, width[d] - offset - max(len(taps), 1)))
        sub_kernels.append(ops.pad(sub_kernel, placement + [(0, 0)] * 2))
    outputs = ops.conv(inputs, ops.concatenate(sub_kernels, axis=-1),
                       padding="valid")
    return _interleave(outputs, strides, filters, output_size)


def _interleave(outputs, strides, filters, output_size):
    """`(B, *steps, parities·C)` → `(B, *output_size, C)` (depth-to-space).

    Channel block `p` holds output parity `p` in `itertools.product` order.
    """
    rank = len(strides)
    steps = outputs.shape[1:1 + rank]
    # (B, *steps, *strides, C) → (B, steps_0, strides_0, ..., C).
    outputs = ops.reshape(outputs, [-1, *steps, *strides, filters])
    order = [0] + [a for d in range(rank) for a in (1 + d, 1 + rank + d)]
    outputs = ops.transpose(outputs, order + [1 + 2 * rank])
    outputs = ops.reshape(
        outputs, [-1] + [m * s for m, s in zip(steps, strides)] + [filters])
    return outputs[tuple([slice(None)] + [slice(0, n) for n in output_size])]


def gemm_conv_transpose(inputs, kernel, strides, crops, output_size):
    """2-D transposed convolution as one matrix product + overlap-add.

    `cols[b, i, j, th, tw] = x[b, i, j] · w[th, tw]ᵀ` for every input pixel
    and kernel tap is one `(B·H·W, C_in) × (C_in, kh·kw·C_out)` product:
    exactly the transposed convolution's multiply-adds, none with a zero.
    Output parity `(qh, qw)` at `(m, n)` then sums the `cols` of the taps
    landing on it (`_parity_taps`), and the parities are interleaved.

    Args and returns as `subpixel_conv_transpose` (2-D only).
    """
    sizes = inputs.shape[1:3]
    kh, kw, filters, channels = kernel.shape
    matrix = ops.reshape(ops.transpose(kernel, (3, 0, 1, 2)),
                         (channels, kh * kw * filters))
    cols = ops.matmul(ops.reshape(inputs, (-1, channels)), matrix)
    plans = [_parity_taps(k, s, c)
             for k, s, c in zip((kh, kw), strides, crops)]
    steps = [math.ceil(n / s) for n, s in zip(output_size, strides)]
    # One array per tap: the gradient of the sums below is then one pad
    # per tap and a concatenation, not a select over every tap per entry
    # (faster on XLA CPU; see docs/benchmarks/performance.md).
    cols = ops.split(ops.reshape(cols, (-1, *sizes, kh * kw * filters)),
                     kh * kw, axis=-1)

    def window(tap, starts):
        """`cols[tap]` at inputs `start .. start + steps - 1` per axis,
        zero outside the input (padding only the rows that need it)."""
        index, pads = [slice(None)], [(0, 0)]
        for start, m, size in zip(starts, steps, sizes):
            low = min(max(start, 0), size)
            high = max(min(start + m, size), low)
            before = min(max(-start, 0), m)
            index.append(slice(low, high))
            pads.append((before, m - before - (high - low)))
        term = cols[tap][tuple(index)]
        if any(any(pad) for pad in pads):
            term = ops.pad(term, pads + [(0, 0)])
        return term

    parities = []
    for qh, qw in itertools.product(range(strides[0]), range(strides[1])):
        (taps_h, start_h), (taps_w, start_w) = plans[0][qh], plans[1][qw]
        total = None
        for (a, th), (b, tw) in itertools.product(enumerate(taps_h),
                                                  enumerate(taps_w)):
            term = window(th * kw + tw, (start_h + a, start_w + b))
            total = term if total is None else ops.add(total, term)
        if total is None:  # no tap lands on this parity
            total = ops.zeros_like(window(0, (0, 0)))
        parities.append(total)
    return _interleave(ops.concatenate(parities, axis=-1), strides, filters,
                       output_size)


FAST_PATHS = {"subpixel": subpixel_conv_transpose,
              "gemm": gemm_conv_transpose}


@keras.saving.register_keras_serializable(package="keras_mmvae")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` + PyTorch padding + a fast path.

    Same arguments and weights (kernel `(kh, kw, filters, C_in)`, bias) as
    the Keras layer, so it loads the weights of one; the class keeps the
    Keras name because `.keras` files address weights by class name.

    Args:
        padding: `"valid"` or `"same"` (Keras), or an int / pair of ints:
            PyTorch `ConvTranspose2d(padding=p)`, i.e. the `"valid"`
            output with `p` rows/columns cropped from both sides.
        output_padding: As in Keras (with an int `padding`: PyTorch's
            `output_padding`, added at the end before the crop).
        implementation: `"transpose"` (`keras.ops.conv_transpose`),
            `"subpixel"` (stride-1 convolutions per output parity),
            `"gemm"` (one matrix product + overlap-add; both exact, same
            numbers up to float rounding; channels-last, no dilation, no
            `"same"` on torch) or `"auto"` (the fastest on the current
            backend where it applies).
        **kwargs: The other `keras.layers.Conv2DTranspose` arguments.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1),
                 padding="valid", output_padding=None,
                 implementation="auto", **kwargs):
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"`implementation` must be one of "
                             f"{IMPLEMENTATIONS}; got {implementation!r}.")
        self.torch_padding = None
        if not isinstance(padding, str):
            self.torch_padding = _pair(padding, "padding")
        super().__init__(
            filters, kernel_size, strides=strides,
            padding="valid" if self.torch_padding else padding,
            output_padding=output_padding, **kwargs)
        self.implementation = implementation
        self._crops = self.torch_padding or (0, 0)
        if self.padding == "same":
            self._crops = tuple(
                _same_crop(k, s, op) for k, s, op in zip(
                    self.kernel_size, self.strides,
                    self.output_padding or (None, None)))
        supported = (self.data_format == "channels_last"
                     and self.dilation_rate == (1, 1)
                     and not (self.padding == "same"
                              and keras.backend.backend() == "torch"))
        if implementation in ("subpixel", "gemm") and not supported:
            raise ValueError(
                f"`implementation={implementation!r}` needs channels_last "
                "data, no dilation, and not `padding='same'` on the torch "
                "backend.")
        if implementation == "auto":
            implementation = AUTO_IMPLEMENTATION.get(keras.backend.backend(),
                                                     "transpose")
        self._fast_path = FAST_PATHS.get(implementation) if supported else None
        # TensorFlow's CPU kernel of the transposed convolution takes NHWC
        # only, unless oneDNN is on (it is not on CPUs without AVX-512):
        # channels-first inputs go through it transposed.
        self._transpose_to_nhwc = (self.data_format == "channels_first"
                                   and keras.backend.backend()
                                   == "tensorflow")

    def call(self, inputs):
        if self._transpose_to_nhwc:
            outputs = ops.conv_transpose(
                ops.transpose(inputs, (0, 2, 3, 1)), self.kernel,
                strides=self.strides, padding=self.padding,
                output_padding=self.output_padding,
                data_format="channels_last", dilation_rate=self.dilation_rate)
            outputs = ops.transpose(outputs, (0, 3, 1, 2))
            if self.torch_padding and any(self.torch_padding):
                outputs = self._crop(outputs)
            if self.use_bias:
                outputs = ops.add(outputs,
                                  ops.reshape(self.bias, (1, -1, 1, 1)))
            return outputs if self.activation is None else self.activation(
                outputs)
        if self._fast_path is None or None in inputs.shape[1:]:
            outputs = super().call(inputs)
            if self.torch_padding and any(self.torch_padding):
                outputs = self._crop(outputs)
            return outputs
        size = self.compute_output_shape(inputs.shape)[1:3]
        outputs = self._fast_path(inputs, self.kernel, self.strides,
                                  self._crops, size)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def _spatial_axes(self):
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def _crop(self, outputs):
        """Drops `torch_padding` rows/columns from both sides.

        `ops.slice`, not indexing: on TensorFlow the gradient of a strided
        slice (`StridedSliceGrad`) took ~5 % of the PolyMNIST training
        step's thread time; a slice's gradient is a pad.
        """
        shape = list(ops.shape(outputs))
        start = [0] * len(shape)
        for axis, crop in zip(self._spatial_axes(), self.torch_padding):
            start[axis] = crop
            shape[axis] = shape[axis] - 2 * crop
        return ops.slice(outputs, start, shape)

    def compute_output_shape(self, input_shape):
        shape = list(super().compute_output_shape(input_shape))
        if self.torch_padding:
            for axis, crop in zip(self._spatial_axes(), self.torch_padding):
                if shape[axis] is not None:
                    shape[axis] -= 2 * crop
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        if self.torch_padding:
            config["padding"] = list(self.torch_padding)
        config["implementation"] = self.implementation
        return config
