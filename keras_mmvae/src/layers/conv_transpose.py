"""`Conv2DTranspose` with PyTorch padding and a sub-pixel implementation.

A stride-`s` transposed convolution equals `s²` stride-1 convolutions, one
per output parity `(qh, qw)`, each with the sub-kernel of the taps that land
on that parity, interleaved into the output (sub-pixel convolution); here
the four are one convolution with concatenated output channels, then a
depth-to-space. Same numbers, without the zero-dilated input that XLA CPU
convolves slowly (the JAX cost of the reference decoders: 3-4x faster
forward+backward, benchmarks/conv_transpose.py).
"""

import itertools
import math

import keras
from keras import ops

IMPLEMENTATIONS = ("auto", "transpose", "subpixel")

# Faster implementation per backend, from benchmarks/conv_transpose.py
# (PolyMNIST decoder stack, forward+backward, sub-pixel / transpose time:
# jax 0.25-0.34, tensorflow 1.0, torch 1.45 on a shared 2-core CPU); a
# backend not listed uses "transpose".
AUTO_IMPLEMENTATION = {"jax": "subpixel"}


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

    # (B, *steps, *strides, C) → (B, steps_0, strides_0, ..., C).
    outputs = ops.reshape(outputs, [-1, *steps, *strides, filters])
    order = [0] + [a for d in range(rank) for a in (1 + d, 1 + rank + d)]
    outputs = ops.transpose(outputs, order + [1 + 2 * rank])
    outputs = ops.reshape(
        outputs, [-1] + [m * s for m, s in zip(steps, strides)] + [filters])
    return outputs[tuple([slice(None)] + [slice(0, n) for n in output_size])]


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
            `"subpixel"` (stride-1 convolutions per output parity, exact
            same numbers; channels-last, no dilation, no `"same"` on
            torch) or `"auto"` (the faster one on the current backend,
            where sub-pixel applies).
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
        if implementation == "subpixel" and not supported:
            raise ValueError(
                "`implementation='subpixel'` needs channels_last data, no "
                "dilation, and not `padding='same'` on the torch backend.")
        if implementation == "auto":
            implementation = AUTO_IMPLEMENTATION.get(keras.backend.backend(),
                                                     "transpose")
        self._subpixel = implementation == "subpixel" and supported

    def call(self, inputs):
        if not (self._subpixel and None not in inputs.shape[1:]):
            outputs = super().call(inputs)
            if self.torch_padding:
                ch, cw = self.torch_padding
                outputs = outputs[:, ch:-ch or None, cw:-cw or None]
            return outputs
        size = self.compute_output_shape(inputs.shape)[1:3]
        outputs = subpixel_conv_transpose(inputs, self.kernel, self.strides,
                                          self._crops, size)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        shape = list(super().compute_output_shape(input_shape))
        if self.torch_padding:
            for axis, crop in zip((1, 2), self.torch_padding):
                if shape[axis] is not None:
                    shape[axis] -= 2 * crop
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        if self.torch_padding:
            config["padding"] = list(self.torch_padding)
        config["implementation"] = self.implementation
        return config
