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
# # Fusion modes compared on real digits
#
# The five fusions of keras_mmvae, trained with the same networks on the same
# data, differ only in how the unimodal posteriors are combined:
#
# | preset | fusion | barycenter |
# |---|---|---|
# | `"poe"` | product of experts with a prior expert (MVAE) | reverse KL |
# | `"moe"` | mixture of the unimodal experts (MMVAE) | forward KL |
# | `"w2"` | one 2-Wasserstein barycenter (WB-VAE) | $W_2$ |
# | `"mopoe"` | mixture of the PoEs of all subsets (MoPoE) | reverse KL per subset |
# | `"mwb"` | mixture of the W2 barycenters of all subsets (MWB-VAE) | $W_2$ per subset |
#
# The data are real MNIST digits cut into three modalities: the **left
# half** and the **right half** of the image, and the **label**. We check
# the theory on the trained encoders (how each fusion combines two
# posteriors) and compare how well each model reads the label from one or
# both halves.

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
# ## Three modalities from MNIST

# %%
(x_train, y_train), (x_test, y_test) = mm.datasets.mnist.load()
num_train = 10_000 if SMALL else len(x_train)
num_test = 2_000 if SMALL else len(x_test)


def modalities(images, labels):
    images = (images / 255.0).astype("float32")
    return {
        "left": images[:, :, :14],
        "right": images[:, :, 14:],
        "label": np.eye(10, dtype="float32")[labels],
    }


train = modalities(x_train[:num_train], y_train[:num_train])
test = modalities(x_test[:num_test], y_test[:num_test])
test_labels = y_test[:num_test]

# %% [markdown]
# ## One model per fusion
#
# Identical encoders, decoders, likelihoods, loss weights and training
# budget; only `fusion` changes.

# %%
FUSIONS = ["poe", "moe", "w2", "mopoe", "mwb"]
LATENT = 16
EPOCHS = 3 if SMALL else 20


def build(fusion):
    encoders = {
        "left": mm.layers.MLPEncoder(LATENT, hidden_dims=(128,)),
        "right": mm.layers.MLPEncoder(LATENT, hidden_dims=(128,)),
        "label": mm.layers.MLPEncoder(LATENT, hidden_dims=(32,)),
    }
    decoders = {
        "left": mm.layers.MLPDecoder((28, 14), hidden_dims=(128,)),
        "right": mm.layers.MLPDecoder((28, 14), hidden_dims=(128,)),
        "label": mm.layers.MLPDecoder((10,), hidden_dims=(32,)),
    }
    vae = mm.MultimodalVAE(
        encoders, decoders,
        likelihoods={"left": "bernoulli", "right": "bernoulli",
                     "label": "categorical"},
        fusion=fusion,
        reconstruction_weights="balanced",
        seed=0,
    )
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    return vae


models, seconds = {}, {}
for fusion in FUSIONS:
    start = time.perf_counter()
    models[fusion] = build(fusion)
    models[fusion].fit(train, batch_size=128, epochs=EPOCHS, verbose=0)
    seconds[fusion] = time.perf_counter() - start
    print(f"{fusion:>6}: trained in {seconds[fusion]:.1f} s")

# %% [markdown]
# ## How each fusion combines two posteriors
#
# `vae.encode(inputs)` returns the posterior given the modalities present
# in `inputs` (the others count as missing). Give each trained model the
# left half alone, the right half alone, and both, and compare the
# posterior variances, dimension by dimension, with the closed forms of
# [Fusion as a barycenter](../../concepts/barycenters/):
#
# * **PoE** (`"poe"`, the MVAE product with a prior expert in every
#   product): precisions add. The single-half posteriors already contain the
#   prior's unit precision, so counting it once,
#   $\sigma_{LR}^{-2} = \sigma_{L}^{-2} + \sigma_{R}^{-2} - 1$.
# * **MoPoE**: the prior expert only joins the component of *all three*
#   modalities, so for two halves $\sigma_{LR}^{-2} = \sigma_L^{-2} +
#   \sigma_R^{-2}$.
# * **W2** and **MWB**: standard deviations average,
#   $\sigma_{LR} = \tfrac12(\sigma_L + \sigma_R)$.
# * **MoE**: the posterior is the mixture $\tfrac12(q_L + q_R)$, which is
#   not a Gaussian. By default `encode` represents each example by one of
#   its experts (MoPoE's evaluation convention); with
#   `moe_posterior="moment_matched"` it reports the moment-matched Gaussian,
#   whose variance is at least the average variance. We ask for the latter.

