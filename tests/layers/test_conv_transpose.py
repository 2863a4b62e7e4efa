"""`Conv2DTranspose`: PyTorch padding; sub-pixel and GEMM = transposed conv."""

import keras
import numpy as np
import pytest

from keras_mmvae.src.layers import conv_transpose
from keras_mmvae.src.layers.conv_transpose import Conv2DTranspose
from keras_mmvae.src.testing.gradients import gradients
from keras_mmvae.src.testing.test_case import run_serialization_test
from keras_mmvae.src.testing.test_case import to_numpy

# (input size, kernel, stride, PyTorch padding, output_padding): the
# presets' layers (PolyMNIST k3 s2 p1 op0/1, SVHN/CelebA k4 s2 p1 and
# k4 s1 p0, residual k1 s1 p0, CelebA output k3 s2 p1 op1) plus odd/even
# and non-square sizes and a stride-3 case.
TORCH_CASES = [
    ((4, 4), 3, 2, 1, 0), ((7, 7), 3, 2, 1, 1), ((14, 14), 3, 2, 1, 1),
    ((1, 1), 4, 1, 0, 0), ((4, 4), 4, 2, 1, 0), ((5, 6), 4, 2, 1, 0),
    ((3, 3), 1, 1, 0, 0), ((6, 5), 3, 2, 0, 1), ((5, 4), 5, 3, 2, 1),
    ((2, 3), 1, 2, 0, 1),
]


FORMULATIONS = ("transpose", "subpixel", "gemm")


def _oracle(x, kernel, bias, stride, padding, output_padding):
    """NumPy PyTorch `ConvTranspose2d`: `y[s·i + t] += x[i] · w[t]`, crop."""
    batch, height, width, _ = x.shape
    kh, kw, filters, _ = kernel.shape
    full = np.zeros((batch, (height - 1) * stride + kh + output_padding,
                     (width - 1) * stride + kw + output_padding, filters))
    for i in range(height):
        for j in range(width):
            for a in range(kh):
                for b in range(kw):
                    full[:, i * stride + a, j * stride + b] += (
                        x[:, i, j] @ kernel[a, b].T)
    h, w = full.shape[1] - padding, full.shape[2] - padding
    return full[:, padding:h, padding:w] + bias


def _layers(filters, kernel, stride, padding, output_padding, x):
    """Every implementation with the same (random) weights, built."""
    made = [Conv2DTranspose(filters, kernel, strides=stride, padding=padding,
                            output_padding=output_padding,
                            bias_initializer="random_normal",
                            implementation=name)
            for name in FORMULATIONS]
    for layer in made:
        layer.build(x.shape)
        layer.set_weights(made[0].get_weights())
    return made


@pytest.mark.parametrize("size,kernel,stride,padding,output_padding",
                         TORCH_CASES)
def test_every_implementation_is_pytorch_conv_transpose(
        size, kernel, stride, padding, output_padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, *size, 3)).astype("float32")
    layers = _layers(4, kernel, stride, padding, output_padding, x)
    kernel_value, bias = layers[0].get_weights()
    expected = _oracle(x, kernel_value, bias, stride, padding,
                       output_padding)
    for layer in layers:
        assert layer.compute_output_shape(x.shape) == expected.shape
        np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5,
                                   err_msg=layer.implementation)


@pytest.mark.parametrize("size,kernel,stride,padding,output_padding",
                         TORCH_CASES)
def test_fast_path_gradients_equal_transpose(size, kernel, stride, padding,
                                             output_padding):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, *size, 3)).astype("float32")
    layers = _layers(4, kernel, stride, padding, output_padding, x)
    weights = [w.astype("float32") for w in layers[0].get_weights()]
    cotangent = rng.normal(
        size=layers[0].compute_output_shape(x.shape)).astype("float32")

    def loss(layer):
        def fn(x, kernel, bias):
            y, _ = layer.stateless_call([kernel, bias], [], x)
            return keras.ops.sum(keras.ops.multiply(y, cotangent))
        return fn

    expected, *fast_paths = (gradients(loss(layer), x, *weights)
                             for layer in layers)
    for layer, actual in zip(layers[1:], fast_paths):
        for name, a, e in zip(("x", "kernel", "bias"), actual, expected):
            np.testing.assert_allclose(
                a, e, atol=1e-4, err_msg=f"{layer.implementation} {name}")


@pytest.mark.parametrize("padding,kernel,output_padding", [
    ("valid", 3, None), ("valid", 1, None), ("valid", 4, 1),
    ("same", 3, None), ("same", 3, 1), ("same", 4, None),
])
def test_keras_padding_matches_keras_layer(padding, kernel, output_padding):
    """String padding keeps `keras.layers.Conv2DTranspose`'s numbers."""
    if padding == "same" and keras.backend.backend() == "torch":
        with pytest.raises(ValueError, match="torch"):
            Conv2DTranspose(2, kernel, strides=2, padding="same",
                            implementation="subpixel")
        pytest.skip("torch places 'same' crops differently; transpose only")
    x = np.random.default_rng(2).normal(size=(2, 5, 6, 3)).astype("float32")
    reference = keras.layers.Conv2DTranspose(
        4, kernel, strides=2, padding=padding, output_padding=output_padding,
        bias_initializer="random_normal")
    expected = to_numpy(reference(x))
    for implementation in FORMULATIONS[1:]:
        layer = Conv2DTranspose(4, kernel, strides=2, padding=padding,
                                output_padding=output_padding,
                                implementation=implementation)
        layer.build(x.shape)
        layer.set_weights(reference.get_weights())
        assert layer.compute_output_shape(x.shape) == expected.shape
        np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5,
                                   err_msg=implementation)


