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


class _Outputs(keras.Model):
    """Wraps a layer called on the inputs `arg0, arg1, ...` of a dict."""

    def __init__(self, layer, call_kwargs):
        super().__init__(name="outputs_of_layer")
        self.layer = layer
        self.call_kwargs = call_kwargs

    def call(self, inputs, training=False):
        args = [inputs[f"arg{i}"] for i in range(len(inputs))]
        return self.layer(*args, training=training, **self.call_kwargs)


class _LossOfOutputs(_Outputs):
    """Wraps a layer; its loss is the mean square of every output, so one
    `fit` step sends a gradient to every weight the outputs depend on."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        return sum(ops.mean(ops.square(ops.cast(out, "float32")))
                   for out in keras.tree.flatten(y_pred))


def _symbolic(inputs):
    """`KerasTensor`s of the shapes and dtypes of `inputs` (any nesting)."""
    return [keras.tree.map_structure(
        lambda x: keras.KerasTensor(x.shape, dtype=x.dtype), arg)
        for arg in inputs]


def _batch_size(inputs):
    return len(keras.tree.flatten(inputs)[0])


def _build(layer, inputs, call_kwargs):
    """Builds `layer` with a symbolic call on `inputs`' shapes and dtypes."""
    layer(*_symbolic(inputs), **call_kwargs)


