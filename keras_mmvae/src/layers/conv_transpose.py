"""`Conv2DTranspose` with PyTorch padding and a sub-pixel implementation.

A stride-`s` transposed convolution equals `s²` stride-1 convolutions, one
per output parity `(qh, qw)`, each with the sub-kernel of the taps that land
on that parity, interleaved into the output (sub-pixel convolution). The
result is the same numbers without the zero-dilated input that XLA CPU
convolves slowly (the JAX cost of the reference decoders).
"""

import itertools
import math

import keras
from keras import ops
from keras.src.backend.common.backend_utils import (
    _convert_conv_transpose_padding_args_from_keras_to_jax as _keras_to_jax,
)

IMPLEMENTATIONS = ("auto", "transpose", "subpixel")

# Faster implementation per backend (benchmarks/conv_transpose.py); a
# backend not listed uses "transpose".
AUTO_IMPLEMENTATION = {"jax": "subpixel"}


def _same_crop(kernel, stride, output_padding):
    """Outputs Keras `"same"` drops at the start on jax and tensorflow
    (the torch backend places them differently; it keeps "transpose")."""
    left_pad, _ = _keras_to_jax(kernel, stride, 1, "same", output_padding)
    return kernel - 1 - left_pad


def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"`{name}` needs 2 entries; got {value!r}.")
    return value


def _parity_plan(size, kernel, stride, crop, out_size):
    """Per output parity `q` (output index `s·m + q`, `m < M`):
    `(tap indices reversed, first input offset)`, plus `M` and the input
    padding `(left, right)` that lets every parity read its window.

    Output `o` of the uncropped transposed convolution sums `x[i]·w[t]`
    over `o = s·i + t`; output `s·m + q` is uncropped `s·m + q + crop`, so
    it uses taps `t ≡ q + crop (mod s)` on inputs `m + c - j`.
    """
    steps = math.ceil(out_size / stride)
    plans = []
    for q in range(stride):
        residue, carry = (q + crop) % stride, (q + crop) // stride
        taps = list(range(residue, kernel, stride))[::-1]
        plans.append((taps, carry - len(taps) + 1))
    left = max([0] + [-start for taps, start in plans if taps])
    last = max([0] + [start + len(taps) + steps - 2
                      for taps, start in plans if taps])
    return plans, steps, (left, max(0, last - (size - 1)))


def subpixel_conv_transpose(inputs, kernel, strides, crops, output_size):
    """Transposed convolution as stride-1 convolutions + interleaving.

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
    kernel = ops.transpose(kernel, tuple(range(rank)) + (rank + 1, rank))
    plans = [_parity_plan(sizes[d], kernel.shape[d], strides[d], crops[d],
                          output_size[d]) for d in range(rank)]
    inputs = ops.pad(inputs, [(0, 0)] + [plan[2] for plan in plans]
                     + [(0, 0)])
    steps = [plan[1] for plan in plans]
    filters = kernel.shape[-1]

    def parity_output(parity):
        taps = [plans[d][0][q][0] for d, q in enumerate(parity)]
        if not all(taps):  # no tap lands on this parity: zeros
            return ops.zeros((ops.shape(inputs)[0], *steps, filters),
                             dtype=keras.backend.standardize_dtype(inputs.dtype))
        window = [slice(None)]
        sub_kernel = kernel
        for d, q in enumerate(parity):
            start = plans[d][0][q][1] + plans[d][2][0]
            window.append(slice(start, start + steps[d] + len(taps[d]) - 1))
            sub_kernel = ops.take(sub_kernel, taps[d], axis=d)
        return ops.conv(inputs[tuple(window)], sub_kernel, padding="valid")

    def interleave(axis, parity):
        if axis == rank:
            return parity_output(parity)
        parts = [interleave(axis + 1, parity + (q,))
                 for q in range(strides[axis])]
        if len(parts) == 1:
            return parts[0]
        merged = ops.stack(parts, axis=axis + 2)
        shape = list(merged.shape[1:])
        shape[axis:axis + 2] = [shape[axis] * shape[axis + 1]]
        return ops.reshape(merged, [-1] + shape)

    outputs = interleave(0, ())
    return outputs[(slice(None),) + tuple(slice(0, n) for n in output_size)]


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
                (ch, cw), (h, w) = self.torch_padding, outputs.shape[1:3]
                outputs = outputs[:, ch:h - ch, cw:w - cw]
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
