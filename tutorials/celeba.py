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
# # CelebA: image and attribute text
#
# Bimodal CelebA pairs each 64×64 face crop with a sentence listing its
# positive attributes ("arched eyebrows, attractive, brown hair, ..."),
# 256 characters one-hot over a 71-symbol alphabet. The labels are the
# 40 binary attributes, scored by average precision. The reference model
# gives each modality a private **style** latent besides the shared one.
#
# **Modes** (`KERAS_MMVAE_TUTORIAL_MODE`):
#
# * `small` (default): a fixture written in CelebA's official layout
#   (`img_align_celeba/*.jpg` at 178×218, `list_attr_celeba.txt`,
#   `list_eval_partition.txt`) with synthetic "faces" whose hair colour,
#   glasses, smile, hat and background follow their attributes; narrow
#   versions of the reference networks, trained for a few epochs;
# * `full`: the real data under `$KERAS_MMVAE_DATA_DIR/CelebA` and the
#   reference architecture and hyper-parameters.

# %%
import io
import os
import tempfile
import time

import IPython.display
import keras
import numpy as np
from PIL import Image
from PIL import ImageDraw

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
# ## A fixture in the official layout
#
# `list_attr_celeba.txt` starts with the number of images and the 40
# attribute names, then one line per image with 40 values of ±1;
# `list_eval_partition.txt` assigns each image to partition 0 (train),
# 1 (validation: the protocol's *test* set) or 2 (test).

# %%
ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs "
    "Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows "
    "Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
    "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns "
    "Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()
VISIBLE = ["Black_Hair", "Blond_Hair", "Eyeglasses", "Male", "Smiling",
           "Wearing_Hat"]


def synthetic_face(attributes):
    """A 178×218 'aligned face' drawing its visible attributes."""
    a = dict(zip(ATTRIBUTES, attributes > 0))
    background = (90, 110, 200) if a["Male"] else (220, 150, 170)
    image = Image.new("RGB", (178, 218), background)
    draw = ImageDraw.Draw(image)
    hair = (20, 20, 20) if a["Black_Hair"] else (
        (240, 210, 90) if a["Blond_Hair"] else (120, 70, 30))
    draw.ellipse((34, 40, 144, 150), fill=hair)
    draw.ellipse((44, 60, 134, 185), fill=(235, 190, 160))
    if a["Eyeglasses"]:
        draw.rectangle((50, 98, 128, 112), fill=(10, 10, 10))
    else:
        draw.ellipse((62, 100, 76, 108), fill=(60, 40, 30))
        draw.ellipse((102, 100, 116, 108), fill=(60, 40, 30))
    mouth = (200, 30, 40)
    if a["Smiling"]:
        draw.chord((68, 138, 110, 166), 0, 180, fill=mouth)
    else:
        draw.rectangle((72, 150, 106, 154), fill=mouth)
    if a["Wearing_Hat"]:
        draw.rectangle((30, 36, 148, 66), fill=(30, 120, 40))
    pixels = np.asarray(image).astype("float32")
    pixels += rng.normal(0, 6, size=pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))


def write_celeba(folder, num_train, num_test):
    num = num_train + num_test
    attributes = np.where(rng.random((num, 40)) < 0.25, 1, -1)
    hair = rng.integers(0, 3, size=num)  # black, blond or brown
    attributes[:, ATTRIBUTES.index("Black_Hair")] = np.where(hair == 0, 1, -1)
    attributes[:, ATTRIBUTES.index("Blond_Hair")] = np.where(hair == 1, 1, -1)
    attributes[:, ATTRIBUTES.index("Brown_Hair")] = np.where(hair == 2, 1, -1)
    os.makedirs(os.path.join(folder, "img_align_celeba"))
    names = [f"{i + 1:06d}.jpg" for i in range(num)]
    for name, row in zip(names, attributes):
        synthetic_face(row).save(
            os.path.join(folder, "img_align_celeba", name), quality=95)
    with open(os.path.join(folder, "list_attr_celeba.txt"), "w") as f:
        f.write(f"{num}\n{' '.join(ATTRIBUTES)}\n")
        for name, row in zip(names, attributes):
            f.write(name + " " + " ".join(f"{v:2d}" for v in row) + "\n")
    with open(os.path.join(folder, "list_eval_partition.txt"), "w") as f:
        for i, name in enumerate(names):
            f.write(f"{name} {0 if i < num_train else 1}\n")
    return folder


if SMALL:
    root = write_celeba(os.path.join(tempfile.mkdtemp(), "CelebA"), 384, 128)
else:
    root = os.path.join(os.environ["KERAS_MMVAE_DATA_DIR"], "CelebA")
print(sorted(os.listdir(root)))

hp = mm.models.HYPERPARAMETERS["celeba"]
batch_size = 64 if SMALL else hp["batch_size"]
train = mm.datasets.celeba.load(root, "train", batch_size=batch_size, seed=0,
                                progress=False)
