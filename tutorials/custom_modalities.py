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
# # Custom modalities: your own encoders, decoders and likelihoods
#
# A modality in keras_mmvae is three things, all yours to choose:
#
# 1. an **encoder**: any Keras layer mapping a batch of the modality to
#    `(mean, log_var)`, each `(B, D)`;
# 2. a **decoder**: any Keras layer mapping `z` `(B, D)` to the parameters
#    of the likelihood;
# 3. a **likelihood**: an object with `log_prob(params, x)` → `(B,)` and
#    `mean(params)`; subclass `mm.likelihoods.Likelihood` for a new one.
#
# Here: MNIST images with a hand-written convolutional encoder and decoder,
# plus a second modality of **counts**, the number of inked pixels in each
# column of the image, modelled with a new Poisson likelihood. At the end
# the model is saved to a `.keras` file and loaded back.

# %%
import os
import tempfile

import keras
import numpy as np
from keras import ops
from scipy import stats
from sklearn.linear_model import LogisticRegression

import keras_mmvae as mm

MODE = os.environ.get("KERAS_MMVAE_TUTORIAL_MODE", "small")
SMALL = MODE == "small"
keras.utils.set_random_seed(0)
print("backend:", keras.config.backend(), "| mode:", MODE)

# %% [markdown]
# ## The data: images and column counts

# %%
(x_train, y_train), (x_test, y_test) = mm.datasets.mnist.load()
num_train = 8_000 if SMALL else len(x_train)


def modalities(images):
    return {
        "image": (images[..., None] / 255.0).astype("float32"),  # (N,28,28,1)
        "counts": (images > 127).sum(axis=1).astype("float32"),  # (N, 28)
    }


train = modalities(x_train[:num_train])
test = modalities(x_test[:2000])
print("counts of the first digit:", train["counts"][0].astype(int))

# %% [markdown]
# ## A new likelihood
#
# The decoder outputs a log-rate $\ell$ per column; the Poisson
# log-probability per element is $x\ell - e^{\ell} - \log x!$. Implement
# `log_prob_elements` (element-wise, with `keras.ops` only so it runs on
# every backend) and `mean`; the base class sums over data dimensions.
# `keras.ops` has no `lgamma`, so $\log x!$ comes from a small table (the
# counts are integers from 0 to 28). The log-rate is clipped before `exp`:
# an unbounded decoder output would otherwise overflow early in training.
#
# Register the class so `.keras` files can rebuild it.

# %%
@keras.saving.register_keras_serializable(package="custom_tutorial")
class Poisson(mm.likelihoods.Likelihood):
    """Poisson on log-rates, for counts in `[0, max_count]`."""

    def __init__(self, max_count=28):
        self.max_count = int(max_count)
        self.log_factorial = np.cumsum(
            np.log(np.maximum(np.arange(self.max_count + 1), 1))
        ).astype("float32")

    def log_prob_elements(self, params, x):
        log_rate = ops.clip(params, -10.0, 10.0)  # never exp() unbounded
        index = ops.cast(ops.clip(x, 0, self.max_count), "int32")
        log_x_factorial = ops.take(self.log_factorial, index)
        return x * log_rate - ops.exp(log_rate) - log_x_factorial

    def mean(self, params):
        return ops.exp(ops.clip(params, -10.0, 10.0))

    def get_config(self):
        return {"max_count": self.max_count}


# Check it against SciPy on a few values.
rate = np.array([[0.5, 3.0, 10.0]], "float32")
count = np.array([[0.0, 2.0, 12.0]], "float32")
ours = float(ops.convert_to_numpy(
    Poisson().log_prob(np.log(rate), count))[0])
reference = float(stats.poisson.logpmf(count, rate).sum())
print(f"log p: ours {ours:.5f}, scipy {reference:.5f}")

# %% [markdown]
# ## Your own encoder and decoder
#
# Plain Keras layers. The encoder returns the pair `(mean, log_var)`; the
# model calls encoders and decoders with `training=...`, so accept it if
# the layer behaves differently in training (dropout, batch norm).
# Create the sublayers in `__init__`, build them with explicit shapes in
# `build` (the model builds every encoder and decoder from the data's
# shapes, and so does loading a `.keras` file), and list the constructor
# arguments in `get_config`. (`mm.layers.ConvEncoder` and
# `mm.layers.ConvDecoder` are ready-made versions of the same idea.)