# %%
def posterior(vae, names):
    mean, log_var = vae.encode({n: test[n] for n in names},
                               moe_posterior="moment_matched")
    return (keras.ops.convert_to_numpy(mean),
            np.exp(keras.ops.convert_to_numpy(log_var)))


identity_error, shrinkage = {}, {}
for fusion, vae in models.items():
    (m_l, v_l), (m_r, v_r) = posterior(vae, ["left"]), posterior(vae, ["right"])
    m_lr, v_lr = posterior(vae, ["left", "right"])
    if fusion == "poe":
        predicted = 1.0 / (1.0 / v_l + 1.0 / v_r - 1.0)
    elif fusion == "mopoe":
        predicted = 1.0 / (1.0 / v_l + 1.0 / v_r)
    elif fusion in ("w2", "mwb"):
        predicted = (0.5 * (np.sqrt(v_l) + np.sqrt(v_r))) ** 2
    else:  # moe: moment matching of the two-component mixture
        predicted = 0.5 * (v_l + v_r) + 0.25 * (m_l - m_r) ** 2
    identity_error[fusion] = float(np.max(np.abs(v_lr - predicted) / predicted))
    # How much the posterior narrows when the second half is added.
    shrinkage[fusion] = float(np.mean(v_lr / np.minimum(v_l, v_r)))
    print(f"{fusion:>6}: max relative error of the closed form "
          f"{identity_error[fusion]:.1e}; var(both) / min var(one) = "
          f"{shrinkage[fusion]:.3f}")

# %% [markdown]
# PoE and MoPoE become *more* certain than either half (ratio below 1):
# the reverse-KL barycenter is zero-forcing. MoE never does (ratio at least
# about 1, larger where the halves disagree): the forward-KL barycenter
# covers the mass of every expert. The W2 barycenter lies in between, its
# width between the two experts' widths.
#
# ## Reading the label from one or both halves
#
# Decode the label from the posterior mean given each subset of the image
# halves, and score it against the true digit.

# %%
SUBSETS = [("left",), ("right",), ("left", "right")]


def label_accuracy(vae, names):
    mean, _ = vae.encode({n: test[n] for n in names})
    logits = vae.decode(mean)["label"]
    predicted = np.argmax(keras.ops.convert_to_numpy(logits), axis=-1)
    return float(np.mean(predicted == test_labels))


accuracy = {f: {s: label_accuracy(models[f], s) for s in SUBSETS}
            for f in FUSIONS}
header = "fusion  " + "".join(f"{'+'.join(s):>14}" for s in SUBSETS)
print(header)
for fusion in FUSIONS:
    print(f"{fusion:<8}" + "".join(f"{accuracy[fusion][s]:>14.3f}"
                                   for s in SUBSETS))

# %%
fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
width = 0.16
for i, fusion in enumerate(FUSIONS):
    ax.bar(np.arange(len(SUBSETS)) + (i - 2) * width,
           [accuracy[fusion][s] for s in SUBSETS], width, label=fusion)
ax.set_xticks(np.arange(len(SUBSETS)), ["left half", "right half", "both"])
ax.set_ylabel("label accuracy")
ax.set_ylim(0, 1.15)
ax.legend(ncols=5, fontsize=8, loc="upper center", frameon=False)
plt.show()

# %% [markdown]
# This is one seed of a small model trained for a few epochs: read the
# table for the mechanics, not as a benchmark (see
# [Benchmarks](../../benchmarks/) for the protocol).
#
# ## Checks
#
# The closed forms hold on the trained networks to float32 precision, PoE
# sharpens while MoE does not, and every model reads the label from both
# halves far above chance.

# %%
for fusion in FUSIONS:
    assert identity_error[fusion] < 1e-3, (fusion, identity_error[fusion])
assert shrinkage["poe"] < 1.0 and shrinkage["mopoe"] < 1.0, shrinkage
assert shrinkage["moe"] > 0.99, shrinkage
assert shrinkage["w2"] > 0.99 and shrinkage["mwb"] > 0.99, shrinkage
for fusion in FUSIONS:
    assert accuracy[fusion][("left", "right")] > 0.6, accuracy[fusion]
print("all checks passed")
