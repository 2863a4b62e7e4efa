"""Bad batches for every entry point: a `ValueError` that names the fix.

One matrix over `fit`, `evaluate`, `predict`, `encode` and
`conditional_generate`; and the documented mask forms, which must work.
"""

import keras
import numpy as np
import pytest
from mlp_vae import make_data
from mlp_vae import make_vae

import keras_mmvae as mm
from keras_mmvae.src.testing.test_case import to_numpy

N = 16
METHODS = ["fit", "evaluate", "predict", "encode", "conditional_generate"]


def run(vae, method, data, **kwargs):
    if method == "fit":
        return vae.fit(data, batch_size=N, epochs=1, verbose=0, **kwargs)
    if method in ("evaluate", "predict"):
        return getattr(vae, method)(data, batch_size=N, verbose=0, **kwargs)
    return getattr(vae, method)(data, **kwargs)


@pytest.fixture
def vae():
    model = make_vae()
    model.compile(optimizer="adam")
    model(make_data(N))
    return model


def with_mask(value):
    return lambda d: {**d, "mask": value}


BAD_BATCHES = {
    "unknown key": (lambda d: {**d, "z": d["a"]}, "Unknown modality key"),
    "wrong rank": (lambda d: {**d, "a": d["a"][:, :, None]},
                   r"'a' has shape \(16, 6, 1\).*\(None, 6\)"),
    "wrong trailing shape": (lambda d: {**d, "a": d["a"][:, :4]},
                             r"'a' has shape \(16, 4\)"),
    "batch mismatch": (lambda d: {**d, "b": d["b"][:8]}, "batch size"),
    "mask shape": (with_mask(np.ones((N, 3), "float32")), "must have shape"),
    "mask dtype": (with_mask(np.ones((N, 2), "complex64")), "dtype complex"),
    "mask values": (with_mask(np.full((N, 2), 2.0, "float32")),
                    "only 0 and 1"),
    "nan": (lambda d: {**d, "a": np.where(d["a"] > 1, np.nan, d["a"])},
            "NaN or infinite"),
    "inf": (lambda d: {**d, "b": np.where(d["b"] > 0, np.inf, d["b"])},
            "NaN or infinite"),
    "strings": (lambda d: {**d, "a": d["a"].astype(str)},
                "numeric arrays"),
    "empty batch": (lambda d: {k: v[:0] for k, v in d.items()},
                    "empty batch"),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
def test_bad_batches_raise_clear_errors(vae, method, case):
    change, message = BAD_BATCHES[case]
    with pytest.raises(ValueError, match=message):
        run(vae, method, change(make_data(N)))


@pytest.mark.parametrize("kwargs, message", [
    ({"loss": "mse"}, "trains its own objective"),
    ({"loss_weights": [1.0]}, "trains its own objective"),
    ({"metrics": ["mae"]}, "EvaluationCallback"),
    ({"weighted_metrics": ["mae"]}, "EvaluationCallback"),
])
def test_compile_refuses_a_loss_or_metrics(kwargs, message):
    vae = make_vae()
    with pytest.raises(ValueError, match=message):
        vae.compile(optimizer="adam", **kwargs)
    vae.compile(optimizer="adam", jit_compile=False)  # the rest goes through
    assert not vae.jit_compile


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_missing_key_in_a_training_batch(vae, method):
    with pytest.raises(ValueError, match="Missing modality key.*placeholder"):
        run(vae, method, {"a": make_data(N)["a"]})


@pytest.mark.parametrize("method", ["encode", "conditional_generate"])
def test_no_modality_to_condition_on(vae, method):
    with pytest.raises(ValueError, match="at least one modality"):
        run(vae, method, {})


def test_wrong_rank_is_caught_on_the_first_call():
    # The first call builds the model: check against the decoder output.
    vae = make_vae()
    vae.compile(optimizer="adam")
    data = make_data(N)
    with pytest.raises(ValueError, match=r"'a' has shape \(None, 6, 1\)"):
        vae.fit({**data, "a": data["a"][:, :, None]}, batch_size=N,
                verbose=0)


def test_wrong_rank_against_a_functional_encoder_declared_shape():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(4)(inputs)
    encoder = keras.Model(inputs, [keras.layers.Dense(3)(hidden),
                                   keras.layers.Dense(3)(hidden)])
    vae = mm.MultimodalVAE(
        encoders={"a": encoder, "b": mm.layers.MLPEncoder(3)},
        decoders={"a": mm.layers.MLPDecoder((6,)),
                  "b": mm.layers.MLPDecoder((3,))},
        likelihoods={"a": "gaussian", "b": "bernoulli"})
    data = make_data(N)
    with pytest.raises(ValueError, match=r"encoder expects \(None, 6\)"):
        vae({**data, "a": data["a"][:, None, :]})


def test_malformed_batch_mid_epoch_from_a_generator():
    good = make_data(N)
    bad = {**good, "a": np.where(good["a"] > 1, np.nan, good["a"])}

    def batches():
        yield good
        yield bad

    vae = make_vae()
    vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match="NaN or infinite"):
        vae.fit(batches(), epochs=1, verbose=0)


def test_bad_values_in_a_py_dataset_are_caught():
    data = make_data(N)
    data["a"][3, 0] = np.inf

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return data, np.zeros(N)

    vae = make_vae()
    vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match="rows \\[3\\]"):
        vae.fit(Batches(), epochs=1, verbose=0)


# ----------------------------------------------------- documented mask forms
MASKS = {
    "bool": lambda m: m.astype(bool),
    "int8": lambda m: m.astype("int8"),
    "int32": lambda m: m.astype("int32"),
    "int64": lambda m: m.astype("int64"),
    "float16": lambda m: m.astype("float16"),
    "float32": lambda m: m.astype("float32"),
    "float64": lambda m: m.astype("float64"),
    "list": lambda m: m.astype(int).tolist(),
}


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_every_documented_mask_form_works(policy):
    # The last rows have no modality at all: they get the prior.
    mask = np.ones((N, 2))
    mask[::3, 1] = 0
    mask[-2:] = 0
    keras.mixed_precision.set_global_policy(policy)
    try:
        vae = make_vae(fusion="mopoe")
        vae.compile(optimizer="adam")
        for form in sorted(MASKS):
            data = {**make_data(N), "mask": MASKS[form](mask)}
            history = vae.fit(data, batch_size=N, verbose=0).history
            assert np.isfinite(history["loss"]).all(), form
            logs = vae.evaluate(data, batch_size=N, verbose=0,
                                return_dict=True)
            assert np.isfinite(logs["loss"]), form
            out = vae.predict(data, batch_size=N, verbose=0)
            assert np.isfinite(to_numpy(out["z"])).all(), form
            features = {n: data[n] for n in ("a", "b")}
            for mask_form in (data["mask"], MASKS[form](mask)):
                mean, _ = vae.encode({**features, "mask": mask_form})
                np.testing.assert_allclose(to_numpy(mean)[-2:], 0.0,
                                           atol=1e-6, err_msg=form)
                generated = vae.conditional_generate(features,
                                                     mask=mask_form)
                assert np.isfinite(to_numpy(generated["a"])).all(), form
    finally:
        keras.mixed_precision.set_global_policy("float32")