# %%
@keras.saving.register_keras_serializable(package="custom_tutorial")
class TinyConvEncoder(keras.layers.Layer):
    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.conv1 = keras.layers.Conv2D(16, 3, strides=2, padding="same",
                                         activation="relu")
        self.conv2 = keras.layers.Conv2D(32, 3, strides=2, padding="same",
                                         activation="relu")
        self.flatten = keras.layers.Flatten()
        self.hidden = keras.layers.Dense(128, activation="relu")
        self.to_mean = keras.layers.Dense(latent_dim)
        self.to_log_var = keras.layers.Dense(latent_dim)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in (self.conv1, self.conv2, self.flatten, self.hidden):
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.to_mean.build(shape)
        self.to_log_var.build(shape)

    def call(self, images):
        h = self.hidden(self.flatten(self.conv2(self.conv1(images))))
        return self.to_mean(h), self.to_log_var(h)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="custom_tutorial")
class TinyConvDecoder(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(7 * 7 * 32, activation="relu")
        self.reshape = keras.layers.Reshape((7, 7, 32))
        self.up1 = keras.layers.Conv2DTranspose(16, 3, strides=2,
                                                padding="same",
                                                activation="relu")
        self.up2 = keras.layers.Conv2DTranspose(1, 3, strides=2,
                                                padding="same")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in (self.hidden, self.reshape, self.up1, self.up2):
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, z):
        return self.up2(self.up1(self.reshape(self.hidden(z))))  # logits


# %% [markdown]
# ## The model
#
# Mix custom and ready-made parts freely. This time the fusion is the
# joint 2-Wasserstein barycenter (`"w2"`, WB-VAE).
#
# `reconstruction_weights` balance the modalities' log-likelihoods. The
# MoPoE protocol weights each modality by the ratio of data sizes (here
# 784 / 28 for the counts); with a Poisson, whose log-likelihood per column
# is already large, that lets the counts dominate the shared latent, so
# this model keeps the default weight 1.

# %%
LATENT = 16
vae = mm.MultimodalVAE(
    encoders={"image": TinyConvEncoder(LATENT),
              "counts": mm.layers.MLPEncoder(LATENT, hidden_dims=(128,))},
    decoders={"image": TinyConvDecoder(),
              "counts": mm.layers.MLPDecoder((28,), hidden_dims=(128,))},
    likelihoods={"image": "bernoulli", "counts": Poisson(max_count=28)},
    fusion="w2",
    seed=0,
)
vae.compile(optimizer=keras.optimizers.Adam(2e-3))
history = vae.fit(train, batch_size=128, epochs=3 if SMALL else 15, verbose=2)

# %% [markdown]
# ## Does the count profile alone know the digit?
#
# Fit a logistic-regression probe on posterior means given one modality
# only, and score it on held-out digits.

# %%
def probe_accuracy(name):
    train_mean, _ = vae.encode({name: train[name][:2000]})
    test_mean, _ = vae.encode({name: test[name]})
    probe = LogisticRegression(max_iter=1000)
    probe.fit(ops.convert_to_numpy(train_mean), y_train[:2000])
    return float(probe.score(ops.convert_to_numpy(test_mean), y_test[:2000]))


probe = {name: probe_accuracy(name) for name in ("image", "counts")}
print("linear probe accuracy:", {k: round(v, 3) for k, v in probe.items()})

# %% [markdown]
# And the reverse direction: the counts predicted from the image alone.

# %%
predicted = vae.conditional_generate({"image": test["image"][:5]})["counts"]
print(np.round(ops.convert_to_numpy(predicted)[0]).astype(int))
print(test["counts"][0].astype(int))

# %% [markdown]
# ## Save and load
#
# `.keras` files hold the whole model: the configuration of every encoder,
# decoder and likelihood (custom ones included, thanks to the registration)
# and the weights. Loading needs no `custom_objects`, only that the classes
# are importable (here: defined in this notebook).

# %%
path = os.path.join(tempfile.mkdtemp(), "custom.keras")
vae.save(path)
restored = keras.saving.load_model(path)
before = ops.convert_to_numpy(vae.encode({"counts": test["counts"]})[0])
after = ops.convert_to_numpy(restored.encode({"counts": test["counts"]})[0])
print(type(restored).__name__, type(restored.likelihoods["counts"]).__name__,
      "| max difference:", float(np.max(np.abs(before - after))))

# %% [markdown]
# ## Checks

# %%
assert abs(ours - reference) < 1e-4, (ours, reference)
assert history.history["loss"][-1] < history.history["loss"][0]
assert probe["image"] > 0.6 and probe["counts"] > 0.3, probe  # chance: 0.1
assert isinstance(restored.likelihoods["counts"], Poisson)
assert np.allclose(before, after, atol=1e-6)
