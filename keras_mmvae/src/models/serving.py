"""Exports a `MultimodalVAE` as a TensorFlow SavedModel for serving."""

import keras

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.models.validation import MASK_KEY

ENDPOINTS = ("encode", "decode", "conditional_generate")


@keras_mmvae_export("keras_mmvae.models.export_for_serving")
def export_for_serving(model, filepath, input_dtypes=None,
                       moe_posterior="component", verbose=False):
    """Writes a SavedModel with the inference endpoints of a `MultimodalVAE`.

    `model.export` cannot trace `call` (it returns nested dicts of training
    quantities), so this builds a `keras.export.ExportArchive` with one
    endpoint per inference method instead:

    | endpoint | input | output |
    |---|---|---|
    | `encode` | dict name → `(B, ...)` and `"mask"` `(B, M)` | `{"mean", "log_var"}` `(B, D)`: the posterior of the available modalities (`model.encode`) |
    | `decode` | `z` `(B, D)` | dict name → decoded mean (style latents from their prior) |
    | `conditional_generate` | as `encode` | dict name → decoded mean of one posterior sample (`model.conditional_generate`) |

    Every modality is an input of `encode` and `conditional_generate`:
    give absent ones a finite placeholder (zeros) and 0 in their mask
    column. Load the result with `tf.saved_model.load(filepath)` (no
    keras_mmvae or Keras needed) or serve it with TF-Serving.

    Needs TensorFlow installed. On the TensorFlow backend the endpoints are
    traced with `tf.function`; on JAX Keras converts them with `jax2tf`;
    the torch backend cannot export SavedModels (save a `.keras` file and
    load it under TensorFlow instead).

    Args:
        model: A built `mm.MultimodalVAE` (trained, or called once).
        filepath: Directory to write the SavedModel to.
        input_dtypes: Dict name → dtype of that modality's input (default
            `"float32"` each).
        moe_posterior: Passed to `BarycenterFusion.posterior` by `encode`
            (`"moe"` fusion only).
        verbose: Print the archive's summary.

    Example:
    ```python
    import tempfile

    import keras
    import numpy as np
    import keras_mmvae as mm

    vae = mm.MultimodalVAE(encoders={"x": mm.layers.MLPEncoder(2)},
                           decoders={"x": mm.layers.MLPDecoder((3,))},
                           likelihoods={"x": "gaussian"})
    vae({"x": np.zeros((1, 3), "float32")})  # builds the model
    if keras.backend.backend() == "tensorflow":
        mm.models.export_for_serving(vae, tempfile.mkdtemp())
    ```
    """
    if not model.built:
        raise ValueError(
            "Build or train the model before exporting it: call it once on "
            "a batch with every modality."
        )
    if keras.backend.backend() not in ("tensorflow", "jax"):
        raise ValueError(
            "SavedModel export needs the TensorFlow or JAX backend; got "
            f"{keras.backend.backend()!r}. Save a `.keras` file and export "
            "it from a TensorFlow-backend process."
        )
    dtypes = dict(input_dtypes or {})
    unknown = sorted(set(dtypes) - set(model.modality_names))
    if unknown:
        raise ValueError(
            f"`input_dtypes` has unknown modalities {unknown}; the model's "
            f"are {model.modality_names}."
        )
    # Named specs: the SavedModel signatures take the modalities, "mask"
    # and "z" by name (`signatures["encode"](a=..., mask=...)`, the
    # inputs that `saved_model_cli show` lists), not `batch, batch_1, ...`.
    batch_spec = {
        name: keras.InputSpec(shape=tuple(model.input_shapes[name]),
                              dtype=dtypes.get(name, "float32"), name=name)
        for name in model.modality_names
    }
    batch_spec[MASK_KEY] = keras.InputSpec(
        shape=(None, model.num_modalities), dtype="float32", name=MASK_KEY)
    z_spec = keras.InputSpec(shape=(None, model.latent_dim), dtype="float32",
                             name="z")

    def experts(batch):
        mean, log_var, _ = model.encode_experts(batch)
        return mean, log_var, keras.ops.cast(batch[MASK_KEY] > 0, mean.dtype)

    def encode(batch):
        mean, log_var, mask = experts(batch)
        mean, log_var = model.fusion.posterior(
            mean, log_var, mask=mask, moe_posterior=moe_posterior)
        return {"mean": mean, "log_var": log_var}

    def decode(z):
        return model.decode_means(z)

    def conditional_generate(batch):
        mask = keras.ops.cast(batch[MASK_KEY] > 0, "float32")
        return model.conditional_decode_means(batch, mask)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("encode", encode, input_signature=[batch_spec])
    archive.add_endpoint("decode", decode, input_signature=[z_spec])
    archive.add_endpoint("conditional_generate", conditional_generate,
                         input_signature=[batch_spec])
    archive.write_out(filepath, verbose=verbose)
    return archive
