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
# # Missing modalities
#
# Real multimodal data are rarely complete. keras_mmvae handles missing
# modalities **per example** with an availability mask, in training and at
# inference, with static shapes (so the training step compiles once):
#
# * a batch may hold a `"mask"` of shape `(B, M)`, one 0/1 column per
#   modality in the model's order (1 = present);
# * an absent modality keeps a placeholder row (any finite values); the mask
#   guarantees those values change nothing and get zero gradient;
# * at inference, simply leave a modality out of the input dict.
#
# This notebook trains on MNIST images and labels where most labels are
# missing (semi-supervised learning as a missing-modality problem), then
# looks at what the mask does inside the fusion.

# %%
import os

import keras
import numpy as np

import keras_mmvae as mm

MODE = os.environ.get("KERAS_MMVAE_TUTORIAL_MODE", "small")
SMALL = MODE == "small"
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
print("backend:", keras.config.backend(), "| mode:", MODE)

# %% [markdown]
# ## Data with holes
#
# Each training example gets one availability pattern: image only (most
# examples), image and label, or label only.

# %%
(x_train, y_train), (x_test, y_test) = mm.datasets.mnist.load()
num_train = 12_000 if SMALL else len(x_train)
images = (x_train[:num_train] / 255.0).astype("float32")
labels = np.eye(10, dtype="float32")[y_train[:num_train]]

NAMES = ["image", "label"]  # the model's modality order = the mask columns
patterns = np.array([[1, 0], [1, 1], [0, 1]], "float32")
pattern = rng.choice(3, size=num_train, p=[0.85, 0.10, 0.05])
mask = patterns[pattern]

# Placeholders for absent values: any finite numbers work; zeros are tidy.
train = {
    "image": images * mask[:, :1, None],
    "label": labels * mask[:, 1:],
    "mask": mask,
}
labelled = float(mask[:, 1].mean())
print(f"examples with a label: {labelled:.1%}; with an image: "
      f"{mask[:, 0].mean():.1%}")
print("first rows of the mask:\n", mask[:5])

# %% [markdown]
# ## Training with a mask
#
# Nothing else changes: the mask travels in the batch dict. Reconstruction
# terms of absent modalities are excluded from the loss, and with a mask
# the mixture component of each example is drawn at random among the
# components whose modalities are all present (on device).

# %%
vae = mm.MultimodalVAE(
    encoders={"image": mm.layers.MLPEncoder(16, hidden_dims=(256,)),
              "label": mm.layers.MLPEncoder(16, hidden_dims=(64,))},
    decoders={"image": mm.layers.MLPDecoder((28, 28), hidden_dims=(256,)),
              "label": mm.layers.MLPDecoder((10,), hidden_dims=(64,))},
    likelihoods={"image": "bernoulli", "label": "categorical"},
    fusion="mwb",
    reconstruction_weights="balanced",
    seed=0,
)
vae.compile(optimizer=keras.optimizers.Adam(2e-3))
history = vae.fit(train, batch_size=128, epochs=5 if SMALL else 20, verbose=2)

# %% [markdown]
# ## Inference with missing modalities
#
# Leave the label out to predict it from the image. Only a small fraction
# of the training images came with a label.

# %%
test_images = (x_test[:2000] / 255.0).astype("float32")
mean, log_var = vae.encode({"image": test_images})
logits = vae.decode(mean)["label"]
accuracy = float(np.mean(
    np.argmax(keras.ops.convert_to_numpy(logits), -1) == y_test[:2000]))
print(f"image -> label accuracy with {labelled:.0%} labelled training "
      f"examples: {accuracy:.3f}")

# %% [markdown]
# ## What the mask guarantees
#
# Leaving a modality out of the dict is the same as passing it with a 0 in
# the mask, whatever the placeholder holds.

# %%
omitted = vae.encode({"image": test_images[:256]})
garbage = rng.normal(size=(256, 10)).astype("float32") * 100.0
masked = vae.encode({"image": test_images[:256], "label": garbage,
                     "mask": np.tile([[1.0, 0.0]], (256, 1)).astype("float32")})
difference = max(
    float(np.max(np.abs(keras.ops.convert_to_numpy(a)
                        - keras.ops.convert_to_numpy(b))))
    for a, b in zip(omitted, masked))
print("largest difference, omitted vs masked garbage:", difference)

# %% [markdown]
# An example with no modality at all gets the prior $N(0, I)$, never NaN:

# %%
nothing = np.zeros((3, 2), "float32")
prior_mean, prior_log_var = vae.encode(
    {"image": test_images[:3], "label": garbage[:3], "mask": nothing})
prior_mean = keras.ops.convert_to_numpy(prior_mean)
prior_log_var = keras.ops.convert_to_numpy(prior_log_var)
print("mean:", np.abs(prior_mean).max(), "| log_var:",
      np.abs(prior_log_var).max())

# %% [markdown]
# ## The mask inside the fusion
#
# The model passes the mask to its `BarycenterFusion` layer. With
# `subsets="all"` (MoPoE, MWB) the posterior is a mixture with one
# component per non-empty subset of modalities, singletons first and the
# full set last. A component is *valid* for an example only when all its
# modalities are present, and the mixture weight is uniform over the valid
# components. Three modalities, four availability patterns:

# %%
fusion = mm.BarycenterFusion(mode="w2", subsets="all")
experts_mean = rng.normal(size=(4, 3, 2)).astype("float32")
experts_log_var = np.zeros((4, 3, 2), "float32")
availability = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 0, 0]],
                        "float32")
out = fusion(experts_mean, experts_log_var, mask=availability)
weight = keras.ops.convert_to_numpy(out["weight"])
subsets = mm.ops.modality_subsets(3)
print("component:   " + " ".join(f"{str(s):>9}" for s in subsets))
for row, w in zip(availability.astype(int), weight):
    print(f"mask {row}: " + " ".join(f"{x:9.3f}" for x in w))

# %% [markdown]
# The last row has nothing available: all the weight sits on component 0,
# which is then the prior.
#
# ## Checks

# %%
print({"accuracy": round(accuracy, 3), "difference": difference})
assert np.all(np.isfinite(history.history["loss"]))
assert accuracy > 0.7, accuracy
assert difference == 0.0
assert np.all(prior_mean == 0.0) and np.all(prior_log_var == 0.0)
assert np.allclose(weight.sum(-1), 1.0)
assert np.allclose(weight[0], 1 / 7) and np.allclose(weight[2][2], 1.0)
assert np.allclose(weight[1][[0, 2, 4]], 1 / 3) and weight[3][0] == 1.0
