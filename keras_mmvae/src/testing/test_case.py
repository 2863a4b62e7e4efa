"""Test utilities shared by the suite (not part of the public API)."""

import json

import keras
import numpy as np
from keras import ops


def to_numpy(x):
    """Backend tensor (or nested dict/list of them) → NumPy."""
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_numpy(v) for v in x)
    return np.asarray(ops.convert_to_numpy(x))


def assert_all_close(actual, expected, atol=1e-5, rtol=1e-5):
    np.testing.assert_allclose(to_numpy(actual), to_numpy(expected),
                               atol=atol, rtol=rtol)


def run_serialization_test(obj):
    """`get_config → from_config → get_config` and Keras (de)serialisation.

    Both configs must be equal as sorted JSON, and the registered name must
    deserialize to the same class.
    """
    config = obj.get_config()
    rebuilt = type(obj).from_config(config)
    assert json.dumps(config, sort_keys=True, default=str) == json.dumps(
        rebuilt.get_config(), sort_keys=True, default=str
    )
    serialized = keras.saving.serialize_keras_object(obj)
    revived = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(serialized))
    )
    assert type(revived) is type(obj)
    assert json.dumps(revived.get_config(), sort_keys=True,
                      default=str) == json.dumps(config, sort_keys=True,
                                                 default=str)
    return revived


def seed_generators(layer):
    """The distinct `SeedGenerator`s of `layer` and its sublayers."""
    found = {}
    for sublayer in layer._flatten_layers(include_self=True, recursive=True):
        for generator in sublayer._seed_generators:
            found.setdefault(id(generator), generator)
    return list(found.values())


class _LossOfOutputs(keras.Model):
    """Wraps a layer; its loss is the mean square of every output, so one
    `fit` step sends a gradient to every weight the outputs depend on."""

    def __init__(self, layer, call_kwargs):
        super().__init__(name="loss_of_outputs")
        self.layer = layer
        self.call_kwargs = call_kwargs

    def call(self, inputs, training=False):
        args = [inputs[f"arg{i}"] for i in range(len(inputs))]
        return self.layer(*args, training=training, **self.call_kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        return sum(ops.mean(ops.square(ops.cast(out, "float32")))
                   for out in keras.tree.flatten(y_pred))


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    call_kwargs=None,
    expected_output_shape=None,
    expected_output_dtype="float32",
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=0,
    expected_num_seed_generators=0,
    run_training_check=True,
):
    """Basic checks of a layer, after Keras's `TestCase.run_layer_test`.

    1. `get_config`/`from_config` and Keras (de)serialisation of the
       unbuilt layer (`run_serialization_test`);
    2. a symbolic call on `KerasTensor`s: output structure, shapes, dtypes;
    3. an eager call on `input_data`: the same shapes and dtypes, the
       expected numbers of trainable / non-trainable weights and seed
       generators;
    4. a layer rebuilt from the config with the same weights gives the same
       outputs (inference mode);
    5. one `fit` step on the mean square of the outputs: the loss is finite
       and every trainable weight moves.

    Args:
        layer_cls: The layer class.
        init_kwargs: Constructor arguments.
        input_data: One array, or a tuple of arrays passed positionally.
        call_kwargs: Extra keyword arguments of `call`.
        expected_output_shape: Shape tuple, or a nest (tuple/dict) of them
            matching the outputs.
        expected_output_dtype: dtype of every output.
        expected_num_trainable_weights: Count once built (None = unchecked).
        expected_num_non_trainable_weights: Count once built.
        expected_num_seed_generators: `SeedGenerator`s once built.
        run_training_check: Run step 5.

    Returns:
        The layer built by the eager call.
    """
    call_kwargs = dict(call_kwargs or {})
    inputs = input_data if isinstance(input_data, tuple) else (input_data,)
    inputs = tuple(np.asarray(x) for x in inputs)

    expected_shapes = None
    if expected_output_shape is not None:
        expected_shapes = []
        keras.tree.map_shape_structure(
            lambda shape: expected_shapes.append(tuple(shape)),
            expected_output_shape)

    def check_outputs(outputs, what):
        flat = keras.tree.flatten(outputs)
        shapes = [tuple(out.shape) for out in flat]
        if expected_shapes is not None:
            assert shapes == expected_shapes, (
                f"{what} output shapes {shapes} != {expected_shapes}")
        for out in flat:
            dtype = keras.backend.standardize_dtype(out.dtype)
            assert dtype == expected_output_dtype, (
                f"{what} output dtype {dtype} != {expected_output_dtype}")
        return shapes

    run_serialization_test(layer_cls(**init_kwargs))

    symbolic = layer_cls(**init_kwargs)(
        *[keras.KerasTensor(x.shape, dtype=x.dtype) for x in inputs],
        **call_kwargs)
    symbolic_shapes = check_outputs(symbolic, "symbolic")

    layer = layer_cls(**init_kwargs)
    outputs = layer(*inputs, **call_kwargs)
    assert check_outputs(outputs, "eager") == symbolic_shapes
    assert layer.built
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == (
        expected_num_non_trainable_weights)
    assert len(seed_generators(layer)) == expected_num_seed_generators

    rebuilt = layer_cls.from_config(layer.get_config())
    rebuilt(*inputs, **call_kwargs)
    rebuilt.set_weights(layer.get_weights())
    for new, old in zip(keras.tree.flatten(rebuilt(*inputs, **call_kwargs)),
                        keras.tree.flatten(layer(*inputs, **call_kwargs))):
        assert_all_close(new, old, atol=1e-6, rtol=1e-6)

    if run_training_check:
        before = [to_numpy(w) for w in layer.trainable_weights]
        model = _LossOfOutputs(layer, call_kwargs)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        batch = {f"arg{i}": x for i, x in enumerate(inputs)}
        history = model.fit(batch, batch_size=len(inputs[0]), epochs=1,
                            verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        for weight, old in zip(layer.trainable_weights, before):
            assert not np.array_equal(to_numpy(weight), old), (
                f"{weight.path} did not move in one training step")
    return layer
