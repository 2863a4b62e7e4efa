"""Evaluation of multimodal VAEs: probes, coherence, likelihoods, FID.

Metric results are plain dicts keyed by subsets (tuples of modality names)
or `(subset, target)` pairs; `serialize_results` / `save_results` turn the
keys into strings (`"m0+m1"`, `"m0+m1->m2"`) for JSON and back.

Data may be `(inputs, labels)` NumPy arrays, a `keras.utils.PyDataset` (e.g.
from `mm.datasets.<benchmark>.load`) or any iterable of such batches. Each
batch runs through the model in one compiled function (Keras
`predict_on_batch`: `jax.jit` / `tf.function`), traced once per batch
shape; a model compiled with `run_eagerly=True` is evaluated eagerly.
Randomness comes from a `keras.random.SeedGenerator` seeded by each
function's `seed`.
"""

from keras_mmvae.src.evaluation.callbacks import EvaluationCallback
from keras_mmvae.src.evaluation.callbacks import GenerationGridCallback
from keras_mmvae.src.evaluation.callbacks import LearningCurves
from keras_mmvae.src.evaluation.coherence import coherence
from keras_mmvae.src.evaluation.coherence import coherence_by_size
from keras_mmvae.src.evaluation.coherence import unconditional_coherence
from keras_mmvae.src.evaluation.fid import InceptionFeatures
from keras_mmvae.src.evaluation.fid import feature_statistics
from keras_mmvae.src.evaluation.fid import fid
from keras_mmvae.src.evaluation.fid import frechet_distance
from keras_mmvae.src.evaluation.fid import inception_feature_extractor
from keras_mmvae.src.evaluation.linear_probe import linear_probe
from keras_mmvae.src.evaluation.log_likelihood import log_likelihood
from keras_mmvae.src.evaluation.plots import plot_coherence_by_size
from keras_mmvae.src.evaluation.plots import plot_generations
from keras_mmvae.src.evaluation.plots import plot_learning_curves
from keras_mmvae.src.evaluation.results import deserialize_results
from keras_mmvae.src.evaluation.results import key_to_string
from keras_mmvae.src.evaluation.results import load_results
from keras_mmvae.src.evaluation.results import save_results
from keras_mmvae.src.evaluation.results import serialize_results
from keras_mmvae.src.evaluation.results import string_to_key

__all__ = [
    "EvaluationCallback",
    "GenerationGridCallback",
    "InceptionFeatures",
    "LearningCurves",
    "coherence",
    "coherence_by_size",
    "deserialize_results",
    "feature_statistics",
    "fid",
    "frechet_distance",
    "inception_feature_extractor",
    "key_to_string",
    "linear_probe",
    "load_results",
    "log_likelihood",
    "plot_coherence_by_size",
    "plot_generations",
    "plot_learning_curves",
    "save_results",
    "serialize_results",
    "string_to_key",
    "unconditional_coherence",
]
