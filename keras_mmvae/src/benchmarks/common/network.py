"""Base class of the reference encoders and decoders."""

import keras


def factory_kwargs(kernel_initializer, dtype_policy):
    """`(network kwargs, model kwargs)` of a benchmark factory's arguments.

    The networks get the initializer and, like the model, the precision
    policy when one is given (`None`: Keras's global policy).
    """
    precision = {} if dtype_policy is None else {"dtype": dtype_policy}
    return {"kernel_initializer": kernel_initializer, **precision}, precision


def model_settings(spec, model, fusion, **given):
    """`(fusion, settings)` of a benchmark factory: the preset `model` (or
    the `fusion` preset) and its published settings on `spec`, where the
    caller left an argument of `given` at `None`."""
    if model is not None:
        if not isinstance(fusion, str) or fusion != "mwb":
            raise ValueError(
                "Pass either `model` (a preset name) or `fusion`, not both; "
                f"got model={model!r}, fusion={fusion!r}.")
        fusion = model
    preset = fusion if isinstance(fusion, str) else None
    published = spec.settings(preset)
    return fusion, {key: published.get(key, 0) if value is None else value
                    for key, value in given.items()}


class ReferenceNetwork(keras.layers.Layer):
    """A layer wrapping a functional network built from its input shape.

    Subclasses implement `make_network(input_shape)` (the shape without the
    batch axis) returning a functional `keras.Model` made of built-in layers
    with stable names. The network is created in `build`, so `.keras` files
    rebuild it from the constructor arguments and the recorded input shape.
    Encoders return a tuple of tensors, decoders one tensor.

    Args:
        kernel_initializer: Initializer of every convolution and Dense
            kernel (cloned per layer; default Glorot uniform).
        **kwargs: Standard `keras.layers.Layer` arguments.
    """

    def __init__(
        self,
        kernel_initializer: str | keras.initializers.Initializer = (
            "glorot_uniform"),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def layer_kwargs(self):
        """`dtype` and `kernel_initializer` for the network's layers."""
        return {"dtype": self.dtype_policy,
                "kernel_initializer": self.kernel_initializer}

    def get_config(self):
        config = super().get_config()
        config["kernel_initializer"] = keras.initializers.serialize(
            self.kernel_initializer
        )
        return config

    def make_network(self, input_shape):
        raise NotImplementedError

    def build(self, input_shape):
        self.network = self.make_network(tuple(input_shape[1:]))
        self.built = True

    def call(self, inputs, training=False):
        outputs = self.network(inputs, training=training)
        if isinstance(outputs, (list, tuple)):
            return tuple(outputs)
        return outputs

    def compute_output_spec(self, inputs, training=False):
        if not self.built:
            self.build(inputs.shape)
        outputs = self.network.compute_output_spec(inputs)
        if isinstance(outputs, (list, tuple)):
            return tuple(outputs)
        return outputs


def check_shape(layer, input_shape, expected, what):
    """Raises `ValueError` if `input_shape` (no batch axis) is unexpected.

    `None` entries of `expected` match any size.
    """
    shape = tuple(input_shape)
    if len(shape) != len(expected) or any(
        e is not None and s is not None and s != e
        for s, e in zip(shape, expected)
    ):
        want = ", ".join("?" if e is None else str(e) for e in expected)
        if len(expected) == 1:
            want += ","
        raise ValueError(
            f"{type(layer).__name__} takes {what} of shape ({want}) (without "
            f"the batch axis); got {shape}."
        )