def test_loads_weights_of_keras_layer_and_crop(tmp_path):
    """A network saved with Keras `Conv2DTranspose` + `Cropping2D` (the
    presets before) loads into one built with this layer."""
    x = np.random.default_rng(3).normal(size=(2, 4, 4, 8)).astype("float32")

    def network(old):
        inputs = keras.Input((4, 4, 8))
        h = inputs
        for i, output_padding in enumerate((None, 1)):
            if old:
                h = keras.layers.Conv2DTranspose(
                    6, 3, strides=2, output_padding=output_padding,
                    name=f"deconv_{i}")(h)
                h = keras.layers.Cropping2D(1, name=f"deconv_{i}_crop")(h)
            else:
                h = Conv2DTranspose(6, 3, strides=2, padding=1,
                                    output_padding=output_padding,
                                    implementation="subpixel",
                                    name=f"deconv_{i}")(h)
        return keras.Model(inputs, h)

    old = network(old=True)
    path = str(tmp_path / "old.weights.h5")
    old.save_weights(path)
    new = network(old=False)
    new.load_weights(path)
    np.testing.assert_allclose(to_numpy(new(x)), to_numpy(old(x)), atol=1e-5)


@pytest.mark.parametrize("padding", [1, (1, 2), "valid", "same"])
def test_serialization_round_trip(padding):
    layer = Conv2DTranspose(4, 3, strides=2, padding=padding,
                            output_padding=1, activation="relu",
                            implementation="transpose")
    revived = run_serialization_test(layer)
    assert revived.get_config()["padding"] == (
        padding if isinstance(padding, str) else
        list(np.broadcast_to(padding, 2)))
    assert revived.implementation == "transpose"


def test_auto_uses_the_measured_choice():
    layer = Conv2DTranspose(4, 3, strides=2, padding=1)
    expected = conv_transpose.AUTO_IMPLEMENTATION.get(
        keras.backend.backend(), "transpose")
    assert layer._fast_path is conv_transpose.FAST_PATHS.get(expected)


def test_rejects_unknown_implementation():
    with pytest.raises(ValueError, match="implementation"):
        Conv2DTranspose(4, 3, implementation="fft")
    with pytest.raises(ValueError, match="dilation"):
        Conv2DTranspose(4, 3, dilation_rate=2, implementation="subpixel")
    with pytest.raises(ValueError, match="dilation"):
        Conv2DTranspose(4, 3, dilation_rate=2, implementation="gemm")


def test_unknown_spatial_size_falls_back_to_transpose():
    """Sub-pixel needs static sizes; otherwise the layer transposes."""
    x = np.random.default_rng(4).normal(size=(2, 4, 5, 3)).astype("float32")
    layer = Conv2DTranspose(4, 3, strides=2, padding=1, output_padding=1,
                            bias_initializer="random_normal",
                            implementation="subpixel")
    inputs = keras.Input((None, None, 3))
    net = keras.Model(inputs, layer(inputs))
    assert net.output.shape == (None, None, None, 4)
    expected = _oracle(x, *layer.get_weights(), 2, 1, 1)
    np.testing.assert_allclose(to_numpy(net(x)), expected, atol=1e-5)


@pytest.mark.parametrize("size,kernel,stride,padding,output_padding",
                         [((4, 4), 3, 2, 1, 0), ((5, 6), 4, 2, 1, 0)])
def test_pytorch_padding_channels_first(size, kernel, stride, padding,
                                        output_padding):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, *size, 3)).astype("float32")
    layer = Conv2DTranspose(4, kernel, strides=stride, padding=padding,
                            output_padding=output_padding,
                            data_format="channels_first",
                            bias_initializer="random_normal")
    x_first = np.transpose(x, (0, 3, 1, 2))
    layer.build(x_first.shape)
    kernel_value, bias = layer.get_weights()
    expected = np.transpose(
        _oracle(x, kernel_value, bias, stride, padding, output_padding),
        (0, 3, 1, 2))
    assert layer.compute_output_shape(x_first.shape) == expected.shape
    np.testing.assert_allclose(to_numpy(layer(x_first)), expected,
                               atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_channels_first_equals_channels_last(padding):
    """Channels-first (computed transposed on TensorFlow, whose CPU kernel
    takes NHWC only without oneDNN) = Keras' channels-last layer."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 4, 3)).astype("float32")
    reference = keras.layers.Conv2DTranspose(
        4, 3, strides=2, padding=padding, activation="tanh",
        bias_initializer="random_normal")
    layer = Conv2DTranspose(4, 3, strides=2, padding=padding,
                            activation="tanh", data_format="channels_first")
    reference.build(x.shape)
    x_first = np.transpose(x, (0, 3, 1, 2))
    layer.build(x_first.shape)
    layer.set_weights(reference.get_weights())
    expected = np.transpose(to_numpy(reference(x)), (0, 3, 1, 2))
    assert layer.compute_output_shape(x_first.shape) == expected.shape
    np.testing.assert_allclose(to_numpy(layer(x_first)), expected,
                               atol=1e-5)
