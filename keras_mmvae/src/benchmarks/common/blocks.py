"""Functional building blocks: Keras ports of the reference PyTorch layers.

Every helper takes a symbolic tensor and returns one, creating built-in
Keras layers with explicit, stable names (weight paths in `.keras` files
never depend on global name counters). PyTorch padding is ported literally
(docs/benchmarks/polymnist.md, "Architecture"):

* `Conv(padding=p)` = `ZeroPadding(p)` + `Conv(padding="valid")`;
* `ConvTranspose(padding=p, output_padding=op)` =
  `ConvTranspose(padding="valid", output_padding=op)` + `Cropping(p)`
  (in 2-D one `Conv2DTranspose(padding=p)` of our own, which crops itself
  and picks the backend's faster exact implementation).

So the layers compute exactly what the PyTorch layers compute (not only the
same shapes), and ported weights need only the OIHW → HWIO transpose.
"""

import keras

from keras_mmvae.src.layers.conv_transpose import Conv2DTranspose

# PyTorch BatchNorm defaults: momentum 0.1 (Keras: 0.9), eps 1e-5.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
DEFAULT_KERNEL_INITIALIZER = "glorot_uniform"


def kernel_init(initializer):
    """A fresh copy of `initializer` (sibling layers never share one)."""
    if initializer is None:
        initializer = DEFAULT_KERNEL_INITIALIZER
    initializer = keras.initializers.get(initializer)
    return keras.initializers.get(keras.initializers.serialize(initializer))


def dense(x, units, activation=None, *, name, dtype=None,
          kernel_initializer=None):
    """`Dense(units)` with a fresh kernel initializer."""
    return keras.layers.Dense(
        units, activation=activation, dtype=dtype, name=name,
        kernel_initializer=kernel_init(kernel_initializer),
    )(x)


def _layer(kind, rank):
    return getattr(keras.layers, f"{kind}{rank}D")


def conv(x, filters, kernel_size, strides=1, padding=0, *, rank=2,
         use_bias=True, activation=None, name, dtype=None,
         kernel_initializer=None):
    """PyTorch `Conv{rank}d(..., padding=padding)` on channels-last input."""
    if padding:
        x = _layer("ZeroPadding", rank)(padding, dtype=dtype,
                                        name=f"{name}_pad")(x)
    return _layer("Conv", rank)(
        filters, kernel_size, strides=strides, padding="valid",
        use_bias=use_bias, activation=activation, dtype=dtype, name=name,
        kernel_initializer=kernel_init(kernel_initializer),
    )(x)


def conv_transpose(x, filters, kernel_size, strides=1, padding=0,
                   output_padding=0, *, rank=2, use_bias=True,
                   activation=None, name, dtype=None,
                   kernel_initializer=None):
    """PyTorch `ConvTranspose{rank}d(..., padding, output_padding)`.

    The activation (if any) is applied after the crop.
    """
    transpose = getattr(keras.layers, f"Conv{rank}DTranspose")
    layer_padding, crop = "valid", padding
    if rank == 2:  # crops itself; the backend's fastest implementation
        transpose, layer_padding, crop = Conv2DTranspose, padding, 0
    x = transpose(
        filters, kernel_size, strides=strides, padding=layer_padding,
        output_padding=output_padding or None, use_bias=use_bias,
        dtype=dtype, name=name,
        kernel_initializer=kernel_init(kernel_initializer),
    )(x)
    if crop:
        x = _layer("Cropping", rank)(crop, dtype=dtype,
                                     name=f"{name}_crop")(x)
    if activation is not None:
        x = keras.layers.Activation(activation, dtype=dtype,
                                    name=f"{name}_{activation}")(x)
    return x


def batch_norm(x, *, name, dtype=None):
    """`BatchNorm` with PyTorch's momentum and epsilon."""
    return keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, dtype=dtype, name=name
    )(x)


def relu(x, *, name, dtype=None):
    return keras.layers.ReLU(dtype=dtype, name=name)(x)


def dropout(x, rate, *, spatial=False, rank=2, name, dtype=None):
    """Element-wise or channel-wise (`SpatialDropout`) dropout; 0 = none."""
    if not rate:
        return x
    if spatial:
        return _layer("SpatialDropout", rank)(rate, dtype=dtype, name=name)(x)
    return keras.layers.Dropout(rate, dtype=dtype, name=name)(x)


def residual_block(x, filters, kernel_size, strides, padding, *, rank=2,
                   transpose=False, output_padding=0, inner_bias=False,
                   dropout_rate=0.5, spatial_dropout=True, shortcut_scale=2.0,
                   branch_scale=0.3, name, dtype=None,
                   kernel_initializer=None):
    """MoPoE residual block `a · shortcut(x) + b · f(x)`.

    `f` = BN → ReLU → Conv 1×1 (C_in) → Dropout → BN → ReLU →
    Conv(k, s, p; C_out) → Dropout, and `shortcut` = Conv(k, s, p; C_out)
    (with bias) → BN. With `transpose=True` every convolution is transposed
    (the decoder blocks). `a = shortcut_scale`, `b = branch_scale`.
    """
    channels = x.shape[-1]
    layer = conv_transpose if transpose else conv
    extra = {"output_padding": output_padding} if transpose else {}
    extra["kernel_initializer"] = kernel_initializer
    one = {"kernel_initializer": kernel_initializer}
    shortcut = layer(x, filters, kernel_size, strides, padding, rank=rank,
                     use_bias=True, name=f"{name}_shortcut", dtype=dtype,
                     **extra)
    shortcut = batch_norm(shortcut, name=f"{name}_shortcut_bn", dtype=dtype)
    h = batch_norm(x, name=f"{name}_bn1", dtype=dtype)
    h = relu(h, name=f"{name}_relu1", dtype=dtype)
    h = layer(h, channels, 1, rank=rank, use_bias=inner_bias,
              name=f"{name}_conv1", dtype=dtype, **one)
    h = dropout(h, dropout_rate, spatial=spatial_dropout, rank=rank,
                name=f"{name}_dropout1", dtype=dtype)
    h = batch_norm(h, name=f"{name}_bn2", dtype=dtype)
    h = relu(h, name=f"{name}_relu2", dtype=dtype)
    h = layer(h, filters, kernel_size, strides, padding, rank=rank,
              use_bias=inner_bias, name=f"{name}_conv2", dtype=dtype,
              **extra)
    h = dropout(h, dropout_rate, spatial=spatial_dropout, rank=rank,
                name=f"{name}_dropout2", dtype=dtype)
    if shortcut_scale != 1.0:
        shortcut = keras.layers.Rescaling(
            shortcut_scale, dtype=dtype, name=f"{name}_shortcut_scale"
        )(shortcut)
    h = keras.layers.Rescaling(branch_scale, dtype=dtype,
                               name=f"{name}_branch_scale")(h)
    return keras.layers.Add(dtype=dtype, name=name)([shortcut, h])


def gaussian_heads(features, latent_dim, style_dim=0, *, dtype=None,
                   kernel_initializer=None):
    """Dense heads `(mean, log_var[, style_mean, style_log_var])`."""
    kw = {"dtype": dtype, "kernel_initializer": kernel_initializer}
    outputs = [dense(features, latent_dim, name="mean", **kw),
               dense(features, latent_dim, name="log_var", **kw)]
    if style_dim:
        outputs += [dense(features, style_dim, name="style_mean", **kw),
                    dense(features, style_dim, name="style_log_var", **kw)]
    return tuple(outputs)