def _call(layer, inputs, call_kwargs):
    """The outputs of `layer` on `inputs` in inference mode.

    An eager call, except on JAX: there one compiled `predict_on_batch`,
    because eager JAX compiles op by op, about ten times slower for a
    network of a few dozen layers (and `jit` is the stricter of the two).
    """
    if keras.backend.backend() != "jax":
        return layer(*inputs, **call_kwargs)
    if not layer.built:
        _build(layer, inputs, call_kwargs)
    return _Outputs(layer, call_kwargs).predict_on_batch(
        {f"arg{i}": x for i, x in enumerate(inputs)})


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
    run_mixed_precision_check=True,
    expected_mixed_precision_output_dtype=None,
):
    """Basic checks of a layer, after Keras's `TestCase.run_layer_test`.

    1. `get_config`/`from_config` and Keras (de)serialisation of the
       unbuilt layer (`run_serialization_test`);
    2. a symbolic call on `KerasTensor`s: output structure, shapes, dtypes;
    3. a call on `input_data` (eager; on JAX a compiled
       `predict_on_batch`): the same shapes and dtypes, the expected
       numbers of trainable / non-trainable weights and seed generators;
    4. a layer rebuilt from the config with the same weights gives the same
       outputs (inference mode);
    5. one `fit` step on the mean square of the outputs: the loss is finite
       and every trainable weight moves;
    6. built under the `mixed_bfloat16` global policy
       (`run_mixed_precision_check`): the outputs are finite and of the
       compute dtype, the float variables stay float32; the global policy
       is restored afterwards.

    Args:
        layer_cls: The layer class, or a function returning a functional
            model (e.g. a classifier factory; steps 1 and 4 are then
            skipped: the configs are Keras's own).
        init_kwargs: Constructor arguments.
        input_data: One array (or dict of arrays), or a tuple of them
            passed positionally.
        call_kwargs: Extra keyword arguments of `call`.
        expected_output_shape: Shape tuple, or a nest (tuple/dict) of them
            matching the outputs.
        expected_output_dtype: dtype of every output.
        expected_num_trainable_weights: Count once built (None = unchecked).
        expected_num_non_trainable_weights: Count once built.
        expected_num_seed_generators: `SeedGenerator`s once built.
        run_training_check: Run step 5.
        run_mixed_precision_check: Run step 6.
        expected_mixed_precision_output_dtype: dtype of every output under
            `mixed_bfloat16` (None: the compute dtype, bfloat16).

    Returns:
        The layer built by the eager call.
    """
    call_kwargs = dict(call_kwargs or {})
    inputs = input_data if isinstance(input_data, tuple) else (input_data,)
    inputs = tuple(keras.tree.map_structure(np.asarray, x) for x in inputs)

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

    is_class = isinstance(layer_cls, type)
    if is_class:  # factories return functional models: Keras's configs
        run_serialization_test(layer_cls(**init_kwargs))  # unbuilt

    symbolic = layer_cls(**init_kwargs)(*_symbolic(inputs), **call_kwargs)
    symbolic_shapes = check_outputs(symbolic, "symbolic")

    layer = layer_cls(**init_kwargs)
    outputs = _call(layer, inputs, call_kwargs)
    assert check_outputs(outputs, "eager") == symbolic_shapes
    assert layer.built
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == (
        expected_num_non_trainable_weights)
    assert len(seed_generators(layer)) == expected_num_seed_generators

    if is_class:
        rebuilt = layer_cls.from_config(layer.get_config())
        _build(rebuilt, inputs, call_kwargs)
        rebuilt.set_weights(layer.get_weights())
        for new, old in zip(
                keras.tree.flatten(_call(rebuilt, inputs, call_kwargs)),
                keras.tree.flatten(outputs)):
            assert_all_close(new, old, atol=1e-6, rtol=1e-6)

    if run_training_check:
        before = [to_numpy(w) for w in layer.trainable_weights]
        model = _LossOfOutputs(layer, call_kwargs)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        batch = {f"arg{i}": x for i, x in enumerate(inputs)}
        history = model.fit(batch, batch_size=_batch_size(inputs), epochs=1,
                            verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        for weight, old in zip(layer.trainable_weights, before):
            assert not np.array_equal(to_numpy(weight), old), (
                f"{weight.path} did not move in one training step")

    if run_mixed_precision_check:
        check_mixed_precision(
            layer_cls, init_kwargs, inputs, call_kwargs,
            expected_output_dtype=expected_mixed_precision_output_dtype,
            expected_output_shapes=symbolic_shapes)
    return layer


def check_mixed_precision(layer_cls, init_kwargs, inputs, call_kwargs=None,
                          policy="mixed_bfloat16", expected_output_dtype=None,
                          expected_output_shapes=None):
    """Builds and calls a layer under a mixed global precision policy.

    Every output must be finite and of `expected_output_dtype` (default:
    the policy's compute dtype) and every float variable float32 (the
    policy's variable dtype). The global policy in force before is
    restored, also when a check fails.

    Returns:
        The layer built under the policy.
    """
    dtype_policy = keras.dtype_policies.get(policy)
    expected = expected_output_dtype or dtype_policy.compute_dtype
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy)
    try:
        layer = layer_cls(**init_kwargs)
        # One compiled inference call (`predict_on_batch`): on JAX, eager
        # calls compile op by op, several times slower for a network.
        model = _Outputs(layer, dict(call_kwargs or {}))
        outputs = model.predict_on_batch(
            {f"arg{i}": x for i, x in enumerate(inputs)})
    finally:
        keras.config.set_dtype_policy(previous)
    flat = keras.tree.flatten(outputs)
    if expected_output_shapes is not None:
        shapes = [tuple(out.shape) for out in flat]
        assert shapes == list(expected_output_shapes), (
            f"{policy} output shapes {shapes} != {expected_output_shapes}")
    for out in flat:
        dtype = keras.backend.standardize_dtype(out.dtype)
        assert dtype == expected, (
            f"{policy} output dtype {dtype} != {expected}")
        values = to_numpy(ops.cast(out, "float32"))
        assert np.isfinite(values).all(), f"{policy} output not finite"
    for variable in layer.weights:
        dtype = keras.backend.standardize_dtype(variable.dtype)
        if "float" in dtype:
            assert dtype == dtype_policy.variable_dtype, (
                f"{policy}: {variable.path} is {dtype}, not "
                f"{dtype_policy.variable_dtype}")
    return layer