test = mm.datasets.celeba.load(root, "test", batch_size=batch_size,
                               progress=False)
test_inputs, test_labels = mm.datasets.celeba.load_arrays(root, "test",
                                                          progress=False)
print({k: v.shape for k, v in test_inputs.items()}, test_labels.shape)

# %% [markdown]
# The loader crops the centre 148×148 pixels, resizes to 64×64 and turns
# the attributes into the text modality (generated with a fixed seed and
# saved next to the lists, so every run sees the same sentences):

# %%
texts = [mm.datasets.decode_text(t) for t in test_inputs["text"][:3]]
for text in texts:
    print(repr(text.strip("*")))
show(ev.plot_generations({"image": test_inputs["image"][:8]},
                         title="test images"))

# %% [markdown]
# ## The reference model, with style latents
#
# `mm.models.celeba()` builds MoPoE's residual networks (width `dim`,
# reference 128), a shared latent of size 20 and a style latent of size 32
# per modality; the KL weights are β = 2.5, β_content = 1, β_style = 2 and
# per-modality style weights image 1, text 5. Small mode narrows the
# networks and latents.

# %%
def build(fusion):
    if SMALL:
        return mm.models.celeba(fusion=fusion, latent_dim=16, style_dim=8,
                                dim=4, seed=0)
    return mm.models.celeba(fusion=fusion, seed=0)


FUSIONS = ["mwb"] if SMALL else ["mopoe", "mwb"]
models = {}
for fusion in FUSIONS:
    start = time.perf_counter()
    vae = build(fusion)
    vae.compile(optimizer=keras.optimizers.Adam(
        1e-3 if SMALL else hp["learning_rate"]))
    vae.fit(train, epochs=3 if SMALL else hp["epochs"], verbose=0)
    models[fusion] = vae
    print(f"{fusion}: trained in {time.perf_counter() - start:.1f} s; "
          f"style latents {vae.style_dims}")

# %% [markdown]
# ## Latent linear probes: average precision over 40 attributes

# %%
probe = {f: ev.linear_probe(models[f], train, test, num_train=500,
                            attribute_average="dataset")
         for f in FUSIONS}
for fusion in FUSIONS:
    print(fusion, {"+".join(s): round(v, 3) for s, v in probe[fusion].items()})

# %% [markdown]
# ## Coherence: does the generated text describe the image?
#
# One attribute classifier per modality (the reference architectures)
# judges the generated modality; scores are average precisions over the
# attributes. Small mode trains a narrow image classifier only (the text
# classifier is a deep residual network), so it scores generated images.
# Random (unconditional) coherence is not meaningful for 40 binary
# attributes and is not computed.

# %%
if SMALL:
    classifiers, classifier_scores = mm.models.train_classifiers(
        {"image": mm.models.celeba_image_classifier(dim=4)}, train,
        test_data=test, epochs=3)
else:
    classifiers, classifier_scores = mm.models.train_classifiers(
        "celeba", train, test_data=test, epochs=30)
print("classifier mean AP:", {k: round(v, 3)
                              for k, v in classifier_scores.items()})
coherence = {f: ev.coherence(models[f], test, classifiers, seed=0,
                             attribute_average="dataset")
             for f in FUSIONS}
for fusion in FUSIONS:
    print(fusion, {f"{'+'.join(s)}->{t}": round(v, 3)
                   for (s, t), v in coherence[fusion].items()})

# %% [markdown]
# ## Generating text from an image

# %%
outputs = models["mwb"].conditional_generate(
    {"image": test_inputs["image"][:3]})
for row in keras.ops.convert_to_numpy(outputs["text"]):
    print(repr(mm.datasets.decode_text(row).strip("*")))

# %% [markdown]
# Small mode trains for seconds on a synthetic fixture: the numbers check
# the pipeline, they are not benchmark results (see
# [Benchmarks › CelebA](../../benchmarks/celeba/)).
#
# ## Checks

# %%
base_rate = float(test_labels.mean())  # AP of an uninformative score
print("attribute base rate:", round(base_rate, 3))
assert test_inputs["image"].shape[1:] == (64, 64, 3)
assert test_inputs["text"].shape[1:] == (256, 71)
assert test_labels.shape[1:] == (40,)
for fusion in FUSIONS:
    vae = models[fusion]
    losses = vae.history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    assert set(vae.style_dims.values()) == {8 if SMALL else 32}
    targets = {"image"} if SMALL else {"image", "text"}
    assert set(coherence[fusion]) == {((s,), t) for s in ("image", "text")
                                      for t in targets}
    # An uninformative score has AP = base rate; the image latent must do
    # better after a few epochs (the text needs much longer training).
    assert probe[fusion][("image",)] > base_rate + 0.05, probe[fusion]
    assert all(0.0 <= v <= 1.0 for v in coherence[fusion].values())
assert classifier_scores["image"] > base_rate + 0.05, classifier_scores
